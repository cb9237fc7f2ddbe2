"""A SQLite reader's rollup marks kept per connection, while no other connection has committed.

Why: the API reads the marks of a request's days three times (the rollups it keeps, ``KeptRollups.reader``; the stamp
of its answer, ``answers.stamp_of``; the rollup checks, ``audit.rollups.stored_mismatches``), over 15, 45 and 60
days. On SQLite a mark counts its day's rows (the count is what shows a day that has rollups, and a rewrite that
moved a row to another landlord), so at city scale the three cost ~30-60 ms of a landlord's request, cold or warm,
counting the same index entries again. Here a reader's connection keeps the marks of the days it read, and a read
counts only the days it does not hold yet (one query a run of consecutive ones); everything kept is
dropped as soon as ``PRAGMA data_version`` moves, which SQLite changes on this connection whenever another
connection (of this process or another) commits to the file. A reader never writes (``query_only``), so nothing
else can change what it read: a kept mark is the one a query would give now.

Only for a READ store: a writer's own commits do not move its connection's ``data_version``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

Marks = dict[tuple[date, str], str]  # (service day, landlord) -> mark, as ``Store.rollup_marks``
_MAX_DAYS = 8_000  # days kept on one connection, all landlord scopes together: beyond, it starts again


@dataclass(slots=True)
class KeptMarks:
    """One connection's marks: per landlord scope (None: all), per day, each landlord's mark (none: no rollup)."""

    version: int | None = None  # the connection's ``PRAGMA data_version`` when they were read
    days: dict[str | None, dict[date, dict[str, str]]] = field(default_factory=dict)

    def read(
        self, version: int, first: date, last: date, landlord: str | None, fetch: Callable[[date, date], Marks]
    ) -> Marks:
        """The marks of ``first..last``, in the query's order (day, then landlord); ``fetch`` reads those of the
        days not kept, one query a run of consecutive ones."""
        if version != self.version or sum(map(len, self.days.values())) > _MAX_DAYS:
            self.version = version
            self.days.clear()
        known = self.days.setdefault(landlord, {})
        wanted = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        for lo, hi in _runs([d for d in wanted if d not in known]):
            fresh: dict[date, dict[str, str]] = {lo + timedelta(days=i): {} for i in range((hi - lo).days + 1)}
            for (day, owner), mark in fetch(lo, hi).items():
                fresh[day][owner] = mark
            known.update(fresh)
        return {(d, owner): mark for d in wanted for owner, mark in known[d].items()}


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive ones (first, last)."""
    runs: list[tuple[date, date]] = []
    for d in days:
        if runs and runs[-1][1] + timedelta(days=1) == d:
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs
