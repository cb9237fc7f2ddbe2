"""Coverage of a period: per checkpoint, per building/estate/landlord, from rollups and live visits.

Closed days are read from their daily rollups (small data); days without rollups (the evening in
progress, or a day ingest has not closed yet) are computed from raw visits, cut at ``now``. Both
paths produce the same per-day figures, so the answer does not depend on which one was used.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from itertools import chain

from ronde.coverage.daily import day_rollups
from ronde.coverage.idleness import Idleness, Segment, fold_segments
from ronde.coverage.sensing import DEFAULT_HORIZON_DAYS, DayState, Verdicts, evidence_from
from ronde.coverage.service_time import effective_window, period_windows
from ronde.coverage.shares import (
    CheckpointDayRef,
    DayShare,
    GroupCoverage,
    LazyDays,
    Level,
    Share,
    days_tuple,
    group_coverage,
)
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.protocol.frozen import fast_init
from ronde.store.records import DailyRollup, StoredVisit


@fast_init  # one a checkpoint-day of a detailed period
@dataclass(frozen=True, slots=True)
class CheckpointDay:
    day: date
    visits: int
    expected: int
    state: DayState
    first_seen: datetime | None
    last_seen: datetime | None
    presence_s: float
    max_idle_s: float
    mean_idle_s: float
    partial: bool  # the evening is still in progress

    @property
    def covered(self) -> bool:
        return self.state is DayState.COVERED


def day_of(r: DailyRollup, day: date, state: DayState, *, partial: bool) -> CheckpointDay:
    """A checkpoint's day as a period's detail shows it, from its rollup and its judged state."""
    return CheckpointDay(
        day, r.visits, r.expected, state, r.first_seen, r.last_seen, r.presence_s, r.max_idle_s, r.mean_idle_s, partial
    )


@fast_init  # one a checkpoint a piece: 18 fields (ronde.protocol.frozen)
@dataclass(frozen=True, slots=True)
class CheckpointPeriod:
    checkpoint_id: str
    name: str
    kind: str
    building: str | None
    estate: str
    landlord: str
    expected_per_day: int
    service_days: int
    visits: int
    covered_days: int
    not_visited_days: int
    no_data_days: int
    presence_s: float
    first_seen: datetime | None
    last_seen: datetime | None
    idleness: Idleness
    segment: Segment  # what lets adjacent periods combine
    days: tuple[CheckpointDay, ...] = ()  # only when asked for (``include_days``)

    def then(self, later: CheckpointPeriod) -> CheckpointPeriod:
        """This period followed by the adjacent ``later`` one (same checkpoint)."""
        seg = self.segment.then(later.segment)
        return replace(
            later,
            service_days=self.service_days + later.service_days,
            visits=self.visits + later.visits,
            covered_days=self.covered_days + later.covered_days,
            not_visited_days=self.not_visited_days + later.not_visited_days,
            no_data_days=self.no_data_days + later.no_data_days,
            presence_s=self.presence_s + later.presence_s,
            first_seen=self.first_seen if self.first_seen is not None else later.first_seen,
            last_seen=later.last_seen if later.last_seen is not None else self.last_seen,
            idleness=seg.idleness(),
            segment=seg,
            days=self.days + later.days,
        )


@dataclass(frozen=True, slots=True)
class PeriodCoverage:
    first: date
    last: date
    landlord: str | None
    days: tuple[date, ...]  # service days counted (those whose window has begun)
    partial_day: date | None
    checkpoints: tuple[CheckpointPeriod, ...]
    groups: tuple[GroupCoverage, ...]

    def then(self, later: PeriodCoverage) -> PeriodCoverage:
        """This period followed by the adjacent ``later`` one (same landlord scope)."""
        return combine_periods([self, later])

    def presence_by_landlord(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for c in self.checkpoints:
            out[c.landlord] += c.presence_s
        return dict(out)


def combine_periods(parts: Sequence[PeriodCoverage]) -> PeriodCoverage:
    """Adjacent periods (in order, same landlord scope) as one."""
    if not parts:
        raise ValueError("no period to combine")
    if len(parts) == 1:
        return parts[0]
    per_cp: dict[str, list[CheckpointPeriod]] = defaultdict(list)
    for part in parts:
        for c in part.checkpoints:
            per_cp[c.checkpoint_id].append(c)
    merged: list[CheckpointPeriod] = []
    for cid in sorted(per_cp):
        items = per_cp[cid]
        if len(items) == 1:
            merged.append(items[0])
            continue
        merged.append(_merge_checkpoint(items))
    per_group: dict[tuple[Level, str], list[GroupCoverage]] = defaultdict(list)
    for part in parts:
        for g in part.groups:
            per_group[(g.level, g.id)].append(g)
    partial = next((p.partial_day for p in reversed(parts) if p.partial_day is not None), None)
    return PeriodCoverage(
        parts[0].first,
        parts[-1].last,
        parts[0].landlord,
        tuple(chain.from_iterable(p.days for p in parts)),
        partial,
        tuple(merged),
        combine_groups(per_group),
    )


def combine_groups(per_group: dict[tuple[Level, str], list[GroupCoverage]]) -> tuple[GroupCoverage, ...]:
    """Each group's adjacent periods (in order) as one, building, estate then landlord, by id."""
    order = {Level.BUILDING: 0, Level.ESTATE: 1, Level.LANDLORD: 2}
    groups: list[GroupCoverage] = []
    for key in sorted(per_group, key=lambda k: (order[k[0]], k[1])):
        gs = per_group[key]
        total = Share(
            sum(g.period.checkpoint_days for g in gs),
            sum(g.period.covered for g in gs),
            sum(g.period.not_visited for g in gs),
            sum(g.period.no_data for g in gs),
        )
        g0 = gs[0]
        groups.append(GroupCoverage(g0.level, g0.id, g0.name, _joined_days(gs), total))
    return tuple(groups)


def _joined_days(gs: list[GroupCoverage]) -> Sequence[DayShare]:
    """The groups' days one after the other: made when read if one of them is (``LazyDays``)."""
    if any(isinstance(g.days, LazyDays) for g in gs):
        parts = [g.days for g in gs]
        return LazyDays(lambda: tuple(chain.from_iterable(map(days_tuple, parts))))
    return tuple(chain.from_iterable(g.days for g in gs))


def _merge_checkpoint(items: list[CheckpointPeriod]) -> CheckpointPeriod:
    """One checkpoint's adjacent periods as one."""
    # one pass and a direct constructor: ``replace`` costs several times more, ~2,500 times a request
    seg = items[0].segment
    service_days = visits = covered = not_visited = no_data = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    for i, c in enumerate(items):
        if i:
            seg = seg.then(c.segment)
        service_days += c.service_days
        visits += c.visits
        covered += c.covered_days
        not_visited += c.not_visited_days
        no_data += c.no_data_days
        if first_seen is None:
            first_seen = c.first_seen
        if c.last_seen is not None:
            last_seen = c.last_seen
    last = items[-1]
    return CheckpointPeriod(
        last.checkpoint_id,
        last.name,
        last.kind,
        last.building,
        last.estate,
        last.landlord,
        last.expected_per_day,
        service_days,
        visits,
        covered,
        not_visited,
        no_data,
        sum(c.presence_s for c in items),
        first_seen,
        last_seen,
        seg.idleness(),
        seg,
        tuple(chain.from_iterable(c.days for c in items)),
    )


def period_coverage(
    registry: Registry,
    calendar: ServiceCalendar,
    first: date,
    last: date,
    *,
    rollups: Sequence[DailyRollup],
    visits: Sequence[StoredVisit] = (),
    now: datetime | None = None,
    landlord: str | None = None,
    evidence: Verdicts | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    include_days: bool = False,
) -> PeriodCoverage:
    """Coverage of ``first..last`` (inclusive) for one landlord (all if None).

    ``rollups`` are the closed days' rollups; ``visits`` the raw visits of any day that has no
    rollup (usually just the current evening). ``evidence`` (sensing availability) defaults to
    what the rollups and visits themselves show; pass one that also holds gateway states,
    telemetry and the days around the period for a better "no data" verdict.
    """
    windows, partial = period_windows(calendar, first, last, now)
    today = max(windows) if windows else last
    if now is not None:
        today = max(today, now.astimezone(calendar.tz).date())

    rows: dict[str, dict[date, DailyRollup]] = defaultdict(dict)
    rolled_days: set[date] = set()
    for r in rollups:
        if r.service_day in windows and (landlord is None or r.landlord == landlord):
            rows[r.checkpoint_id][r.service_day] = r
            rolled_days.add(r.service_day)
    live_days = [d for d in windows if d not in rolled_days]
    if live_days:
        by_day: dict[date, list[StoredVisit]] = defaultdict(list)
        for v in visits:
            by_day[v.service_day].append(v)
        for day in live_days:
            for r in day_rollups(registry, calendar, day, by_day.get(day, []), now=now, landlord=landlord):
                rows[r.checkpoint_id][day] = r
    if evidence is None:
        evidence = evidence_from(calendar, rollups=rollups, visits=visits)

    order = sorted(windows)
    estate_windows: dict[tuple[str, date], tuple[datetime, datetime]] = {}

    def window_of(estate: str, day: date) -> tuple[datetime, datetime]:
        """The estate's own window that day (a rollup exists only when it had one)."""
        key = (estate, day)
        if key not in estate_windows:
            own = effective_window(calendar.for_estate(estate), day, now)
            estate_windows[key] = own if own is not None else windows[day]
        return estate_windows[key]

    refs: list[CheckpointDayRef] = []
    out: list[CheckpointPeriod] = []
    for cid in sorted(rows):
        per_day = rows[cid]
        out.append(
            _checkpoint_period(
                registry, cid, per_day, order, window_of, evidence, today, horizon_days, include_days, partial, refs
            )
        )
    return PeriodCoverage(
        first, last, landlord, tuple(order), partial, tuple(out), tuple(group_coverage(registry, refs))
    )


def _checkpoint_period(
    registry: Registry,
    cid: str,
    per_day: dict[date, DailyRollup],
    order: list[date],
    window_of: Callable[[str, date], tuple[datetime, datetime]],
    evidence: Verdicts,
    today: date,
    horizon_days: int,
    include_days: bool,
    partial: date | None,
    refs: list[CheckpointDayRef],
) -> CheckpointPeriod:
    covered = not_visited = no_data = 0
    samples: list[tuple[datetime, datetime, DailyRollup]] = []
    days: list[CheckpointDay] = []
    visits = 0
    presence = 0.0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    sample = next(iter(per_day.values()))
    for day in order:
        r = per_day.get(day)
        if r is None:  # the checkpoint did not exist in the registry that day
            continue
        w_start, w_end = window_of(r.estate, day)
        samples.append((w_start, w_end, r))
        # the two verdicts that need no evidence, inline (``SensingEvidence.state`` gives the same)
        if r.covered:
            state = DayState.COVERED
        elif r.visits > 0:
            state = DayState.NOT_VISITED
        else:
            state = evidence.state(r, today=today, horizon_days=horizon_days)
        if state is DayState.COVERED:
            covered += 1
        elif state is DayState.NOT_VISITED:
            not_visited += 1
        else:
            no_data += 1
        refs.append((r.building, r.estate, r.landlord, day, state))
        visits += r.visits
        presence += r.presence_s
        if r.first_seen is not None and first_seen is None:
            first_seen = r.first_seen
        if r.last_seen is not None:
            last_seen = r.last_seen
        if include_days:
            days.append(day_of(r, day, state, partial=day == partial))
    c = registry.checkpoints.get(cid)
    seg = fold_segments(samples)
    return CheckpointPeriod(
        checkpoint_id=cid,
        name=c.name if c is not None else cid,
        kind=sample.kind,
        building=sample.building,
        estate=sample.estate,
        landlord=sample.landlord,
        expected_per_day=c.expected_visits if c is not None else sample.expected,
        service_days=len(samples),
        visits=visits,
        covered_days=covered,
        not_visited_days=not_visited,
        no_data_days=no_data,
        presence_s=presence,
        first_seen=first_seen,
        last_seen=last_seen,
        idleness=seg.idleness(),
        segment=seg,
        days=tuple(days),
    )


def rollups_for_days(
    registry: Registry,
    calendar: ServiceCalendar,
    days: Iterable[date],
    visits: Sequence[StoredVisit],
    *,
    now: datetime | None = None,
    landlord: str | None = None,
) -> list[DailyRollup]:
    """Per-day figures computed from raw visits (no chain digest): what a rollup would hold."""
    by_day: dict[date, list[StoredVisit]] = defaultdict(list)
    for v in visits:
        by_day[v.service_day].append(v)
    out: list[DailyRollup] = []
    for day in days:
        out.extend(day_rollups(registry, calendar, day, by_day.get(day, []), now=now, landlord=landlord))
    return out
