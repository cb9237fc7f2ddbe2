"""Bilans and alerts (issue 15): supervisors preview a bilan, list deliveries and their log, resend one, and read
the alerts in progress; a landlord downloads its own issued bilans.

The API never imports ``ronde.notify`` (the runner): it reads and changes the notify tables through
``ronde.opdb.notify_repo``; a resend only marks the delivery due, and the runner sends it at its next tick. Every
bilan file read is written to the access log before the bytes leave, like an audit report.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from ronde.api.deps import Ctx, ScopeDep, StaffScope
from ronde.api.field_context import Field
from ronde.api.models import ERROR_RESPONSES
from ronde.api.paging import PAGED, Page, paging
from ronde.api.scope import NotFound
from ronde.audit.bilan import build_bilan
from ronde.audit.bilan_pdf import render_bilan_pdf
from ronde.audit.labels import Lang
from ronde.opdb import notify_repo
from ronde.opdb.field_facts_db import DatabaseFieldFacts

router = APIRouter(prefix="/api/v1/notify", tags=["notify"], responses=ERROR_RESPONSES)
DeliveryId = Annotated[int, Path(ge=1, le=2**31 - 1)]
FILE_NAME = re.compile(r"^bilan-[a-z0-9-]+-\d{4}-\d{2}(-en)?\.(pdf|csv|json)(\.manifest\.json)?$")
MIME = {".pdf": "application/pdf", ".csv": "text/csv; charset=utf-8", ".json": "application/json"}
RECENT = timedelta(hours=24)
# Deliveries and bilans pile up month after month (a city: 50 landlords x 12 bilans a year, each with its
# deliveries): the database is asked for one page (and one row more, to know whether a next one exists), 200 rows
# by default (~0.3 KB each: ~60 KB), as many as these routes answered before they were paged. See ronde.api.paging.
NotifyPage = Annotated[Page, paging(200, 2_000)]


class DeliveryOut(BaseModel):
    id: int
    kind: str
    channel: str
    target: str
    landlord: str | None
    subject: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None


class LogOut(BaseModel):
    at: datetime
    outcome: str
    detail: str | None
    runner: str | None


class BilanOut(BaseModel):
    bilan_id: str
    landlord: str
    month: str
    lang: str
    created_at: datetime
    files: list[str]


class AlertOut(BaseModel):
    id: int
    rule: str
    title: str
    estate: str | None
    raised_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None


def _delivery(d: notify_repo.Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        kind=d.kind,
        channel=d.channel,
        target=d.target,
        landlord=d.landlord,
        subject=d.subject,
        status=d.status,
        attempts=d.attempts,
        created_at=d.created_at,
        next_attempt_at=d.next_attempt_at,
        sent_at=d.sent_at,
        last_error=d.last_error,
    )


def _bilan(b: notify_repo.StoredBilan) -> BilanOut:
    return BilanOut(
        bilan_id=b.bilan_id,
        landlord=b.landlord,
        month=b.month.isoformat()[:7],
        lang=b.lang,
        created_at=b.created_at,
        files=list(b.files),
    )


@router.get("/deliveries", summary="deliveries, newest first (a failed one waits for its retry)", responses=PAGED)
def list_deliveries(
    scope: StaffScope,
    field: Field,
    page: NotifyPage,
    status: Annotated[Literal["pending", "sending", "sent", "failed"] | None, Query()] = None,
    kind: Annotated[Literal["bilan", "alert"] | None, Query()] = None,
) -> list[DeliveryOut]:
    with field.read() as s:
        found = notify_repo.deliveries(s, status=status, kind=kind, limit=page.end + 1)
        return [_delivery(d) for d in page.of(found, complete=False)]


@router.get("/deliveries/{delivery_id}/log", summary="every attempt of one delivery and its outcome")
def delivery_log(delivery_id: DeliveryId, scope: StaffScope, field: Field) -> list[LogOut]:
    with field.read() as s:
        if notify_repo.get_delivery(s, delivery_id) is None:
            raise NotFound("delivery", str(delivery_id))
        return [
            LogOut(at=e.at, outcome=e.outcome, detail=e.detail, runner=e.runner)
            for e in notify_repo.delivery_log(s, delivery_id)
        ]


@router.post("/deliveries/{delivery_id}/resend", summary="send again at the runner's next tick")
def resend(delivery_id: DeliveryId, scope: StaffScope, ctx: Ctx, field: Field) -> DeliveryOut:
    with field.write() as s:
        d = notify_repo.get_delivery(s, delivery_id)
        if d is None:
            raise NotFound("delivery", str(delivery_id))
        if not notify_repo.resend(s, delivery_id, ctx.now(), scope.principal.name):
            raise HTTPException(409, "the delivery is being sent right now; try again in a minute")
        d = notify_repo.get_delivery(s, delivery_id)
        assert d is not None
        return _delivery(d)


@router.get("/bilans", summary="issued bilans (a landlord: its own)", responses=PAGED)
def list_bilans(scope: ScopeDep, field: Field, page: NotifyPage) -> list[BilanOut]:
    with field.read() as s:
        found = notify_repo.bilans(s, landlord=scope.landlord, limit=page.end + 1)
        return [_bilan(b) for b in page.of(found, complete=False)]


@router.get("/bilans/{bilan_id}/{file_name}", summary="one file of an issued bilan (PDF, CSV, JSON or a manifest)")
def bilan_file(
    bilan_id: Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")],
    file_name: Annotated[str, Path(max_length=120)],
    scope: ScopeDep,
    ctx: Ctx,
    field: Field,
) -> Response:
    name = file_name
    if not FILE_NAME.match(name):
        raise NotFound("bilan file", name)
    with field.read() as s:
        b = notify_repo.bilan_by_id(s, bilan_id)
        if b is None or (scope.landlord is not None and b.landlord != scope.landlord):
            raise NotFound("bilan", bilan_id)
        data = notify_repo.bilan_file(s, b.id, name)
    if data is None:
        raise NotFound("bilan file", name)
    ctx.log_access(
        scope.principal, "bilan", f"landlord={b.landlord} month={b.month:%Y-%m} bilan={b.bilan_id} file={name}"
    )
    suffix = name.removesuffix(".manifest.json")
    media = "application/json" if name.endswith(".manifest.json") else MIME[suffix[suffix.rfind(".") :]]
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/preview", summary="the bilan of a landlord and a month as it would be issued now (PDF, not kept)")
def preview(
    scope: StaffScope,
    ctx: Ctx,
    field: Field,
    landlord: Annotated[str, Query(max_length=63)],
    month: Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")],
    lang: Annotated[Literal["fr", "en"], Query()] = "fr",
) -> Response:
    target = scope.landlord_of(landlord)
    first = date.fromisoformat(month + "-01")
    bilan = build_bilan(
        ctx.store,
        ctx.registry.registry,
        ctx.calendar,
        target.id,
        first,
        field=DatabaseFieldFacts(field.engine),
        now=ctx.now(),
    )
    ctx.log_access(scope.principal, "bilan preview", f"landlord={target.id} month={month}")
    return Response(
        render_bilan_pdf(bilan, Lang(lang)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="apercu-bilan-{target.id}-{month}.pdf"'},
    )


@router.get("/alerts", summary="alerts in progress and those resolved in the last 24 hours", responses=PAGED)
def alerts(scope: StaffScope, ctx: Ctx, field: Field, page: NotifyPage) -> list[AlertOut]:
    with field.read() as s:
        return [
            AlertOut(
                id=a.id,
                rule=a.rule,
                title=a.title,
                estate=a.estate,
                raised_at=a.raised_at,
                last_seen_at=a.last_seen_at,
                resolved_at=a.resolved_at,
            )
            for a in page.of(notify_repo.recent_alerts(s, ctx.now() - RECENT))
        ]
