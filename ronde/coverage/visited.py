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

With a coverage cache, a settled day (older than the sensing horizon) whose figures the cache did not keep (its
shares came from letters maintenance folded: ``ronde.coverage.suffix``) is read from the visited sets maintenance
folded (``ronde.coverage.visited_sets``: a row a day, taken while the day's rollup marks are the ones they were
written under), the days without one from ``Store.rollup_visited`` (one aggregate query for them, not ~2,500 rows a
day), and kept for the cache's time-to-live, as the shares are (the open tail's days, when their shares came from
tail letters, the same way, kept while the tail's stamp holds); tonight's rows are the very ones the coverage
request computed (``CoverageCache.tonight_rows``: its visits and rows, not computed twice). Without one, tonight's
part is kept between requests (``VisitedCache``) the same way: the visits while the store's stamp of them holds
(``evening.KeptSpans``), each checkpoint's row computed again only where its visits or the window's cut moved
(``evening.TonightRows``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import compress, groupby
from operator import itemgetter

from ronde.coverage.evening import KeptSpans, TonightRows, tonight_rows
from ronde.coverage.query import CoverageCache
from ronde.coverage.sensing import DEFAULT_HORIZON_DAYS
from ronde.coverage.service_time import period_windows
from ronde.coverage.tail_letters import letters_likely
from ronde.coverage.visited_sets import EVERY, Days, visited_from_sets
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.port import Store
from ronde.store.read_ahead import ReadAhead
from ronde.store.records import RollupFigures

_MAX_ENTRIES = 256  # landlord scopes kept; beyond, the cache starts again
_MAX_SETTLED = 256 * 400  # settled (scope, day) entries kept; beyond, the cache starts again
_DAY, _CHECKPOINT, _VISITS = itemgetter(0), itemgetter(1), itemgetter(6)  # of ``RollupFigures``


@dataclass(slots=True)
class VisitedCache:
    """Tonight's part of ``visited_days`` kept between requests (see the module's docstring)."""

    spans: KeptSpans = field(default_factory=KeptSpans)
    rows: dict[tuple[int, str | None, str, ServiceCalendar], TonightRows] = field(default_factory=dict)
    # per (store, scope, settled day): until when it holds, the checkpoints with a visit (None: no rollups)
    settled: dict[tuple[int, str | None, date], tuple[float, frozenset[str] | None]] = field(default_factory=dict)
    # per (store, scope, first, last) of an open tail whose shares came from tail letters: the stamp it was read
    # under and its days' checkpoints with a visit (``Store.rollup_visited``), kept while that stamp holds
    tails: dict[tuple[int, str | None, date, date], tuple[tuple[object, ...], Days]] = field(default_factory=dict)

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
        quiet = _last_settled(calendar, now)
        if first <= quiet:
            for day, cids in _settled(store, first, min(last, quiet), landlord, coverage, kept).items():
                rolled.add(day)
                if day in windows:
                    out[day] = cids
        if last > quiet:
            lo = max(first, quiet + timedelta(days=1))
            judged = coverage.evening_visited(store, calendar, landlord, now, (lo, last))  # tonight's with them
            got = judged if judged is not None else _open_tail(store, calendar, lo, last, landlord, now, coverage, kept)
            for day, cids in got.items():
                rolled.add(day)
                if day in windows:
                    out[day] = cids
    else:
        read = store.rollup_visited(first, last, landlord=landlord)
        rolled = set(read)
        out = {day: frozenset(cids) for day, cids in read.items() if day in windows}
    for day in sorted(d for d in windows if d not in rolled):  # its raw visits, as ``period_coverage`` makes rows
        if coverage is not None:
            made = coverage.tonight_rows(store, registry, calendar, day, landlord=landlord, now=now)
        else:
            spans = kept.spans.of(store, calendar, day, landlord)
            memo = kept.memo(store, landlord, registry, calendar)
            made = tonight_rows(registry, calendar, day, spans, now=now, landlord=landlord, memo=memo)
        out[day] = frozenset(r.checkpoint_id for r in made if r.visits > 0)
    return out


def visited_reads_ahead(
    store: Store,
    calendar: ServiceCalendar,
    first: date,
    last: date,
    *,
    landlord: str | None,
    now: datetime,
    cache: VisitedCache,
    coverage: CoverageCache,
) -> list[ReadAhead]:
    """The reads ``visited_days`` will make for the settled days of ``first..last`` when none is
    kept (``_settled``), to start before the coverage request it follows (``Store.reading_ahead``): on InfluxDB
    influxd answers it while the API folds the shares (on a city landlord's cold month it was a third of the
    request, made after it). None when a day is kept: its read, if any, is of fewer days (not started ahead). With
    it, the open tail's when its letters may stand for it (``_lettered_tail`` then reads it)."""
    quiet = _last_settled(calendar, now)
    hi = min(last, quiet)
    if first > hi:
        return []
    t = coverage.now_s()
    for day in (first + timedelta(days=i) for i in range((hi - first).days + 1)):
        entry = cache.settled.get((id(store), landlord, day))
        if (entry is not None and entry[0] > t) or coverage.kept_figures(store, landlord, day) is not None:
            return []
    # the sets and the marks they are taken under (``visited_from_sets``)
    reads = [ReadAhead("rollup_marks", first, hi, landlord), ReadAhead("visited_sets", first, hi, landlord or EVERY)]
    tail = (quiet + timedelta(days=1), last)
    if letters_likely(calendar, tail, now, DEFAULT_HORIZON_DAYS, False):  # the tail's, when letters stand for it
        reads += [ReadAhead("rollup_marks", *tail, landlord), ReadAhead("visited_sets", *tail, landlord or EVERY)]
    return reads


def _open_tail(
    store: Store,
    calendar: ServiceCalendar,
    lo: date,
    hi: date,
    landlord: str | None,
    now: datetime,
    coverage: CoverageCache,
    kept: VisitedCache,
) -> Days:
    """Per day of the open tail ``lo..hi`` with rollups, its checkpoints with a visit: from the figures the coverage
    request just folded, or apart when it took the tail from letters (``_lettered_tail``)."""
    stamp = coverage.tail_lettered(store, landlord, now)
    if stamp is not None:
        return _lettered_tail(store, lo, hi, landlord, kept, stamp)
    figures = coverage.day_figures(store, calendar, lo, hi, landlord=landlord, now=now)
    return {day: _with_a_visit(list(group)) for day, group in groupby(figures, key=_DAY)}  # by day, as read


def _lettered_tail(
    store: Store, lo: date, hi: date, landlord: str | None, kept: VisitedCache, stamp: tuple[object, ...]
) -> Days:
    """The open tail's days with rollups and their checkpoints with a visit when its shares came from tail letters
    (their rollups not read): one ``rollup_visited``, kept while the tail's stamp (its rollups' marks) holds."""
    key = (id(store), landlord, lo, hi)
    got = kept.tails.get(key)
    if got is None or got[0] != stamp:
        if len(kept.tails) >= _MAX_ENTRIES:
            kept.tails.clear()
        got = kept.tails[key] = (stamp, dict(sorted(_visited(store, lo, hi, landlord).items())))
    return got[1]


def _visited(store: Store, lo: date, hi: date, landlord: str | None) -> Days:
    """Per day of ``lo..hi`` with rollups, its checkpoints with a visit: from the sets maintenance folded where they
    stand (``visited_sets``), from the rollups of the other days (one ``rollup_visited``)."""
    out, unserved = visited_from_sets(store, lo, hi, landlord)
    if unserved or not out:  # no marks at all: a store without them reads its rollups, as before
        first, last = (unserved[0], unserved[-1]) if unserved else (lo, hi)
        read = store.rollup_visited(first, last, landlord=landlord)
        out.update((day, frozenset(cids)) for day, cids in read.items() if day in unserved or not unserved)
    return out


def _last_settled(calendar: ServiceCalendar, now: datetime) -> date:
    """The last day tonight's evidence cannot change (older than the sensing horizon), as the coverage cache cuts."""
    return now.astimezone(calendar.tz).date() - timedelta(days=DEFAULT_HORIZON_DAYS + 1)


def _with_a_visit(rows: list[RollupFigures]) -> frozenset[str]:
    """The checkpoints of one day's figures whose visits are not 0, at C speed."""
    return frozenset(compress(map(_CHECKPOINT, rows), map(_VISITS, rows)))


def _settled(
    store: Store, lo: date, hi: date, landlord: str | None, coverage: CoverageCache, kept: VisitedCache
) -> Days:
    """Per settled day of ``lo..hi`` with rollups, its checkpoints with a visit: kept here, or from the figures the
    coverage cache kept, or read for the days missing (one ``rollup_visited``) and kept for its time-to-live."""
    t = coverage.now_s()
    out: Days = {}
    missing: list[date] = []
    for day in (lo + timedelta(days=i) for i in range((hi - lo).days + 1)):
        entry = kept.settled.get((id(store), landlord, day))
        if entry is not None and entry[0] > t:
            if entry[1] is not None:
                out[day] = entry[1]
            continue
        figures = coverage.kept_figures(store, landlord, day)
        if figures is None:
            missing.append(day)
        elif figures:  # kept empty: a day without rollups
            out[day] = _with_a_visit(figures)
    if missing:
        read = _visited(store, missing[0], missing[-1], landlord)
        if len(kept.settled) >= _MAX_SETTLED:
            kept.settled.clear()
        until = t + coverage.ttl_s
        for day in (missing[0] + timedelta(days=i) for i in range((missing[-1] - missing[0]).days + 1)):
            got = read.get(day)
            kept.settled[(id(store), landlord, day)] = (until, got)
            if got is not None:
                out[day] = got
    return out
