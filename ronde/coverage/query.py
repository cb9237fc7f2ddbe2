"""A landlord's coverage over a period, the calls the API and audits make, and the API's ``CoverageCache``.

Why a cache: a period is settled months (from the letters maintenance folded, ``settled``), then an open tail of
the last ``horizon_days`` and, in the evening, the evening in progress (folded from days, ``compute``). Settled
pieces hold until a late event re-closes a day, which the time-to-live bounds; the tail's closed evenings hold
while their stamp does; so a warm request computes tonight only. Without a cache every piece is computed.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from itertools import chain, groupby
from operator import attrgetter, itemgetter
from typing import TypeVar

from ronde.coverage.answers import Answer, Latest, Stamp, TailReads, estate_marks, sensing_days, stamp_of
from ronde.coverage.compute import (
    Reader,
    RollupReader,
    compute_coverage,
    figures_reader,
    fill_estate,
    heard_around,
    latest_sensing,
    window_of,
)
from ronde.coverage.evening import (
    EveningMemo,
    KeptSpans,
    TonightRows,
    evidence_with,
    read_range,
    tonight_answer,
    tonight_rows,
)
from ronde.coverage.monthly import (
    LetterFold,
    basis,
    service_days_of,
)
from ronde.coverage.partial import Windows
from ronde.coverage.period import PeriodCoverage, combine_periods, period_coverage
from ronde.coverage.sensing import DEFAULT_HORIZON_DAYS, evidence_from
from ronde.coverage.settled import letters_of, monthly_coverage, recorded_coverage
from ronde.coverage.spans import span_letters, span_read
from ronde.coverage.tail import ClosedTail, Tonight, close, close_figures
from ronde.coverage.tail_letters import letters_likely, marks_range, tail_letters
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.port import Store, VisitSpan
from ronde.store.read_ahead import LATEST, ReadAhead
from ronde.store.records import (
    DailyRollup,
    RollupFigures,
)

K = TypeVar("K")


_Row = TypeVar("_Row")


# Periods (and tails) whose evening is kept (``ronde.coverage.evening``), the oldest dropped first: those dashboards
# ask during an evening, not every one ever asked (a city landlord's year: ~2.9 MB, and its tail's rows ~2.3 MB,
# shared with its month's: tracemalloc).
_MAX_TONIGHT = 12


def landlord_coverage(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    first: date,
    last: date,
    *,
    landlord: str | None,
    now: datetime,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    include_days: bool = False,
    cache: CoverageCache | None = None,
) -> PeriodCoverage:
    """Coverage of one landlord's checkpoints (all landlords if None) over ``first..last``.

    With a ``cache``, settled calendar months (ended more than ``horizon_days`` ago) are computed
    once and reused for ``cache.ttl_s`` seconds; the answer is the same as without it. With
    ``include_days`` too (the API's detailed month): settled pieces then keep their days.
    """
    if cache is not None:
        return cache.coverage(
            store,
            registry,
            calendar,
            first,
            last,
            landlord=landlord,
            now=now,
            horizon_days=horizon_days,
            include_days=include_days,
        )
    return compute_coverage(
        store,
        registry,
        calendar,
        first,
        last,
        landlord=landlord,
        now=now,
        horizon_days=horizon_days,
        include_days=include_days,
    )


class CoverageCache:
    """Per-process cache of settled months' coverage (what the API keeps between requests).

    A period is cut at calendar-month boundaries; a piece is settled when it ended more than the
    sensing horizon ago: its rollups and the
    evidence around them no longer change, except if ingest re-closes a day after late events,
    which the time-to-live bounds (default 5 minutes). A settled whole month is read from its
    monthly rollups when maintenance folded it (``monthly_coverage``). The settled days of the
    current month are a piece of their own (cached until tomorrow moves the cut), so a warm request
    computes only the last ``horizon_days`` and the evening in progress (a beacon heard tonight is
    evidence for the evening ``horizon_days`` back). ``clear()`` drops everything.
    """

    def __init__(
        self,
        ttl_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 4096,
        *,
        keep_evenings: bool = True,
    ):
        self.ttl_s = ttl_s
        self.keep_evenings = keep_evenings  # False: the tail with an evening in progress computed whole each time
        self._clock = clock
        self._max = max_entries
        self._months: dict[tuple[object, ...], tuple[float, PeriodCoverage]] = {}
        self._days: dict[tuple[int, str | None, date], tuple[float, list[DailyRollup]]] = {}
        # the closed evenings after the settled days (the last ``horizon_days``), kept with their fingerprint
        self._recent: dict[tuple[int, str | None, date], tuple[tuple[tuple[str, str], ...], list[DailyRollup]]] = {}
        # the same two as plain figures (``compute_coverage`` without day detail reads them)
        self._day_figures: dict[tuple[int, str | None, date], tuple[float, list[RollupFigures]]] = {}
        self._recent_figures: dict[
            tuple[int, str | None, date], tuple[tuple[tuple[str, str], ...], list[RollupFigures]]
        ] = {}
        self._answers: dict[tuple[object, ...], Answer] = {}  # whole answers, while their stamp holds
        self._evenings: dict[tuple[object, ...], ClosedTail] = {}  # a tail's closed evenings, tonight in progress
        self._tonight_rows: dict[tuple[object, ...], TonightRows] = {}  # tonight's rows, per landlord scope
        self._tonight: dict[tuple[object, ...], EveningMemo] = {}  # and the checkpoints' figures, per period
        self._spans = KeptSpans()  # tonight's visits, while the store's stamp of them holds
        self._telemetry_days: dict[ServiceCalendar, dict[tuple[str, datetime], date]] = {}
        # the last ``coverage`` call's reader and tonight's visits it read, keyed by what they were read for (its
        # ``now`` included): the API's per-day counts asked right after (``ronde.coverage.visited``) reuse them, so
        # neither the rollups' marks nor tonight's stamp is read twice for one request
        self._last_reader: tuple[tuple[int, date, datetime], Reader] | None = None
        self._last_spans: tuple[tuple[int, ServiceCalendar, date, str | None, datetime], list[VisitSpan]] | None = None
        # the last ``coverage`` call's tail stamp when its tail came from tail letters (its rows then not read): the
        # per-day counts of the tail are read apart (``ronde.coverage.visited``), kept while that stamp holds
        self._last_lettered: tuple[tuple[int, str | None, datetime], tuple[object, ...]] | None = None
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        self._months.clear()
        self._days.clear()
        self._recent.clear()
        self._day_figures.clear()
        self._recent_figures.clear()
        self._answers.clear()
        self._evenings.clear()
        self._tonight.clear()
        self._tonight_rows.clear()
        self._spans.kept.clear()
        self._telemetry_days.clear()
        self._last_reader = self._last_spans = self._last_lettered = None

    def now_s(self) -> float:
        """The cache's clock (what its time-to-live is counted on)."""
        return self._clock()

    def note_lettered(self, store: Store, landlord: str | None, now: datetime, stamp: tuple[object, ...]) -> None:
        """A request at ``now`` took its open tail from tail letters under ``stamp`` (their rollups not read): what
        ``tail_lettered`` answers the per-day counts asked right after (``ronde.coverage.group_shares``'s)."""
        self._last_lettered = ((id(store), landlord, now), stamp)

    def tail_lettered(self, store: Store, landlord: str | None, now: datetime) -> tuple[object, ...] | None:
        """The stamp of the last ``coverage`` call's tail when it was at ``now`` and came from tail letters (its
        rollups not read), else None."""
        got = self._last_lettered
        return got[1] if got is not None and got[0] == (id(store), landlord, now) else None

    def kept_figures(self, store: Store, landlord: str | None, day: date) -> list[RollupFigures] | None:
        """The settled ``day``'s rollup figures if a request read and kept them (within the time-to-live), else
        None: nothing is read."""
        entry = self._day_figures.get((id(store), landlord, day))
        return entry[1] if entry is not None and entry[0] > self._clock() else None

    def tonight_rows(
        self, store: Store, registry: Registry, calendar: ServiceCalendar, day: date, *, landlord: str | None,
        now: datetime,
    ) -> list[DailyRollup]:  # fmt: skip
        """``evening.tonight_rows`` of ``day`` (an evening without rollups) from the visits and rows an evening's
        answer kept: the very ones when the last ``coverage`` call was at ``now``, else its visits' stamp read."""
        got = self._last_spans
        if got is not None and got[0] == (id(store), calendar, day, landlord, now):
            spans = got[1]
        else:
            spans = self._spans.of(store, calendar, day, landlord)
        memo = self._rows_memo(store, registry, calendar, landlord)
        return tonight_rows(registry, calendar, day, spans, now=now, landlord=landlord, memo=memo)

    def _rows_memo(
        self, store: Store, registry: Registry, calendar: ServiceCalendar, landlord: str | None
    ) -> TonightRows:
        key = (id(store), landlord, registry.revision, calendar)
        kept = self._tonight_rows.get(key)
        return kept if kept is not None else _kept_first(self._tonight_rows, key, TonightRows())

    def day_figures(
        self,
        store: Store,
        calendar: ServiceCalendar,
        first: date,
        last: date,
        *,
        landlord: str | None,
        now: datetime,
        horizon_days: int = DEFAULT_HORIZON_DAYS,
        stamp: Stamp | None = None,
    ) -> list[RollupFigures]:
        """The daily rollups' figures of ``first..last`` (by day) as a request at ``now`` reads them (``_reader``):
        those a coverage request just read are kept, not read again, and kept the same way after. ``stamp``: a tail's
        stamp this request read, whose rollup marks are then not read again (``Reader.seed``)."""
        quiet = now.astimezone(calendar.tz).date() - timedelta(days=horizon_days + 1)
        got = self._last_reader
        if got is None or got[0] != (id(store), quiet, now):
            got = self._last_reader = ((id(store), quiet, now), self._reader(store, quiet))
        if stamp is not None:
            got[1].seed(stamp, landlord)
        return got[1].figures(first, last, landlord)

    def tonight_spans(
        self, store: Store, calendar: ServiceCalendar, day: date, *, landlord: str | None, now: datetime | None
    ) -> list[VisitSpan]:
        """Tonight's visits (``day``'s, of ``landlord``) as the evening path reads them (``KeptSpans``: read again
        only when the store's stamp of them moved); with ``now``, remembered for ``tonight_rows`` asked at it."""
        spans = self._spans.of(store, calendar, day, landlord)
        if now is not None:
            self._last_spans = ((id(store), calendar, day, landlord, now), spans)
        return spans

    def _reader(self, store: Store, quiet: date) -> Reader:
        """``store.rollups`` (and ``store.rollup_figures_by_day``, kept apart the same way) with the days up to
        ``quiet`` kept per (landlord, day): the sensing horizon around the pieces of one request overlaps (the
        current month's settled start and the open tail read the same week), and a warm request reads again the
        settled week before its tail. A day up to ``quiet`` is settled like a cached month (only a late re-close
        changes it, bounded by the TTL). A later day (the last closed evenings, which late events still re-roll)
        is kept with the store's mark of its rollups (``Store.rollup_marks``, one aggregate query a request, moved
        by every write through the store: on influxd a few ms where the full fingerprint cost ~0.3 s) and read
        again only when that moved; a day without rollups has no mark and is not read at all. So a warm request
        reads no rollup row. Days are kept per request too (its pieces overlap)."""
        prints: dict[str | None, tuple[date, dict[date, tuple[tuple[str, str], ...]]]] = {}
        for k in [k for k in self._recent if k[2] <= quiet]:  # settled now: the TTL-bound cache's
            del self._recent[k]
        for k in [k for k in self._recent_figures if k[2] <= quiet]:
            del self._recent_figures[k]

        def fingerprints(hi: date, landlord: str | None) -> dict[date, tuple[tuple[str, str], ...]]:
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
        fingerprints: Callable[[date, str | None], dict[date, tuple[tuple[str, str], ...]]],
        fetch: Callable[[date, date, str | None], list[_Row]],
        day_of: Callable[[_Row], date],
        settled: dict[tuple[int, str | None, date], tuple[float, list[_Row]]],
        recent_kept: dict[tuple[int, str | None, date], tuple[tuple[tuple[str, str], ...], list[_Row]]],
    ) -> Callable[[date, date, str | None], list[_Row]]:
        """``_reader``'s read of one kind of row (``fetch``, each row's day ``day_of``: an ``attrgetter`` or
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
                        settled[(id(store), landlord, d)] = (t + self.ttl_s, rows)
                    elif d in recent:  # the fingerprint was read before the rows: a rewrite since shows next time
                        recent_kept[(id(store), landlord, d)] = (recent[d], rows)
                got.update(fresh)
            return list(chain.from_iterable(got[d] for d in days))

        return read

    def coverage(
        self,
        store: Store,
        registry: Registry,
        calendar: ServiceCalendar,
        first: date,
        last: date,
        *,
        landlord: str | None,
        now: datetime,
        horizon_days: int = DEFAULT_HORIZON_DAYS,
        include_days: bool = False,
    ) -> PeriodCoverage:
        self._last_reader = self._last_spans = self._last_lettered = None
        head, tails = period_pieces(calendar, first, last, now, horizon_days)
        quiet = now.astimezone(calendar.tz).date() - timedelta(days=horizon_days + 1)
        lettered = self._answers.get(
            _answer_key(store, registry, calendar, first, last, landlord, horizon_days, include_days)
        )
        ahead = (
            []  # a whole answer from letters, warm: nothing to read but its stamp
            if lettered is not None and lettered.lettered and lettered.expires > self._clock()
            else self._reads_ahead(store, registry, calendar, head, tails, landlord, now, horizon_days, include_days)
        )
        with store.reading_ahead(ahead):
            read = self._reader(store, quiet)
            self._last_reader = ((id(store), quiet, now), read)
            if len(tails) == 1:
                args = (store, registry, calendar, first, last, landlord, now, horizon_days, include_days)
                return self._answer(*args, head=head, tail=tails[0], read=read)
            parts = (
                [self._settled(store, registry, calendar, head, landlord, now, horizon_days, read, include_days)]
                if head
                else []
            )
        if not parts:
            return period_coverage(
                registry, calendar, first, last, rollups=[], landlord=landlord, now=now, include_days=include_days
            )
        return replace(combine_periods(parts), first=first, last=last)

    def _reads_ahead(
        self,
        store: Store,
        registry: Registry,
        calendar: ServiceCalendar,
        head: list[tuple[date, date]],
        tails: list[tuple[date, date]],
        landlord: str | None,
        now: datetime,
        horizon_days: int,
        include_days: bool,
    ) -> list[ReadAhead]:
        """What a cold request (its settled part not kept, nor any day of its open tail) will read: its span and
        the letters after it (``settled_reads``), the tail's daily figures, the heard days around it
        (``heard_around``) and, once tonight's window has begun, tonight's visits (``KeptSpans``), started ahead
        (``Store.reading_ahead``) so that influxd answers them side by side, and while the settled part is folded.
        None for a warm request: its reads are kept, starting them would cost influxd work no call takes."""
        if include_days or len(tails) != 1:
            return []
        lo, hi = tails[0]
        kept = self._months.get(_settled_key(store, registry, calendar, head, landlord, horizon_days, include_days))
        days = [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]
        if (kept is not None and kept[0] > self._clock()) or any(
            (id(store), landlord, d) in self._recent_figures for d in days
        ):
            return []
        reads = [*LATEST, *settled_reads(calendar, head, landlord, now)]  # the stamp's evidence is read first
        if letters_likely(calendar, tails[0], now, horizon_days, include_days):
            return [*reads, ReadAhead("tail_figures", lo, lo, landlord)]
        return reads + open_tail_reads(calendar, tails[0], landlord, now, horizon_days)

    def _answer(
        self,
        store: Store,
        registry: Registry,
        calendar: ServiceCalendar,
        first: date,
        last: date,
        landlord: str | None,
        now: datetime,
        horizon_days: int,
        include_days: bool,
        *,
        head: list[tuple[date, date]],
        tail: tuple[date, date],
        read: RollupReader,
    ) -> PeriodCoverage:
        """The settled pieces ``head`` followed by the unsettled ``tail``; the whole answer is kept while its stamp
        holds (``ronde.coverage.answers``: no evening in progress, every begun day rolled up, nothing it was
        computed from moved), so a warm request then costs a few small reads, not the tail's computation. Where the
        tail's letters stand for it (``_lettered``), the settled pieces and they are folded at once."""
        latest = latest_sensing(store)
        sensing = sensing_days(calendar, latest, self._telemetry_days.setdefault(calendar, {}))
        every = (
            store.rollup_marks(*marks_range(now.astimezone(calendar.tz).date(), horizon_days), landlord=None)
            if letters_likely(calendar, tail, now, horizon_days, include_days)
            else None
        )
        stamp = stamp_of(
            store, calendar, tail, landlord=landlord, now=now, horizon_days=horizon_days, sensing=sensing, every=every
        )
        if isinstance(read, Reader):
            read.seed(stamp, landlord)
        key = _answer_key(store, registry, calendar, first, last, landlord, horizon_days, include_days)
        if every is not None:
            lettered = self._lettered(
                store, registry, calendar, (first, last), head, tail, landlord, now, horizon_days, read,
                key=key, stamp=stamp, every=every, sensing=sensing,
            )  # fmt: skip
            if lettered is not None:
                return lettered
        parts = (
            [self._settled(store, registry, calendar, head, landlord, now, horizon_days, read, include_days)]
            if head
            else []
        )
        t = self._clock()
        entry = self._answers.get(key)
        if (
            entry is not None
            and entry.serves(t, parts, stamp.value)
            and entry.estate_marks == estate_marks(store, entry.estate_days)
        ):
            self.hits += 1
            return entry.value
        if stamp.live is not None and self.keep_evenings:
            args = (store, registry, calendar, tail, landlord, now, horizon_days, include_days)
            tonight = self._evening(*args, read=read, latest=latest, stamp=stamp, parts=parts, period=(first, last))
            if tonight is not None:
                return tonight
        reads = TailReads()
        lo, hi = tail
        rest = compute_coverage(
            store,
            registry,
            calendar,
            lo,
            hi,
            landlord=landlord,
            now=now,
            horizon_days=horizon_days,
            include_days=include_days,
            read=read,
            latest=latest,
            reads=reads,
            before=parts[0] if len(parts) == 1 else None,
        )
        value = replace(rest if len(parts) == 1 else combine_periods([*parts, rest]), first=first, last=last)
        if stamp.partial is None and not reads.live_days:
            if len(self._answers) >= self._max:
                self._answers.clear()
            days = tuple(reads.estate_days)
            marks = estate_marks(store, days)
            self._answers[key] = Answer(t + self.ttl_s, tuple(parts), stamp.value, days, marks, value)
        return value

    def _lettered(
        self,
        store: Store,
        registry: Registry,
        calendar: ServiceCalendar,
        period: tuple[date, date],
        head: list[tuple[date, date]],
        tail: tuple[date, date],
        landlord: str | None,
        now: datetime,
        horizon_days: int,
        read: RollupReader,
        *,
        key: tuple[object, ...],
        stamp: Stamp,
        every: Mapping[tuple[date, str], str],
        sensing: tuple[frozenset[date], frozenset[tuple[str, date]]],
    ) -> PeriodCoverage | None:
        """The period from its settled pieces and its tail's letters (``ronde.coverage.tail_letters``) folded at
        once (``LetterFold``: equal to the bit to ``combine_periods`` of the pieces, as ``_settled``'s), kept as a
        whole answer while its stamp holds and, its estate evidence being every landlord's, every landlord's marks
        of the tail's begun days (``every``, read for the letters' digest) hold; None when the letters do not stand
        for the tail. The settled part is not made apart (a cold request's other half)."""
        days = tuple(stamp.windows)
        marks = tuple(sorted((k, v) for k, v in every.items() if k[0] in stamp.windows))  # ``estate_marks``'s
        t = self._clock()
        entry = self._answers.get(key)
        if (
            entry is not None
            and entry.lettered
            and entry.expires > t
            and (entry.stamp, entry.estate_marks)
            == (
                stamp.value,
                marks,
            )
        ):
            self.hits += 1
            self._last_lettered = ((id(store), landlord, now), stamp.value)
            return entry.value
        got = tail_letters(
            store, registry, calendar, tail, landlord=landlord, now=now, horizon_days=horizon_days, stamp=stamp,
            marks=every, sensing=sensing,
        )  # fmt: skip
        if got is None:
            return None
        fold = LetterFold(registry)
        settled = self._months.get(_settled_key(store, registry, calendar, head, landlord, horizon_days, False))
        if settled is not None and settled[0] > t:
            fold.add(settled[1])
        elif head:
            self._fold_settled(fold, store, registry, calendar, head, landlord, now, horizon_days, read, False)
        fold.add_letters(got[0], tail[0], got[1], landlord, tail[1])
        value = replace(fold.result(), first=period[0], last=period[1])
        if len(self._answers) >= self._max:
            self._answers.clear()
        self._answers[key] = Answer(t + self.ttl_s, (), stamp.value, days, marks, value, True)
        self._last_lettered = ((id(store), landlord, now), stamp.value)
        self.misses += 1
        return value

    def _evening(
        self,
        store: Store,
        registry: Registry,
        calendar: ServiceCalendar,
        tail: tuple[date, date],
        landlord: str | None,
        now: datetime,
        horizon_days: int,
        include_days: bool,
        *,
        read: RollupReader,
        latest: Latest,
        stamp: Stamp,
        parts: list[PeriodCoverage],
        period: tuple[date, date],
    ) -> PeriodCoverage | None:
        """The settled ``parts`` then the tail, its last day live (the evening in progress, or one ended but not
        closed yet), its closed evenings kept (``ronde.coverage.tail``) and tonight's checkpoints computed again
        only where they moved (``ronde.coverage.evening``): equal to ``combine_periods`` of the parts and
        ``compute_coverage`` of the tail, cut to ``period``. None when another day lacks rollups or the evening in
        progress is not the last day."""
        lo, hi = tail
        windows, partial, live = stamp.windows, stamp.partial, stamp.live
        order = tuple(sorted(windows))
        if live is None or partial not in (None, live) or len(parts) > 1:
            return None
        spans = self._spans.of(store, calendar, live, landlord)
        self._last_spans = ((id(store), calendar, live, landlord, now), spans)
        heard = {s.checkpoint_id for s in spans}
        today = max(live, now.astimezone(calendar.tz).date())
        key = ("evening", id(store), landlord, registry.revision, calendar, horizon_days, lo, hi, include_days)
        t = self._clock()
        kept = self._evenings.get(key)
        if (
            kept is None
            or not kept.holds(t, stamp.value, heard)
            or kept.estate_marks != estate_marks(store, kept.estate_days)
        ):
            args = (store, registry, calendar, tail, landlord, horizon_days, include_days)
            kept = self._close(*args, read=read, latest=latest, spans=spans, windows=windows, today=today)
            if kept is None:
                return None
            if len(self._evenings) >= self._max:
                self._evenings.clear()
                self._tonight.clear()
                self._tonight_rows.clear()
            kept = self._evenings[key] = replace(kept, expires=t + self.ttl_s, stamp=stamp.value)
        else:
            self.hits += 1
        verdicts = Tonight(kept.base)
        verdicts.add_visits(spans)
        if landlord is not None and any(
            not verdicts.gateway_alive(live, e) for e in {c.estate for c in registry.checkpoints_of(landlord)}
        ):  # as ``compute_coverage``: a team on another landlord's checkpoints of the estate
            others = self._spans.of(store, calendar, live, None)
            verdicts.add_visits(s for s in others if s.landlord != landlord)
        memo = self._tonight.get((*key, period))  # per period: a year and a month share a tail, not a settled part
        if memo is None:
            memo = _kept_first(self._tonight, (*key, period), EveningMemo())
        memo_rows = self._rows_memo(store, registry, calendar, landlord)
        rows = tonight_rows(registry, calendar, live, spans, now=now, landlord=landlord, memo=memo_rows)
        return tonight_answer(
            registry,
            kept,
            parts[0] if parts else None,
            rows,
            verdicts,
            window_of(calendar, windows, now),
            first=period[0],
            last=period[1],
            landlord=landlord,
            order=order,
            live=live,
            partial=partial,
            today=today,
            horizon_days=horizon_days,
            include_days=include_days,
            memo=memo,
        )

    def _close(
        self,
        store: Store,
        registry: Registry,
        calendar: ServiceCalendar,
        tail: tuple[date, date],
        landlord: str | None,
        horizon_days: int,
        include_days: bool,
        *,
        read: RollupReader,
        latest: Latest,
        spans: list[VisitSpan],
        windows: dict[date, tuple[datetime, datetime]],
        today: date,
    ) -> ClosedTail | None:
        """The tail's closed evenings, judged with the evidence ``compute_coverage`` gathers (tonight's visits,
        ``spans``, included; of the horizon days around the tail only each checkpoint's nearest day heard,
        ``heard_around``); the evidence without tonight's visits is kept for tonight's verdicts. Without day detail
        the closed evenings are read and folded as plain figures (``tail.close_figures``: no object and no
        ``datetime`` a row)."""
        lo, hi = tail
        rollups = read(lo, hi, landlord) if include_days else []
        figures = [] if include_days else figures_reader(store, read)(lo, hi, landlord)
        rolled = {r.service_day for r in rollups} | {f[0] for f in figures}
        tonight = max(windows)
        if [d for d in windows if d not in rolled] != [tonight]:
            return None  # a closed evening without rollups (not closed by ingest yet): computed whole
        base = evidence_from(calendar, rollups=rollups, gateway_states=latest[0], telemetry=latest[1])
        base.add_figures(figures)
        base.add_heard(heard_around(store, lo, hi, timedelta(days=horizon_days), landlord))
        needed = fill_estate(store, base, rollups, figures, calendar) if landlord is not None else []
        full = evidence_with(base, spans)
        if landlord is not None and any(
            not full.gateway_alive(tonight, e) for e in {c.estate for c in registry.checkpoints_of(landlord)}
        ):
            everyone = self._spans.of(store, calendar, tonight, None)
            others = [s for s in everyone if s.landlord != landlord]
            full = evidence_with(full, others)
        if include_days:
            closed = [r for r in rollups if r.service_day in windows]
            running, refs, judged = close(
                closed,
                window_of(calendar, windows, None),
                full,
                today=today,
                horizon_days=horizon_days,
                include_days=True,
            )
        else:
            of = Windows(calendar, windows, None).of
            closed_figures = [f for f in figures if f[0] in windows]
            running, refs, judged = close_figures(closed_figures, of, full, today=today, horizon_days=horizon_days)
        days = tuple(needed)
        heard = frozenset(s.checkpoint_id for s in spans)
        return ClosedTail(0.0, (), days, estate_marks(store, days), running, refs, base, heard, judged)

    def _settled(
        self,
        store: Store,
        registry: Registry,
        calendar: ServiceCalendar,
        head: list[tuple[date, date]],
        landlord: str | None,
        now: datetime,
        horizon_days: int,
        read: RollupReader,
        include_days: bool,
    ) -> PeriodCoverage:
        """The settled pieces combined, kept as one entry: a warm year then joins two parts, not
        fourteen. A piece whose month's letters cover it exactly (a whole folded month, or the month-to-date
        letter ending where the piece does) goes straight into the fold (``LetterFold``, equal to the bit to
        ``combine_periods`` of each piece's coverage); the others (the period's first, partial month) are
        computed and kept per piece (``_month``). Where maintenance wrote span letters (``ronde.coverage.spans``)
        from the period's first service day through its last whole settled month, they stand for those pieces."""
        key = _settled_key(store, registry, calendar, head, landlord, horizon_days, include_days)
        t = self._clock()
        entry = self._months.get(key)
        if entry is not None and entry[0] > t:
            self.hits += 1
            return entry[1]
        fold = LetterFold(registry)
        self._fold_settled(fold, store, registry, calendar, head, landlord, now, horizon_days, read, include_days)
        value = fold.result()
        if len(self._months) >= self._max:
            self._months.clear()
        self._months[key] = (t + self.ttl_s, value)
        return value

    def _fold_settled(
        self,
        fold: LetterFold,
        store: Store,
        registry: Registry,
        calendar: ServiceCalendar,
        head: list[tuple[date, date]],
        landlord: str | None,
        now: datetime,
        horizon_days: int,
        read: RollupReader,
        include_days: bool,
    ) -> None:
        """``_settled``'s pieces added to ``fold``, in order."""
        wanted = basis(registry, calendar, horizon_days)
        spanned = None if include_days else span_letters(store, calendar, head, landlord, wanted, now)
        if spanned is not None:  # the first, partial month and the whole months after it: one row a checkpoint
            days, figures, k = spanned
            self.misses += 1
            fold.add_letters(days, head[0][0], figures, landlord, head[k][1])
            head = head[k + 1 :]
        for lo, hi in head:
            letters = None if include_days else letters_of(store, calendar, lo, hi, landlord, wanted, now)
            if letters is not None:
                self.misses += 1
                fold.add_letters(letters[0], lo, letters[1], landlord, hi)
            else:
                fold.add(
                    self._month(store, registry, calendar, lo, hi, landlord, now, horizon_days, read, include_days)
                )

    def _month(
        self,
        store: Store,
        registry: Registry,
        calendar: ServiceCalendar,
        lo: date,
        hi: date,
        landlord: str | None,
        now: datetime,
        horizon_days: int,
        read: RollupReader,
        include_days: bool,
    ) -> PeriodCoverage:
        """One settled piece; with ``include_days`` never from monthly rollups (they hold no days)."""
        key = (landlord, registry.revision, calendar, horizon_days, lo, hi, id(store), include_days)
        t = self._clock()
        entry = self._months.get(key)
        if entry is not None and entry[0] > t:
            self.hits += 1
            return entry[1]
        self.misses += 1
        value = (
            None
            if include_days
            else monthly_coverage(
                store, registry, calendar, lo, hi, landlord=landlord, now=now, horizon_days=horizon_days, read=read
            )
        )
        if value is None:
            value = recorded_coverage(
                store,
                registry,
                calendar,
                lo,
                hi,
                landlord=landlord,
                now=now,
                horizon_days=horizon_days,
                include_days=include_days,
                read=read,
            )
        if value is None:
            value = compute_coverage(
                store,
                registry,
                calendar,
                lo,
                hi,
                landlord=landlord,
                now=now,
                horizon_days=horizon_days,
                include_days=include_days,
                read=read,
            )
        if len(self._months) >= self._max:
            self._months.clear()
        self._months[key] = (t + self.ttl_s, value)
        return value


def period_pieces(
    calendar: ServiceCalendar, first: date, last: date, now: datetime, horizon_days: int
) -> tuple[list[tuple[date, date]], list[tuple[date, date]]]:
    """``first..last`` cut as ``CoverageCache`` computes it: the settled pieces (calendar months, cut by the period,
    and the settled start of the month the open tail is in), then the open tail (the days after the last settled
    one, tonight's evidence can still change them), one at most."""
    today = now.astimezone(calendar.tz).date()
    pieces: list[tuple[date, date, bool]] = []  # (first, last, settled): calendar months, cut by the period
    day = first
    while day <= last:
        m_last = (day.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        lo, hi = day, min(last, m_last)
        settled = (today - hi).days > horizon_days
        if pieces and not settled and not pieces[-1][2]:
            pieces[-1] = (pieces[-1][0], hi, False)
        else:
            pieces.append((lo, hi, settled))
        day = hi + timedelta(days=1)
    quiet = today - timedelta(days=horizon_days + 1)  # the last settled day: tonight cannot change it
    if pieces and not pieces[-1][2] and pieces[-1][0] <= quiet:  # its settled start is cached too
        lo, hi, _ = pieces.pop()
        pieces.append((lo, min(hi, quiet), True))
        if hi > quiet:
            pieces.append((quiet + timedelta(days=1), hi, False))
    head = [(lo, hi) for lo, hi, settled in pieces if settled]  # a prefix: the unsettled tail comes last
    tails = [(lo, hi) for lo, hi, settled in pieces if not settled]  # one at most: the settled part is a prefix
    return head, tails


def open_tail_reads(
    calendar: ServiceCalendar, tail: tuple[date, date], landlord: str | None, now: datetime, horizon_days: int
) -> list[ReadAhead]:
    """What closing an open ``tail`` from its days reads: its closed days' figures, the heard days around it and,
    once tonight's window has begun, tonight's visits."""
    lo, hi = tail
    h, one = timedelta(days=horizon_days), timedelta(days=1)
    today = now.astimezone(calendar.tz).date()
    closed = list(calendar.service_days(lo, min(hi, today - one)))  # tonight has no rollups: not read
    reads = [ReadAhead("rollup_figures_by_day", lo, closed[-1], landlord)] if closed else []
    reads += [
        ReadAhead("heard_days", lo - h, lo - one, landlord),
        ReadAhead("heard_days", hi + one, hi + h, landlord),
    ]
    if lo <= today <= hi and calendar.is_service_day(today) and calendar.window(today)[0] <= now:
        reads.append(ReadAhead("visit_spans_kept", *read_range(calendar, today), landlord, today))
    return reads


def settled_reads(
    calendar: ServiceCalendar, head: list[tuple[date, date]], landlord: str | None, now: datetime
) -> list[ReadAhead]:
    """The letters ``CoverageCache._settled`` reads: the span when one stands for the first pieces of ``head``, else
    the first piece's suffix letters when it starts within its month (``suffix_letters``), then each whole month's
    letters after them (the month to date's included: ``letters_of`` reads the month's)."""
    read = span_read(calendar, head, now) if head else None
    if read is not None:
        days, k = read
        reads = [ReadAhead("span_figures", days[0], head[k][0], landlord)]
    elif head and head[0][0].day != 1 and (days := service_days_of(calendar, *head[0], now)):
        k, reads = 0, [ReadAhead("suffix_figures", days[0], days[0], landlord)]
    else:
        return []
    return reads + [ReadAhead("monthly_figures", lo, lo, landlord) for lo, _ in head[k + 1 :] if lo.day == 1]


def _answer_key(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    first: date,
    last: date,
    landlord: str | None,
    horizon_days: int,
    include_days: bool,
) -> tuple[object, ...]:
    """``CoverageCache._answers``' entry of a period's whole answer."""
    return ("answer", id(store), landlord, registry.revision, calendar, horizon_days, first, last, include_days)


def _settled_key(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    head: list[tuple[date, date]],
    landlord: str | None,
    horizon_days: int,
    include_days: bool,
) -> tuple[object, ...]:
    """``CoverageCache._settled``'s entry of a request's settled pieces ``head``."""
    return ("settled", landlord, registry.revision, calendar, horizon_days, tuple(head), id(store), include_days)


def _kept_first(kept: dict[tuple[object, ...], K], key: tuple[object, ...], value: K) -> K:
    """``value`` kept under ``key``, the oldest entry dropped first beyond ``_MAX_TONIGHT``."""
    while len(kept) >= _MAX_TONIGHT:
        del kept[next(iter(kept))]
    kept[key] = value
    return value
