"""Service-time arithmetic: only the part of time inside service windows counts.

A mediator team is not expected on the estate at night or on closed days, so a checkpoint does
not grow "idle" then. Everything here works on the windows of :class:`ServiceCalendar`, which
keep their local wall-clock hours across daylight-saving changes. An estate's service time is
counted on its own calendar: pass ``calendars.for_estate(estate)`` (``ronde.protocol.calendar.Calendars``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from ronde.protocol.calendar import ServiceCalendar


def utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("naive datetime")
    return instant.astimezone(UTC)


def window_seconds(calendar: ServiceCalendar, day: date) -> float:
    start, end = calendar.window(day)
    return (end - start).total_seconds()


def effective_window(
    calendar: ServiceCalendar, day: date, now: datetime | None = None
) -> tuple[datetime, datetime] | None:
    """The day's window, cut at ``now`` for the evening in progress; None if it has not begun."""
    start, end = calendar.window(day)
    if now is not None:
        if now <= start:
            return None
        end = min(end, utc(now))
    return start, end


def period_windows(
    calendar: ServiceCalendar, first: date, last: date, now: datetime | None
) -> tuple[dict[date, tuple[datetime, datetime]], date | None]:
    """The begun service days of ``first..last`` with their windows (cut at ``now``), and the day whose window
    ``now`` cuts short (the evening in progress), if any."""
    windows: dict[date, tuple[datetime, datetime]] = {}
    partial: date | None = None
    for day in calendar.service_days(first, last):
        w = effective_window(calendar, day, now)
        if w is None:
            continue
        windows[day] = w
        if w[1] < calendar.window(day)[1]:
            partial = day
    return windows, partial


def clip_to_window(
    first_seen: datetime, last_seen: datetime, w_start: datetime, w_end: datetime
) -> tuple[datetime, datetime] | None:
    """The part of a visit inside [w_start, w_end); None if none of it is.

    A visit of no duration counts when its instant is inside the window.
    """
    lo, hi = max(first_seen, w_start), min(last_seen, w_end)
    if lo < hi or (lo == hi and w_start <= lo < w_end):
        return lo, hi
    return None


def service_seconds(calendar: ServiceCalendar, start: datetime, end: datetime) -> float:
    """Seconds of [start, end) that fall inside service windows (nights and closed days excluded).

    Give one estate's calendar (``for_estate``): a ``Calendars`` counts the span of all estates' windows."""
    start, end = utc(start), utc(end)
    if end <= start:
        return 0.0
    total = 0.0
    tz = calendar.tz
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    for day in calendar.service_days(first, last):
        w_start, w_end = calendar.window(day)
        lo, hi = max(start, w_start), min(end, w_end)
        if hi > lo:
            total += (hi - lo).total_seconds()
    return total


def local_day(calendar: ServiceCalendar, instant: datetime) -> date:
    """The service day containing ``instant``, else its local calendar date."""
    day = calendar.service_day(instant)
    return day if day is not None else utc(instant).astimezone(calendar.tz).date()
