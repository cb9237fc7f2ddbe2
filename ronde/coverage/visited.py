"""Which checkpoint-days of a period had a visit: a group's per-day "visited" counts without day detail.

Why: the API's coverage of a group over a month answers, beside its shares, how many of its checkpoints were visited
each evening. Those counts were taken from each checkpoint's day rows (``landlord_coverage(..., include_days=True)``):
at city scale a landlord's month built 52,500 ``DailyRollup`` objects and as many ``CheckpointDay`` rows, about
half of the month's first request and most of its memory, for one integer per day (and on influxd it read them from
``checkpoint_day``, one cursor a field: ~2 s of influxd's CPU). The shares come without day detail
(``figures_period``, equal to the bit); the counts come from here: for each day that has rollups its checkpoints
whose rollup has a visit, from the very figures the shares were folded from (``CoverageCache.day_figures``: kept by
the request just made, so not read again, and as fresh as the shares), or from ``Store.rollup_visited`` without a
coverage cache; for a day without rollups (the evening in progress) the rows ``period_coverage`` would make of its
raw visits (``evening.tonight_rows``, equal to ``day_rollups``, cut at ``now``). Equal to the detailed path's
``CheckpointDay.visits > 0`` (``tests/coverage/test_visited.py``).

Tonight's part is kept between requests (``VisitedCache``) as the coverage cache keeps it: the visits while the
store's stamp of them holds (``evening.KeptSpans``), each checkpoint's row computed again only where its visits or
the window's cut moved (``evening.TonightRows``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import compress, groupby
from operator import itemgetter

from ronde.coverage.evening import KeptSpans, TonightRows, tonight_rows
from ronde.coverage.query import CoverageCache
from ronde.coverage.service_time import period_windows
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.port import Store

_MAX_ENTRIES = 256  # landlord scopes kept; beyond, the cache starts again
_DAY, _CHECKPOINT, _VISITS = itemgetter(0), itemgetter(1), itemgetter(6)  # of ``RollupFigures``
Days = dict[date, frozenset[str]]  # per begun service day, the checkpoints with a visit


@dataclass(slots=True)
class VisitedCache:
    """Tonight's part of ``visited_days`` kept between requests (see the module's docstring)."""

    spans: KeptSpans = field(default_factory=KeptSpans)
    rows: dict[tuple[int, str | None, str, ServiceCalendar], TonightRows] = field(default_factory=dict)

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
    now: datetime,
    cache: VisitedCache | None = None,
    coverage: CoverageCache | None = None,
) -> Days:
    """Per begun service day of ``first..last``, the checkpoints (of ``landlord`` if given) with a visit: from their
    rollups where the day has rollups, from the day's raw visits (in its window, up to ``now``) where not.
    ``coverage``: the rollups' figures as its requests read and keep them."""
    kept = cache if cache is not None else VisitedCache()
    windows, _ = period_windows(calendar, first, last, now)
    out: Days = {}
    if coverage is not None:
        rolled: set[date] = set()
        figures = coverage.day_figures(store, calendar, first, last, landlord=landlord, now=now)
        for day, group in groupby(figures, key=_DAY):  # by day, as the reader gives them
            rolled.add(day)
            if day in windows:
                rows = list(group)  # its checkpoints whose visits are not 0, at C speed
                out[day] = frozenset(compress(map(_CHECKPOINT, rows), map(_VISITS, rows)))
    else:
        read = store.rollup_visited(first, last, landlord=landlord)
        rolled = set(read)
        out = {day: frozenset(cids) for day, cids in read.items() if day in windows}
    for day in sorted(d for d in windows if d not in rolled):  # its raw visits, as ``period_coverage`` makes rows
        spans = kept.spans.of(store, calendar, day, landlord)
        memo = kept.memo(store, landlord, registry, calendar)
        made = tonight_rows(registry, calendar, day, spans, now=now, landlord=landlord, memo=memo)
        out[day] = frozenset(r.checkpoint_id for r in made if r.visits > 0)
    return out
