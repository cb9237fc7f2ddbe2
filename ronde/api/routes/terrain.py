"""The team's phone (issue 14, contract: docs/field.md): enrolment by a supervisor's one-time code, then, with
the device token, its places, the suggested checkpoint, the vocabulary, partners, and its own records.

A device sees only its own team: its records, the requests assigned to it, its team's last visit. The routes
that write take the client's ULID as idempotency key: a phone's offline queue may send a record twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime
from starlette.exceptions import HTTPException

from ronde.api.deps import Ctx
from ronde.api.field_context import DeviceScope, Field, FieldStaff
from ronde.api.field_media import PhotoRefused, reencode
from ronde.api.field_models import (
    DeviceEnrolled,
    DeviceIn,
    DeviceOut,
    EnrolmentIn,
    EnrolmentOut,
    PartnerOut,
    PhotoOut,
    Places,
    RecordOut,
    ReportCreated,
    ReportIn,
    RequestOut,
    SollicitationCreated,
    SollicitationIn,
    Suggestion,
    TeamStatusIn,
    TermOut,
    TerrainMe,
    Vocabulary,
)
from ronde.api.field_places import places_of
from ronde.api.field_service import (
    content_digest,
    partner_exists,
    record_out,
    request_out,
    resolve_place,
    suggestion,
)
from ronde.api.models import ERROR_RESPONSES, ErrorBody
from ronde.api.scope import NotFound, Scope
from ronde.opdb import device_repo, field_repo, request_repo, service_repo
from ronde.opdb.field_repo import BadTransition, IdConflict, NewRecord
from ronde.protocol import field_vocab as vocab

router = APIRouter(prefix="/api/v1/terrain", tags=["terrain"], responses=ERROR_RESPONSES)
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "this id is already used by other content"}
}
FUTURE_SLACK = timedelta(hours=1)  # a phone's clock may be a little ahead; a day ahead is refused


# ---- enrolment (supervisor) and devices ---------------------------------------------------------------------


@router.post("/enrolments", status_code=201, summary="A one-time code (and its QR code) to enrol a team's phone")
def create_enrolment(body: EnrolmentIn, scope: FieldStaff, ctx: Ctx, field: Field, request: Request) -> EnrolmentOut:
    with field.write() as s:
        try:
            made = device_repo.create_enrolment(s, body.team, by=scope.principal.name, now=ctx.now())
        except device_repo.UnknownTeam:
            raise NotFound("team", body.team) from None
    url = f"/terrain/#enrol={made.code}"
    qr = segno.make(str(request.base_url).rstrip("/") + url, error="m").svg_inline(scale=6)
    return EnrolmentOut(code=made.code, expires_at=made.expires_at, enrol_url=url, qr_svg=qr)


@router.post(
    "/devices",
    status_code=201,
    summary="Trade a one-time code for a device token (no authentication: the code is the credential)",
    responses={403: {"model": ErrorBody, "description": "code unknown, expired or already used (French/English)"}},
)
def enrol_device(body: DeviceIn, ctx: Ctx, field: Field) -> DeviceEnrolled:
    try:
        with field.write() as s:
            made = device_repo.enrol_device(s, body.code, body.label, now=ctx.now())
    except device_repo.EnrolmentRefused as exc:
        raise HTTPException(403, str(exc)) from None
    return DeviceEnrolled(device_id=made.device.id, token=made.token, team=made.device.team)


@router.get("/devices", summary="Enrolled devices, revoked ones included")
def list_devices(scope: FieldStaff, field: Field) -> list[DeviceOut]:
    with field.read() as s:
        found = device_repo.devices(s)
    return [
        DeviceOut(
            device_id=d.id,
            team=d.team,
            label=d.label,
            enrolled_at=d.enrolled_at,
            last_seen_at=d.last_seen_at,
            revoked_at=d.revoked_at,
        )
        for d in found
    ]


@router.delete("/devices/{device_id}", status_code=204, summary="Revoke a device: its token is refused at once")
def revoke_device(device_id: str, scope: FieldStaff, ctx: Ctx, field: Field) -> Response:
    with field.write() as s:
        if not device_repo.revoke_device(s, device_id, now=ctx.now()):
            raise NotFound("device", device_id)
    return Response(status_code=204)


# ---- the device's own view --------------------------------------------------------------------------------------


def _team(scope: Scope) -> str:
    team = scope.team
    if team is None:  # require_device guarantees it; kept for the type
        raise NotFound("team", "")
    return team


@router.get("/me", summary="The device's team (pseudonym) and id")
def me(scope: DeviceScope) -> TerrainMe:
    return TerrainMe(team=_team(scope), device_id=scope.principal.device or "")


@router.get("/places", summary="Every estate's buildings and checkpoints (the list the phone caches offline)")
def places(scope: DeviceScope, ctx: Ctx) -> Places:
    return places_of(ctx.registry.registry)


@router.get("/suggestion", summary="The team's last visit recorded by its scanner in the last minutes, if any")
def get_suggestion(scope: DeviceScope, ctx: Ctx, field: Field) -> Suggestion:
    with field.read() as s:
        badges = device_repo.team_badges(s, _team(scope))
    return suggestion(ctx.store, ctx.registry.registry, badges, ctx.now(), field.config.suggestion_window)


def _terms(terms: tuple[vocab.Term, ...]) -> list[TermOut]:
    return [TermOut(id=t.id, label=t.fr) for t in terms]


@router.get("/vocabulary", summary="Categories, urgencies, origins, types, responses and statuses (French labels)")
def vocabulary(scope: DeviceScope) -> Vocabulary:
    return Vocabulary(
        categories=_terms(vocab.CATEGORIES),
        urgencies=_terms(vocab.URGENCIES),
        origins=_terms(vocab.ORIGINS),
        types=_terms(vocab.TYPES),
        responses=_terms(vocab.RESPONSES),
        statuses=_terms(vocab.REPORT_STATUSES),
        sollicitation_statuses=_terms(vocab.SOLLICITATION_STATUSES),
        request_statuses=_terms(vocab.REQUEST_STATUSES),
        partner_kinds=_terms(vocab.PARTNER_KINDS),
    )


@router.get("/partners", summary="The partner directory (the orientations a team may give)")
def partners(scope: DeviceScope, field: Field) -> list[PartnerOut]:
    with field.read() as s:
        found = service_repo.partners(s)
    return [PartnerOut(id=p.id, name=p.name, kind=p.kind) for p in found]


def _not_future(created_at: datetime, now: datetime, name: str = "created_at") -> None:
    """A validation error like the body's own (422 with ``errors``, as the schema documents it)."""
    if created_at > now + FUTURE_SLACK:
        msg = f"{name} {created_at.isoformat()} is in the future (server time {now.isoformat()})"
        raise RequestValidationError([{"loc": ("body", name), "msg": msg, "type": "value_error"}])


@router.post("/reports", status_code=201, summary="A technical report (veille technique)", responses=CONFLICT)
def post_report(body: ReportIn, scope: DeviceScope, ctx: Ctx, field: Field, response: Response) -> ReportCreated:
    _not_future(body.created_at, ctx.now())
    place = resolve_place(scope, body.place)
    new = NewRecord(
        id=body.id,
        kind=field_repo.TECHNIQUE,
        digest=content_digest(body),
        team=_team(scope),
        device_id=scope.principal.device,
        created_at=body.created_at,
        place=place,
        status="nouveau",
        text=body.text,
        category=body.category,
        urgency=body.urgency,
    )
    rec, created = _add(field, new, ctx.now())
    if not created:
        response.status_code = 200
    landlord = ctx.registry.registry.landlords.get(rec.place.landlord_id)
    return ReportCreated(id=rec.id, status=rec.status, landlord=landlord.name if landlord else rec.place.landlord_id)


def _add(field: Field, new: NewRecord, now: datetime) -> tuple[field_repo.FieldRecord, bool]:
    try:
        with field.write() as s:
            return field_repo.add_record(s, new, now=now)
    except IdConflict as exc:
        raise HTTPException(409, str(exc)) from None


@router.put(
    "/reports/{record_id}/photo",
    status_code=201,
    summary="The report's photo (JPEG, PNG or WebP body): re-encoded to JPEG without any EXIF/GPS, size-limited",
    responses={
        413: {"model": ErrorBody, "description": "larger than the limit (bytes or pixels)"},
        415: {"model": ErrorBody, "description": "not a JPEG, PNG or WebP image"},
    },
)
async def put_photo(
    record_id: str, request: Request, scope: DeviceScope, ctx: Ctx, field: Field, response: Response
) -> PhotoOut:
    with field.read() as s:
        rec = field_repo.get_record(s, record_id, with_timeline=False)
    if (
        rec is None
        or rec.kind != field_repo.TECHNIQUE
        or not scope.field_record_in_reach(rec.place.landlord_id, rec.team)
    ):
        raise NotFound("report", record_id)
    data = await request.body()
    try:
        image = reencode(
            data,
            request.headers.get("content-type", ""),
            max_bytes=field.config.max_photo_bytes,
            max_px=field.config.max_photo_px,
        )
    except PhotoRefused as exc:
        raise HTTPException(exc.status, str(exc)) from None
    field.media.put(image.sha256, image.data)
    photo = field_repo.Photo(image.sha256, len(image.data), image.width, image.height, image.content_type)
    with field.write() as s:
        _, created = field_repo.put_photo(s, record_id, photo, now=ctx.now())
    if not created:
        response.status_code = 200
    return PhotoOut(sha256=image.sha256, width=image.width, height=image.height)


@router.post("/sollicitations", status_code=201, summary="A sollicitation (main courante)", responses=CONFLICT)
def post_sollicitation(
    body: SollicitationIn, scope: DeviceScope, ctx: Ctx, field: Field, response: Response
) -> SollicitationCreated:
    now = ctx.now()
    _not_future(body.created_at, now)
    place = resolve_place(scope, body.place)
    team = _team(scope)
    with field.read() as s:
        if body.partner is not None and not partner_exists(s, body.partner):
            raise NotFound("partner", str(body.partner))
        if body.request is not None:
            req = request_repo.get_request(s, body.request)
            if req is None or not scope.field_request_in_reach(None, None, req.assigned_team):
                raise NotFound("request", body.request)
    new = NewRecord(
        id=body.id,
        kind=field_repo.SOLLICITATION,
        digest=content_digest(body),
        team=team,
        device_id=scope.principal.device,
        created_at=body.created_at,
        place=place,
        status=body.status,
        text=body.text,
        origin=body.origin,
        type=body.type,
        response=body.response,
        partner_id=body.partner,
        request_id=body.request,
        contact=body.contact.value if body.contact else None,
        contact_expires_at=now + timedelta(days=field.config.retention.contact_days) if body.contact else None,
    )
    try:
        with field.write() as s:
            rec, created = field_repo.add_record(s, new, now=now)
            if created and body.request is not None:
                request_repo.answer_request(s, body.request, rec.id, now=now)
    except IdConflict as exc:
        raise HTTPException(409, str(exc)) from None
    if not created:
        response.status_code = 200
    return SollicitationCreated(id=rec.id, status=rec.status)


STEP_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "a technical report, or a status behind the record's"}
}


@router.post(
    "/sollicitations/{record_id}/status",
    summary="The team moves its own sollicitation forward (orientée, close)",
    responses=STEP_CONFLICT,
)
def set_sollicitation_status(
    record_id: str, body: TeamStatusIn, scope: DeviceScope, ctx: Ctx, field: Field
) -> RecordOut:
    """Another team's record answers 404 as an unknown one. The outbox may send a step twice: a record already
    at that status answers 200 unchanged. The step is dated when the team did it (``at``), kept between the
    record's last step and the server's clock; a technical report's steps are the landlord's (409)."""
    now = ctx.now()
    _not_future(body.at, now, "at")
    with field.read() as s:
        rec = field_repo.get_record(s, record_id)
        if rec is None or rec.team != _team(scope):
            raise NotFound("record", record_id)
        if body.partner is not None and not partner_exists(s, body.partner):
            raise NotFound("partner", str(body.partner))
    if rec.kind != field_repo.SOLLICITATION:
        raise HTTPException(409, f"record {record_id} is a technical report: its status is the landlord's")
    if rec.status == body.status:
        return record_out(rec, timeline=True)
    after = max([rec.created_at, *(step.at for step in rec.timeline)])  # a timeline never runs backwards
    at = min(max(body.at, after), now)
    try:
        with field.write() as s:
            moved = field_repo.set_status(
                s,
                record_id,
                body.status,
                comment=body.comment,
                actor_role=scope.principal.role.value,
                now=at,
                partner_id=body.partner,
            )
    except BadTransition as exc:
        raise HTTPException(409, str(exc)) from None
    return record_out(moved, timeline=True)


@router.get("/records", summary="The team's own records (both kinds), newest first")
def team_records(
    scope: DeviceScope,
    field: Field,
    since: Annotated[AwareDatetime | None, Query(description="only records made at or after this instant")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[RecordOut]:
    with field.read() as s:
        found, _ = field_repo.list_records(s, field_repo.RecordFilter(team=_team(scope), since=since), limit=limit)
    return [record_out(r) for r in found]


@router.get("/requests", summary="The requests assigned to the team, open first")
def team_requests(scope: DeviceScope, ctx: Ctx, field: Field) -> list[RequestOut]:
    with field.read() as s:
        found = request_repo.list_requests(s, team=_team(scope))
        return [request_out(s, ctx.store, ctx.registry.registry, scope, r, ctx.now()) for r in found]
