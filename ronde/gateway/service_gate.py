"""Service-hours gate: outside service windows the gateway neither scans nor records (GDPR/CNIL:
mediators are employees, and their whereabouts off duty are none of the system's business).

The only way past it is a documented override with an end instant and a reason (config
``service.override_until`` + ``service.override_reason``, or ``ronde gateway run --override-until
... --override-reason ...``), which is logged and shown in the retained status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ronde.protocol.calendar import ServiceCalendar


@dataclass(frozen=True, slots=True)
class Override:
    until: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class GateState:
    open: bool
    reason: str
    next_change: float
    """Epoch seconds at which ``open`` may flip (re-evaluate then)."""


class ServiceGate:
    def __init__(self, calendar: ServiceCalendar, override: Override | None = None) -> None:
        self.calendar = calendar
        self.override = override

    def state(self, now: float) -> GateState:
        instant = datetime.fromtimestamp(now, UTC)
        tz = self.calendar.tz
        change = self.calendar.next_change(instant)
        day = self.calendar.service_day(instant)
        if day is not None:
            _, end = self.calendar.window(day)
            return GateState(True, f"in service hours until {end.astimezone(tz):%H:%M %Z}", change.timestamp())
        if self.override is not None and instant < self.override.until:
            until = self.override.until
            return GateState(
                True,
                f"override until {until.astimezone(tz):%Y-%m-%d %H:%M %Z}: {self.override.reason}",
                min(change, until).timestamp(),
            )
        local = change.astimezone(tz)
        return GateState(False, f"outside service hours; next service {local:%a %Y-%m-%d %H:%M %Z}", change.timestamp())
