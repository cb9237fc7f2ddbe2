"""Per-estate calendars in coverage: an estate closed for an evening is out of service, the other is not."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from ronde.coverage.daily import day_rollups
from ronde.coverage.live import current_idleness
from ronde.coverage.period import period_coverage
from ronde.protocol.calendar import Calendars, ServiceCalendar
from ronde.store.records import StoredVisit
from tests.coverage.factory import local, registry, visit

FRIDAY = date(2026, 12, 4)
SATURDAY = date(2026, 12, 5)


def _visits() -> list[StoredVisit]:
    reg = registry()
    return [
        visit(reg, "a", FRIDAY, local(FRIDAY, 18), local(FRIDAY, 18, 5)),
        visit(reg, "c", FRIDAY, local(FRIDAY, 19), local(FRIDAY, 19, 5)),
    ]


def test_an_estate_closed_evening_has_no_rows_while_the_other_estate_has() -> None:
    reg = registry()
    cals = Calendars.of(ServiceCalendar(), {"e2": ServiceCalendar(closed=frozenset({FRIDAY}))})
    rows = day_rollups(reg, cals, FRIDAY, _visits())
    assert {r.estate for r in rows} == {"e1"}
    assert {r.checkpoint_id for r in rows} == {"a", "b", "p", "u"}
    a = next(r for r in rows if r.checkpoint_id == "a")
    assert a.visits == 1
    assert a.covered
    same = day_rollups(reg, ServiceCalendar(), FRIDAY, _visits())  # one calendar: both estates
    assert {r.estate for r in same} == {"e1", "e2"}
    assert [r for r in same if r.estate == "e1"] == rows


def test_each_estate_counts_in_its_own_hours() -> None:
    reg = registry()
    early = ServiceCalendar(start=time(12), end=time(18, 30))
    cals = Calendars.of(ServiceCalendar(), {"e2": early})
    rows = {r.checkpoint_id: r for r in day_rollups(reg, cals, FRIDAY, _visits())}
    assert rows["c"].visits == 0  # 19:00 is after e2's evening
    assert rows["c"].max_idle_s == 6.5 * 3600
    assert rows["a"].visits == 1
    assert rows["a"].max_idle_s == timedelta(hours=4, minutes=10).total_seconds()  # 18:05 → 22:15


def test_period_counts_the_closed_estate_evening_for_nobody() -> None:
    reg = registry()
    cals = Calendars.of(ServiceCalendar(), {"e2": ServiceCalendar(closed=frozenset({FRIDAY}))})
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    cov = period_coverage(reg, cals, FRIDAY, SATURDAY, rollups=[], visits=_visits(), now=now)
    by_id = {c.checkpoint_id: c for c in cov.checkpoints}
    assert by_id["c"].service_days == 1  # Saturday only
    assert by_id["a"].service_days == 2


def test_idleness_counts_the_estate_service_time() -> None:
    reg = registry()
    cals = Calendars.of(ServiceCalendar(), {"e2": ServiceCalendar(closed=frozenset({FRIDAY}))})
    since = local(FRIDAY, 16)
    now = local(FRIDAY, 21)
    rows = {r.checkpoint_id: r for r in current_idleness(reg, cals, [], now=now, since=since)}
    assert rows["a"].idle_s == 5 * 3600
    assert rows["c"].idle_s == 0.0  # e2 had no service that evening
