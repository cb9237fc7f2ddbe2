"""The field routes' logic between HTTP models and repositories (issue 14): places resolved in the caller's
reach, content digests, answers built per role (a landlord's never carries a team or a badge), the team's last
visit (the place suggestion) and a request's evidence, both read from the time-series store."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from ronde.api.field_models import (
    Evidence,
    PlaceIn,
    PlaceOut,
    RecordOut,
    RequestOut,
    RequestResponse,
    StepOut,
    SuggestedCheckpoint,
    Suggestion,
)
from ronde.api.scope import NotFound, Scope
from ronde.opdb.field_repo import FieldRecord, Place, answers_to
from ronde.opdb.models import PartnerEstateRow, PartnerRow
from ronde.opdb.request_repo import FieldRequest
from ronde.protocol.access import Role
from ronde.protocol.canonical import canonical
from ronde.protocol.estate import Registry
from ronde.store.port import Store

MAX_EVIDENCE = 20
SUGGESTION_LOOKBACK = timedelta(hours=2)  # a visit that began up to this long ago may still be under way


def content_digest(body: BaseModel) -> str:
    """SHA-256 of the body's canonical JSON: the same content always gives the same digest."""
    return hashlib.sha256(canonical(body.model_dump(mode="json"))).hexdigest()


def partner_estates(session: Session, scope: Scope) -> frozenset[str]:
    if scope.principal.role is not Role.PARTNER or scope.principal.partner is None:
        return frozenset()
    rows = session.scalars(
        select(PartnerEstateRow.estate_id).where(PartnerEstateRow.partner_id == scope.principal.partner)
    )
    return frozenset(rows)


def partner_exists(session: Session, partner_id: int) -> bool:
    return session.get(PartnerRow, partner_id) is not None


def resolve_place(scope: Scope, place: PlaceIn, estates: frozenset[str] = frozenset()) -> Place:
    """The place in the caller's reach (404 otherwise), with its building, estate and owning landlord."""
    checkpoint, building = scope.field_place(
        checkpoint=place.checkpoint, building=place.building, partner_estates=estates
    )
    if checkpoint is not None:
        return Place(checkpoint.estate, checkpoint.landlord, checkpoint.name, checkpoint.id, checkpoint.building)
    return Place(building.estate, building.landlord, building.name, None, building.id)


def place_out(place: Place) -> PlaceOut:
    return PlaceOut(checkpoint=place.checkpoint_id, building=place.building_id, estate=place.estate_id, name=place.name)


def record_out(rec: FieldRecord, *, timeline: bool = False) -> RecordOut:
    """The same shape for every reader; it holds no team, badge nor device by construction."""
    return RecordOut(
        id=rec.id,
        kind="technique" if rec.kind == "technique" else "sollicitation",
        place=place_out(rec.place),
        created_at=rec.created_at,
        status=rec.status,
        category=rec.category,
        urgency=rec.urgency,
        origin=rec.origin,
        type=rec.type,
        response=rec.response,
        partner=rec.partner_id,
        request=rec.request_id,
        text=rec.text,
        comment=rec.comment,
        acknowledged_at=rec.acknowledged_at,
        in_progress_at=rec.in_progress_at,
        resolved_at=rec.resolved_at,
        has_photo=rec.photo is not None,
        timeline=[StepOut(status=s.status, at=s.at, comment=s.comment) for s in rec.timeline] if timeline else None,
    )


def evidence(store: Store, registry: Registry, req: FieldRequest, now: datetime) -> list[Evidence]:
    """Scanner visits at the request's place (its checkpoint, or every checkpoint of its building) after it was
    made: the checkpoint and when, never who."""
    if req.place.checkpoint_id is not None:
        checkpoints = [req.place.checkpoint_id]
    else:
        checkpoints = [c.id for c in registry.checkpoints.values() if c.building == req.place.building_id]
    if not checkpoints or now <= req.created_at:
        return []
    visits = store.visits(req.created_at, now + timedelta(seconds=1), checkpoint_ids=checkpoints)
    return [Evidence(checkpoint=v.checkpoint_id, seen_at=v.first_seen) for v in visits[:MAX_EVIDENCE]]


def request_out(
    session: Session, store: Store, registry: Registry, scope: Scope, req: FieldRequest, now: datetime
) -> RequestOut:
    answer = answers_to(session, req.id) if req.answer_record_id else None
    response = (
        None
        if answer is None
        else RequestResponse(
            record=answer.id,
            type=answer.type,
            response=answer.response,
            status=answer.status,
            created_at=answer.created_at,
        )
    )
    delay = None if req.answered_at is None else (req.answered_at - req.created_at).total_seconds()
    sees_team = scope.principal.role in (Role.ADMIN, Role.SUPERVISOR, Role.DEVICE)
    return RequestOut(
        id=req.id,
        place=place_out(req.place),
        text=req.text,
        wanted_by=req.wanted_by,
        status=req.status,
        created_at=req.created_at,
        assigned_at=req.assigned_at,
        answered_at=req.answered_at,
        answer_delay_s=delay,
        evidence=evidence(store, registry, req, now),
        response=response,
        assigned_team=req.assigned_team if sees_team else None,
    )


def suggestion(store: Store, registry: Registry, badges: Iterable[str], now: datetime, window: timedelta) -> Suggestion:
    """The team's last visit recorded by its scanner within ``window`` (by the end of the visit), if any."""
    mine = frozenset(badges)
    if not mine:
        return Suggestion(checkpoint=None)
    visits = [
        v for v in store.visits(now - window - SUGGESTION_LOOKBACK, now + timedelta(seconds=1)) if v.badge in mine
    ]
    recent = [v for v in visits if v.last_seen >= now - window and v.checkpoint_id in registry.checkpoints]
    if not recent:
        return Suggestion(checkpoint=None)
    last = max(recent, key=lambda v: (v.last_seen, v.event_id))
    c = registry.checkpoints[last.checkpoint_id]
    return Suggestion(
        checkpoint=SuggestedCheckpoint(id=c.id, name=c.name, building=c.building, estate=c.estate),
        seen_at=last.last_seen,
    )


def require_found(found: bool, what: str, ident: str) -> None:
    if not found:
        raise NotFound(what, ident)
