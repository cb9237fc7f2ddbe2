"""Page sessions: the sign-in cookie holds a random session id, never the bearer token.

A session is created when a token signs in on ``/login``. Its id (256 random bits) is the cookie;
the server keeps only the id's SHA-256, the SHA-256 of the token it came from, and two instants.
A session ends when it was idle too long, when it is too old (absolute lifetime, however active),
on sign-out, or as soon as its token is no longer in the tokens file: the principal is looked up
from the token's hash on every request, so a revoked or changed token takes its sessions with it.

``MemorySessionStore`` keeps the table in process memory (tests, the demo); ``ronde api serve`` uses
``ronde.opdb.access_repo.DbSessionStore``, so API processes on one database share their sessions and
a restart signs nobody out.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from ronde.api.auth import Principal, Tokens
from ronde.protocol.access import PageSession as Session  # the record, shared with the operational database

__all__ = ["MemorySessionStore", "Session", "SessionManager", "SessionStore"]


class SessionStore(Protocol):
    """Where sessions live. Implementations must be safe to call from several threads."""

    def put(self, session: Session) -> None: ...

    def get(self, key: str) -> Session | None: ...

    def delete(self, key: str) -> None: ...

    def purge(self, keep: Callable[[Session], bool]) -> int:
        """Drop every session ``keep`` refuses; returns how many were dropped."""
        ...


class MemorySessionStore:
    """Sessions in a dict: enough for one API process (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, Session] = {}

    def put(self, session: Session) -> None:
        with self._lock:
            self._by_key[session.key] = session

    def get(self, key: str) -> Session | None:
        with self._lock:
            return self._by_key.get(key)

    def delete(self, key: str) -> None:
        with self._lock:
            self._by_key.pop(key, None)

    def purge(self, keep: Callable[[Session], bool]) -> int:
        with self._lock:
            dead = [k for k, s in self._by_key.items() if not keep(s)]
            for k in dead:
                del self._by_key[k]
            return len(dead)

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_key)


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class SessionManager:
    """Opens, resolves and ends sessions, with idle and absolute expiry on an injectable wall clock.

    The clock is separate from the API's service clock on purpose: the demo runs an accelerated
    evening, and sessions must not expire at that pace.
    """

    def __init__(
        self, store: SessionStore, *, idle: timedelta, absolute: timedelta, clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.idle = idle
        self.absolute = absolute
        self._clock = clock
        self._opened = 0

    def open(self, token_sha256: str) -> str:
        """A new session for the token of that hash; returns the session id (the cookie value)."""
        now = self._clock()
        session_id = secrets.token_urlsafe(32)  # 256 bits
        self.store.put(Session(_key(session_id), token_sha256, now, now))
        self._opened += 1
        if self._opened % 256 == 0:  # expired sessions nobody presents again must not pile up
            self.store.purge(lambda s: self._alive(s, now))
        return session_id

    def _alive(self, session: Session, now: datetime) -> bool:
        return now - session.last_seen < self.idle and now - session.created_at < self.absolute

    def resolve(self, session_id: str, tokens: Tokens) -> Principal | None:
        """The principal of a live session, touching it; ``None`` (and the session dropped) otherwise."""
        key = _key(session_id)
        session = self.store.get(key)
        if session is None:
            return None
        now = self._clock()
        principal = tokens.lookup_hash(session.token_sha256) if self._alive(session, now) else None
        if principal is None:
            self.store.delete(key)
            return None
        self.store.put(replace(session, last_seen=now))
        return principal

    def close(self, session_id: str) -> None:
        """Sign-out: the session id stops working at once, wherever the cookie was copied."""
        self.store.delete(_key(session_id))
