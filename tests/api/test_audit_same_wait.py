"""One longest wait in every document the API hands out (issue 16): the JSON report's ``longest_wait_s``, the
CSV's "Attente la plus longue (min)" column, its signed manifest's ``longest_wait_min`` and the PDF's column of
the same name show the same figure for every checkpoint (read back from the PDF with poppler's ``pdftotext``):
one wording and one note wherever an auditor compares them."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.support import auth

PERIOD = {"first": "2026-11-01", "last": "2026-11-26"}
BASE = "/api/v1/audit/landlords/paris-habitat/report"
HEADER = "Attente la plus longue (min)"


def test_json_csv_manifest_and_pdf_show_the_same_longest_wait(client: TestClient, tmp_path: Path) -> None:
    report = client.get(BASE, params=PERIOD, headers=auth("tok-ph")).json()
    json_minutes = {c["checkpoint_id"]: round(c["longest_wait_s"] / 60) for c in report["checkpoints"]}
    assert "worst_idle_s" not in report["checkpoints"][0]
    assert any(m > 0 for m in json_minutes.values())
    signed = {c["id"]: c["longest_wait_min"] for c in report["manifest"]["figures"]["checkpoints"]}
    assert signed == json_minutes
    text = client.get(BASE + ".csv", params=PERIOD, headers=auth("tok-ph")).text
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=";") if r and not r[0].startswith("#")]
    head = rows[0]
    assert HEADER in head
    by_id = {r[0]: r for r in rows[1:] if len(r) == len(head)}
    assert {cid: int(r[head.index(HEADER)]) for cid, r in by_id.items()} == json_minutes
    manifest = json.loads(next(x for x in text.splitlines() if x.startswith('"# manifest: '))[13:-1].replace('""', '"'))
    assert manifest["version"] == 3
    assert {c["id"]: c["longest_wait_min"] for c in manifest["figures"]["checkpoints"]} == json_minutes
    pdf = tmp_path / "rapport.pdf"
    pdf.write_bytes(client.get(BASE + ".pdf", params=PERIOD, headers=auth("tok-ph")).content)
    layout = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    # the header wraps inside its cell: read in drawing order; the CSV's note is the PDF's note, word for word
    raw = re.sub(
        r"\s+",
        " ",
        subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True).stdout,
    )
    assert HEADER in raw
    assert "Attente max" not in raw
    note = next(x for x in text.splitlines() if "Attente la plus longue :" in x).strip('"# ')
    assert note in raw
    names = {c["checkpoint_id"]: c["name"] for c in report["checkpoints"]}
    checked = 0
    for cid, minutes in json_minutes.items():
        if minutes == 0:
            continue
        lines = layout.splitlines()
        at = next(i for i, x in enumerate(lines) if x.strip().startswith(names[cid]))
        # a wrapped row has its figures on the next line: passes, evenings, covered, not visited, no data,
        # presence, longest wait (the 7th whole number), then regularity, signed, EID
        after = lines[at].strip()[len(names[cid]) :] + "  " + lines[at + 1]
        numbers = [c for c in re.split(r"\s{2,}", after.strip()) if c.isdigit()]
        assert numbers[6] == str(minutes), (names[cid], after)
        checked += 1
    assert checked >= 2
