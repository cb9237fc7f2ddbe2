"""A period's coverage from closed days' plain figures (``Store.rollup_figures_by_day``), and joined to the settled
part before it in the same pass.

Why apart from ``period``: a cold request's open tail is folded here from figures (no ``DailyRollup`` and no
``datetime`` a row), and a landlord's year then joins it to its settled part, checkpoint by checkpoint. At city scale
that join (``combine_periods``: each checkpoint's tail period made, then merged with its settled one, two
``CheckpointPeriod`` objects and two idleness figures a checkpoint) cost ~10 % of a cold year; ``before=`` makes each
checkpoint's joined period in one step, with the same operations on the same figures in the same order
(``_merge_checkpoint``'s), so the answer is equal to the bit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import chain

from ronde.coverage.daily import day_rollups
from ronde.coverage.idleness import WindowMicros, fold_figures
from ronde.coverage.period import CheckpointPeriod, PeriodCoverage, combine_groups
from ronde.coverage.sensing import DEFAULT_HORIZON_DAYS, DayState, SensingEvidence
from ronde.coverage.service_time import effective_window, period_windows
from ronde.coverage.shares import CheckpointDayRef, GroupCoverage, Level, group_coverage
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.records import RollupFigures, StoredVisit, rollup_figures_of

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
# A live day's instants as ``day_rollups`` gave them (its figures hold them in microseconds): a checkpoint's first
# or last seen from a live day is that very ``datetime`` (its time zone included), as ``period_coverage`` gives it.
_LiveInstants = dict[tuple[str, date], tuple[datetime | None, datetime | None]]


def figures_period_coverage(
    registry: Registry,
    calendar: ServiceCalendar,
    first: date,
    last: date,
    *,
    figures: Sequence[RollupFigures],
    visits: Sequence[StoredVisit] = (),
    now: datetime | None = None,
    landlord: str | None = None,
    evidence: SensingEvidence,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    before: PeriodCoverage | None = None,
) -> PeriodCoverage:
    """``period_coverage`` (no day detail) of the closed days' plain figures (``Store.rollup_figures_by_day``: in
    day order, a day's checkpoints in any order): no ``DailyRollup`` and no ``datetime`` a row, the same additions
    in the same order, so equal to the bit. A cold request's open tail: its days and a horizon each side.
    ``before``: the settled part just before (no day detail either); then ``combine_periods([before, that])``."""
    windows, partial = period_windows(calendar, first, last, now)
    today = max(windows) if windows else last
    if now is not None:
        today = max(today, now.astimezone(calendar.tz).date())
    rows: dict[str, list[RollupFigures]] = defaultdict(list)
    rolled_days: set[date] = set()
    for f in figures:
        if f[0] in windows and (landlord is None or f[5] == landlord):
            rows[f[1]].append(f)
            rolled_days.add(f[0])
    live: _LiveInstants = {}
    live_days = [d for d in windows if d not in rolled_days]
    if live_days:
        by_day: dict[date, list[StoredVisit]] = defaultdict(list)
        for v in visits:
            by_day[v.service_day].append(v)
        for day in live_days:
            for r in day_rollups(registry, calendar, day, by_day.get(day, []), now=now, landlord=landlord):
                rows[r.checkpoint_id].append(rollup_figures_of(r))
                live[(r.checkpoint_id, day)] = (r.first_seen, r.last_seen)
    of = _window_micros(calendar, windows, now)
    refs: list[CheckpointDayRef] = []
    if before is None:
        out = [
            _figures_checkpoint(registry, cid, rows[cid], of, evidence, today, horizon_days, refs, live, None)
            for cid in sorted(rows)
        ]
        return PeriodCoverage(
            first, last, landlord, tuple(sorted(windows)), partial, tuple(out), tuple(group_coverage(registry, refs))
        )
    prior = {c.checkpoint_id: c for c in before.checkpoints}
    joined = [
        prior[cid]
        if cid not in rows
        else _figures_checkpoint(
            registry, cid, rows[cid], of, evidence, today, horizon_days, refs, live, prior.get(cid)
        )
        for cid in sorted(prior.keys() | rows.keys())
    ]
    per_group: dict[tuple[Level, str], list[GroupCoverage]] = defaultdict(list)
    for g in chain(before.groups, group_coverage(registry, refs)):
        per_group[(g.level, g.id)].append(g)
    return PeriodCoverage(
        before.first,
        last,
        before.landlord,
        before.days + tuple(sorted(windows)),
        partial if partial is not None else before.partial_day,
        tuple(joined),
        combine_groups(per_group),
    )


def _window_micros(
    calendar: ServiceCalendar, windows: dict[date, tuple[datetime, datetime]], now: datetime | None
) -> WindowMicros:
    """``period_coverage``'s ``window_of`` in microseconds since the epoch, with the window's length in seconds."""
    known: dict[tuple[str, date], tuple[int, int, float]] = {}

    def of(estate: str, day: date) -> tuple[int, int, float]:
        got = known.get((estate, day))
        if got is None:
            own = effective_window(calendar.for_estate(estate), day, now)
            start, end = own if own is not None else windows[day]
            got = known[(estate, day)] = ((start - _EPOCH) // _US, (end - _EPOCH) // _US, (end - start).total_seconds())
        return got

    return of


def _figures_checkpoint(
    registry: Registry,
    cid: str,
    days: list[RollupFigures],
    window_of: WindowMicros,
    evidence: SensingEvidence,
    today: date,
    horizon_days: int,
    refs: list[CheckpointDayRef],
    live: _LiveInstants,
    prior: CheckpointPeriod | None,
) -> CheckpointPeriod:
    """``_checkpoint_period`` on figures: its sample is the first figure filed (a closed day's before a live one's),
    the days folded in day order; after ``prior`` (the checkpoint's settled period), ``_merge_checkpoint`` of the
    two: each sum with the same operands in the same order, ``first_seen`` the first known, ``last_seen`` the last,
    the segment ``prior``'s then the tail's."""
    sample = days[0]
    if live:
        days = sorted(days, key=lambda f: f[0])
    covered = not_visited = no_data = 0
    visits = 0
    presence = 0.0
    first: RollupFigures | None = None  # the figures the first and last seen come from
    last: RollupFigures | None = None
    for f in days:
        day, _, _, building, estate, owner, v, _, is_covered, f_us, l_us, p, _, _ = f
        if is_covered:
            state = DayState.COVERED
            covered += 1
        elif v > 0:
            state = DayState.NOT_VISITED
            not_visited += 1
        else:
            state = evidence.unheard_state(cid, day, estate, today=today, horizon_days=horizon_days)
            if state is DayState.NOT_VISITED:
                not_visited += 1
            else:
                no_data += 1
        refs.append((building, estate, owner, day, state))
        visits += v
        presence += p
        if f_us is not None and first is None:
            first = f
        if l_us is not None:
            last = f
    c = registry.checkpoints.get(cid)
    seg = fold_figures(days, window_of)
    first_seen = None if first is None else _instant(first, live, last=False)
    last_seen = None if last is None else _instant(last, live, last=True)
    service_days = len(days)
    if prior is not None:
        seg = prior.segment.then(seg)
        first_seen = prior.first_seen if prior.first_seen is not None else first_seen
        last_seen = last_seen if last_seen is not None else prior.last_seen
        service_days, visits = prior.service_days + service_days, prior.visits + visits
        covered, not_visited = prior.covered_days + covered, prior.not_visited_days + not_visited
        no_data, presence = prior.no_data_days + no_data, sum((prior.presence_s, presence))
    return CheckpointPeriod(
        checkpoint_id=cid,
        name=c.name if c is not None else cid,
        kind=sample[2],
        building=sample[3],
        estate=sample[4],
        landlord=sample[5],
        expected_per_day=c.expected_visits if c is not None else sample[7],
        service_days=service_days,
        visits=visits,
        covered_days=covered,
        not_visited_days=not_visited,
        no_data_days=no_data,
        presence_s=presence,
        first_seen=first_seen,
        last_seen=last_seen,
        idleness=seg.idleness(),
        segment=seg,
        days=prior.days if prior is not None else (),
    )


def _instant(f: RollupFigures, live: _LiveInstants, *, last: bool) -> datetime:
    """Figure ``f``'s first (or ``last``) seen as ``period_coverage`` gives it: a closed day's as the store reads it
    (``schema.from_ms``: the epoch plus the interval), a live day's as ``day_rollups`` gave it."""
    at = live.get((f[1], f[0]))
    if at is not None:
        got = at[1] if last else at[0]
        assert got is not None
        return got
    us = f[10] if last else f[9]
    assert isinstance(us, int)
    return _EPOCH + timedelta(microseconds=us)
