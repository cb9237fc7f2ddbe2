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


def of_figures(figures: Iterable[RollupFigures], first: date, last: date) -> list[DayStates]:
    """The day states of rollup figures of ``first..last``, sorted by checkpoint and tags (a rollup's tags are its
    day's: a checkpoint moved within the range has a row per tags, ``NO_ROLLUP`` on the other's days)."""
    n = (last - first).days + 1
    rows: dict[tuple[str, str | None, str, str], list[str]] = {}
    for day, cid, _, building, estate, owner, visits, _, covered, *_ in figures:
        k = (day - first).days
        if 0 <= k < n:
            key = (cid, building, estate, owner)
            codes = rows.get(key)
            if codes is None:
                codes = rows[key] = [NO_ROLLUP] * n
            codes[k] = code_of(visits, covered)
    return [(*key, "".join(codes)) for key, codes in sorted(rows.items(), key=_order)]


def _order(item: tuple[tuple[str, str | None, str, str], list[str]]) -> tuple[str, str, str, str, str]:
    cid, building, estate, owner = item[0]
    return cid, "" if building is None else "b", building or "", estate, owner


def days_sql(first: date, last: date) -> tuple[str, list[str]]:
    """SQL of one row's codes over ``first..last`` in an aggregate (one expression a day: meant for a few days), and
    its parameters: the day's code of the group's row that day, ``NO_ROLLUP`` without one."""
    n = (last - first).days + 1
    code = f"CASE WHEN covered THEN '{COVERED}' WHEN visits > 0 THEN '{VISITED}' ELSE '{UNVISITED}' END"
    parts = [f"coalesce(max(CASE WHEN service_day = ? THEN {code} END), '{NO_ROLLUP}')" for _ in range(n)]
    return " || ".join(parts), [date.fromordinal(first.toordinal() + k).isoformat() for k in range(n)]
