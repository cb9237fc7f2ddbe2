"""Gateways, team badges, API tokens and sessions, and the audit access log in the operational database.

Gateways and tokens are never deleted, they are revoked (``revoked_at``): what was once allowed stays
answerable. Every gateway or badge change adds one to the registry ``version`` (``registry_repo.bump_version``),
which ingest workers poll, so a worker on another machine follows an enrolment or a revocation by itself.
The same checks as the files apply (``GatewayRegistry.enrol``: no reserved id, no weak key, no key enrolled
twice; ``TokenBook``: no token listed twice).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ronde.opdb.engine import read_only, session_factory
from ronde.opdb.models import AccessLogRow, BadgeRow, GatewayRow, SessionRow, TokenRow
from ronde.opdb.registry_repo import bump_version, lock_state
from ronde.protocol.access import AccessEntry, PageSession, Principal, Role, TokenEntry, hash_token
from ronde.protocol.gateways import GatewayEntry, GatewayRegistry, gateway_entry
from ronde.protocol.registry_data import BadgeEntry


@dataclass(frozen=True, slots=True)
class GatewayRecord:
    id: str
    public_key: str | None  # public: an Ed25519 key, base64url
    badges: frozenset[str] | None
    allow_unsigned: bool
    note: str
    enrolled_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class TokenRecord:
    sha256: str
    name: str
    role: Role
    landlord: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def in_force(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


def _now() -> datetime:
    return datetime.now(UTC)


# ---- gateways ---------------------------------------------------------------------------------------------------


def _gateway_record(row: GatewayRow) -> GatewayRecord:
    badges = None if row.badges_json is None else frozenset(json.loads(row.badges_json))
    return GatewayRecord(row.id, row.public_key, badges, row.allow_unsigned, row.note, row.enrolled_at, row.revoked_at)


def put_gateway(session: Session, entry: GatewayEntry, *, note: str = "", now: datetime | None = None) -> bool:
    """Enrol or re-key (or re-admit) one gateway; EnrolmentError as the file's loader. True when rows changed."""
    lock_state(session)
    active = gateway_registry(session)
    active.enrol(entry)  # the same checks as the file: raises EnrolmentError
    row = session.get(GatewayRow, entry.id)
    badges = None if entry.badges is None else json.dumps(sorted(entry.badges))
    values = {
        "public_key": entry.public_key_text,
        "badges_json": badges,
        "allow_unsigned": entry.allow_unsigned,
        "note": note,
        "revoked_at": None,
    }
    if row is not None and all(getattr(row, k) == v for k, v in values.items()):
        return False
    _release_key(session, entry)
    session.flush()
    if row is None:
        session.add(GatewayRow(id=entry.id, enrolled_at=now or _now(), **values))
    else:
        if entry.public_key_text is not None and row.public_key != entry.public_key_text:
            row.public_key = None  # a revoked holder of the same key lets go of it (unique column)
            session.flush()
        for k, v in values.items():
            setattr(row, k, v)
    session.flush()
    bump_version(session)
    return True


def _release_key(session: Session, entry: GatewayEntry) -> None:
    """A key once held by a now-revoked gateway may be enrolled again under another id."""
    if entry.public_key_text is None:
        return
    for other in session.scalars(
        select(GatewayRow).where(GatewayRow.public_key == entry.public_key_text, GatewayRow.id != entry.id)
    ):
        if other.revoked_at is not None:
            other.public_key = None


def revoke_gateway(session: Session, gateway_id: str, *, now: datetime | None = None) -> bool:
    lock_state(session)
    row = session.get(GatewayRow, gateway_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now or _now()
    bump_version(session)
    return True


def gateway_registry(session: Session) -> GatewayRegistry:
    """The gateways in force (not revoked), each key vetted again as when loading the file."""
    entries: dict[str, GatewayEntry] = {}
    for row in session.scalars(select(GatewayRow).where(GatewayRow.revoked_at.is_(None)).order_by(GatewayRow.id)):
        rec = _gateway_record(row)
        entries[row.id] = gateway_entry(row.id, row.public_key, rec.badges, allow_unsigned=row.allow_unsigned)
    return GatewayRegistry(entries)


def import_gateways(session: Session, registry: GatewayRegistry, *, now: datetime | None = None) -> int:
    """Make the gateways in force those of ``registry`` (a gateways file): others are revoked. Returns changes."""
    now = now or _now()
    changes = 0
    for gid in sorted(set(gateway_registry(session).entries) - set(registry.entries)):
        changes += revoke_gateway(session, gid, now=now)
    session.flush()
    for entry in registry.entries.values():
        changes += put_gateway(session, entry, now=now)
    return changes


def gateway_records(session: Session) -> list[GatewayRecord]:
    return [_gateway_record(r) for r in session.scalars(select(GatewayRow).order_by(GatewayRow.id))]


# ---- team badges -------------------------------------------------------------------------------------------------


def badges(session: Session) -> dict[str, BadgeEntry]:
    rows = session.scalars(select(BadgeRow).order_by(BadgeRow.badge))
    return {r.badge: BadgeEntry(r.badge, r.team, r.active) for r in rows}


def import_badges(session: Session, entries: Mapping[str, BadgeEntry]) -> int:
    """Make the badges those of ``entries`` (a badges file). Returns how many rows changed."""
    lock_state(session)
    existing = {r.badge: r for r in session.scalars(select(BadgeRow))}
    changes = 0
    for badge, old in existing.items():
        if badge not in entries:
            session.delete(old)
            changes += 1
    for badge, e in entries.items():
        row = existing.get(badge)
        if row is None:
            session.add(BadgeRow(badge=badge, team=e.team, active=e.active))
            changes += 1
        elif (row.team, row.active) != (e.team, e.active):
            row.team, row.active = e.team, e.active
            changes += 1
    session.flush()
    if changes:
        bump_version(session)
    return changes


def put_badge(session: Session, entry: BadgeEntry) -> bool:
    """Create or change one team badge (a pseudonym). True when the row changed."""
    lock_state(session)
    row = session.get(BadgeRow, entry.badge)
    if row is not None and (row.team, row.active) == (entry.team, entry.active):
        return False
    if row is None:
        session.add(BadgeRow(badge=entry.badge, team=entry.team, active=entry.active))
    else:
        row.team, row.active = entry.team, entry.active
    session.flush()
    bump_version(session)
    return True


def delete_badge(session: Session, badge: str) -> bool:
    """Remove one team badge; False when there was none."""
    lock_state(session)
    row = session.get(BadgeRow, badge)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    bump_version(session)
    return True


# ---- API tokens ---------------------------------------------------------------------------------------------------


def _token_record(row: TokenRow) -> TokenRecord:
    return TokenRecord(
        row.sha256, row.name, Role(row.role), row.landlord_id, row.created_at, row.expires_at, row.revoked_at
    )


def import_tokens(session: Session, entries: Iterable[TokenEntry], *, now: datetime | None = None) -> int:
    """Make the tokens in force those of a tokens file: new ones added, changed ones updated, others revoked."""
    now = now or _now()
    wanted = {e.sha256: e for e in entries}
    changes = 0
    for row in session.scalars(select(TokenRow).where(TokenRow.role != Role.PARTNER.value)):  # not a file's
        e = wanted.get(row.sha256)
        if e is None:
            if row.revoked_at is None:
                row.revoked_at = now
                changes += 1
            continue
        values = {"name": e.name, "role": e.role.value, "landlord_id": e.landlord, "revoked_at": None}
        if any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            changes += 1
        del wanted[row.sha256]
    for e in wanted.values():
        session.add(TokenRow(sha256=e.sha256, name=e.name, role=e.role.value, landlord_id=e.landlord, created_at=now))
        changes += 1
    session.flush()
    return changes


def token_records(session: Session) -> list[TokenRecord]:
    return [_token_record(r) for r in session.scalars(select(TokenRow).order_by(TokenRow.name, TokenRow.sha256))]


class DbTokens:
    """The tokens in force, read from the database on every look-up (the API's ``Tokens``): a token
    revoked through one API process is refused by every other at once."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = _now) -> None:
        self._sessions = session_factory(engine)
        self._read = session_factory(read_only(engine))
        self._clock = clock

    def authenticate(self, token: str) -> Principal | None:
        return self.lookup_hash(hash_token(token))

    def lookup_hash(self, digest: str) -> Principal | None:
        with self._read() as s:
            row = s.get(TokenRow, digest)
            if row is None or not hmac.compare_digest(row.sha256, digest):
                return None
            rec = _token_record(row)
            partner = row.partner_id
        if not rec.in_force(self._clock()):
            return None
        return Principal(rec.name, rec.role, rec.landlord, partner=partner)

    def revoke_name(self, name: str) -> int:
        """Revoke every token in force named ``name`` (``DELETE /api/v1/tokens/{name}``); returns how many."""
        now = self._clock()
        with self._sessions.begin() as s:
            rows = [
                r
                for r in s.scalars(select(TokenRow).where(TokenRow.name == name, TokenRow.revoked_at.is_(None)))
                if _token_record(r).in_force(now)
            ]
            for r in rows:
                r.revoked_at = now
            return len(rows)

    def revoke(self, digest: str) -> bool:
        with self._sessions.begin() as s:
            row = s.get(TokenRow, digest)
            if row is None or row.revoked_at is not None:
                return False
            row.revoked_at = self._clock()
            return True


# ---- page sessions --------------------------------------------------------------------------------------------------


class DbSessionStore:
    """The API's ``SessionStore`` in the database: two API processes share their sessions."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    def put(self, session: PageSession) -> None:
        with self._sessions.begin() as s:
            row = s.get(SessionRow, session.key)
            if row is None:
                s.add(
                    SessionRow(
                        key=session.key,
                        token_sha256=session.token_sha256,
                        created_at=session.created_at,
                        last_seen=session.last_seen,
                    )
                )
            else:
                row.last_seen = session.last_seen

    def get(self, key: str) -> PageSession | None:
        with self._sessions() as s:
            row = s.get(SessionRow, key)
            return None if row is None else PageSession(row.key, row.token_sha256, row.created_at, row.last_seen)

    def delete(self, key: str) -> None:
        with self._sessions.begin() as s:
            row = s.get(SessionRow, key)
            if row is not None:
                s.delete(row)

    def purge(self, keep: Callable[[PageSession], bool]) -> int:
        with self._sessions.begin() as s:
            dead = [
                r
                for r in s.scalars(select(SessionRow))
                if not keep(PageSession(r.key, r.token_sha256, r.created_at, r.last_seen))
            ]
            for r in dead:
                s.delete(r)
            return len(dead)


# ---- audit access log (append-only) ------------------------------------------------------------------------------


class DbAccessLog:
    """The API's access log in the database: rows are inserted and committed before the data is
    served; there is no update nor delete here."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    def append(self, entry: AccessEntry) -> None:
        with self._sessions.begin() as s:
            s.add(
                AccessLogRow(
                    at=entry.at,
                    who=entry.who,
                    role=entry.role,
                    landlord_id=entry.landlord,
                    what=entry.what,
                    target=entry.target,
                    status=entry.status,
                    denied=entry.denied,
                )
            )

    def entries(self, *, limit: int = 1000) -> list[AccessEntry]:
        with self._sessions() as s:
            rows = list(s.scalars(select(AccessLogRow).order_by(AccessLogRow.id.desc()).limit(limit)))
        return [
            AccessEntry(r.at, r.who, r.role, r.landlord_id, r.what, r.target, r.status, r.denied)
            for r in reversed(rows)
        ]
