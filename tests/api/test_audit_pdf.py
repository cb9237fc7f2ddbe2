"""The audit PDF a director reads (issue 16, point 6): rendered to PNG with poppler's pdftoppm, its cover's
figures read back with pdftotext and compared with the API's JSON report of the same period."""

from __future__ import annotations

import logging
import os
import re
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from ronde.audit.labels import Lang
from ronde.audit.pdf import day_ranges, ranges_text
from ronde.protocol import formats
from tests.api.support import auth

PERIOD = {"first": "2026-11-01", "last": "2026-11-26"}
BASE = "/api/v1/audit/landlords/paris-habitat/report"


def _pages_text(pdf: Path, mode: str = "-layout") -> list[str]:
    out = subprocess.run(["pdftotext", mode, str(pdf), "-"], capture_output=True, text=True, check=True)
    # pdftotext writes the narrow no-break space of French figures as a plain space
    return out.stdout.replace("\u202f", " ").replace("\xa0", " ").split("\f")


def _folder(tmp_path: Path) -> Path:
    keep = os.environ.get("RONDE_SCREENSHOTS")
    folder = Path(keep) if keep else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_cover_shows_the_apis_figures_and_the_pages_render(
    client: TestClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    report = client.get(BASE, params=PERIOD, headers=auth("tok-ph")).json()
    with caplog.at_level(logging.DEBUG):
        r = client.get(BASE + ".pdf", params=PERIOD, headers=auth("tok-ph"))
    assert r.status_code == 200
    # fontTools' subsetting says nothing at INFO any more (it used to print ~75 lines per PDF)
    assert not [x for x in caplog.records if x.name.startswith("fontTools") and x.levelno < logging.WARNING]
    folder = _folder(tmp_path)
    pdf = folder / "audit.pdf"
    pdf.write_bytes(r.content)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(folder / "audit")], check=True)
    pngs = sorted(folder.glob("audit-*.png"))
    assert len(pngs) >= 3
    for png in pngs:  # every page drawn, none blank
        colours = Image.open(png).convert("RGB").getcolors(maxcolors=1 << 20) or []
        assert len(colours) > 10, png.name
    pages = _pages_text(pdf)
    cover = pages[0]
    # the cover: landlord, period in French words, and the four figures of the JSON report
    assert "Paris Habitat" in cover
    assert "du dimanche 1 novembre 2026 au jeudi 26 novembre 2026" in cover
    evenings = [d for d in report["days"] if d["checkpoints"] is not None]
    passes = sum(c["passes"] for c in report["checkpoints"])
    expected = {
        "Taux de couverture": formats.percent(report["covered_share"], "fr"),
        "Passages": formats.number(passes, "fr"),
        "Soirées de service": formats.number(len(evenings), "fr"),
        "Points de passage": formats.number(len(report["checkpoints"]), "fr"),
    }
    for label, value in expected.items():
        assert label in cover
        assert value.replace("\u202f", " ") in cover, (label, value, cover)
    assert passes > 0
    assert "Couverture par soirée" in cover
    # issued in Paris time, in words
    issued = datetime.fromisoformat(report["issued_at"]).astimezone(UTC)
    text = "\n".join(pages)
    assert "Émis le" in text
    assert re.search(r"Émis le\s+\w+ \d{1,2} \w+ 2026 à \d{1,2} h \d{2} \(heure de Paris\)", text), text[:2000]
    assert issued.isoformat(timespec="seconds") not in text
    # presence and waits in minutes (headers wrap in their cells: read in drawing order); no ISO date
    raw = re.sub(r"\s+", " ", " ".join(_pages_text(pdf, "-raw")))
    assert "Présence (min)" in raw
    assert "Attente la plus longue (min)" in raw
    assert "Présence (h)" not in raw
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b(?!\.\d)", text)  # (a registry revision label is not a date)
    # no line repeated for each checkpoint: a day without data everywhere is said once
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    assert max(lines.count(x) for x in lines if "sans données" in x.lower()) <= 2


def test_day_ranges_group_consecutive_dates() -> None:
    days = [date(2026, 12, d) for d in (1, 2, 3, 5, 7, 8)]
    assert day_ranges(days) == [
        (date(2026, 12, 1), date(2026, 12, 3)),
        (date(2026, 12, 5), date(2026, 12, 5)),
        (date(2026, 12, 7), date(2026, 12, 8)),
    ]
    assert ranges_text(days, Lang.FR) == "01/12/2026 – 03/12/2026, 05/12/2026, 07/12/2026 – 08/12/2026"
    assert day_ranges([]) == []


def test_the_english_pdf_speaks_english(client: TestClient, tmp_path: Path) -> None:
    r = client.get(BASE + ".pdf", params={**PERIOD, "lang": "en"}, headers=auth("tok-ph"))
    assert r.status_code == 200
    pdf = tmp_path / "audit-en.pdf"
    pdf.write_bytes(r.content)
    cover = _pages_text(pdf)[0]
    assert "from Sunday 1 November 2026 to Thursday 26 November 2026" in cover
    assert "Coverage per evening" in cover
    assert "Soirée" not in cover
