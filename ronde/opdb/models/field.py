"""Field activity (issue 14): team devices and their enrolment codes, field records (technical reports and
sollicitations) with their append-only status timeline, photos, optional contacts, and requests.

A record's place is resolved at write time to its building, estate and owning landlord, and those ids (and the
place's name) are copied here: the registry may change later, the record keeps where it was made. No foreign
key points at the registry tables for the same reason. Tokens and codes are kept only as SHA-256.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ronde.opdb.models.base import Base, UtcDateTime
from ronde.opdb.models.registry import ID_LEN

ULID_LEN = 26
TEAM_LEN = 120
TEXT_LEN = 500


class DeviceRow(Base):
    """A team's phone: its bearer token's SHA-256; revoked, never deleted."""

    __tablename__ = "terrain_devices"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team: Mapped[str] = mapped_column(String(TEAM_LEN), index=True)
    label: Mapped[str] = mapped_column(String(120))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    enrolled_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class EnrolmentRow(Base):
    """A one-time enrolment code (its SHA-256), valid until ``expires_at`` and used at most once."""

    __tablename__ = "terrain_enrolments"
    code_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    team: Mapped[str] = mapped_column(String(TEAM_LEN))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    device_id: Mapped[str | None] = mapped_column(String(32))


class FieldRecordRow(Base):
    """A technical report (``kind`` technique) or a sollicitation (``kind`` sollicitation); the id is the
    client's ULID (the idempotency key) and ``digest`` the SHA-256 of its canonical content."""

    __tablename__ = "field_records"
    id: Mapped[str] = mapped_column(String(ULID_LEN), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    digest: Mapped[str] = mapped_column(String(64))
    team: Mapped[str] = mapped_column(String(TEAM_LEN), index=True)
    device_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    checkpoint_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    building_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    estate_id: Mapped[str] = mapped_column(String(ID_LEN), index=True)
    landlord_id: Mapped[str] = mapped_column(String(ID_LEN), index=True)
    place_name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(40))  # technique
    urgency: Mapped[str | None] = mapped_column(String(20))  # technique
    origin: Mapped[str | None] = mapped_column(String(40))  # sollicitation
    type: Mapped[str | None] = mapped_column(String(40))  # sollicitation
    response: Mapped[str | None] = mapped_column(String(40))  # sollicitation
    partner_id: Mapped[int | None] = mapped_column(Integer)
    request_id: Mapped[str | None] = mapped_column(String(ULID_LEN), index=True)
    status: Mapped[str] = mapped_column(String(20))
    text: Mapped[str | None] = mapped_column(String(TEXT_LEN))
    comment: Mapped[str | None] = mapped_column(String(TEXT_LEN))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    in_progress_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class FieldEventRow(Base):
    """One step of a record's status timeline: inserted, never updated."""

    __tablename__ = "field_record_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("field_records.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor_role: Mapped[str] = mapped_column(String(20))  # a role, never a name: landlords read the timeline
    comment: Mapped[str | None] = mapped_column(String(TEXT_LEN))


class FieldPhotoRow(Base):
    """The (re-encoded, EXIF-free) photo of a record: its digest names the file in the media store."""

    __tablename__ = "field_photos"
    record_id: Mapped[str] = mapped_column(ForeignKey("field_records.id", ondelete="CASCADE"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(40))
    stored_at: Mapped[datetime] = mapped_column(UtcDateTime())


class FieldContactRow(Base):
    """An optional contact given with consent: its own, short retention (``expires_at``)."""

    __tablename__ = "field_contacts"
    record_id: Mapped[str] = mapped_column(ForeignKey("field_records.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    consent_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class FieldRequestRow(Base):
    """A request from a landlord (commanditaire) or a partner at one of its places, until a team answers it."""

    __tablename__ = "field_requests"
    id: Mapped[str] = mapped_column(String(ULID_LEN), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    requester: Mapped[str] = mapped_column(String(80))  # the token's name
    requester_role: Mapped[str] = mapped_column(String(20))
    requester_landlord_id: Mapped[str | None] = mapped_column(String(ID_LEN), index=True)
    requester_partner_id: Mapped[int | None] = mapped_column(Integer, index=True)
    checkpoint_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    building_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    estate_id: Mapped[str] = mapped_column(String(ID_LEN), index=True)
    landlord_id: Mapped[str] = mapped_column(String(ID_LEN), index=True)
    place_name: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(String(TEXT_LEN))
    wanted_by: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    assigned_team: Mapped[str | None] = mapped_column(String(TEAM_LEN), index=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    answer_record_id: Mapped[str | None] = mapped_column(String(ULID_LEN))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
