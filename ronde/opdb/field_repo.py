"""Field records (issue 14): technical reports and sollicitations, their status timeline and photos.

A record's id is the client's ULID: the idempotency key of a phone's offline queue. Writing it again with the
same content (``digest``, the SHA-256 of its canonical JSON) changes nothing and answers the stored record;
with other content it is refused (``IdConflict``): a replay never overwrites. Every status change appends one
row to ``field_record_events`` and sets the step's instant on the record, so delays can be measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ronde.opdb.models import FieldContactRow, FieldEventRow, FieldPhotoRow, FieldRecordRow
from ronde.protocol.field_vocab import REPORT_STEPS, SOLLICITATION_STEPS

TECHNIQUE = "technique"
SOLLICITATION = "sollicitation"
STEP_COLUMNS = {"pris_en_compte": "acknowledged_at", "en_cours": "in_progress_at", "resolu": "resolved_at"}


class IdConflict(ValueError):
    """This id is already used by other content (a forged or corrupted replay): answered 409."""


class BadTransition(ValueError):
    """A status that does not apply to this record (a sollicitation's status on a report, a step backwards)."""


@dataclass(frozen=True, slots=True)
class Place:
    """Where a record or a request is: resolved from the registry at write time."""

    estate_id: str
    landlord_id: str
    name: str
    checkpoint_id: str | None = None
    building_id: str | None = None


@dataclass(frozen=True, slots=True)
class NewRecord:
    id: str
    kind: str
    digest: str
    team: str
    device_id: str | None
    created_at: datetime
    place: Place
    status: str
    text: str | None = None
    category: str | None = None
    urgency: str | None = None
    origin: str | None = None
    type: str | None = None
    response: str | None = None
    partner_id: int | None = None
    request_id: str | None = None
    contact: str | None = None
    contact_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Photo:
    sha256: str
    size: int
    width: int
    height: int
    content_type: str


@dataclass(frozen=True, slots=True)
class Step:
    status: str
    at: datetime
    comment: str | None
    actor_role: str


@dataclass(frozen=True, slots=True)
class FieldRecord:
    id: str
    kind: str
    team: str
    created_at: datetime
    received_at: datetime
    place: Place
    status: str
    text: str | None
    category: str | None
    urgency: str | None
    origin: str | None
    type: str | None
    response: str | None
    partner_id: int | None
    request_id: str | None
    comment: str | None
    acknowledged_at: datetime | None
    in_progress_at: datetime | None
    resolved_at: datetime | None
    photo: Photo | None
    has_contact: bool
    timeline: tuple[Step, ...] = field(default=())


def _place(row: FieldRecordRow) -> Place:
    return Place(row.estate_id, row.landlord_id, row.place_name, row.checkpoint_id, row.building_id)


def _record(session: Session, row: FieldRecordRow, *, with_timeline: bool = False) -> FieldRecord:
    p = session.get(FieldPhotoRow, row.id)
    photo = None if p is None else Photo(p.sha256, p.size, p.width, p.height, p.content_type)
    steps: tuple[Step, ...] = ()
    if with_timeline:
        steps = tuple(
            Step(e.status, e.at, e.comment, e.actor_role)
            for e in session.scalars(
                select(FieldEventRow).where(FieldEventRow.record_id == row.id).order_by(FieldEventRow.id)
            )
        )
    return FieldRecord(
        row.id,
        row.kind,
        row.team,
        row.created_at,
        row.received_at,
        _place(row),
        row.status,
        row.text,
        row.category,
        row.urgency,
        row.origin,
        row.type,
        row.response,
        row.partner_id,
        row.request_id,
        row.comment,
        row.acknowledged_at,
        row.in_progress_at,
        row.resolved_at,
        photo,
        session.get(FieldContactRow, row.id) is not None,
        steps,
    )


def add_record(session: Session, new: NewRecord, *, now: datetime) -> tuple[FieldRecord, bool]:
    """Store a record once; returns it and whether it was created now. IdConflict on other content."""
    old = session.get(FieldRecordRow, new.id)
    if old is not None:
        if old.digest != new.digest or old.kind != new.kind:
            raise IdConflict(f"record {new.id} already exists with other content")
        return _record(session, old), False
    p = new.place
    row = FieldRecordRow(
        id=new.id,
        kind=new.kind,
        digest=new.digest,
        team=new.team,
        device_id=new.device_id,
        created_at=new.created_at,
        received_at=now,
        checkpoint_id=p.checkpoint_id,
        building_id=p.building_id,
        estate_id=p.estate_id,
        landlord_id=p.landlord_id,
        place_name=p.name,
        category=new.category,
        urgency=new.urgency,
        origin=new.origin,
        type=new.type,
        response=new.response,
        partner_id=new.partner_id,
        request_id=new.request_id,
        status=new.status,
        text=new.text,
    )
    session.add(row)
    session.flush()
    session.add(FieldEventRow(record_id=new.id, status=new.status, at=now, actor_role="device", comment=None))
    if new.contact is not None and new.contact_expires_at is not None:
        session.add(
            FieldContactRow(record_id=new.id, value=new.contact, consent_at=now, expires_at=new.contact_expires_at)
        )
    session.flush()
    return _record(session, row), True


@dataclass(frozen=True, slots=True)
class Contact:
    """A tenant's contact given with consent for one follow-up (never in a list, an export or a figure)."""

    value: str
    consent_at: datetime
    expires_at: datetime


def get_contact(session: Session, record_id: str, now: datetime, contact_days: int) -> Contact | None:
    """The record's contact while in force: before its ``expires_at`` and within ``contact_days`` of the consent
    (the retention holds from the first instant past it, not from the next hourly purge)."""
    row = session.get(FieldContactRow, record_id)
    if row is None or row.expires_at <= now or row.consent_at < now - timedelta(days=contact_days):
        return None
    return Contact(row.value, row.consent_at, row.expires_at)


def get_record(session: Session, record_id: str, *, with_timeline: bool = True) -> FieldRecord | None:
    row = session.get(FieldRecordRow, record_id)
    return None if row is None else _record(session, row, with_timeline=with_timeline)


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """What a list asks for; ``landlord`` and ``team`` come from the caller's scope, never from the query."""

    landlord: str | None = None
    team: str | None = None
    kind: str | None = None
    status: str | None = None
    estate: str | None = None
    since: datetime | None = None


def list_records(
    session: Session, flt: RecordFilter, *, limit: int = 50, cursor: str | None = None
) -> tuple[list[FieldRecord], str | None]:
    """Newest first (client instant, then id); ``cursor`` is the last id of the previous page."""
    q = select(FieldRecordRow)
    for column, value in (
        (FieldRecordRow.landlord_id, flt.landlord),
        (FieldRecordRow.team, flt.team),
        (FieldRecordRow.kind, flt.kind),
        (FieldRecordRow.status, flt.status),
        (FieldRecordRow.estate_id, flt.estate),
    ):
        if value is not None:
            q = q.where(column == value)
    if flt.since is not None:
        q = q.where(FieldRecordRow.created_at >= flt.since)
    if cursor is not None:
        last = session.get(FieldRecordRow, cursor)
        if last is not None:
            q = q.where(
                or_(
                    FieldRecordRow.created_at < last.created_at,
                    and_(FieldRecordRow.created_at == last.created_at, FieldRecordRow.id < last.id),
                )
            )
    rows = list(
        session.scalars(q.order_by(FieldRecordRow.created_at.desc(), FieldRecordRow.id.desc()).limit(limit + 1))
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return [_record(session, r) for r in rows], (rows[-1].id if more and rows else None)


def set_status(
    session: Session,
    record_id: str,
    status: str,
    *,
    comment: str | None,
    actor_role: str,
    now: datetime,
    partner_id: int | None = None,
) -> FieldRecord:
    """Move a record forward along its kind's steps (a technical report: pris en compte, en cours, résolu, each
    dated; a sollicitation: orientée, close); a step may be skipped, never undone; append the step.
    ``partner_id``: the partner a sollicitation is oriented to, when the team names it only then."""
    row = session.get(FieldRecordRow, record_id)
    if row is None:
        raise LookupError(record_id)
    steps = REPORT_STEPS if row.kind == TECHNIQUE else SOLLICITATION_STEPS
    if status not in steps[1:]:
        raise BadTransition(f"status {status!r} does not apply to a {row.kind} record")
    if steps.index(status) <= steps.index(row.status):
        raise BadTransition(f"record {record_id} is already {row.status}: a status moves forward only")
    if row.kind == TECHNIQUE:
        for step in steps[steps.index(row.status) + 1 : steps.index(status) + 1]:
            if getattr(row, STEP_COLUMNS[step]) is None:
                setattr(row, STEP_COLUMNS[step], now)
    row.status = status
    if comment is not None:
        row.comment = comment
    if partner_id is not None:
        row.partner_id = partner_id
    session.add(FieldEventRow(record_id=record_id, status=status, at=now, actor_role=actor_role, comment=comment))
    session.flush()
    return _record(session, row, with_timeline=True)


def put_photo(session: Session, record_id: str, photo: Photo, *, now: datetime) -> tuple[Photo, bool]:
    """Attach the photo once: the same image again is a no-op, another one replaces it (the phone retook it).
    Returns the photo kept and the digest it replaced (or None) through ``created``."""
    row = session.get(FieldPhotoRow, record_id)
    if row is not None and row.sha256 == photo.sha256:
        return photo, False
    if row is None:
        session.add(
            FieldPhotoRow(
                record_id=record_id,
                sha256=photo.sha256,
                size=photo.size,
                width=photo.width,
                height=photo.height,
                content_type=photo.content_type,
                stored_at=now,
            )
        )
    else:
        row.sha256, row.size, row.width, row.height = photo.sha256, photo.size, photo.width, photo.height
        row.content_type, row.stored_at = photo.content_type, now
    session.flush()
    return photo, True


def photo_in_use(session: Session, sha256: str) -> bool:
    return session.scalars(select(FieldPhotoRow.record_id).where(FieldPhotoRow.sha256 == sha256)).first() is not None


def answers_to(session: Session, request_id: str) -> FieldRecord | None:
    """The first sollicitation that answered a request, if any."""
    row = session.scalars(
        select(FieldRecordRow)
        .where(FieldRecordRow.request_id == request_id)
        .order_by(FieldRecordRow.received_at, FieldRecordRow.id)
    ).first()
    return None if row is None else _record(session, row)
