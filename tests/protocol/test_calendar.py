"""Service calendar: Wed–Sun 16:00–22:15 Europe/Paris, across daylight-saving changes."""

from datetime import UTC, date, datetime, time

import pytest

from ronde.protocol.calendar import ServiceCalendar

CAL = ServiceCalendar()


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_dst_spring_sunday_2130_local() -> None:
    # 29 March 2026, last Sunday of March: clocks go to CEST (UTC+2) at 02:00. 21:30 local = 19:30 UTC.
    assert CAL.service_day(utc(2026, 3, 29, 19, 30)) == date(2026, 3, 29)
    assert CAL.window(date(2026, 3, 29)) == (utc(2026, 3, 29, 14, 0), utc(2026, 3, 29, 20, 15))


def test_dst_autumn_sunday_2130_local() -> None:
    # 25 October 2026, last Sunday of October: back to CET (UTC+1). 21:30 local = 20:30 UTC.
    assert CAL.service_day(utc(2026, 10, 25, 20, 30)) == date(2026, 10, 25)
    assert CAL.window(date(2026, 10, 25)) == (utc(2026, 10, 25, 15, 0), utc(2026, 10, 25, 21, 15))
    # 21:30 UTC is 22:30 local: after the end of service
    assert CAL.service_day(utc(2026, 10, 25, 21, 30)) is None


def test_days_and_bounds() -> None:
    assert CAL.service_day(utc(2026, 11, 23, 17, 0)) is None  # Monday
    assert CAL.service_day(utc(2026, 11, 24, 17, 0)) is None  # Tuesday
    assert CAL.service_day(utc(2026, 11, 25, 15, 0)) == date(2026, 11, 25)  # Wednesday 16:00 CET, inclusive
    assert CAL.service_day(utc(2026, 11, 25, 21, 15)) is None  # 22:15 exclusive
    assert CAL.service_day(utc(2026, 11, 25, 21, 14, 59)) == date(2026, 11, 25)


def test_closed_dates_and_configurable_hours() -> None:
    cal = ServiceCalendar(days=frozenset({0}), start=time(9), end=time(12), closed=frozenset({date(2026, 12, 28)}))
    assert cal.service_day(utc(2026, 12, 21, 10)) == date(2026, 12, 21)
    assert cal.service_day(utc(2026, 12, 28, 10)) is None
    assert list(cal.service_days(date(2026, 12, 20), date(2027, 1, 5))) == [date(2026, 12, 21), date(2027, 1, 4)]


def test_window_across_midnight_belongs_to_its_start_day() -> None:
    cal = ServiceCalendar(days=frozenset({4}), start=time(20), end=time(2))  # Friday 20:00 → Saturday 02:00
    assert cal.service_day(utc(2026, 11, 28, 0, 30)) == date(2026, 11, 27)  # Saturday 01:30 local
    assert cal.service_day(utc(2026, 11, 28, 1, 30)) is None


def test_clip_keeps_only_service_time() -> None:
    parts = CAL.clip(utc(2026, 11, 25, 14, 30), utc(2026, 11, 25, 15, 20))  # 15:30–16:20 local
    assert parts == [(date(2026, 11, 25), utc(2026, 11, 25, 15, 0), utc(2026, 11, 25, 15, 20))]
    assert CAL.clip(utc(2026, 11, 24, 15, 0), utc(2026, 11, 24, 16, 0)) == []  # Tuesday


def test_next_change() -> None:
    assert CAL.next_change(utc(2026, 11, 24, 12)) == utc(2026, 11, 25, 15)
    assert CAL.next_change(utc(2026, 11, 25, 16)) == utc(2026, 11, 25, 21, 15)


def test_naive_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        CAL.service_day(datetime(2026, 11, 25, 17))
