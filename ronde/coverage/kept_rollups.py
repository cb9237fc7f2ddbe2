"""The daily rollups a coverage request reads, kept between requests: ``CoverageCache``'s reader.

Why: the sensing horizon around the pieces of one request overlaps (the current month's settled start and the open
tail read the same week), and a warm request reads again the settled week before its tail. A day up to ``quiet`` is
settled like a cached month (only a late re-close changes it, bounded by the time-to-live). A later day (the last
closed evenings, which late events still re-roll) is kept with the store's mark of its rollups
(``Store.rollup_marks``, one aggregate query a request, moved by every write through the store: on influxd a few ms
where the full fingerprint cost ~0.3 s) and read again only when that moved; a day without rollups has no mark and is
not read at all. So a warm request reads no rollup row. Days are kept per request too (its pieces overlap).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from itertools import chain, groupby
from operator import attrgetter, itemgetter
from typing import TypeVar

from ronde.coverage.answers import Stamp
from ronde.coverage.compute import Reader
from ronde.store.port import Store
from ronde.store.records import DailyRollup, RollupFigures

_Row = TypeVar("_Row")
Marks = tuple[tuple[str, str], ...]  # a day's rollup marks: (owner, mark), sorted
DayKey = tuple[int, str | None, date]  # (the store's id, landlord, day)


class KeptRollups:
    """Rollups as objects and as plain figures, kept per (store, landlord, day): settled days for ``ttl_s``, later
    ones while their marks hold."""

    def __init__(self, ttl_s: float, clock: Callable[[], float], max_entries: int):
        self._ttl_s = ttl_s
        self._clock = clock
        self._max = max_entries
        self._days: dict[DayKey, tuple[float, list[DailyRollup]]] = {}
        # the closed evenings after the settled days (the last ``horizon_days``), kept with their fingerprint
        self._recent: dict[DayKey, tuple[Marks, list[DailyRollup]]] = {}
        # the same two as plain figures (``compute_coverage`` without day detail reads them)
        self._day_figures: dict[DayKey, tuple[float, list[RollupFigures]]] = {}
        self._recent_figures: dict[DayKey, tuple[Marks, list[RollupFigures]]] = {}

    def clear(self) -> None:
        self._days.clear()
        self._recent.clear()
        self._day_figures.clear()
        self._recent_figures.clear()

    def kept_figures(self, store: Store, landlord: str | None, day: date) -> list[RollupFigures] | None:
        """The settled ``day``'s rollup figures if a request read and kept them (within the time-to-live), else
        None: nothing is read."""
        entry = self._day_figures.get((id(store), landlord, day))
        return entry[1] if entry is not None and entry[0] > self._clock() else None

    def any_recent_figures(self, store: Store, landlord: str | None, days: Iterable[date]) -> bool:
        """Some of ``days`` (after the settled ones) has figures kept: a request over them is not cold."""
        return any((id(store), landlord, d) in self._recent_figures for d in days)

    def reader(self, store: Store, quiet: date) -> Reader:
        """``store.rollups`` (and ``store.rollup_figures_by_day``, kept apart the same way) with the days up to
        ``quiet`` kept per (landlord, day) for the time-to-live, later ones while their marks hold."""
        prints: dict[str | None, tuple[date, dict[date, Marks]]] = {}
        for k in [k for k in self._recent if k[2] <= quiet]:  # settled now: the TTL-bound cache's
            del self._recent[k]
        for k in [k for k in self._recent_figures if k[2] <= quiet]:
            del self._recent_figures[k]

        def fingerprints(hi: date, landlord: str | None) -> dict[date, Marks]:
            """Per day after ``quiet`` up to ``hi`` at least, the marks of its rollups (one query a request)."""
            known = prints.get(landlord)
            if known is None or known[0] < hi:
                hi = max(hi, quiet + timedelta(days=15))  # the tail and the horizon after it
                per_day: dict[date, list[tuple[str, str]]] = defaultdict(list)
                for (d, owner), fp in store.rollup_marks(quiet + timedelta(days=1), hi, landlord=landlord).items():
                    per_day[d].append((owner, fp))
                known = prints[landlord] = (hi, {d: tuple(sorted(v)) for d, v in per_day.items()})
            return known[1]

        def seed(stamp: Stamp, landlord: str | None) -> None:
            lo, hi, marks = stamp.marks
            if lo > quiet + timedelta(days=1) or landlord in prints:
                return
            per_day: dict[date, list[tuple[str, str]]] = defaultdict(list)
            for (d, owner), fp in marks.items():
                if d > quiet:
                    per_day[d].append((owner, fp))
            prints[landlord] = (hi, {d: tuple(sorted(v)) for d, v in per_day.items()})

        def rollups(lo: date, hi: date, landlord: str | None) -> list[DailyRollup]:
            return store.rollups(lo, hi, landlord=landlord)

        def figures(lo: date, hi: date, landlord: str | None) -> list[RollupFigures]:
            return store.rollup_figures_by_day(lo, hi, landlord=landlord)

        return Reader(
            self._kept(store, quiet, fingerprints, rollups, attrgetter("service_day"), self._days, self._recent),
            self._kept(store, quiet, fingerprints, figures, itemgetter(0), self._day_figures, self._recent_figures),
            seed,
        )

    def _kept(
        self,
        store: Store,
        quiet: date,
        fingerprints: Callable[[date, str | None], dict[date, Marks]],
        fetch: Callable[[date, date, str | None], list[_Row]],
        day_of: Callable[[_Row], date],
        settled: dict[DayKey, tuple[float, list[_Row]]],
        recent_kept: dict[DayKey, tuple[Marks, list[_Row]]],
    ) -> Callable[[date, date, str | None], list[_Row]]:
        """``reader``'s read of one kind of row (``fetch``, each row's day ``day_of``: an ``attrgetter`` or
        ``itemgetter``, grouped at C speed), kept in ``settled`` and ``recent_kept``."""
        this_request: dict[tuple[str | None, date], list[_Row]] = {}

        def read(lo: date, hi: date, landlord: str | None) -> list[_Row]:
            t = self._clock()
            days = [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]
            recent = fingerprints(hi, landlord) if hi > quiet else {}
            got: dict[date, list[_Row]] = {}
            for d in days:
                rows = this_request.get((landlord, d))
                if rows is None and d <= quiet:
                    entry = settled.get((id(store), landlord, d))
                    rows = entry[1] if entry is not None and entry[0] > t else None
                elif rows is None:
                    fp = recent.get(d)
                    kept = recent_kept.get((id(store), landlord, d)) if fp is not None else None
                    rows = [] if fp is None else kept[1] if kept is not None and kept[0] == fp else None
                if rows is not None:
                    got[d] = rows
            missing = [d for d in days if d not in got]
            if missing:
                fresh: dict[date, list[_Row]] = {d: [] for d in days if missing[0] <= d <= missing[-1]}
                for d, group in groupby(fetch(missing[0], missing[-1], landlord), key=day_of):  # the store's: by day
                    fresh[d].extend(group)
                if len(settled) >= 16 * self._max:
                    settled.clear()
                if len(recent_kept) >= self._max:
                    recent_kept.clear()
                for d, rows in fresh.items():
                    this_request[(landlord, d)] = rows
                    if d <= quiet:
                        settled[(id(store), landlord, d)] = (t + self._ttl_s, rows)
                    elif d in recent:  # the fingerprint was read before the rows: a rewrite since shows next time
                        recent_kept[(id(store), landlord, d)] = (recent[d], rows)
                got.update(fresh)
            return list(chain.from_iterable(got[d] for d in days))

        return read
