"""A landlord's coverage over a period, the calls the API and audits make, and the API's ``CoverageCache``.

Why a cache: a period is settled months (from the letters maintenance folded, ``settled``), then an open tail of
the last ``horizon_days`` and, in the evening, the evening in progress (folded from days, ``compute``). Settled
pieces hold until a late event re-closes a day, which the time-to-live bounds; the tail's closed evenings hold
while their stamp does; so a warm request computes tonight only. Without a cache every piece is computed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
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
    tonight_answer,
    tonight_rows,
)
from ronde.coverage.kept_rollups import KeptRollups
from ronde.coverage.monthly import LetterFold
from ronde.coverage.partial import Windows
from ronde.coverage.period import PeriodCoverage, combine_periods, period_coverage
from ronde.coverage.pieces import open_tail_reads, period_pieces, settled_reads
from ronde.coverage.sensing import DEFAULT_HORIZON_DAYS, evidence_from
from ronde.coverage.settled_parts import SettledParts, settled_key
from ronde.coverage.tail import ClosedTail, Tonight, close, close_figures
from ronde.coverage.tail_letters import letters_likely, marks_range, tail_letters
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.port import Store, VisitSpan
from ronde.store.read_ahead import LATEST, ReadAhead
from ronde.store.records import DailyRollup, RollupFigures

K = TypeVar("K")


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
        self._settled = SettledParts(ttl_s, clock, max_entries)
        self._rollups = KeptRollups(ttl_s, clock, max_entries)
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
        # the last landlord's shares' open tail when judged from day states with an evening in progress: its days'
        # checkpoints visited, tonight's included, for the per-day counts asked right after (``note_evening``)
        self._last_evening: tuple[tuple[object, ...], dict[date, frozenset[str]]] | None = None
        self._hits = self._misses = 0

    @property
    def hits(self) -> int:
        """Answers, closed evenings and settled parts taken from the cache."""
        return self._hits + self._settled.hits

    @property
    def misses(self) -> int:
        """Answers from letters and settled pieces read or computed."""
        return self._misses + self._settled.misses

    def clear(self) -> None:
        self._settled.clear()
        self._rollups.clear()
        self._answers.clear()
        self._evenings.clear()
        self._tonight.clear()
        self._tonight_rows.clear()
        self._spans.kept.clear()
        self._telemetry_days.clear()
        self._last_reader = self._last_spans = self._last_lettered = self._last_evening = None

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

    def note_evening(
        self, store: Store, calendar: ServiceCalendar, landlord: str | None, now: datetime, tail: tuple[date, date],
        visited: dict[date, frozenset[str]] | None,
    ) -> None:  # fmt: skip
        """A landlord's shares at ``now`` judged the open ``tail`` with an evening in progress from its day states and
        tonight's passes (``ronde.coverage.evening_shares``): ``visited``, each of its days with rollups and tonight
        with the checkpoints visited, is what ``evening_visited`` answers the per-day counts asked right after, so
        neither the tail's rollups nor tonight's rows are made again for them. None: forget the last one."""
        self._last_evening = None if visited is None else ((id(store), calendar, landlord, now, tail), visited)

    def evening_visited(
        self, store: Store, calendar: ServiceCalendar, landlord: str | None, now: datetime, tail: tuple[date, date]
    ) -> dict[date, frozenset[str]] | None:
        """What the last ``note_evening`` of the same arguments noted, else None."""
        got = self._last_evening
        return got[1] if got is not None and got[0] == (id(store), calendar, landlord, now, tail) else None

    def kept_figures(self, store: Store, landlord: str | None, day: date) -> list[RollupFigures] | None:
        """The settled ``day``'s rollup figures if a request read and kept them (within the time-to-live), else
        None: nothing is read."""
        return self._rollups.kept_figures(store, landlord, day)

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
            got = self._last_reader = ((id(store), quiet, now), self._rollups.reader(store, quiet))
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
        self._last_reader = self._last_spans = self._last_lettered = self._last_evening = None
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
            read = self._rollups.reader(store, quiet)
            self._last_reader = ((id(store), quiet, now), read)
            if len(tails) == 1:
                args = (store, registry, calendar, first, last, landlord, now, horizon_days, include_days)
                return self._answer(*args, head=head, tail=tails[0], read=read)
            parts = (
                [self._settled.part(store, registry, calendar, head, landlord, now, horizon_days, read, include_days)]
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
        kept = self._settled.kept(settled_key(store, registry, calendar, head, landlord, horizon_days, include_days))
        days = [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]
        if kept is not None or self._rollups.any_recent_figures(store, landlord, days):
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
            [self._settled.part(store, registry, calendar, head, landlord, now, horizon_days, read, include_days)]
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
            self._hits += 1
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
            self._hits += 1
            self._last_lettered = ((id(store), landlord, now), stamp.value)
            return entry.value
        got = tail_letters(
            store, registry, calendar, tail, landlord=landlord, now=now, horizon_days=horizon_days, stamp=stamp,
            marks=every, sensing=sensing,
        )  # fmt: skip
        if got is None:
            return None
        fold = LetterFold(registry)
        settled = self._settled.kept(settled_key(store, registry, calendar, head, landlord, horizon_days, False))
        if settled is not None:
            fold.add(settled)
        elif head:
            self._settled.fold(fold, store, registry, calendar, head, landlord, now, horizon_days, read, False)
        fold.add_letters(got[0], tail[0], got[1], landlord, tail[1])
        value = replace(fold.result(), first=period[0], last=period[1])
        if len(self._answers) >= self._max:
            self._answers.clear()
        self._answers[key] = Answer(t + self.ttl_s, (), stamp.value, days, marks, value, True)
        self._last_lettered = ((id(store), landlord, now), stamp.value)
        self._misses += 1
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
            self._hits += 1
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


def _kept_first(kept: dict[tuple[object, ...], K], key: tuple[object, ...], value: K) -> K:
    """``value`` kept under ``key``, the oldest entry dropped first beyond ``_MAX_TONIGHT``."""
    while len(kept) >= _MAX_TONIGHT:
        del kept[next(iter(kept))]
    kept[key] = value
    return value
