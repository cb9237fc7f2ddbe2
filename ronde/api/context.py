"""What every request handler needs, built once by ``create_app`` (no module globals)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ronde.api.access_log import AccessEntry, AccessLogWriter
from ronde.api.auth import Principal, Tokens
from ronde.api.calendar_book import CalendarBook
from ronde.api.registry_service import Registries
from ronde.api.sessions import MemorySessionStore, SessionManager
from ronde.api.settings import ApiSettings
from ronde.audit.keys import load_signing_key
from ronde.coverage.group_shares import SharesCache
from ronde.coverage.query import CoverageCache
from ronde.coverage.visited import VisitedCache
from ronde.protocol.calendar import Calendars
from ronde.store.port import Store


def utc_now() -> datetime:
    return datetime.now(UTC)


class AuditKeyHolder:
    """The audit signing key, read (or created) on the first report rather than at start-up, so
    an API that never issues reports never touches the key file."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[Path | None, Ed25519PrivateKey] = {}

    def get(self, path: Path | None) -> Ed25519PrivateKey:
        with self._lock:
            key = self._keys.get(path)
            if key is None:
                key = self._keys[path] = load_signing_key(path)
            return key


def default_sessions(settings: ApiSettings) -> SessionManager:
    """In-process sessions on the wall clock, with the settings' idle and absolute lifetimes."""
    return SessionManager(
        MemorySessionStore(),
        idle=timedelta(minutes=settings.session_idle_min),
        absolute=timedelta(hours=settings.session_absolute_h),
        clock=utc_now,
    )


@dataclass(frozen=True, slots=True)
class ApiContext:
    settings: ApiSettings
    store: Store
    registry: Registries
    calendar_book: CalendarBook  # the service calendars: ``calendar``
    tokens: Tokens
    access_log: AccessLogWriter
    sessions: SessionManager
    clock: Callable[[], datetime] = utc_now
    coverage_cache: CoverageCache = field(default_factory=CoverageCache)
    visited_cache: VisitedCache = field(default_factory=VisitedCache)  # per-day "visited" counts' parts
    shares_cache: SharesCache = field(default_factory=SharesCache)  # one landlord's shares from letters
    audit_keys: AuditKeyHolder = field(default_factory=AuditKeyHolder)
    # the evening the pages open on, whatever the clock says (the demo's replayed evening: its clock
    # may be inside tonight's window, which has no data); None: the latest evening begun
    shown_day: date | None = None

    def now(self) -> datetime:
        return self.clock().astimezone(UTC)

    @property
    def calendar(self) -> Calendars:
        """The service calendars in force (``for_estate``: an estate's own), read again when the operational
        database's version moved: a change made through another API process or ``ronde calendar`` holds at once."""
        return self.calendar_book.calendars

    def today(self) -> date:
        """The local date now (the service day in progress, if any, starts on it)."""
        now = self.now()
        day = self.calendar.service_day(now)
        return day if day is not None else now.astimezone(self.calendar.tz).date()

    def last_service_day(self) -> date | None:
        """The latest service day whose evening has begun (today's while it runs), or ``shown_day``."""
        if self.shown_day is not None:
            return self.shown_day
        now = self.now()
        day = now.astimezone(self.calendar.tz).date()
        for _ in range(400):
            if self.calendar.is_service_day(day) and self.calendar.window(day)[0] <= now:
                return day
            day -= timedelta(days=1)
        return None

    def is_closed(self, day: date) -> bool:
        """The day's evening is over: its figures can no longer change (rollups apply)."""
        return self.calendar.window(day)[1] <= self.now()

    def audit_key(self) -> Ed25519PrivateKey:
        """The key audit reports are signed with (``settings.audit_key`` or the default location)."""
        return self.audit_keys.get(self.settings.audit_key)

    def log_access(self, who: Principal, what: str, target: str, status: int = 200, *, denied: bool = False) -> None:
        self.access_log.append(
            AccessEntry(
                at=self.now(),
                who=who.name,
                role=who.role.value,
                landlord=who.landlord,
                what=what,
                target=target,
                status=status,
                denied=denied,
            )
        )
