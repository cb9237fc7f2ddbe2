"""The landlord's queue of field records, requests from a commanditaire or partner, and the partner directory
(issue 14, contract: docs/field.md).

Reach is the ``Scope``'s (``field_record_in_reach``, ``field_request_in_reach``, ``field_place``): a landlord sees
its own places' records only, and a record out of reach answers 404 exactly like one that does not exist. No
answer here carries a team, a badge or a device: ``record_out`` has no such field.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from starlette.exceptions import HTTPException

from ronde.api.deps import Ctx
from ronde.api.field_context import Field, FieldStaff, QueueScope, RequesterScope
from ronde.api.field_models import (
    AssignIn,
    ContactOut,
    PartnerIn,
    PartnerOut,
    PartnerToken,
    PartnerTokenIn,
    RecordOut,
    RecordPage,
    RequestIn,
    RequestOut,
    StatusIn,
)
from ronde.api.field_service import content_digest, partner_estates, record_out, request_out, resolve_place
from ronde.api.models import ERROR_RESPONSES, ErrorBody
from ronde.api.scope import NotFound, Scope
from ronde.opdb import device_repo, field_repo, request_repo, service_repo
from ronde.opdb.field_partners import PartnerNameTaken, put_partner_by_id
from ronde.opdb.field_partners import delete_partner as remove_partner
from ronde.opdb.field_repo import BadTransition, FieldRecord, IdConflict, RecordFilter
from ronde.opdb.request_repo import RequestClosed, Requester
from ronde.protocol.access import Role
from ronde.protocol.estate import ID

router = APIRouter(prefix="/api/v1", tags=["field"], responses=ERROR_RESPONSES)
PartnerId = Annotated[int, Path(ge=1, le=2**31 - 1)]
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "id used by other content, or a status that does not apply"}
}


def _record_in_reach(field: Field, scope: Scope, record_id: str) -> FieldRecord:
    with field.read() as s:
        rec = field_repo.get_record(s, record_id)
    if rec is None or not scope.field_record_in_reach(rec.place.landlord_id, rec.team):
        raise NotFound("record", record_id)
    return rec


@router.get("/field/records", summary="Field records of the caller's places, newest first (landlord: its own)")
def list_records(
    scope: QueueScope,
    field: Field,
    kind: Annotated[str | None, Query(pattern="^(technique|sollicitation)$")] = None,
    status: Annotated[str | None, Query(pattern="^[a-z_]{1,20}$")] = None,
    estate: Annotated[str | None, Query(pattern=ID)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(pattern="^[0-9A-HJKMNP-TV-Z]{26}$")] = None,
) -> RecordPage:
    flt = RecordFilter(landlord=scope.landlord, kind=kind, status=status, estate=estate)
    with field.read() as s:
        found, next_cursor = field_repo.list_records(s, flt, limit=limit, cursor=cursor)
    return RecordPage(items=[record_out(r) for r in found], next_cursor=next_cursor)


@router.get("/field/records/{record_id}", summary="One record with its status timeline")
def get_record(record_id: str, scope: QueueScope, field: Field) -> RecordOut:
    return record_out(_record_in_reach(field, scope, record_id), timeline=True)


@router.get(
    "/field/records/{record_id}/photo",
    summary="The record's photo (JPEG, no metadata): staff and the owning landlord only",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "the re-encoded photo"}},
)
def get_photo(record_id: str, scope: QueueScope, field: Field) -> Response:
    rec = _record_in_reach(field, scope, record_id)
    data = None if rec.photo is None else field.media.get(rec.photo.sha256)
    if rec.photo is None or data is None:
        raise NotFound("photo", record_id)
    return Response(
        data,
        media_type=rec.photo.content_type,
        headers={"Cache-Control": "private, max-age=3600", "ETag": f'"{rec.photo.sha256}"'},
    )


@router.post(
    "/field/records/{record_id}/status",
    summary="Acknowledge, mark in progress, resolve (landlord on its records; supervisor)",
    responses=CONFLICT,
)
def set_status(record_id: str, body: StatusIn, scope: QueueScope, ctx: Ctx, field: Field) -> RecordOut:
    _record_in_reach(field, scope, record_id)
    try:
        with field.write() as s:
            rec = field_repo.set_status(
                s, record_id, body.status, comment=body.comment, actor_role=scope.principal.role.value, now=ctx.now()
            )
    except BadTransition as exc:
        raise HTTPException(409, str(exc)) from None
    return record_out(rec, timeline=True)


# the partner kinds that are the landlord itself: a sollicitation oriented to one is oriented to the landlord
# owning its place, which may then read the tenant's consented contact
LANDLORD_PARTNER_KINDS = frozenset({"agence_bailleur", "gardien"})


@router.get(
    "/field/records/{record_id}/contact",
    summary="A sollicitation's consented contact: staff; the owning landlord when the record is oriented to it",
)
def get_contact(record_id: str, scope: QueueScope, ctx: Ctx, field: Field) -> ContactOut:
    """404 when there is no contact, when it is past its retention, and for a landlord whose place it is but
    to which the record is not oriented (its agency or caretaker): the same answer, so nothing tells them apart.
    Every read is written to the access log (who, which record)."""
    rec = _record_in_reach(field, scope, record_id)
    with field.read() as s:
        contact = field_repo.get_contact(s, record_id, ctx.now(), field.config.retention.contact_days)
        kind = None if rec.partner_id is None else service_repo.partner_kind(s, rec.partner_id)
    if scope.principal.role is Role.LANDLORD and kind not in LANDLORD_PARTNER_KINDS:
        contact = None
    if contact is None:
        raise NotFound("contact", record_id)
    ctx.log_access(scope.principal, "field.contact", f"record={record_id}")
    return ContactOut(value=contact.value, consent_at=contact.consent_at, expires_at=contact.expires_at)


# ---- requests -------------------------------------------------------------------------------------------------


def _requester(scope: Scope) -> Requester:
    p = scope.principal
    return Requester(p.name, p.role.value, p.landlord if p.role is Role.LANDLORD else None, p.partner)


@router.post(
    "/field/requests",
    status_code=201,
    summary="A request at one of the caller's places (landlord: its places; partner: its estates)",
    responses=CONFLICT,
)
def post_request(body: RequestIn, scope: RequesterScope, ctx: Ctx, field: Field, response: Response) -> RequestOut:
    with field.read() as s:
        estates = partner_estates(s, scope)
    place = resolve_place(scope, body.place, estates)
    try:
        with field.write() as s:
            req, created = request_repo.add_request(
                s, body.id, content_digest(body), _requester(scope), place, body.text, body.wanted_by, now=ctx.now()
            )
            out = request_out(s, ctx.store, ctx.registry.registry, scope, req, ctx.now())
    except IdConflict as exc:
        raise HTTPException(409, str(exc)) from None
    if not created:
        response.status_code = 200
    return out


@router.get("/field/requests", summary="Requests: the requester's own; supervisors all. Open first")
def list_requests(scope: RequesterScope, ctx: Ctx, field: Field) -> list[RequestOut]:
    staff = scope.principal.role in (Role.ADMIN, Role.SUPERVISOR)
    with field.read() as s:
        found = request_repo.list_requests(s, requester=None if staff else _requester(scope))
        return [request_out(s, ctx.store, ctx.registry.registry, scope, r, ctx.now()) for r in found]


@router.get("/field/requests/{request_id}", summary="One request, its status, evidence and response")
def get_request(request_id: str, scope: RequesterScope, ctx: Ctx, field: Field) -> RequestOut:
    with field.read() as s:
        req = request_repo.get_request(s, request_id)
        if req is None or not scope.field_request_in_reach(
            req.requester.landlord, req.requester.partner, req.assigned_team
        ):
            raise NotFound("request", request_id)
        return request_out(s, ctx.store, ctx.registry.registry, scope, req, ctx.now())


@router.post(
    "/field/requests/{request_id}/assign", summary="Assign a request to a team (supervisor)", responses=CONFLICT
)
def assign_request(request_id: str, body: AssignIn, scope: FieldStaff, ctx: Ctx, field: Field) -> RequestOut:
    try:
        with field.write() as s:
            team = device_repo.resolve_team(s, body.team)
            req = request_repo.assign_request(s, request_id, team, now=ctx.now())
            return request_out(s, ctx.store, ctx.registry.registry, scope, req, ctx.now())
    except device_repo.UnknownTeam:
        raise NotFound("team", body.team) from None
    except LookupError:
        raise NotFound("request", request_id) from None
    except RequestClosed as exc:
        raise HTTPException(409, str(exc)) from None


# ---- partner directory (staff) -----------------------------------------------------------------------------------


def _partner_out(p: service_repo.Partner) -> PartnerOut:
    return PartnerOut(id=p.id, name=p.name, kind=p.kind, estates=sorted(p.estates))


@router.get("/partners", summary="The partner directory")
def list_partners(scope: FieldStaff, field: Field) -> list[PartnerOut]:
    with field.read() as s:
        return [_partner_out(p) for p in service_repo.partners(s)]


@router.put("/partners/{partner_id}", summary="Create or change a partner", responses=CONFLICT)
def put_partner(partner_id: PartnerId, body: PartnerIn, scope: FieldStaff, field: Field) -> PartnerOut:
    for estate in body.estates:
        scope.estate_of(estate)
    try:
        with field.write() as s:
            return _partner_out(put_partner_by_id(s, partner_id, body.name, body.kind, frozenset(body.estates)))
    except PartnerNameTaken as exc:
        raise HTTPException(409, str(exc)) from None


@router.delete("/partners/{partner_id}", status_code=204, summary="Remove a partner from the directory")
def delete_partner(partner_id: PartnerId, scope: FieldStaff, field: Field) -> Response:
    with field.write() as s:
        if not remove_partner(s, partner_id):
            raise NotFound("partner", str(partner_id))
    return Response(status_code=204)


@router.post(
    "/partners/{partner_id}/tokens",
    status_code=201,
    summary="A bearer token of role partner for this partner (admin; shown once, stored hashed)",
)
def create_partner_token(
    partner_id: PartnerId, body: PartnerTokenIn, scope: FieldStaff, ctx: Ctx, field: Field
) -> PartnerToken:
    scope.require(Role.ADMIN)
    try:
        with field.write() as s:
            token = device_repo.create_partner_token(s, body.name, partner_id, now=ctx.now())
    except LookupError:
        raise NotFound("partner", str(partner_id)) from None
    return PartnerToken(name=body.name, partner=partner_id, token=token)
