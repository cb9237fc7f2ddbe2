"""``Calendars``: the default calendar and each estate's own, one value every role judges service time by."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from ronde.protocol.calendar import CalendarError, Calendars, ServiceCalendar, check_calendar

FRIDAY = date(2026, 12, 4)
MONDAY = date(2026, 12, 7)
EVENING = datetime(2026, 12, 4, 19, 0, tzinfo=UTC)  # 20:00 Paris, a Friday
DEFAULT = ServiceCalendar()
MORDACS_CLOSED = ServiceCalendar(closed=frozenset({FRIDAY}))
LATE = ServiceCalendar(days=frozenset({0}), start=time(20), end=time(2))  # Mondays, 20:00 to 02:00


def test_without_estates_it_is_its_default() -> None:
    cals = Calendars.of(DEFAULT)
    assert cals == DEFAULT
    assert DEFAULT == cals  # noqa: SIM300 - the reflected comparison is the point
    assert hash(cals) == hash(DEFAULT)
    assert cals.for_estate("anywhere") == DEFAULT
    assert cals.window(FRIDAY) == DEFAULT.window(FRIDAY)
    assert cals.service_day(EVENING) == FRIDAY


def test_for_estate_gives_the_estate_its_own() -> None:
    cals = Calendars.of(DEFAULT, {"mordacs": MORDACS_CLOSED})
    assert cals != DEFAULT
    assert cals.for_estate("mordacs") is MORDACS_CLOSED
    assert cals.for_estate("bois-l-abbe") == DEFAULT
    assert cals.for_estate("mordacs").service_day(EVENING) is None
    assert cals.for_estate("bois-l-abbe").service_day(EVENING) == FRIDAY
    assert DEFAULT.for_estate("mordacs") is DEFAULT  # a plain calendar serves every estate


def test_together_a_day_serves_when_one_estate_serves() -> None:
    cals = Calendars.of(DEFAULT, {"late": LATE})
    assert not DEFAULT.is_service_day(MONDAY)
    assert cals.is_service_day(MONDAY)
    assert list(cals.service_days(date(2026, 12, 6), MONDAY)) == [date(2026, 12, 6), MONDAY]
    start, end = cals.window(MONDAY)  # only the late estate serves on Monday
    assert (start, end) == LATE.window(MONDAY)
    assert cals.service_day(datetime(2026, 12, 8, 0, 30, tzinfo=UTC)) == MONDAY  # 01:30 Paris, past midnight
    both = cals.window(date(2026, 12, 9))  # a Wednesday: only the default serves
    assert both == DEFAULT.window(date(2026, 12, 9))


def test_hull_of_two_estates_evenings() -> None:
    early = ServiceCalendar(start=time(14), end=time(20))
    cals = Calendars.of(DEFAULT, {"early": early})
    start, end = cals.window(FRIDAY)
    assert start == early.window(FRIDAY)[0]
    assert end == DEFAULT.window(FRIDAY)[1]


def test_for_estates_narrows_to_a_plain_calendar_when_shared() -> None:
    cals = Calendars.of(DEFAULT, {"mordacs": MORDACS_CLOSED})
    assert cals.for_estates({"mordacs"}) is MORDACS_CLOSED
    assert type(cals.for_estates({"bois-l-abbe"})) is ServiceCalendar
    mixed = cals.for_estates({"mordacs", "bois-l-abbe"})
    assert isinstance(mixed, Calendars)
    assert mixed.for_estate("mordacs") is MORDACS_CLOSED
    assert mixed.is_service_day(FRIDAY)


def test_with_closed_closes_every_calendar() -> None:
    cals = Calendars.of(DEFAULT, {"late": LATE}).with_closed({MONDAY, FRIDAY})
    assert FRIDAY in cals.closed
    assert MONDAY in cals.for_estate("late").closed
    assert not cals.is_service_day(MONDAY)


def test_the_one_rule_names_the_estate() -> None:
    bad = ServiceCalendar(start=time(18), end=time(18))
    with pytest.raises(CalendarError) as caught:
        check_calendar(Calendars.of(DEFAULT, {"mordacs": bad}))
    assert caught.value.field == "estates.mordacs.end"
    assert "cannot be empty" in caught.value.message


def test_an_estate_calendar_is_a_plain_one() -> None:
    with pytest.raises(TypeError):
        Calendars.of(DEFAULT, {"mordacs": Calendars.of(DEFAULT)})
