"""The docs say what the code does, for the drifts that came back before.

- every ``RejectReason`` is a row of docs/ingest.md's reason table, and every row is a reason;
- the deployment units point at no documentation file that nothing installs.

(docs/api.md's coverage fields against the OpenAPI schema: tests/api/test_docs.py.)
"""

from __future__ import annotations

import re
from pathlib import Path

from ronde.store.records import RejectReason

ROOT = Path(__file__).resolve().parents[1]
REASON_ROW = re.compile(r"^\| `([a-z_]+)` \|", re.MULTILINE)


def test_every_reject_reason_is_documented_in_ingest_md() -> None:
    text = (ROOT / "docs" / "ingest.md").read_text()
    table = text[text.index("| reason | when |") :]
    table = table[: table.index("\n\n")]
    documented = REASON_ROW.findall(table)
    assert sorted(documented) == sorted(r.value for r in RejectReason)
    assert len(documented) == len(set(documented))


def test_systemd_units_document_nothing_that_is_not_installed() -> None:
    """``Documentation=file:///usr/share/doc/ronde/...`` named files no install step ever wrote."""
    for unit in sorted((ROOT / "deploy" / "systemd").glob("*.service")):
        for line in unit.read_text().splitlines():
            if line.startswith("Documentation="):
                for uri in line.removeprefix("Documentation=").split():
                    assert not uri.startswith("file:"), f"{unit.name}: {uri} is installed by nothing"
