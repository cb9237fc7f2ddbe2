"""Covered / not visited / no data, per checkpoint-day."""

from __future__ import annotations

from datetime import date

from ronde.coverage.period import PeriodCoverage, period_coverage
from ronde.coverage.sensing import DayState, evidence_from
from ronde.protocol.calendar import ServiceCalendar
from ronde.store.records import BeaconTelemetryRecord, GatewayStateRecord, StoredVisit
from tests.coverage.factory import local, registry, visit

CAL = ServiceCalendar()
WED, THU, FRI, SAT = (date(2026, 11, 25 + i) for i in range(4))


def _visits() -> list[StoredVisit]:
    reg = registry()
    # 'a' every evening: a gateway was alive on estate e1
    out = [visit(reg, "a", d, local(d, 17), local(d, 17, 5)) for d in (WED, THU, FRI, SAT)]
    out.extend(visit(reg, "b", d, local(d, 18), local(d, 18, 5)) for d in (WED, SAT))  # 'b': Wednesday, Saturday only
    out.append(visit(reg, "u", WED, local(WED, 19), local(WED, 19, 5)))  # 'u' last heard Wednesday
    return out  # nothing at all on estate e2 ('c')


def _states(cov: PeriodCoverage) -> dict[tuple[str, date], DayState]:
    return {(c.checkpoint_id, d.day): d.state for c in cov.checkpoints for d in c.days}


def test_not_visited_is_told_apart_from_no_data() -> None:
    reg = registry()
    # issued long after: no waiver for recent days
    cov = period_coverage(
        reg, CAL, WED, SAT, rollups=[], visits=_visits(), now=local(date(2027, 1, 10), 12), include_days=True
    )
    s = _states(cov)
    assert [s[("a", d)] for d in (WED, THU, FRI, SAT)] == [DayState.COVERED] * 4
    # b: gateway alive on e1 (a was visited) and beacon heard before and after → not visited
    assert [s[("b", d)] for d in (WED, THU, FRI, SAT)] == [
        DayState.COVERED,
        DayState.NOT_VISITED,
        DayState.NOT_VISITED,
        DayState.COVERED,
    ]
    # u: never heard after Wednesday → cannot tell a dead beacon from no pass → no data
    assert [s[("u", d)] for d in (THU, FRI, SAT)] == [DayState.NO_DATA] * 3
    # c: no gateway alive on e2, beacon never heard → no data
    assert {s[("c", d)] for d in (WED, THU, FRI, SAT)} == {DayState.NO_DATA}
    b = next(c for c in cov.checkpoints if c.checkpoint_id == "b")
    assert (b.covered_days, b.not_visited_days, b.no_data_days) == (2, 2, 0)


def test_recent_days_accept_evidence_from_before_only() -> None:
    reg = registry()
    # the same data seen on Saturday night: for 'u', Thursday to Saturday are within the horizon
    cov = period_coverage(reg, CAL, WED, SAT, rollups=[], visits=_visits(), now=local(SAT, 23), include_days=True)
    s = _states(cov)
    assert [s[("u", d)] for d in (THU, FRI, SAT)] == [DayState.NOT_VISITED] * 3


def test_gateway_heartbeat_and_telemetry_are_evidence() -> None:
    reg = registry()
    visits = _visits()
    ev = evidence_from(
        CAL,
        visits=visits,
        gateway_states=[
            GatewayStateRecord(at=local(THU, 18), gateway_id="gw-2", online=True, scanning=True, in_service=True)
        ],
        telemetry=[
            BeaconTelemetryRecord(
                at=local(THU, 18, 30),
                checkpoint_id="c",
                gateway_id="gw-2",
                battery_mv=3000,
                temperature_c=12.0,
                adv_count=10,
                uptime_s=100.0,
            )
        ],
    )
    cov = period_coverage(
        reg, CAL, WED, SAT, rollups=[], visits=visits, now=local(date(2027, 1, 10), 12), evidence=ev, include_days=True
    )
    s = _states(cov)
    # Thursday: a gateway was online in service and c's beacon sent telemetry → c was not visited
    assert s[("c", THU)] is DayState.NOT_VISITED
    # Wednesday: c's beacon heard the next day (within the horizon) but was any gateway alive on e2?
    # only Thursday's heartbeat says so → Wednesday stays "no data"
    assert s[("c", WED)] is DayState.NO_DATA


def test_under_expected_passes_are_not_covered() -> None:
    reg = registry()
    visits = [visit(reg, "p", WED, local(WED, 17), local(WED, 17, 5))]  # playground expects 2
    cov = period_coverage(reg, CAL, WED, WED, rollups=[], visits=visits, now=local(THU, 10), include_days=True)
    assert _states(cov)[("p", WED)] is DayState.NOT_VISITED
