"""Coverage of places: per checkpoint-day, shares per landlord/estate/building, idleness, fair share."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from ronde.api.coverage_data import (
    DAY_DETAIL_MAX_DAYS,
    ScopedCoverage,
    idleness_now,
    rollup_mismatches,
    scoped_coverage,
    scoped_landlord,
)
from ronde.api.deps import Ctx, Day, Period, ScopeDep
from ronde.api.models import (
    ERROR_RESPONSES,
    CheckpointCoverage,
    CheckpointDay,
    FairShareOut,
    FairShareRow,
    GroupCoverage,
    IdlenessRow,
    RollupWarning,
    ShareDay,
    VisitOut,
)
from ronde.api.paging import PAGED, Page, paging
from ronde.api.scope import Scope
from ronde.audit.rollups import Finding, RollupMismatch
from ronde.coverage.now import fair_share_for_period
from ronde.coverage.period import CheckpointDay as CoverageDay
from ronde.coverage.period import CheckpointPeriod
from ronde.coverage.sensing import DayState
from ronde.coverage.shares import GroupCoverage as Group
from ronde.coverage.shares import Level, Share
from ronde.protocol.estate import CheckpointKind

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
Opt = Annotated[str | None, Query()]
# Pages (ronde.api.paging): a checkpoint-day, idleness or visit row is ~0.3 KB, so 1,000 rows ~0.3 MB; a group
# with its evenings is ~0.11 KB per day, so 50 groups over the longest detailed period (92 days) ~0.5 MB.
RowPage = Annotated[Page, paging(1_000, 10_000)]
GroupPage = Annotated[Page, paging(50, 1_000)]
Days = Annotated[
    bool | None,
    Query(
        description=f"one row per evening in each group: by default only for periods shorter than "
        f"{DAY_DETAIL_MAX_DAYS} days (longer ones answer the period's shares only, `days` empty); true asks for them"
    ),
]


def _availability(d: CoverageDay) -> Literal["visited", "not_visited", "no_data"]:
    if d.visits > 0:
        return "visited"
    return "no_data" if d.state is DayState.NO_DATA else "not_visited"


def _kind(kind: str) -> CheckpointKind:
    try:
        return CheckpointKind(kind)
    except ValueError:  # a checkpoint since removed from the registry, stored with an older kind
        return CheckpointKind.FOOTPATH


def checkpoint_day(c: CheckpointPeriod, d: CoverageDay) -> CheckpointDay:
    return CheckpointDay(
        checkpoint_id=c.checkpoint_id,
        landlord=c.landlord,
        estate=c.estate,
        building=c.building,
        kind=_kind(c.kind),
        service_day=d.day,
        visits=d.visits,
        expected=d.expected,
        covered=d.visits >= d.expected,
        first_seen=d.first_seen,
        last_seen=d.last_seen,
        presence_s=d.presence_s,
        availability=_availability(d),
        partial=d.partial,
    )


@router.get(
    "/coverage/checkpoints",
    tags=["coverage"],
    summary="Each checkpoint on one service day: visits, first/last, covered, availability",
    responses=PAGED,
)
def coverage_checkpoints(
    scope: ScopeDep,
    ctx: Ctx,
    day: Day,
    page: RowPage,
    landlord: Opt = None,
    estate: Opt = None,
    building: Opt = None,
) -> list[CheckpointDay]:
    wanted = {c.id for c in scope.checkpoints(landlord=landlord, estate=estate, building=building)}
    cov = scoped_coverage(ctx, scope, day, day, landlord=landlord)
    rows = [c for c in cov.checkpoints if c.checkpoint_id in wanted]
    return [checkpoint_day(c, d) for c in page.of(rows) for d in c.days]


@router.get(
    "/coverage/checkpoints/{checkpoint_id}", tags=["coverage"], summary="One checkpoint over a period, day by day"
)
def coverage_checkpoint(checkpoint_id: str, scope: ScopeDep, ctx: Ctx, period: Period) -> CheckpointCoverage:
    cp = scope.checkpoint_of(checkpoint_id)
    cov = scoped_coverage(ctx, scope, *period, landlord=cp.landlord)
    days = [checkpoint_day(c, d) for c in cov.checkpoints if c.checkpoint_id == cp.id for d in c.days]
    return CheckpointCoverage(first=period[0], last=period[1], days=days)


def _share_day(day: date, share: Share, visited: int | None) -> ShareDay:
    n = share.checkpoint_days
    return ShareDay(
        service_day=day,
        checkpoints=n,
        visited=visited,
        covered=share.covered,
        no_data=share.no_data,
        visited_share=visited / n if n and visited is not None else None,
        covered_share=share.share,
        covered_share_sensed=share.share_sensed,
    )


def _groups(
    cov: ScopedCoverage,
    level: Level,
    first: date,
    last: date,
    mismatches: list[RollupMismatch],
    *,
    only: set[str] | None = None,
    days: bool = True,
) -> dict[str, GroupCoverage]:
    """The groups of ``level`` (those in ``only``, the page asked for, if given); without ``days``, each
    group's period share only (its ``days`` empty)."""
    visited = cov.visited(level)
    members_of: dict[str | None, list[CheckpointPeriod]] = {}
    for c in cov.checkpoints:
        gid = {Level.LANDLORD: c.landlord, Level.ESTATE: c.estate, Level.BUILDING: c.building}[level]
        members_of.setdefault(gid, []).append(c)
    out: dict[str, GroupCoverage] = {}
    for g in cov.groups(level):
        if only is not None and g.id not in only:
            continue
        members = members_of.get(g.id, [])
        ids, lids = {c.checkpoint_id for c in members}, {c.landlord for c in members}
        counts = None if visited is None else {d: n for (gid, d), n in visited.items() if gid == g.id}
        out[g.id] = _group_out(g, level, (first, last), ids, lids, counts, mismatches, days=days)
    return out


def _group_out(
    g: Group,
    level: Level,
    period: tuple[date, date],
    ids: set[str] | frozenset[str],
    landlords: set[str],
    visited: dict[date, int] | None,
    mismatches: list[RollupMismatch],
    *,
    days: bool,
) -> GroupCoverage:
    """A group as the API answers it: its shares per evening (with ``days``) and over the period, the checkpoints
    (``ids``) with a visit per evening when counted (``visited``), the rollup check's findings that concern it."""
    return GroupCoverage(
        level=level.value,
        id=g.id,
        name=g.name,
        first=period[0],
        last=period[1],
        checkpoints=len(ids),
        days=[_share_day(d, s, None if visited is None else visited.get(d, 0)) for d, s in g.days] if days else [],
        period=_share_day(period[1], g.period, None if visited is None else sum(visited.values())),
        rollup_warnings=[
            RollupWarning(service_day=m.service_day, checkpoint_id=m.checkpoint_id or None, reason=m.reason)
            for m in mismatches
            if m.finding is not Finding.UNCHECKED and _concerns(m, ids, landlords)
        ],
        rollup_unchecked=sorted(
            {m.service_day for m in mismatches if m.finding is Finding.UNCHECKED and _concerns(m, ids, landlords)}
        ),
    )


def _concerns(m: RollupMismatch, ids: set[str] | frozenset[str], landlords: set[str]) -> bool:
    """A checkpoint's finding concerns the group holding it; a whole day's, every group of its landlord."""
    return m.checkpoint_id in ids if m.checkpoint_id else m.landlord in landlords


def _detailed(period: tuple[date, date]) -> bool:
    return (period[1] - period[0]).days < DAY_DETAIL_MAX_DAYS


def _view(
    ctx: Ctx,
    scope: Scope,
    period: tuple[date, date],
    level: Level,
    landlord: str | None = None,
    *,
    only: set[str] | None = None,
    days: bool | None = True,
) -> dict[str, GroupCoverage]:
    """Shares per group; per-day "visited" counts only for periods short enough to detail; per-day rows
    at all when ``days`` (None: for those periods only, so a year of a city's buildings stays small)."""
    detail = _detailed(period)
    cov = scoped_coverage(ctx, scope, *period, landlord=landlord, include_days=False, visited=detail)
    mismatches = rollup_mismatches(ctx, scope, *period, landlord=landlord)
    return _groups(cov, level, *period, mismatches, only=only, days=detail if days is None else days)


def _empty(level: Level, gid: str, name: str, first: date, last: date) -> GroupCoverage:
    return GroupCoverage(
        level=level.value,
        id=gid,
        name=name,
        first=first,
        last=last,
        checkpoints=0,
        days=[],
        period=_share_day(last, Share(0, 0, 0, 0), 0),
    )


@router.get(
    "/coverage/landlords",
    tags=["coverage"],
    summary="Per landlord: share of its checkpoints visited and covered, per evening and over the period",
    responses=PAGED,
)
def coverage_landlords(
    scope: ScopeDep, ctx: Ctx, period: Period, page: GroupPage, days: Days = None
) -> list[GroupCoverage]:
    landlords = page.of(scope.landlords())
    found = _view(ctx, scope, period, Level.LANDLORD, only={x.id for x in landlords}, days=days)
    return [found.get(x.id) or _empty(Level.LANDLORD, x.id, x.name, *period) for x in landlords]


@router.get("/coverage/landlords/{landlord_id}", tags=["coverage"], summary="One landlord's coverage")
def coverage_landlord(landlord_id: str, scope: ScopeDep, ctx: Ctx, period: Period) -> GroupCoverage:
    """Its group only, counted from letters (``scoped_landlord``): equal to its entry in ``/coverage/landlords``."""
    x = scope.landlord_of(landlord_id)
    shares, visited = scoped_landlord(ctx, scope, *period, x.id, visited=_detailed(period))
    if shares.group is None:
        return _empty(Level.LANDLORD, x.id, x.name, *period)
    mismatches = rollup_mismatches(ctx, scope, *period, landlord=x.id)
    return _group_out(shares.group, Level.LANDLORD, period, shares.members, {x.id}, visited, mismatches, days=True)


@router.get(
    "/coverage/estates",
    tags=["coverage"],
    summary="Per estate (the caller's checkpoints in it): shares per evening and period",
    responses=PAGED,
)
def coverage_estates(
    scope: ScopeDep, ctx: Ctx, period: Period, page: GroupPage, days: Days = None
) -> list[GroupCoverage]:
    estates = page.of(scope.estates())
    found = _view(ctx, scope, period, Level.ESTATE, only={e.id for e in estates}, days=days)
    return [found.get(e.id) or _empty(Level.ESTATE, e.id, e.name, *period) for e in estates]


@router.get("/coverage/estates/{estate_id}", tags=["coverage"], summary="One estate's coverage")
def coverage_estate(estate_id: str, scope: ScopeDep, ctx: Ctx, period: Period) -> GroupCoverage:
    e = scope.estate_of(estate_id)
    found = _view(ctx, scope, period, Level.ESTATE)
    return found.get(e.id) or _empty(Level.ESTATE, e.id, e.name, *period)


@router.get(
    "/coverage/buildings", tags=["coverage"], summary="Per building: shares per evening and period", responses=PAGED
)
def coverage_buildings(
    scope: ScopeDep, ctx: Ctx, period: Period, page: GroupPage, estate: Opt = None, days: Days = None
) -> list[GroupCoverage]:
    if estate is not None:
        scope.estate_of(estate)
    buildings = page.of(scope.buildings(estate=estate))
    found = _view(ctx, scope, period, Level.BUILDING, only={b.id for b in buildings}, days=days)
    return [found.get(b.id) or _empty(Level.BUILDING, b.id, b.name, *period) for b in buildings]


@router.get("/coverage/buildings/{building_id}", tags=["coverage"], summary="One building's coverage")
def coverage_building(building_id: str, scope: ScopeDep, ctx: Ctx, period: Period) -> GroupCoverage:
    b = scope.building_of(building_id)
    found = _view(ctx, scope, period, Level.BUILDING, landlord=b.landlord)
    return found.get(b.id) or _empty(Level.BUILDING, b.id, b.name, *period)


@router.get(
    "/coverage/idleness",
    tags=["coverage"],
    summary="Idleness per checkpoint (Machado et al. 2002): current, average, worst, regularity of gaps",
    responses=PAGED,
)
def coverage_idleness(
    scope: ScopeDep, ctx: Ctx, period: Period, page: RowPage, landlord: Opt = None, estate: Opt = None
) -> list[IdlenessRow]:
    wanted = {c.id for c in scope.checkpoints(landlord=landlord, estate=estate)}
    cov = scoped_coverage(ctx, scope, *period, landlord=landlord, include_days=False)
    now = {r.checkpoint_id: r for r in idleness_now(ctx, scope)}
    out: list[IdlenessRow] = []
    for c in page.of([c for c in cov.checkpoints if c.checkpoint_id in wanted]):
        cur = now.get(c.checkpoint_id)
        i = c.idleness
        out.append(
            IdlenessRow(
                checkpoint_id=c.checkpoint_id,
                landlord=c.landlord,
                estate=c.estate,
                visits=c.visits,
                current_idle_s=cur.idle_s if cur else 0.0,
                current_idle_at_least=cur.at_least if cur else False,
                mean_idle_s=i.average_idle_s if i.service_s > 0 else None,
                worst_idle_s=i.worst_idle_s if i.service_s > 0 else None,
                gap_cv=i.gap_cv,
                last_seen=c.last_seen,
            )
        )
    return out


@router.get(
    "/coverage/fair-share",
    tags=["coverage"],
    summary="Presence time at each landlord's checkpoints against its share of dwellings",
)
def coverage_fair_share(scope: ScopeDep, ctx: Ctx, period: Period) -> FairShareOut:
    # All landlords are needed for a share; only the caller's own lines are returned.
    shares = fair_share_for_period(ctx.store, ctx.registry.registry, ctx.calendar, *period, now=ctx.now())
    visible = {x.id for x in scope.landlords()}
    rows = [
        FairShareRow(
            landlord=f.landlord,
            name=f.name,
            dwellings=f.dwellings,
            dwelling_share=f.dwelling_share,
            presence_s=f.presence_s,
            presence_share=f.presence_share,
            ratio=f.ratio,
        )
        for f in shares
        if f.landlord in visible
    ]
    return FairShareOut(first=period[0], last=period[1], rows=rows)


@router.get(
    "/checkpoints/{checkpoint_id}/visits",
    tags=["coverage"],
    summary="Visits (events) at a checkpoint over a period; team badges only for staff (logged read)",
    responses=PAGED,
)
def checkpoint_visits(checkpoint_id: str, scope: ScopeDep, ctx: Ctx, period: Period, page: RowPage) -> list[VisitOut]:
    c = scope.checkpoint_of(checkpoint_id)
    days = list(ctx.calendar.service_days(*period))
    stored = ctx.store.visits_of_days(days, landlord=c.landlord) if days else []
    visits = scope.visits(v for v in stored if v.checkpoint_id == c.id)
    ctx.log_access(scope.principal, "events.checkpoint", f"checkpoint={c.id} first={period[0]} last={period[1]}")
    return [
        VisitOut(
            event_id=v.event_id,
            checkpoint_id=v.checkpoint_id,
            service_day=v.service_day,
            first_seen=v.first_seen,
            last_seen=v.last_seen,
            dwell_s=v.dwell_s,
            count=v.count,
            rssi_max=v.rssi_max,
            verification=str(v.verification),
            beacon_check=str(v.beacon_check),
            gateway_id=v.gateway_id if scope.sees_badges else None,
            badge=scope.badge(v),
        )
        for v in page.of(visits)
    ]
