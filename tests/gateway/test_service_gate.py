from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ronde.gateway.service_gate import Override, ServiceGate
from ronde.protocol.calendar import ServiceCalendar

PARIS = ZoneInfo("Europe/Paris")


def ts(y: int, mo: int, d: int, h: int, mi: int = 0, s: int = 0) -> float:
    return datetime(y, mo, d, h, mi, s, tzinfo=PARIS).timestamp()


def test_window_boundaries() -> None:
    gate = ServiceGate(ServiceCalendar())
    # Wednesday 1 April 2026
    before = gate.state(ts(2026, 4, 1, 15, 59, 59))
    assert not before.open
    assert "outside service hours" in before.reason
    assert "Wed 2026-04-01 16:00" in before.reason
    assert before.next_change == ts(2026, 4, 1, 16)
    opened = gate.state(ts(2026, 4, 1, 16))
    assert opened.open
    assert "until 22:15" in opened.reason
    assert opened.next_change == ts(2026, 4, 1, 22, 15)
    assert gate.state(ts(2026, 4, 1, 22, 14, 59)).open
    assert not gate.state(ts(2026, 4, 1, 22, 15)).open
    # Monday and Tuesday are not service days
    assert not gate.state(ts(2026, 3, 30, 18)).open


def test_closed_dates() -> None:
    from datetime import date

    gate = ServiceGate(ServiceCalendar(closed=frozenset({date(2026, 4, 1)})))
    assert not gate.state(ts(2026, 4, 1, 18)).open
    assert gate.state(ts(2026, 4, 2, 18)).open


def test_override_opens_outside_hours_until_its_end() -> None:
    until = datetime(2026, 3, 30, 12, tzinfo=PARIS).astimezone(UTC)
    gate = ServiceGate(ServiceCalendar(), Override(until, "beacon installation check"))
    state = gate.state(ts(2026, 3, 30, 10))
    assert state.open
    assert "override" in state.reason
    assert "beacon installation check" in state.reason
    assert state.next_change == until.timestamp()
    assert not gate.state(ts(2026, 3, 30, 12)).open
