"""The evening in progress kept between requests: only the checkpoints tonight moved are computed again.

Why: at city scale (a landlord's 2,500 checkpoints, ~3,900 visits by 18:30) a warm request during the evening read
tonight's visits as ``StoredVisit`` objects, computed every checkpoint's row, added each to the kept closed
evenings (``ronde.coverage.tail``) and merged it with the settled part: ~135 ms of CPU, though between two
requests a few checkpoints hear a new visit. Here tonight's visits are read as plain figures
(``Store.visit_spans``); a checkpoint's row is kept with the spans, window and tags it was computed from, and its
figures over the period with the row, verdict and window they were made from (and the very closed evenings and
settled part). A request computes again only the checkpoints where one of these moved, each with the operations,
in the order, of the whole path (``daily.day_rollups``, ``period.period_coverage``, ``combine_periods``), so the
answer is equal (``==``) to it. No partial sum is cached across checkpoints: a checkpoint's figures are its own.
The groups (building, estate, landlord) are counts, kept while tonight's verdicts are the same.

``now`` cuts tonight's window: with a clock that moves between requests, every row moves and the request computes
every checkpoint again (from plain figures, still).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, KeysView, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import chain

from ronde.coverage.daily import PASS_GAP_S, _expected_for, _row, day_figures
from ronde.coverage.idleness import Segment, fold_state, segment_of
from ronde.coverage.moving import FoldShape, RowShape, fold_shape, moved_row, row_shape
from ronde.coverage.period import CheckpointPeriod, PeriodCoverage, _merge_checkpoint, combine_groups, day_of
from ronde.coverage.sensing import DayState, SensingEvidence, Verdicts
from ronde.coverage.service_time import clip_to_window, effective_window
from ronde.coverage.shares import CheckpointDayRef, GroupCoverage, Level, group_coverage
from ronde.coverage.tail import ClosedTail, Running, WindowOf, state_of
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.protocol.frozen import fast_new
from ronde.store.port import StampedSpans, Store, VisitSpan
from ronde.store.records import DailyRollup
from ronde.store.schema import from_ms

Spans = tuple[tuple[str, int, int], ...]  # one checkpoint's (badge, first ms, last ms) tonight, sorted
Window = tuple[datetime, datetime]
Tags = tuple[str, str | None, str, str, int]  # kind, building, estate, landlord, expected
Passes = tuple[tuple[datetime, datetime], ...]  # one checkpoint's passes tonight (first, last), before the window
_period = fast_new(CheckpointPeriod)  # a checkpoint a request when ``now`` moves
_MAX_KEPT_SPANS = 64  # (store, calendar, day, landlord scope) entries of ``KeptSpans``


@dataclass(slots=True)
class TonightRows:
    """Tonight's rows kept between requests, per landlord scope and tail (``tonight_rows``)."""

    day: date | None = None
    rows: dict[str, tuple[Spans, Window, Tags, DailyRollup, Passes, RowShape]] = field(default_factory=dict)
    read: Sequence[VisitSpan] | None = None  # the visits read (the very list) ``keys`` and ``strays`` come from
    keys: dict[str, Spans] = field(default_factory=dict)
    strays: list[tuple[str, VisitSpan]] = field(default_factory=list)


@dataclass(slots=True)
class EveningMemo:
    """The figures of one period's checkpoints kept between requests (``tonight_answer``), per landlord scope and
    period: a year and a month share a tail and its rows, not a settled part."""

    kept: ClosedTail | None = None  # the closed evenings the merged figures were made with
    settled: PeriodCoverage | None = None  # and the settled part (the very objects)
    cut: tuple[date | None, date] | None = None  # and the evening in progress, "today"
    before: dict[str, CheckpointPeriod] = field(default_factory=dict)  # the settled part per checkpoint
    merged: dict[str, tuple[DailyRollup | None, DayState | None, Window | None, CheckpointPeriod, FoldShape | None]] = (
        field(default_factory=dict)
    )
    refs: tuple[CheckpointDayRef, ...] | None = None  # tonight's refs the groups were counted with
    groups: tuple[GroupCoverage, ...] = ()
    prior: dict[tuple[Level, str], list[GroupCoverage]] = field(default_factory=dict)  # settled, closed evenings
    base: set[str] = field(default_factory=set)  # the checkpoints of the closed evenings and the settled part
    extra: set[str] | None = None  # and those heard tonight only, when ``order`` was sorted
    order: list[str] = field(default_factory=list)  # all of them, sorted

    def reset(
        self, registry: Registry, kept: ClosedTail, settled: PeriodCoverage | None, cut: tuple[date | None, date]
    ) -> None:
        """Other closed evenings, settled part or cut: nothing kept holds."""
        self.kept, self.settled, self.cut = kept, settled, cut
        self.before = {c.checkpoint_id: c for c in settled.checkpoints} if settled is not None else {}
        self.merged.clear()
        self.refs = None
        self.prior = defaultdict(list)
        for g in chain(settled.groups if settled is not None else (), group_coverage(registry, kept.refs)):
            self.prior[(g.level, g.id)].append(g)
        self.base = set(kept.running.keys() | self.before.keys())
        self.extra = None

    def ordered(self, tonight: KeysView[str]) -> list[str]:
        """The checkpoints of the answer, sorted (again only when those heard tonight alone moved)."""
        extra = tonight - self.base
        if extra != self.extra:
            self.extra, self.order = extra, sorted(self.base | extra)
        return self.order


def read_range(calendar: ServiceCalendar, day: date) -> tuple[datetime, datetime]:
    """Where ``day``'s visits lie: its window and 12 hours each side (``compute.visits_of_days``'s)."""
    margin = timedelta(hours=12)
    lo, hi = calendar.window(day)
    return lo - margin, hi + margin


def evidence_with(base: SensingEvidence, spans: Iterable[VisitSpan]) -> SensingEvidence:
    """A copy of ``base`` that also holds ``spans``, as ``SensingEvidence.add_visits`` adds visits."""
    beacons: defaultdict[str, set[date]] = defaultdict(set, {k: set(v) for k, v in base.beacon_days.items()})
    estates = set(base.estate_days)
    for s in spans:
        estates.add((s.service_day, s.estate))
        beacons[s.checkpoint_id].add(s.service_day)
    return SensingEvidence(set(base.gateway_days), estates, beacons)


def tonight_rows(
    registry: Registry,
    calendar: ServiceCalendar,
    day: date,
    spans: Sequence[VisitSpan],
    *,
    now: datetime | None,
    landlord: str | None,
    memo: TonightRows,
) -> list[DailyRollup]:
    """``daily.day_rollups`` of ``day`` from its visits' plain figures (equal rows, same order); a checkpoint's row
    is kept in ``memo`` and computed again only when its spans, window or tags moved. A stray checkpoint (not in
    the registry) takes its tags from its latest visit, as ``day_rollups`` from visits in the store's order."""
    if not calendar.is_service_day(day):
        return []
    if memo.day != day:
        memo.day = day
        memo.rows.clear()
        memo.read = None
    if memo.read is not spans:  # a list kept by ``KeptSpans`` while the day's visits did not move: the same keys
        memo.read, memo.keys, memo.strays = spans, _keys(spans), _strays(registry, spans)
    windows: dict[str, Window | None] = {}
    keys = memo.keys

    def row(cid: str, tags: Tags) -> DailyRollup | None:
        estate = tags[2]
        if estate not in windows:
            own = calendar.for_estate(estate)
            windows[estate] = effective_window(own, day, now) if own.is_service_day(day) else None
        window = windows[estate]
        if window is None:
            return None
        key = keys.get(cid, ())
        kept = memo.rows.get(cid)
        if kept is not None and kept[0] == key:
            if kept[2] == tags:
                if kept[1] == window:
                    return kept[3]
                if kept[5].holds(kept[1], window):  # ``now`` moved, no pass begun or ended between the cuts
                    made = moved_row(kept[3], kept[5], window[1])
                    memo.rows[cid] = (key, window, tags, made, kept[4], kept[5])
                    return made
            joined = kept[4]  # the same visits: the same passes, cut by another window
        else:
            joined = _passes(key)
        parts = _clipped(joined, window)
        made = _row(day, cid, *tags, day_figures(parts, *window), "")
        memo.rows[cid] = (key, window, tags, made, joined, row_shape(joined, parts, window[0]))
        return made

    rows: list[DailyRollup] = []
    for c in registry.checkpoints.values():
        if landlord is None or c.landlord == landlord:
            r = row(c.id, (c.kind, c.building, c.estate, c.landlord, c.expected_visits))
            if r is not None:
                rows.append(r)
    for cid, s in memo.strays:
        if landlord is None or s.landlord == landlord:
            r = row(cid, (s.kind, s.building, s.estate, s.landlord, _expected_for(s.kind)))
            if r is not None:
                rows.append(r)
    return rows


def _keys(spans: Sequence[VisitSpan]) -> dict[str, Spans]:
    """Each checkpoint's visits tonight as (badge, first ms, last ms), sorted: what its row is computed from."""
    per_cp: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for s in spans:
        per_cp[s.checkpoint_id].append((s.badge, s.first_seen_ms, s.last_seen_ms))
    return {cid: tuple(sorted(got)) for cid, got in per_cp.items()}


def _strays(registry: Registry, spans: Sequence[VisitSpan]) -> list[tuple[str, VisitSpan]]:
    """The checkpoints heard tonight but not in the registry, by id, each with its latest visit (in the store's
    order among visits of the same instant)."""
    strays: dict[str, VisitSpan] = {}
    for s in spans:
        if s.checkpoint_id not in registry.checkpoints:
            seen = strays.get(s.checkpoint_id)
            if seen is None or s.first_seen_ms >= seen.first_seen_ms:
                strays[s.checkpoint_id] = s
    return sorted(strays.items())


@dataclass(slots=True)
class KeptSpans:
    """Tonight's visits (``day``'s, read over its window and 12 hours each side), kept with the store's stamp
    of them (``Store.visit_spans_kept``): while it holds, a request reads the stamp (~1 ms at city scale on SQLite, a
    ``count`` on influxd: 10-20 ms of influxd's CPU against 30-40 for the ~3,900 visits) instead of the visits,
    and ``tonight_rows`` gets the very list, so it does not group them again."""

    kept: dict[tuple[int, ServiceCalendar, date, str | None], tuple[StampedSpans, list[VisitSpan]]] = field(
        default_factory=dict
    )

    def of(self, store: Store, calendar: ServiceCalendar, day: date, landlord: str | None) -> list[VisitSpan]:
        key = (id(store), calendar, day, landlord)
        got = self.kept.get(key)
        lo, hi = read_range(calendar, day)
        read = store.visit_spans_kept(lo, hi, landlord=landlord, day=day, kept=got[0] if got else None)
        if got is not None and read is got[0]:
            return got[1]
        spans = [s for s in read[1] if s.service_day == day]
        if read[0] is None:
            self.kept.pop(key, None)
        else:
            if len(self.kept) >= _MAX_KEPT_SPANS:
                self.kept.clear()
            self.kept[key] = (read, spans)
        return spans


def _passes(spans: Spans) -> Passes:
    """One checkpoint's passes: one team's visits less than ``PASS_GAP_S`` apart joined, as
    ``daily.join_fragments`` joins them (not shared: ``daily`` is part of the benchmark data set's key)."""
    by_team: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for badge, first, last in spans:
        by_team[badge].append((from_ms(first), from_ms(last)))
    out: list[tuple[datetime, datetime]] = []
    for team in by_team.values():
        team.sort()
        lo, hi = team[0]
        for a, b in team[1:]:
            if (a - hi).total_seconds() <= PASS_GAP_S:
                hi = max(hi, b)
            else:
                out.append((lo, hi))
                lo, hi = a, b
        out.append((lo, hi))
    return tuple(out)


def _clipped(passes: Passes, window: Window) -> list[tuple[datetime, datetime]]:
    """One checkpoint's passes clipped to the window, as ``daily.clipped_parts`` clips them for ``day_rollups``."""
    parts: list[tuple[datetime, datetime]] = []
    for lo, hi in passes:
        part = clip_to_window(lo, hi, *window)
        if part is not None:
            parts.append(part)
    return parts


def tonight_answer(
    registry: Registry,
    kept: ClosedTail,
    settled: PeriodCoverage | None,
    tonight: Sequence[DailyRollup],
    verdicts: Verdicts,
    window_of: WindowOf,
    *,
    first: date,
    last: date,
    landlord: str | None,
    order: tuple[date, ...],
    live: date,
    partial: date | None,
    today: date,
    horizon_days: int,
    include_days: bool,
    memo: EveningMemo,
) -> PeriodCoverage:
    """``combine_periods([settled, tail])`` cut to ``first..last`` (``settled`` None: the tail alone), the tail being
    ``period_coverage`` of it: the kept closed evenings (``kept``) followed by tonight's rows. Equal to that; a
    checkpoint's figures are kept in ``memo`` and made again only when tonight's row, verdict or window moved, or the
    kept closed evenings or the settled part are other objects."""
    if memo.kept is not kept or memo.settled is not settled or memo.cut != (partial, today):
        memo.reset(registry, kept, settled, (partial, today))
    mine = {r.checkpoint_id: r for r in tonight if r.service_day == live}
    before, running, merged = memo.before, kept.running, memo.merged
    refs: list[CheckpointDayRef] = []
    out: list[CheckpointPeriod] = []
    for cid in memo.ordered(mine.keys()):
        r = mine.get(cid)
        held = running.get(cid)
        if r is None and held is None:
            out.append(before[cid])
            continue
        state: DayState | None = None
        window: Window | None = None
        if r is not None:
            state = state_of(r, verdicts, today, horizon_days)[0]
            refs.append((r.building, r.estate, r.landlord, r.service_day, state))
            window = window_of(r.estate, live)
        m = merged.get(cid)
        if m is not None and m[1] is state:
            if m[0] is r and m[2] == window:
                out.append(m[3])
                continue
            shape = m[4]
            if shape is not None and r is not None and window is not None and shape.fits(r, window):
                value = _moved(m[3], shape, before[cid].segment, r, state, window[1], partial, include_days)
                merged[cid] = (r, state, window, value, shape)
                out.append(value)
                continue
        s = before.get(cid)
        shape = None
        if s is not None and held is not None and r is not None and state is not None and window is not None:
            value = _joined(registry, cid, s, held, r, state, window, partial, include_days)
            shape = fold_shape(held.fold, r, window[0])
        else:
            value = _tail_period(registry, cid, held, r, state, window, partial, include_days)
            value = _merge_checkpoint([s, value]) if s is not None else value
        merged[cid] = (r, state, window, value, shape)
        out.append(value)
    key = tuple(refs)
    if memo.refs != key:
        memo.refs, memo.groups = key, _groups(registry, memo.prior, refs)
    if settled is None:
        return PeriodCoverage(first, last, landlord, order, partial, tuple(out), memo.groups)
    days = settled.days + order
    partial_day = partial if partial is not None else settled.partial_day
    return PeriodCoverage(first, last, settled.landlord, days, partial_day, tuple(out), memo.groups)


def _tail_period(
    registry: Registry,
    cid: str,
    held: Running | None,
    r: DailyRollup | None,
    state: DayState | None,
    window: Window | None,
    partial: date | None,
    include_days: bool,
) -> CheckpointPeriod:
    """One checkpoint over the tail, as ``period_coverage`` makes it: its kept closed evenings, then tonight's row."""
    if r is None or state is None or window is None:
        assert held is not None
        return held.period(registry, cid)
    run = held.copy() if held is not None else Running(r)
    run.add(r, state, window, partial, include_days)
    return run.period(registry, cid)


def _joined(
    registry: Registry,
    cid: str,
    before: CheckpointPeriod,
    held: Running,
    r: DailyRollup,
    state: DayState,
    window: Window,
    partial: date | None,
    include_days: bool,
) -> CheckpointPeriod:
    """``_merge_checkpoint([before, _tail_period(...)])`` in one step, the same operations on the same figures in the
    same order, without the tail's own period (its idleness, a copy of its running figures): what a request makes for
    each checkpoint when ``now`` moved."""
    seg = before.segment.then(segment_of(fold_state(((window[0], window[1], r),), held.fold)))
    first_seen = held.first_seen if held.first_seen is not None else r.first_seen
    last_seen = r.last_seen if r.last_seen is not None else held.last_seen
    tonight = (day_of(r, r.service_day, state, partial=r.service_day == partial),) if include_days else ()
    c = registry.checkpoints.get(cid)
    s = held.sample
    return CheckpointPeriod(
        cid,
        c.name if c is not None else cid,
        s.kind,
        s.building,
        s.estate,
        s.landlord,
        c.expected_visits if c is not None else s.expected,
        before.service_days + (held.service_days + 1),
        before.visits + (held.visits + r.visits),
        before.covered_days + held.covered + (state is DayState.COVERED),
        before.not_visited_days + held.not_visited + (state is DayState.NOT_VISITED),
        before.no_data_days + held.no_data + (state is not DayState.COVERED and state is not DayState.NOT_VISITED),
        sum((before.presence_s, held.presence + r.presence_s)),
        before.first_seen if before.first_seen is not None else first_seen,
        last_seen if last_seen is not None else before.last_seen,
        seg.idleness(),
        seg,
        before.days + tuple(held.days) + tonight,
    )


def _moved(
    old: CheckpointPeriod,
    shape: FoldShape,
    before: Segment,
    r: DailyRollup,
    state: DayState | None,
    end: datetime,
    partial: date | None,
    include_days: bool,
) -> CheckpointPeriod:
    """``_joined``'s figures again for tonight's row ``r`` that only moved with the window's end (``end``): ``old``
    with the idleness of the new fold (``ronde.coverage.moving``) and tonight's day of detail made again."""
    seg = before.then(shape.segment(r, end))
    days = old.days
    if include_days and state is not None:
        days = (*days[:-1], day_of(r, r.service_day, state, partial=r.service_day == partial))
    return _period(
        old.checkpoint_id,
        old.name,
        old.kind,
        old.building,
        old.estate,
        old.landlord,
        old.expected_per_day,
        old.service_days,
        old.visits,
        old.covered_days,
        old.not_visited_days,
        old.no_data_days,
        old.presence_s,
        old.first_seen,
        old.last_seen,
        seg.idleness(),
        seg,
        days,
    )


def _groups(
    registry: Registry, prior: dict[tuple[Level, str], list[GroupCoverage]], tonight: Sequence[CheckpointDayRef]
) -> tuple[GroupCoverage, ...]:
    """The groups as ``combine_periods`` makes them of the settled part's and the tail's (``group_coverage`` of the
    tail's refs): each group's settled part, closed evenings (``prior``, counted once) and tonight combined, the
    same counts (integers) and days in the same order."""
    per_group = {k: list(v) for k, v in prior.items()}
    for g in group_coverage(registry, tonight):
        per_group.setdefault((g.level, g.id), []).append(g)
    return combine_groups(per_group)
