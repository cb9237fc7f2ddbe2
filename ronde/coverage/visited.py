"""Which checkpoint-days of a period had a visit: a group's per-day "visited" counts without day detail.

Why: the API's coverage of a group over a month answers, beside its shares, how many of its checkpoints were visited
each evening. Those counts were taken from each checkpoint's day rows (``landlord_coverage(..., include_days=True)``):
at city scale a landlord's month built 52,500 ``DailyRollup`` objects and as many ``CheckpointDay`` rows, about
half of the month's first request and most of its memory, for one integer per day. The shares come without day
detail (``figures_period``, equal to the bit); the counts come from here: the store's visited checkpoints of each
day that has rollups (``Store.rollup_visited``: no row of figures), and for a day without rollups (the evening in
progress) the rows ``period_coverage`` would make of its raw visits (``evening.tonight_rows``, equal to
``day_rollups``, cut at ``now``). Equal to the detailed path's ``CheckpointDay.visits > 0``
(``tests/coverage/test_visited.py``).

Kept between requests (``VisitedCache``) as the coverage cache keeps its parts: the rolled days' read while the
rollup marks of the period (``Store.rollup_marks``, read first: ~7 ms on SQLite, ~1 ms on influxd at city scale) and
a time-to-live hold; tonight's visits while the store's stamp of them holds (``evening.KeptSpans``), each
checkpoint's row computed again only where its visits or the window's cut moved (``evening.TonightRows``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from ronde.coverage.evening import KeptSpans, TonightRows, tonight_rows
from ronde.coverage.service_time import period_windows
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.port import Store

_MAX_ENTRIES = 256  # periods and landlord scopes kept; beyond, the cache starts again
_MAX_CUTS = 8  # the begun days a period's read is cut to (one more each evening that begins)
Days = dict[str, frozenset[date]]  # per checkpoint, its days with a visit
# expires, the marks, the read, and per wanted days: those with rollups and the read's ``Days`` over them
_Rolled = tuple[
    float, dict[tuple[date, str], str], dict[date, list[str]], dict[tuple[date, ...], tuple[frozenset[date], Days]]
]


@dataclass(slots=True)
class VisitedCache:
    """The parts of ``visited_days`` kept between requests (see the module's docstring)."""

    ttl_s: float = 300.0  # as ``CoverageCache``'s: bounds edits made around the store, which no mark shows
    clock: Callable[[], float] = time.monotonic
    rolled: dict[tuple[int, str | None, date, date], _Rolled] = field(default_factory=dict)
    spans: KeptSpans = field(default_factory=KeptSpans)
    rows: dict[tuple[int, str | None, str, ServiceCalendar], TonightRows] = field(default_factory=dict)

    def rolled_visited(
        self, store: Store, first: date, last: date, landlord: str | None, days: tuple[date, ...]
    ) -> tuple[frozenset[date], Days]:
        """Those of ``days`` with rollups in ``store.rollup_visited``, and per checkpoint its days among them with a
        visit; read again when the period's rollup marks moved or the entry expired."""
        marks = store.rollup_marks(first, last, landlord=landlord)  # before the read: a write between shows next
        key = (id(store), landlord, first, last)
        t = self.clock()
        kept = self.rolled.get(key)
        if kept is None or kept[0] <= t or kept[1] != marks:
            if len(self.rolled) >= _MAX_ENTRIES:
                self.rolled.clear()
            kept = self.rolled[key] = (t + self.ttl_s, marks, store.rollup_visited(first, last, landlord=landlord), {})
        made = kept[3].get(days)
        if made is None:
            if len(kept[3]) >= _MAX_CUTS:
                kept[3].clear()
            rolled = frozenset(d for d in days if d in kept[2])
            per_cp: defaultdict[str, set[date]] = defaultdict(set)
            for day in sorted(rolled):
                for cid in kept[2][day]:
                    per_cp[cid].add(day)
            made = kept[3][days] = (rolled, {cid: frozenset(d) for cid, d in per_cp.items()})
        return made

    def memo(self, store: Store, landlord: str | None, registry: Registry, calendar: ServiceCalendar) -> TonightRows:
        key = (id(store), landlord, registry.revision, calendar)
        got = self.rows.get(key)
        if got is None:
            if len(self.rows) >= _MAX_ENTRIES:
                self.rows.clear()
            got = self.rows[key] = TonightRows()
        return got


def visited_days(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    first: date,
    last: date,
    *,
    landlord: str | None,
    now: datetime | None,
    cache: VisitedCache | None = None,
) -> Days:
    """Per checkpoint (of ``landlord`` if given), the begun service days of ``first..last`` it had a visit on:
    from its rollup where the day has rollups, from the day's raw visits (in its window, up to ``now``) where not."""
    kept = cache if cache is not None else VisitedCache()
    windows, _ = period_windows(calendar, first, last, now)
    days = tuple(sorted(windows))
    rolled, made = kept.rolled_visited(store, first, last, landlord, days)
    out = dict(made)  # the kept entry stays as read; tonight's checkpoints get sets of their own
    for day in (d for d in days if d not in rolled):  # no rollup: its raw visits, as ``period_coverage`` makes rows
        spans = kept.spans.of(store, calendar, day, landlord)
        memo = kept.memo(store, landlord, registry, calendar)
        for r in tonight_rows(registry, calendar, day, spans, now=now, landlord=landlord, memo=memo):
            if r.visits > 0:
                out[r.checkpoint_id] = out.get(r.checkpoint_id, frozenset()) | {day}
    return out
