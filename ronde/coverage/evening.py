"""The evening in progress kept between requests: only the checkpoints tonight moved are computed again.

Why: at city scale (a landlord's 2,500 checkpoints, ~3,900 visits by 18:30) a warm request during the evening read
tonight's visits as ``StoredVisit`` objects, computed every checkpoint's row, added each to the kept closed
evenings (``ronde.coverage.tail``) and merged it with the settled part: ~135 ms of CPU, though between two
requests a few checkpoints hear a new visit. Here tonight's visits are read as plain figures
(``Store.visit_spans``); a checkpoint's row is kept with the spans, window and tags it was computed from, and its
figures over the period with the row, verdict and window they were made from (and the very closed evenings and
settled part). A request computes again only the checkpoints where one of these moved, each with the operations,
in the order, of the whole path (``daily.day_rollups``, ``tail.finish``, ``period.combine_periods``), so the
answer is equal (``==``) to it. No partial sum is cached across checkpoints: a checkpoint's figures are its own.
The groups (building, estate, landlord) are counts, kept while tonight's verdicts are the same.

``now`` cuts tonight's window: with a clock that moves between requests, every row moves and the request computes
every checkpoint again (from plain figures, still).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import chain

from ronde.coverage.daily import PASS_GAP_S, DayFigures, _expected_for, _row, day_figures
from ronde.coverage.period import CheckpointPeriod, PeriodCoverage, _merge_checkpoint, combine_groups
from ronde.coverage.sensing import DayState, SensingEvidence, Verdicts
from ronde.coverage.service_time import clip_to_window, effective_window
from ronde.coverage.shares import CheckpointDayRef, GroupCoverage, Level, group_coverage
from ronde.coverage.tail import ClosedTail, Running, WindowOf, state_of
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.port import Store, VisitSpan
from ronde.store.records import DailyRollup
from ronde.store.schema import from_ms

Spans = tuple[tuple[str, int, int], ...]  # one checkpoint's (badge, first ms, last ms) tonight, sorted
Window = tuple[datetime, datetime]
Tags = tuple[str, str | None, str, str, int]  # kind, building, estate, landlord, expected


@dataclass(slots=True)
class EveningMemo:
    """What one evening's requests keep, per landlord scope and tail."""

    day: date | None = None
    rows: dict[str, tuple[Spans, Window, Tags, DailyRollup]] = field(default_factory=dict)
    kept: ClosedTail | None = None  # the closed evenings the merged figures were made with
    settled: PeriodCoverage | None = None  # and the settled part (the very objects)
    cut: tuple[date | None, date] | None = None  # and the evening in progress, "today"
    before: dict[str, CheckpointPeriod] = field(default_factory=dict)  # the settled part per checkpoint
    merged: dict[str, tuple[DailyRollup | None, DayState | None, Window | None, CheckpointPeriod]] = field(
        default_factory=dict
    )
    refs: tuple[CheckpointDayRef, ...] | None = None  # tonight's refs the groups were counted with
    groups: tuple[GroupCoverage, ...] = ()


def spans_of_day(store: Store, calendar: ServiceCalendar, day: date, landlord: str | None) -> list[VisitSpan]:
    """The visits of ``day`` as ``query._visits_of_days`` reads them (its window and 12 hours each side)."""
    margin = timedelta(hours=12)
    lo, hi = calendar.window(day)
    return [s for s in store.visit_spans(lo - margin, hi + margin, landlord=landlord) if s.service_day == day]


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
    memo: EveningMemo,
) -> list[DailyRollup]:
    """``daily.day_rollups`` of ``day`` from its visits' plain figures (equal rows, same order); a checkpoint's row
    is kept in ``memo`` and computed again only when its spans, window or tags moved. A stray checkpoint (not in
    the registry) takes its tags from its latest visit, as ``day_rollups`` from visits in the store's order."""
    if not calendar.is_service_day(day):
        return []
    if memo.day != day:
        memo.day = day
        memo.rows.clear()
    windows: dict[str, Window | None] = {}
    per_cp: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for s in spans:
        per_cp[s.checkpoint_id].append((s.badge, s.first_seen_ms, s.last_seen_ms))

    def row(cid: str, tags: Tags) -> DailyRollup | None:
        estate = tags[2]
        if estate not in windows:
            own = calendar.for_estate(estate)
            windows[estate] = effective_window(own, day, now) if own.is_service_day(day) else None
        window = windows[estate]
        if window is None:
            return None
        got = per_cp.get(cid)
        key: Spans = tuple(sorted(got)) if got else ()
        kept = memo.rows.get(cid)
        if kept is not None and kept[0] == key and kept[1] == window and kept[2] == tags:
            return kept[3]
        made = _row(day, cid, *tags, _day_figures(key, window), "")
        memo.rows[cid] = (key, window, tags, made)
        return made

    rows: list[DailyRollup] = []
    for c in registry.checkpoints.values():
        if landlord is None or c.landlord == landlord:
            r = row(c.id, (c.kind, c.building, c.estate, c.landlord, c.expected_visits))
            if r is not None:
                rows.append(r)
    strays: dict[str, VisitSpan] = {}
    for s in spans:
        if s.checkpoint_id not in registry.checkpoints:
            seen = strays.get(s.checkpoint_id)
            if seen is None or s.first_seen_ms >= seen.first_seen_ms:
                strays[s.checkpoint_id] = s
    for cid, s in sorted(strays.items()):
        if landlord is None or s.landlord == landlord:
            r = row(cid, (s.kind, s.building, s.estate, s.landlord, _expected_for(s.kind)))
            if r is not None:
                rows.append(r)
    return rows


def _day_figures(spans: Spans, window: Window) -> DayFigures:
    """``day_rollups``' figures of one checkpoint: its passes (one team's visits less than ``PASS_GAP_S`` apart
    joined, as ``daily.join_fragments`` joins them: not shared, as ``daily`` is part of the benchmark data set's
    key) clipped to the window."""
    by_team: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for badge, first, last in spans:
        by_team[badge].append((from_ms(first), from_ms(last)))
    parts: list[tuple[datetime, datetime]] = []
    for team in by_team.values():
        team.sort()
        lo, hi = team[0]
        for a, b in team[1:]:
            if (a - hi).total_seconds() <= PASS_GAP_S:
                hi = max(hi, b)
            else:
                _clip(parts, lo, hi, window)
                lo, hi = a, b
        _clip(parts, lo, hi, window)
    return day_figures(parts, *window)


def _clip(parts: list[tuple[datetime, datetime]], lo: datetime, hi: datetime, window: Window) -> None:
    part = clip_to_window(lo, hi, *window)
    if part is not None:
        parts.append(part)


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
    """``combine_periods([settled, finish(...)])`` cut to ``first..last`` (``settled`` None: the tail alone),
    equal to it; a checkpoint's figures are kept in ``memo`` and made again only when tonight's row, verdict or
    window moved, or the kept closed evenings or the settled part are other objects."""
    if memo.kept is not kept or memo.settled is not settled or memo.cut != (partial, today):
        memo.kept, memo.settled, memo.cut = kept, settled, (partial, today)
        memo.before = {c.checkpoint_id: c for c in settled.checkpoints} if settled is not None else {}
        memo.merged.clear()
        memo.refs = None
    mine = {r.checkpoint_id: r for r in tonight if r.service_day == live}
    before, running, merged = memo.before, kept.running, memo.merged
    refs: list[CheckpointDayRef] = []
    out: list[CheckpointPeriod] = []
    for cid in sorted(running.keys() | mine.keys() | before.keys()):
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
        if m is not None and m[0] is r and m[1] is state and m[2] == window:
            out.append(m[3])
            continue
        value = _tail_period(registry, cid, held, r, state, window, partial, include_days)
        s = before.get(cid)
        value = _merge_checkpoint([s, value]) if s is not None else value
        merged[cid] = (r, state, window, value)
        out.append(value)
    key = tuple(refs)
    if memo.refs != key:
        memo.refs, memo.groups = key, _groups(registry, settled, chain(kept.refs, refs))
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
    """One checkpoint over the tail, as ``tail.finish`` makes it: its kept closed evenings, then tonight's row."""
    if r is None or state is None or window is None:
        assert held is not None
        return held.period(registry, cid)
    run = held.copy() if held is not None else Running(r)
    run.add(r, state, window, partial, include_days)
    return run.period(registry, cid)


def _groups(
    registry: Registry, settled: PeriodCoverage | None, refs: Iterable[CheckpointDayRef]
) -> tuple[GroupCoverage, ...]:
    """The tail's groups (``finish``'s), combined after the settled part's as ``combine_periods`` does."""
    tail = tuple(group_coverage(registry, refs))
    if settled is None:
        return tail
    per_group: dict[tuple[Level, str], list[GroupCoverage]] = defaultdict(list)
    for g in chain(settled.groups, tail):
        per_group[(g.level, g.id)].append(g)
    return combine_groups(per_group)
