"""A few days' rollups as codes: per checkpoint (and its tags), one character a calendar day.

Why: a landlord's shares with an evening in progress judge the open tail's closed evenings (``ronde.coverage.
evening_shares``): of each checkpoint-day they need only whether it was covered, else visited, else nothing, and the
checkpoint's tags (the estate's evidence, the groups). ``Store.rollup_figures`` gives the 14 figures of each of a
city landlord's ~17,500 rows: on SQLite the driver's rows were a third of that request (py-spy, December 8). SQLite
folds the codes in its own aggregate (``SqliteStore.rollup_day_states``: ~2,500 rows of five columns); InfluxDB
makes them here from the figures it reads (``of_figures``), the same answer (``tests/store/test_contract.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from ronde.store.records import RollupFigures

COVERED, VISITED, UNVISITED, NO_ROLLUP = "C", "V", "0", "-"
"""A day's code: covered, visits but fewer than expected, a rollup without a visit, no rollup (of those tags)."""

DayStates = tuple[str, str | None, str, str, str]
"""(checkpoint, building, estate, landlord, codes): ``codes[k]`` is day ``first + k`` of the range read."""


def code_of(visits: int, covered: bool) -> str:
    return COVERED if covered else VISITED if visits > 0 else UNVISITED


Tags = tuple[str, str | None, str, str]  # checkpoint, building, estate, landlord


class Coded:
    """Day states being made: ``add`` each row's code at its day's place, ``rows`` sorted by checkpoint and tags."""

    __slots__ = ("_n", "_rows")

    def __init__(self, first: date, last: date) -> None:
        self._n = (last - first).days + 1
        self._rows: dict[Tags, list[str]] = {}

    def add(self, k: int, tags: Tags, code: str) -> None:
        """The row of ``tags`` on day ``first + k`` (none out of the range)."""
        if 0 <= k < self._n:
            codes = self._rows.get(tags)
            if codes is None:
                codes = self._rows[tags] = [NO_ROLLUP] * self._n
            codes[k] = code

    def rows(self) -> list[DayStates]:
        return [(*tags, "".join(codes)) for tags, codes in sorted(self._rows.items(), key=_order)]


def of_figures(figures: Iterable[RollupFigures], first: date, last: date, into: Coded | None = None) -> list[DayStates]:
    """The day states of rollup figures of ``first..last`` (with the rows ``into`` holds already), sorted by
    checkpoint and tags (a rollup's tags are its day's: a checkpoint moved within the range has a row per tags,
    ``NO_ROLLUP`` on the other's days)."""
    coded = into if into is not None else Coded(first, last)
    for day, cid, _, building, estate, owner, visits, _, covered, *_ in figures:
        coded.add((day - first).days, (cid, building, estate, owner), code_of(visits, covered))
    return coded.rows()


def _order(item: tuple[Tags, list[str]]) -> tuple[str, str, str, str, str]:
    cid, building, estate, owner = item[0]
    return cid, "" if building is None else "b", building or "", estate, owner


def days_sql(first: date, last: date) -> tuple[str, list[str]]:
    """SQL of one row's codes over ``first..last`` in an aggregate (one expression a day: meant for a few days), and
    its parameters: the day's code of the group's row that day, ``NO_ROLLUP`` without one."""
    n = (last - first).days + 1
    code = f"CASE WHEN covered THEN '{COVERED}' WHEN visits > 0 THEN '{VISITED}' ELSE '{UNVISITED}' END"
    parts = [f"coalesce(max(CASE WHEN service_day = ? THEN {code} END), '{NO_ROLLUP}')" for _ in range(n)]
    return " || ".join(parts), [date.fromordinal(first.toordinal() + k).isoformat() for k in range(n)]
