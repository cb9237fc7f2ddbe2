"""Live supervision (supervisors and admins): stale checkpoints, teams, maintenance, gateways, ingest health."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from ronde.api.coverage_data import idleness_now
from ronde.api.deps import BadPeriod, Ctx, StaffScope
from ronde.api.models import (
    ERROR_RESPONSES,
    GapOut,
    GatewayHealthRow,
    MaintenanceRow,
    RejectionCountOut,
    RejectionOut,
    StaleRow,
    TeamRow,
)
from ronde.api.paging import PAGED, Page, paging
from ronde.coverage.now import gap_states_now, maintenance_now, team_checkins_now
from ronde.protocol.labels import checkpoint_labels

router = APIRouter(prefix="/api/v1/supervision", tags=["supervision"], responses=ERROR_RESPONSES)
# Pages (ronde.api.paging): a stale or maintenance row is ~0.25 KB, so 1,000 rows (every checkpoint of a fifth of
# a city) stay ~0.25 MB; teams and gateways number in the hundreds.
RowPage = Annotated[Page, paging(1_000, 10_000)]
SmallPage = Annotated[Page, paging(500, 5_000)]


@router.get(
    "/stale", summary="Checkpoints whose current idleness exceeds the threshold, most idle first", responses=PAGED
)
def stale(
    scope: StaffScope,
    ctx: Ctx,
    page: RowPage,
    threshold_min: Annotated[int | None, Query(ge=0, le=100_000, description="default: settings")] = None,
) -> list[StaleRow]:
    limit = (threshold_min if threshold_min is not None else ctx.settings.stale_after_min) * 60.0
    rows = [r for r in idleness_now(ctx, scope) if r.idle_s > limit]
    labels = checkpoint_labels(scope.registry, scope.checkpoints())
    return [
        StaleRow(
            checkpoint_id=r.checkpoint_id,
            name=r.name,
            label=labels.get(r.checkpoint_id, r.name),
            landlord=r.landlord,
            estate=r.estate,
            idle_s=r.idle_s,
            at_least=r.at_least,
            last_seen=r.last_visit,
        )
        for r in page.of(sorted(rows, key=lambda r: (-r.idle_s, r.checkpoint_id)))
    ]


@router.get("/teams", summary="Each team's last check-in (badge pseudonyms; never shown to landlords)", responses=PAGED)
def teams(scope: StaffScope, ctx: Ctx, page: SmallPage) -> list[TeamRow]:
    names = ctx.registry.badges()
    labels = checkpoint_labels(scope.registry, scope.checkpoints())
    return [
        TeamRow(
            badge=t.badge,
            team=names[t.badge].team if t.badge in names else None,
            checkpoint_id=t.checkpoint_id,
            checkpoint_name=t.checkpoint_name,
            checkpoint_label=labels.get(t.checkpoint_id, t.checkpoint_name),
            estate=t.estate,
            at=t.at,
        )
        for t in page.of(team_checkins_now(ctx.store, ctx.registry.registry, now=ctx.now()))
    ]


@router.get(
    "/beacons",
    summary="Beacons needing maintenance: low battery (TLM), or silent while teams passed nearby",
    responses=PAGED,
)
def maintenance(scope: StaffScope, ctx: Ctx, page: RowPage) -> list[MaintenanceRow]:
    labels = checkpoint_labels(scope.registry, scope.checkpoints())
    return [
        MaintenanceRow(
            checkpoint_id=m.checkpoint_id,
            name=m.name,
            label=labels.get(m.checkpoint_id, m.name),
            estate=m.estate,
            landlord=m.landlord,
            reason=m.reason.value,
            battery_mv=m.battery_mv,
            last_seen_day=m.last_seen_day,
            missed_days=list(m.missed_days),
        )
        for m in page.of(maintenance_now(ctx.store, ctx.registry.registry, now=ctx.now()))
    ]


@router.get("/gateways", summary="Gateways offline, silent for too long, or enrolled but never heard", responses=PAGED)
def gateways(
    scope: StaffScope,
    ctx: Ctx,
    page: SmallPage,
    include_online: Annotated[bool, Query(description="also list healthy gateways")] = False,
) -> list[GatewayHealthRow]:
    now = ctx.now()
    silent_after = timedelta(seconds=ctx.settings.gateway_offline_after_s)
    in_service = ctx.calendar.in_service(now)
    states = ctx.store.latest_gateway_states()
    enrolled = ctx.registry.gateways.entries
    out: list[GatewayHealthRow] = []
    for gid in sorted(set(enrolled) | set(states)):
        s = states.get(gid)
        reason: Literal["offline", "silent", "never_seen", "online"]
        if s is None:
            reason = "never_seen"
        elif not s.online:
            reason = "offline"
        elif in_service and now - s.at > silent_after:
            reason = "silent"
        else:
            reason = "online"
        if reason != "online" or include_online:
            out.append(
                GatewayHealthRow(
                    gateway_id=gid,
                    enrolled=gid in enrolled,
                    online=reason == "online",
                    state_at=s.at if s else None,
                    reason=reason,
                )
            )
    return page.of(out)


Since = Annotated[datetime | None, Query(description="default: 24 hours ago")]


def _since(ctx: Ctx, since: datetime | None) -> datetime:
    if since is None:
        return ctx.now() - timedelta(hours=24)
    if since.tzinfo is None:
        raise BadPeriod("since needs a UTC offset (e.g. 2026-11-26T18:00:00Z)")
    return since


@router.get("/rejections", summary="Messages ingest refused, with the reason (payload hash only, never content)")
def rejections(
    scope: StaffScope, ctx: Ctx, since: Since = None, limit: Annotated[int, Query(ge=1, le=10_000)] = 500
) -> list[RejectionOut]:
    """The newest ``limit``, in time order. The store's query takes only those (``LIMIT``): after a
    flood of refused messages, reading them all made this and the page take seconds."""
    rows = ctx.store.rejections(_since(ctx, since), ctx.now() + timedelta(seconds=1), limit=limit, newest_first=True)
    return [
        RejectionOut(
            at=r.at,
            reason=r.reason.value,
            detail=r.detail,
            topic=r.topic,
            gateway_id=r.gateway_id,
            payload_sha256=r.payload_sha256,
            event_id=r.event_id,
        )
        for r in reversed(rows)
    ]


@router.get("/rejections/counts", summary="How many messages ingest refused per reason (counted by the store)")
def rejection_counts(scope: StaffScope, ctx: Ctx, since: Since = None) -> list[RejectionCountOut]:
    counts = ctx.store.rejection_counts(_since(ctx, since), ctx.now() + timedelta(seconds=1))
    return [RejectionCountOut(reason=reason.value, count=n) for reason, n in sorted(counts.items())]


@router.get("/gaps", summary="Sequence gaps: events a gateway sent that never reached the server (yet)")
def gaps(
    scope: StaffScope, ctx: Ctx, since: Since = None, limit: Annotated[int, Query(ge=1, le=10_000)] = 500
) -> list[GapOut]:
    rows = ctx.store.gaps(_since(ctx, since), ctx.now() + timedelta(seconds=1))[-limit:]
    return [
        GapOut(
            gateway_id=s.gap.gateway_id,
            first_missing=s.gap.first_missing,
            last_missing=s.gap.last_missing,
            detected_at=s.gap.detected_at,
            still_missing=s.still_missing,
            filled=s.filled,
            anomaly=s.anomaly,
        )
        for s in gap_states_now(ctx.store, rows, now=ctx.now(), anomaly_after=ctx.settings.sequence_anomaly_after)
    ]
