"""Creating one API token in the operational database (``ronde api token``): only its SHA-256 is kept.

The clear token is returned once, to be handed to its holder; the database never sees it. A token file's
tokens are imported by ``ronde registry import --tokens`` instead (``access_repo.import_tokens``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ronde.opdb.models import LandlordRow, TokenRow
from ronde.protocol.access import Role, TokenEntry, hash_token, new_token


class TokenRefused(ValueError):
    """The token cannot be created as asked; the message says why."""


def create_token(
    session: Session, name: str, role: Role, landlord: str | None = None, *, now: datetime | None = None
) -> str:
    """Add a token of ``role`` named ``name`` (a landlord token scoped to ``landlord``, which must be in the
    registry) and return the clear token. Refused: a name already in force, a malformed name, a role a tokens
    file may not give (device, partner). Raises TokenRefused, or pydantic's ValidationError for the name."""
    token = new_token()
    entry = TokenEntry(sha256=hash_token(token), name=name, role=role, landlord=landlord)  # the file's rules
    if landlord is not None and session.get(LandlordRow, landlord) is None:
        raise TokenRefused(f"landlord {landlord!r} is not in the registry in force")
    taken = session.scalar(select(TokenRow.sha256).where(TokenRow.name == name, TokenRow.revoked_at.is_(None)))
    if taken is not None:
        raise TokenRefused(f"a token named {name!r} is already in force: revoke it first or choose another name")
    session.add(
        TokenRow(
            sha256=entry.sha256,
            name=entry.name,
            role=entry.role.value,
            landlord_id=entry.landlord,
            created_at=now or datetime.now(UTC),
        )
    )
    session.flush()
    return token
