"""Bearer tokens: stored hashed (SHA-256), each mapped to a principal with one role.

Token file (YAML)::

    tokens:
      - sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
        name: supervision
        role: supervisor
      - sha256: ...
        name: audit-paris-habitat
        role: landlord
        landlord: paris-habitat

Tokens themselves never touch the disk on the server side; ``ronde api token`` prints a new
one once and appends its hash.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ronde.protocol import safe_yaml
from ronde.protocol.errors import validation_issues
from ronde.protocol.estate import ID

log = logging.getLogger(__name__)


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    LANDLORD = "landlord"
    GATEWAY = "gateway"  # publishes over MQTT only: no read access to the API


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: Role
    landlord: str | None = None


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


class Tokens(Protocol):
    """What the API asks of the tokens in force: a fixed ``TokenBook`` or a ``TokenFileWatcher``."""

    def authenticate(self, token: str) -> Principal | None: ...

    def lookup_hash(self, digest: str) -> Principal | None:
        """The principal of the token whose SHA-256 is ``digest``, if that token is still in force."""
        ...


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
        return cls(
            TokenEntry(sha256=hash_token(t), name=p.name, role=p.role, landlord=p.landlord) for t, p in tokens.items()
        )

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


class TokenFileWatcher:
    """The tokens of a file, re-read when the file changes, so that revoking a token needs no restart.

    The file is looked at (``stat``: inode, size, mtime) at most every ``interval_s`` seconds, on the
    requests themselves: no thread. A file that changed but cannot be used (broken YAML, a bad entry,
    missing) is refused with one logged error and the tokens in force stay, so a typo does not lock
    everybody out; the next change is tried again. ``clock`` is monotonic seconds (injected in tests).
    """

    def __init__(self, path: Path, *, interval_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._path = path
        self._interval = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._book = TokenBook.load(path)  # at start-up a bad file is fatal (TokenFileError)
        self._seen = self._signature()
        self._checked = clock()

    @property
    def path(self) -> Path:
        return self._path

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self._path)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def current(self) -> TokenBook:
        """The book in force, after re-reading the file if it changed and the interval has passed."""
        with self._lock:
            now = self._clock()
            if now - self._checked < self._interval:
                return self._book
            self._checked = now
            signature = self._signature()
            if signature == self._seen:
                return self._book
            self._seen = signature
            try:
                if signature is None:
                    raise TokenFileError(f"{self._path}: the tokens file is missing")
                book = TokenBook.load(self._path)
            except TokenFileError as exc:
                log.error("tokens file changed but is refused; the %d tokens in force stay: %s", len(self._book), exc)
                return self._book
            log.info("tokens file re-read: %d tokens in force (were %d)", len(book), len(self._book))
            self._book = book
            return book

    def authenticate(self, token: str) -> Principal | None:
        return self.current().authenticate(token)

    def lookup_hash(self, digest: str) -> Principal | None:
        return self.current().lookup_hash(digest)

    def __len__(self) -> int:
        return len(self.current())


def read_token_file(path: Path) -> TokenFile:
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


def add_token(path: Path, name: str, role: Role, landlord: str | None = None) -> str:
    """Create a token, append its hash to ``path`` and return the clear token (shown once)."""
    current = read_token_file(path)
    token = new_token()
    entry = TokenEntry(sha256=hash_token(token), name=name, role=role, landlord=landlord)
    doc = TokenFile(tokens=[*current.tokens, entry])
    TokenBook(doc.tokens)  # refuses duplicates
    data = {"tokens": [e.model_dump(mode="json", exclude_none=True) for e in doc.tokens]}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(
        "# Ronde API tokens: SHA-256 of each bearer token, never the token itself.\n"
        + yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    tmp.replace(path)
    return token
