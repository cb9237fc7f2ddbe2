"""Who may use the server roles: API token records, roles, page-session and access-log records.

Pure records and the tokens file's format, shared by the API (which authenticates with them) and the
operational database (which stores them): ``ronde.opdb`` sits below the API and must not import it.

Token file (YAML)::

    tokens:
      - sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
        name: supervision
        role: supervisor
      - sha256: ...
        name: audit-paris-habitat
        role: landlord
        landlord: paris-habitat

Tokens themselves never touch the disk on the server side: only their SHA-256.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ronde.protocol.errors import validation_issues
from ronde.protocol.estate import ID


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    LANDLORD = "landlord"
    GATEWAY = "gateway"  # publishes over MQTT only: no read access to the API
    DEVICE = "device"  # a team's phone (issue 14): its own team's field records and assigned requests only
    PARTNER = "partner"  # a partner of the service: posts requests on its estates, sees only its own


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: Role
    landlord: str | None = None
    team: str | None = None  # a device's team (its pseudonym), never shown to landlords
    partner: int | None = None  # a partner token's partner id (the partner directory)
    device: str | None = None  # a device's id (``terrain_devices``)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return "rnd_" + secrets.token_urlsafe(32)


class TokenEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.@-]+$")
    role: Role
    landlord: str | None = Field(default=None, pattern=ID)

    @model_validator(mode="after")
    def _landlord_only_for_landlords(self) -> TokenEntry:
        if self.role in (Role.DEVICE, Role.PARTNER):
            raise ValueError(
                f"role {self.role.value} is not given by a tokens file: device tokens come from enrolment, "
                "partner tokens from `ronde.opdb.device_repo.create_partner_token`"
            )
        if self.role is Role.LANDLORD and self.landlord is None:
            raise ValueError("a landlord token needs 'landlord'")
        if self.role is not Role.LANDLORD and self.landlord is not None:
            raise ValueError(f"'landlord' is only for role landlord, not {self.role.value}")
        return self


class TokenFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tokens: list[TokenEntry] = Field(default_factory=list)


class TokenFileError(ValueError):
    """The tokens file cannot be used; the message names the entry and field."""


class TokenBook:
    """Look-up of presented tokens by their hash, in constant time per candidate."""

    def __init__(self, entries: Iterable[TokenEntry]) -> None:
        self._by_hash: dict[str, Principal] = {}
        for e in entries:
            if e.sha256 in self._by_hash:
                raise TokenFileError(f"token of {e.name!r} is listed twice")
            self._by_hash[e.sha256] = Principal(e.name, e.role, e.landlord)

    @classmethod
    def from_tokens(cls, tokens: Mapping[str, Principal]) -> TokenBook:
        """From clear tokens (tests, the demo): only their hashes are kept."""
        return cls(token_entries(tokens))

    @classmethod
    def load(cls, path: Path) -> TokenBook:
        return cls(read_token_file(path).tokens)

    def authenticate(self, token: str) -> Principal | None:
        return self.lookup_hash(hash_token(token))

    def lookup_hash(self, digest: str) -> Principal | None:
        found: Principal | None = None
        for known, principal in self._by_hash.items():
            if hmac.compare_digest(known, digest):
                found = principal
        return found

    def landlords(self) -> set[str]:
        return {p.landlord for p in self._by_hash.values() if p.landlord is not None}

    def __len__(self) -> int:
        return len(self._by_hash)


def token_entries(tokens: Mapping[str, Principal]) -> list[TokenEntry]:
    """Token-file entries (hashes only) of clear tokens: tests and the demo import them."""
    return [TokenEntry(sha256=hash_token(t), name=p.name, role=p.role, landlord=p.landlord) for t, p in tokens.items()]


def read_token_file(path: Path) -> TokenFile:
    import yaml

    from ronde.protocol import safe_yaml

    try:
        raw: Any = safe_yaml.load_file(path) if path.exists() else None
    except safe_yaml.YamlLimitError as exc:
        raise TokenFileError(f"token file refused: {exc}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TokenFileError(f"{path}: cannot read token file: {exc}") from None
    try:
        return TokenFile.model_validate(raw or {})
    except ValidationError as exc:
        lines = [f"{path}: {i.where}: {i.what}" for i in validation_issues(exc, echo_input=True)]
        raise TokenFileError("\n".join(lines)) from None


@dataclass(frozen=True, slots=True)
class PageSession:
    """A page sign-in as the server keeps it: hashes and two instants, never the cookie nor the token."""

    key: str  # SHA-256 of the session id: a copy of the table gives no usable cookie
    token_sha256: str
    created_at: datetime
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One read (or refused read) of audit data, as the append-only access log keeps it."""

    at: datetime
    who: str
    role: str
    landlord: str | None
    what: str  # e.g. "audit.report.pdf"
    target: str  # e.g. "landlord=paris-habitat first=2026-11-01 last=2026-11-30"
    status: int
    denied: bool = False  # refused (403/404): who probed what, and nothing of the data
