"""Service hours: when mediators are on duty, and which evening ("service day") an instant belongs to.

Default: Wednesday to Sunday, 16:00–22:15, Europe/Paris. Hours are wall-clock local times, so a
window keeps its local hours across daylight-saving changes (its UTC length may change). A window
whose end is not after its start runs past midnight and belongs to the day it started.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class ServiceCalendar:
    days: frozenset[int] = frozenset({2, 3, 4, 5, 6})  # Monday = 0
    start: time = time(16, 0)
    end: time = time(22, 15)
    timezone: str = "Europe/Paris"
    closed: frozenset[date] = field(default_factory=frozenset)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def is_service_day(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.closed

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The UTC [start, end) of the evening of ``day`` (whether or not it is a service day)."""
        return _window(self, day)

    def service_day(self, instant: datetime) -> date | None:
        """The service day whose window contains ``instant``, or None outside service hours."""
        if instant.tzinfo is None:
            raise ValueError("naive datetime")
        local = instant.astimezone(self.tz)
        for day in (local.date(), local.date() - timedelta(days=1)):
            if self.is_service_day(day):
                start, end = self.window(day)
                if start <= instant < end:
                    return day
        return None

    def in_service(self, instant: datetime) -> bool:
        return self.service_day(instant) is not None

    def service_days(self, first: date, last: date) -> Iterator[date]:
        """Service days from ``first`` to ``last`` inclusive."""
        day = first
        while day <= last:
            if self.is_service_day(day):
                yield day
            day += timedelta(days=1)

    def clip(self, start: datetime, end: datetime) -> list[tuple[date, datetime, datetime]]:
        """The parts of [start, end] inside service windows, with their service day."""
        out: list[tuple[date, datetime, datetime]] = []
        first = start.astimezone(self.tz).date() - timedelta(days=1)
        last = end.astimezone(self.tz).date()
        for day in self.service_days(first, last):
            w_start, w_end = self.window(day)
            lo, hi = max(start, w_start), min(end, w_end)
            if lo < hi or (lo == hi and w_start <= lo < w_end):
                out.append((day, lo, hi))
        return out

    def next_change(self, instant: datetime) -> datetime:
        """The next instant at which ``in_service`` flips (for the gateway's gate)."""
        local_day = instant.astimezone(self.tz).date()
        candidates: list[datetime] = []
        for offset in range(-1, 9):
            day = local_day + timedelta(days=offset)
            if self.is_service_day(day):
                candidates.extend(self.window(day))
        later = sorted(c for c in candidates if c > instant)
        return later[0] if later else instant + timedelta(days=7)


@lru_cache(maxsize=4096)
def _window(calendar: ServiceCalendar, day: date) -> tuple[datetime, datetime]:
    """Cached: ingest asks for the same few evenings thousands of times a second."""
    tz = calendar.tz
    start = datetime.combine(day, calendar.start, tzinfo=tz)
    end_day = day + timedelta(days=1) if calendar.crosses_midnight else day
    end = datetime.combine(end_day, calendar.end, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)
