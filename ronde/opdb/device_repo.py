"""Team devices (issue 14): one-time enrolment codes, device tokens, revocation; partner tokens.

A supervisor makes a code (shown as a QR code); the phone trades it, once and within 15 minutes, for a bearer
token of role ``device`` carrying its team. Codes and tokens are kept only as SHA-256. ``FieldTokens`` is the
API's ``Tokens``: API tokens first (``DbTokens``), then device tokens, both read from the database on every
look-up, so a device revoked through one API process is refused by every other at once (as ``DbTokens``).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from ronde.opdb.access_repo import DbTokens
from ronde.opdb.engine import read_only, session_factory
from ronde.opdb.models import BadgeRow, DeviceRow, EnrolmentRow, PartnerRow, TokenRow
from ronde.protocol.access import Principal, Role, hash_token, new_token

ENROLMENT_VALIDITY = timedelta(minutes=15)
LAST_SEEN_RESOLUTION = timedelta(minutes=1)  # ``last_seen_at`` is written at most once a minute per device


class EnrolmentRefused(PermissionError):
    """A code that is unknown, expired or already used: the same answer for all three (no probing)."""

    MESSAGE = (
        "code d'enrôlement inconnu, expiré ou déjà utilisé : demandez-en un nouveau / "
        "enrolment code unknown, expired or already used: ask for a new one"
    )

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


class UnknownTeam(LookupError):
    """The team named is neither a team nor a badge of the team badges."""


@dataclass(frozen=True, slots=True)
class Enrolment:
    code: str  # shown once (QR code), never stored
    team: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    team: str
    label: str
    enrolled_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class EnrolledDevice:
    device: Device
    token: str  # shown once to the phone, never stored


def _now() -> datetime:
    return datetime.now(UTC)


def resolve_team(session: Session, team_or_badge: str) -> str:
    """The team of a badge, or the team itself when one of the badges belongs to it; UnknownTeam otherwise."""
    row = session.get(BadgeRow, team_or_badge)
    if row is not None:
        return row.team
    if session.scalars(select(BadgeRow.team).where(BadgeRow.team == team_or_badge)).first() is not None:
        return team_or_badge
    raise UnknownTeam(f"team {team_or_badge!r} is neither a team nor a badge of the team badges")


def teams(session: Session) -> list[str]:
    return sorted(set(session.scalars(select(BadgeRow.team))))


def team_badges(session: Session, team: str) -> frozenset[str]:
    return frozenset(session.scalars(select(BadgeRow.badge).where(BadgeRow.team == team)))


def create_enrolment(session: Session, team_or_badge: str, *, by: str, now: datetime | None = None) -> Enrolment:
    now = now or _now()
    team = resolve_team(session, team_or_badge)
    code = secrets.token_urlsafe(18)
    expires = now + ENROLMENT_VALIDITY
    session.add(
        EnrolmentRow(code_sha256=hash_token(code), team=team, created_by=by, created_at=now, expires_at=expires)
    )
    session.flush()
    return Enrolment(code, team, expires)


def enrol_device(session: Session, code: str, label: str, *, now: datetime | None = None) -> EnrolledDevice:
    """Trade a code for a device token; the code is spent in the same transaction (``FOR UPDATE``)."""
    now = now or _now()
    row = session.execute(
        select(EnrolmentRow).where(EnrolmentRow.code_sha256 == hash_token(code)).with_for_update()
    ).scalar()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise EnrolmentRefused
    token = new_token()
    device = DeviceRow(
        id="dev_" + secrets.token_hex(8), team=row.team, label=label, token_sha256=hash_token(token), enrolled_at=now
    )
    session.add(device)
    row.used_at = now
    row.device_id = device.id
    session.flush()
    return EnrolledDevice(_device(device), token)


def _device(row: DeviceRow) -> Device:
    return Device(row.id, row.team, row.label, row.enrolled_at, row.last_seen_at, row.revoked_at)


def devices(session: Session) -> list[Device]:
    return [_device(r) for r in session.scalars(select(DeviceRow).order_by(DeviceRow.enrolled_at, DeviceRow.id))]


def revoke_device(session: Session, device_id: str, *, now: datetime | None = None) -> bool:
    """False when there is no such device; revoking twice keeps the first instant."""
    row = session.get(DeviceRow, device_id)
    if row is None:
        return False
    if row.revoked_at is None:
        row.revoked_at = now or _now()
    return True


def create_partner_token(session: Session, name: str, partner_id: int, *, now: datetime | None = None) -> str:
    """A bearer token of role ``partner`` for one entry of the partner directory; returns it (shown once)."""
    if session.get(PartnerRow, partner_id) is None:
        raise LookupError(f"partner {partner_id} is not in the partner directory")
    token = new_token()
    session.add(
        TokenRow(
            sha256=hash_token(token),
            name=name,
            role=Role.PARTNER.value,
            partner_id=partner_id,
            created_at=now or _now(),
        )
    )
    session.flush()
    return token


class FieldTokens:
    """API tokens, then device tokens: the API's ``Tokens`` on the operational database."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = _now) -> None:
        self.api = DbTokens(engine, clock=clock)
        self._sessions = session_factory(engine)
        self._read = session_factory(read_only(engine))
        self._clock = clock

    def authenticate(self, token: str) -> Principal | None:
        return self.lookup_hash(hash_token(token))

    def lookup_hash(self, digest: str) -> Principal | None:
        found = self.api.lookup_hash(digest)
        return found if found is not None else self._device(digest)

    def revoke_name(self, name: str) -> int:
        return self.api.revoke_name(name)

    def _device(self, digest: str) -> Principal | None:
        """Read first (no write lock for an unknown or revoked token); ``last_seen_at`` is written at most once
        a minute per device."""
        now = self._clock()
        with self._read() as s:
            row = s.execute(select(DeviceRow).where(DeviceRow.token_sha256 == digest)).scalar()
            if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_sha256, digest):
                return None
            principal = Principal(f"device:{row.id}", Role.DEVICE, team=row.team, device=row.id)
            stale = row.last_seen_at is None or now - row.last_seen_at >= LAST_SEEN_RESOLUTION
        if stale:
            with self._sessions.begin() as s:
                s.execute(update(DeviceRow).where(DeviceRow.id == principal.device).values(last_seen_at=now))
        return principal
