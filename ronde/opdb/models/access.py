"""Who may speak and who may read: gateways and their keys, team badges, API tokens (hashes) and sessions,
and the append-only audit access log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ronde.opdb.models.base import Base, UtcDateTime
from ronde.opdb.models.registry import ID_LEN


class GatewayRow(Base):
    __tablename__ = "gateways"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_key: Mapped[str | None] = mapped_column(String(43), unique=True)  # Ed25519, base64url: public
    badges_json: Mapped[str | None] = mapped_column(Text)  # JSON list of badges it may report; NULL: any
    allow_unsigned: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(String(200), default="")
    enrolled_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class BadgeRow(Base):
    """A team badge: a pseudonym, never a person's name."""

    __tablename__ = "team_badges"
    badge: Mapped[str] = mapped_column(String(32), primary_key=True)
    team: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class TokenRow(Base):
    """An API bearer token: only its SHA-256 is kept."""

    __tablename__ = "api_tokens"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(20))
    landlord_id: Mapped[str | None] = mapped_column(String(ID_LEN))  # scope of a landlord token
    partner_id: Mapped[int | None] = mapped_column(Integer)  # scope of a partner token (migration 0003)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SessionRow(Base):
    """A page session: the SHA-256 of its id (the cookie), the token it came from, and its instants."""

    __tablename__ = "api_sessions"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(ForeignKey("api_tokens.sha256", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AccessLogRow(Base):
    """Who read which audit data, when (``ronde.api.access_log``): rows are inserted, never updated."""

    __tablename__ = "audit_access_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    who: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(20))
    landlord_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    what: Mapped[str] = mapped_column(String(80))
    target: Mapped[str] = mapped_column(String(400))
    status: Mapped[int] = mapped_column(Integer)
    denied: Mapped[bool] = mapped_column(Boolean, default=False)
