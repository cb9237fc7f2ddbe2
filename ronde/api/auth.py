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
one once and appends its hash. The records (roles, principals, the file's entries, ``TokenBook``) are
``ronde.protocol.access``, shared with the operational database; here: the watcher and the command.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import yaml

from ronde.protocol.access import (
    Principal,
    Role,
    TokenBook,
    TokenEntry,
    TokenFile,
    TokenFileError,
    hash_token,
    new_token,
    read_token_file,
)

__all__ = [
    "Principal",
    "RevocableTokens",
    "Role",
    "TokenBook",
    "TokenEntry",
    "TokenFile",
    "TokenFileError",
    "TokenFileWatcher",
    "Tokens",
    "add_token",
    "hash_token",
    "new_token",
    "read_token_file",
]

log = logging.getLogger(__name__)


class Tokens(Protocol):
    """What the API asks of the tokens in force: a fixed ``TokenBook`` or a ``TokenFileWatcher``."""

    def authenticate(self, token: str) -> Principal | None: ...

    def lookup_hash(self, digest: str) -> Principal | None:
        """The principal of the token whose SHA-256 is ``digest``, if that token is still in force."""
        ...


@runtime_checkable
class RevocableTokens(Tokens, Protocol):
    """Tokens that can be revoked through the API (the operational database's ``DbTokens``); a tokens
    file is changed by editing it."""

    def revoke_name(self, name: str) -> int: ...


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
                    raise TokenFileError(f"{self._path}: the tokens file is missing")  # noqa: TRY301 - refused like the load's own refusals, just below
                book = TokenBook.load(self._path)
            except TokenFileError as exc:
                log.error("tokens file changed but is refused; the %d tokens in force stay: %s", len(self._book), exc)  # noqa: TRY400 - an expected refusal: its message, no traceback
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
