"""Each closed day's visited checkpoints per landlord, folded by maintenance (``Store.visited_sets``).

Why: a landlord's month by day answers how many of its checkpoints were visited each evening (``visited``), and
those came from every rollup of the month (``Store.rollup_visited``): at city scale ~2,500 rows a landlord a day,
50,000 a month, read and split on every cold request (on influxd about half of a month's first request, on SQLite
a sixth). Maintenance writes, per closed (day, landlord), the checkpoints whose newest rollup has a visit with the
rollups' mark it read them under (``fold_visited_sets``); a request takes a day's sets when the marks of its scope
that day are the ones written (``visited_from_sets``), and reads the rollups of the other days as before. The
marks move with every write of a day's rollups through the store (a late event re-rolled), on SQLite with edits
around it too; on InfluxDB an edit around the store keeps its marks, and the rollup check's findings fold the day
again (``ronde.ingest.visited_fold``). A day without marks (a store upgraded with rollups and no marks yet) has no
rollups for the API (as ``ronde.audit.rollups`` lists days), here as elsewhere.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping
from datetime import date, timedelta

from ronde.store.port import Store, VisitedSet

Days = dict[date, frozenset[str]]
_MAX_READ_DAYS = 31  # one ``rollup_visited`` a landlord and month when folding: a year at once is 650,000 rows


EVERY = "*"  # the set of every landlord's checkpoints (no landlord id has a ``*``)


def visited_from_sets(store: Store, lo: date, hi: date, landlord: str | None) -> tuple[Days, list[date]]:
    """The days of ``lo..hi`` whose set of the scope stands (``landlord``'s, or every landlord's), with their
    checkpoints, and the days with rollups whose set does not (to be read from the rollups)."""
    marks = scope_marks(store.rollup_marks(lo, hi, landlord=landlord), landlord)
    if not marks:
        return {}, []
    sets = store.visited_sets(lo, hi, landlord=landlord or EVERY)
    owner = landlord or EVERY
    served: Days = {}
    unserved: list[date] = []
    for day, mark in sorted(marks.items()):
        found = sets.get((day, owner))
        if found is not None and found.mark == mark:
            served[day] = frozenset(found.checkpoints)
        else:
            unserved.append(day)
    return served, unserved


def last_visited(store: Store, lo: date, hi: date, landlord: str | None) -> dict[str, date]:
    """Each checkpoint's last day of ``lo..hi`` with a visit (``Store.heard_days``' last day): from the days' sets
    where they stand, from ``heard_days`` over the days whose set does not (or over all when the store has no
    marks). Why: the week before an evening's open tail is settled, and maintenance folded its sets: ~2 ms where
    ``heard_days`` aggregated its ~12,500 rollups in ~30 ms on SQLite at city scale (py-spy, December 8)."""
    served, unserved = visited_from_sets(store, lo, hi, landlord)
    last: dict[str, date] = {}
    for day in sorted(served):
        last.update(dict.fromkeys(served[day], day))
    if unserved or not served:
        first_u, last_u = (unserved[0], unserved[-1]) if unserved else (lo, hi)
        for cid, (_, day) in store.heard_days(first_u, last_u, landlord=landlord).items():
            if cid not in last or last[cid] < day:
                last[cid] = day
    return last


def scope_marks(marks: Mapping[tuple[date, str], str], landlord: str | None) -> dict[date, str]:
    """Per day, the mark of a scope's rollups: ``landlord``'s, or a digest of every landlord's marks that day
    (moved by any of them)."""
    if landlord is not None:
        return {day: mark for (day, owner), mark in marks.items() if owner == landlord}
    by_day: dict[date, list[str]] = defaultdict(list)
    for (day, owner), mark in sorted(marks.items()):
        by_day[day].append(f"{owner}={mark}")
    return {day: hashlib.sha256("\n".join(pairs).encode()).hexdigest()[:32] for day, pairs in by_day.items()}


def fold_visited_sets(store: Store, first: date, last: date, *, again: Collection[date] = ()) -> int:
    """Writes the sets of ``first..last`` (each landlord's and every landlord's) whose marks moved since they were
    written (or never were), and those of the days ``again`` (rollups edited around the store, their marks kept);
    returns how many. A set is written only when its day's mark is the same after its rollups were read as before
    (a rollup written meanwhile: the next pass)."""
    marks = store.rollup_marks(first, last, landlord=None)
    written = store.visited_set_marks(first, last)
    scopes: list[str | None] = [None, *sorted({owner for _, owner in marks})]
    out: list[VisitedSet] = []
    for landlord in scopes:
        owner = landlord or EVERY
        wanted = scope_marks(marks, landlord)
        stale = [d for d, m in sorted(wanted.items()) if written.get((d, owner)) != m or d in again]
        for lo, hi in _ranges(stale):
            read = store.rollup_visited(lo, hi, landlord=landlord)
            after = scope_marks(store.rollup_marks(lo, hi, landlord=landlord), landlord)
            kept = [d for d in stale if lo <= d <= hi and d in read and after.get(d) == wanted[d]]
            out.extend(VisitedSet(d, owner, wanted[d], tuple(sorted(read[d]))) for d in kept)
    if out:
        store.write_visited_sets(out)
    return len(out)


def _ranges(days: list[date]) -> Iterator[tuple[date, date]]:
    """``days`` (sorted) cut into ranges of at most ``_MAX_READ_DAYS`` days."""
    i = 0
    while i < len(days):
        j = i
        while j + 1 < len(days) and days[j + 1] - days[i] < timedelta(days=_MAX_READ_DAYS):
            j += 1
        yield days[i], days[j]
        i = j + 1
