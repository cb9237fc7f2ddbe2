"""Requests from a commanditaire (a landlord) or a partner (issue 14): posted at a place, assigned to a team by a
supervisor, answered by the team's sollicitation. Ids are the client's ULIDs, idempotent as field records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from ronde.opdb.field_repo import IdConflict, Place
from ronde.opdb.models import FieldRequestRow

OPEN_STATUSES = ("nouvelle", "assignee")


class RequestClosed(ValueError):
    """The request was answered or closed: it cannot be assigned again."""


@dataclass(frozen=True, slots=True)
class Requester:
    name: str
    role: str
    landlord: str | None = None
    partner: int | None = None


@dataclass(frozen=True, slots=True)
class FieldRequest:
    id: str
    requester: Requester
    place: Place
    text: str
    wanted_by: str | None
    status: str
    created_at: datetime
    assigned_team: str | None
    assigned_at: datetime | None
    answered_at: datetime | None
    answer_record_id: str | None


def _request(row: FieldRequestRow) -> FieldRequest:
    return FieldRequest(
        row.id,
        Requester(row.requester, row.requester_role, row.requester_landlord_id, row.requester_partner_id),
        Place(row.estate_id, row.landlord_id, row.place_name, row.checkpoint_id, row.building_id),
        row.text,
        row.wanted_by,
        row.status,
        row.created_at,
        row.assigned_team,
        row.assigned_at,
        row.answered_at,
        row.answer_record_id,
    )


def add_request(
    session: Session,
    request_id: str,
    digest: str,
    requester: Requester,
    place: Place,
    text: str,
    wanted_by: str | None,
    *,
    now: datetime,
) -> tuple[FieldRequest, bool]:
    old = session.get(FieldRequestRow, request_id)
    if old is not None:
        if old.digest != digest:
            raise IdConflict(f"request {request_id} already exists with other content")
        return _request(old), False
    row = FieldRequestRow(
        id=request_id,
        digest=digest,
        requester=requester.name,
        requester_role=requester.role,
        requester_landlord_id=requester.landlord,
        requester_partner_id=requester.partner,
        checkpoint_id=place.checkpoint_id,
        building_id=place.building_id,
        estate_id=place.estate_id,
        landlord_id=place.landlord_id,
        place_name=place.name,
        text=text,
        wanted_by=wanted_by,
        status="nouvelle",
        created_at=now,
    )
    session.add(row)
    session.flush()
    return _request(row), True


def get_request(session: Session, request_id: str) -> FieldRequest | None:
    row = session.get(FieldRequestRow, request_id)
    return None if row is None else _request(row)


def list_requests(
    session: Session,
    *,
    requester: Requester | None = None,
    team: str | None = None,
    limit: int = 200,
) -> list[FieldRequest]:
    """Open first, then newest first. ``requester``: only its own (a landlord's or partner's); ``team``: assigned
    to it. Both come from the caller's scope."""
    q = select(FieldRequestRow)
    if requester is not None:
        if requester.partner is not None:
            q = q.where(FieldRequestRow.requester_partner_id == requester.partner)
        elif requester.landlord is not None:
            q = q.where(FieldRequestRow.requester_landlord_id == requester.landlord)
        else:
            q = q.where(FieldRequestRow.requester == requester.name)
    if team is not None:
        q = q.where(FieldRequestRow.assigned_team == team)
    is_open = case((FieldRequestRow.status.in_(OPEN_STATUSES), 0), else_=1)
    q = q.order_by(is_open, FieldRequestRow.created_at.desc(), FieldRequestRow.id.desc()).limit(limit)
    return [_request(r) for r in session.scalars(q)]


def assign_request(session: Session, request_id: str, team: str, *, now: datetime) -> FieldRequest:
    row = session.get(FieldRequestRow, request_id)
    if row is None:
        raise LookupError(request_id)
    if row.status not in OPEN_STATUSES:
        raise RequestClosed(f"request {request_id} is {row.status}: it cannot be assigned")
    row.assigned_team, row.assigned_at, row.status = team, now, "assignee"
    session.flush()
    return _request(row)


def answer_request(session: Session, request_id: str, record_id: str, *, now: datetime) -> FieldRequest:
    """The team's sollicitation answers the request: ``traitee``, once (a later answer keeps the first)."""
    row = session.get(FieldRequestRow, request_id)
    if row is None:
        raise LookupError(request_id)
    if row.answered_at is None:
        row.answered_at, row.answer_record_id, row.status = now, record_id, "traitee"
        session.flush()
    return _request(row)
