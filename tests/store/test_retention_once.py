"""The retention defaults are written once: ``RetentionPolicy``'s fields (``ronde/store/records.py``), read through
``ronde.store.retention.DEFAULT_RETENTION`` by everyone else (issue 13: they were written in three places)."""

from __future__ import annotations

import re
from pathlib import Path

RONDE = Path(__file__).parents[2] / "ronde"
THE_DEFINITION = RONDE / "store" / "records.py"
# a retention field given a number, or a duration of the default raw (60 d) or proof (365 d) retention
LITERAL = re.compile(
    r"\b(raw_days|proof_days|rejections_days)\s*(:\s*int\s*)?=\s*\d+|timedelta\(\s*days\s*=\s*(60|365)\s*\)"
)


def test_no_retention_default_outside_records() -> None:
    found = [
        f"{path.relative_to(RONDE.parent)}:{n}: {line.strip()}"
        for path in sorted(RONDE.rglob("*.py"))
        if path != THE_DEFINITION
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if LITERAL.search(line)
    ]
    assert not found, "read DEFAULT_RETENTION (ronde.store.retention) instead:\n" + "\n".join(found)
    assert len(LITERAL.findall(THE_DEFINITION.read_text(encoding="utf-8"))) == 3
