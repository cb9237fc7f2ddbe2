"""What every request handler needs, built once by ``create_app`` (no module globals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from ronde.api.access_log import AccessEntry, AccessLog
from ronde.api.auth import Principal, TokenBook
from ronde.api.registry_service import RegistryService
from ronde.api.settings import ApiSettings
from ronde.coverage.query import CoverageCache
from ronde.protocol.calendar import ServiceCalendar
from ronde.store.port import Store


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ApiContext:
    settings: ApiSettings
    store: Store
    registry: RegistryService
    calendar: ServiceCalendar
    tokens: TokenBook
    access_log: AccessLog
    clock: Callable[[], datetime] = utc_now
    coverage_cache: CoverageCache = field(default_factory=CoverageCache)

    def now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def today(self) -> date:
        """The local date now (the service day in progress, if any, starts on it)."""
        now = self.now()
        day = self.calendar.service_day(now)
        return day if day is not None else now.astimezone(self.calendar.tz).date()

    def last_service_day(self) -> date | None:
        """The latest service day whose evening has begun (today's while it runs)."""
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

    def log_access(self, who: Principal, what: str, target: str, status: int = 200) -> None:
        self.access_log.append(
            AccessEntry(
                at=self.now(), who=who.name, role=who.role.value, landlord=who.landlord,
                what=what, target=target, status=status,
            )
        )
