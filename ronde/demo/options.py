"""What a demo run is given, and which evening it replays: light imports only, so ``ronde demo`` can start
computing the teams' streams (``ronde.demo.streams``) before it loads the server's modules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import default_estate_path

DEFAULT_SPEED = 8000.0  # the evening (6 h 15) in under 3 s of clock, played before the URL is printed


@dataclass(frozen=True, slots=True)
class DemoOptions:
    seed: int = 2026
    speed: float = DEFAULT_SPEED
    day: date | None = None
    teams: int = 2
    broker: tuple[str, int] | None = None  # None: embedded amqtt (MQTT 3.1.1)
    store_url: str | None = None  # None: SQLite in workdir
    store_token: str | None = None
    store_org: str | None = None
    workdir: Path = Path("var/demo")
    host: str = "127.0.0.1"
    port: int = 8080
    serve: bool = True  # keep the API up after the evening until Ctrl-C
    estate: Path = field(default_factory=default_estate_path)


def last_finished_service_day(calendar: ServiceCalendar, now: datetime) -> date:
    """The latest service day whose evening is over (the demo replays it, so nothing is in the future)."""
    day = now.astimezone(calendar.tz).date()
    for _ in range(60):
        if calendar.is_service_day(day) and calendar.window(day)[1] <= now:
            return day
        day -= timedelta(days=1)
    raise ValueError("no service day in the last 60 days: check the calendar")
