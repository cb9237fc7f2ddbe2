"""Service hours: when mediators are on duty, and which evening ("service day") an instant belongs to.

Default: Wednesday to Sunday, 16:00–22:15, Europe/Paris. Hours are wall-clock local times, so a
window keeps its local hours across daylight-saving changes (its UTC length may change). A window
whose end is before its start runs past midnight and belongs to the day it started (equal bounds,
which :func:`check_calendar` refuses, would make a whole day).

One rule for every calendar that comes from outside (the gateway's and ingest's configuration files,
the operational database's ``service_calendars``, the API): :func:`check_calendar` (or, field by field
in a pydantic model, :func:`end_problem` and :func:`timezone_problem`). ``end`` equal to ``start`` is
refused everywhere: it used to mean an empty window to the gateway and a 24-hour one to ingest.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class CalendarError(ValueError):
    """A service calendar that cannot be used; ``field`` names the faulty field (``end``, ``timezone``, ``days``)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def end_problem(start: time, end: time) -> str | None:
    """The one rule on a window's bounds: ``end`` may be after ``start`` (same evening) or before it (past
    midnight), never equal (ambiguous: an empty window or a whole day)."""
    if start == end:
        return (
            f"equals start ({start.strftime('%H:%M')}): a service window cannot be empty nor a whole day; "
            "give an end after the start, or before it for service past midnight (e.g. 20:00 to 02:00)"
        )
    return None


def timezone_problem(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {name!r} (use an IANA name such as Europe/Paris)"
    return None


def weekday_problem(days: Iterable[str]) -> str | None:
    bad = [d for d in days if d not in WEEKDAYS]
    return f"unknown weekday(s) {bad}: use {', '.join(WEEKDAYS)}" if bad else None


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

    def for_estate(self, estate: str) -> ServiceCalendar:  # noqa: ARG002 - one calendar serves every estate
        """The calendar of ``estate``: this one (a :class:`Calendars` answers with the estate's own)."""
        return self

    def for_estates(self, estates: Iterable[str]) -> ServiceCalendar:  # noqa: ARG002 - as for_estate
        """The calendar of these estates together: this one (a :class:`Calendars` narrows itself)."""
        return self

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


@dataclass(frozen=True, slots=True, eq=False)
class Calendars(ServiceCalendar):
    """The site's calendars: the default one (its own fields) and the estates that have their own (``estates``,
    sorted by estate id). :meth:`for_estate` is the calendar a place of that estate is judged by: ingest (is a
    visit in service), coverage (an estate's windows), audit and the API ask it, one code path.

    As a :class:`ServiceCalendar` it answers for the estates together: a day is a service day, and an instant in
    service, when it is for at least one estate, and a day's ``window`` spans the windows of the estates serving
    it (what "has the evening begun / ended" and the visits to read for a day mean on a site). Without estates of
    its own it is exactly its default calendar. Built from the operational database by
    ``ronde.opdb.service_repo.get_calendars``.
    """

    estates: tuple[tuple[str, ServiceCalendar], ...] = ()
    _all: tuple[ServiceCalendar, ...] = field(default=(), init=False, repr=False, compare=False, hash=False)
    _by_estate: Mapping[str, ServiceCalendar] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if any(type(c) is not ServiceCalendar for _, c in self.estates):
            raise TypeError("an estate's calendar is a plain ServiceCalendar")
        ordered = tuple(sorted(self.estates, key=lambda pair: pair[0]))
        object.__setattr__(self, "estates", ordered)
        object.__setattr__(self, "_all", (self.default, *(c for _, c in ordered)))
        object.__setattr__(self, "_by_estate", dict(ordered))

    def __eq__(self, other: object) -> bool:
        """Equal to its default calendar when no estate has its own (what it then is)."""
        if isinstance(other, Calendars):
            return self.default == other.default and self.estates == other.estates
        if type(other) is ServiceCalendar:
            return not self.estates and self.default == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.default) if not self.estates else hash((self.default, self.estates))

    @classmethod
    def of(cls, default: ServiceCalendar, estates: Mapping[str, ServiceCalendar] | None = None) -> Calendars:
        base = default.default if isinstance(default, Calendars) else default
        return cls(
            days=base.days,
            start=base.start,
            end=base.end,
            timezone=base.timezone,
            closed=base.closed,
            estates=tuple((estate, cal) for estate, cal in (estates or {}).items()),
        )

    @property
    def default(self) -> ServiceCalendar:
        """The calendar of every estate that has none of its own."""
        if self._all:
            return self._all[0]
        return ServiceCalendar(self.days, self.start, self.end, self.timezone, self.closed)

    def for_estate(self, estate: str) -> ServiceCalendar:
        return self._by_estate.get(estate, self._all[0])

    def for_estates(self, estates: Iterable[str]) -> ServiceCalendar:
        """A plain calendar when these estates share one (one landlord's audit), else the ``Calendars`` of them."""
        wanted = set(estates)
        mine = {e: c for e, c in self.estates if e in wanted}
        shared = {self.for_estate(e) for e in wanted}
        if len(shared) == 1:
            return shared.pop()
        return Calendars.of(self.default, mine) if mine else self.default

    def with_closed(self, days: Iterable[date]) -> Calendars:
        """Every calendar with ``days`` closed too (``ronde audit --closed``)."""
        extra = frozenset(days)
        return Calendars.of(
            replace(self.default, closed=self.closed | extra),
            {e: replace(c, closed=c.closed | extra) for e, c in self.estates},
        )

    def is_service_day(self, day: date) -> bool:
        return any(c.is_service_day(day) for c in self._all)

    def window(self, day: date) -> tuple[datetime, datetime]:
        """From the earliest start to the latest end of the estates' evenings of ``day`` (of those serving it,
        else of all)."""
        if len(self._all) == 1:
            return self._all[0].window(day)
        serving = [c for c in self._all if c.is_service_day(day)] or list(self._all)
        windows = [c.window(day) for c in serving]
        return min(w[0] for w in windows), max(w[1] for w in windows)

    def service_day(self, instant: datetime) -> date | None:
        days = [d for d in (c.service_day(instant) for c in self._all) if d is not None]
        return min(days) if days else None


def check_calendar(calendar: ServiceCalendar) -> ServiceCalendar:
    """``calendar`` if it passes the rule (days Monday = 0 … 6, ``end`` not equal to ``start``, a known time
    zone), else CalendarError naming the field."""
    if any(d not in range(7) for d in calendar.days):
        raise CalendarError("days", f"unknown weekday number(s) {sorted(calendar.days)}: 0 (Monday) to 6")
    problem = end_problem(calendar.start, calendar.end)
    if problem is not None:
        raise CalendarError("end", problem)
    problem = timezone_problem(calendar.timezone)
    if problem is not None:
        raise CalendarError("timezone", problem)
    if isinstance(calendar, Calendars):
        for estate, own in calendar.estates:
            try:
                check_calendar(own)
            except CalendarError as exc:
                raise CalendarError(f"estates.{estate}.{exc.field}", exc.message) from None
    return calendar


@lru_cache(maxsize=4096)
def _window(calendar: ServiceCalendar, day: date) -> tuple[datetime, datetime]:
    """Cached: ingest asks for the same few evenings thousands of times a second."""
    tz = calendar.tz
    start = datetime.combine(day, calendar.start, tzinfo=tz)
    end_day = day + timedelta(days=1) if calendar.crosses_midnight else day
    end = datetime.combine(end_day, calendar.end, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)
