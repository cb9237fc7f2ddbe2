from __future__ import annotations

import math
import random
from datetime import date

import pytest

from ronde.firmware_sim.estate_graph import EstateGraph
from ronde.firmware_sim.patrol import WALK_SPEED_MPS, PatrolPlan, RouteMode, plan_evening, scripted_trajectory
from ronde.protocol.estate import CheckpointKind
from tests.firmware_sim.support import CALENDAR, registry

DAY = date(2026, 11, 18)


def _plan(mode: RouteMode) -> tuple[EstateGraph, PatrolPlan, float, float]:
    g = EstateGraph(registry())
    office = sorted(c for c, cp in g.checkpoints.items() if cp.kind is CheckpointKind.RECEPTION_OFFICE)[0]
    assigned = tuple(sorted(c for c, cp in g.checkpoints.items() if cp.estate == g.checkpoints[office].estate))
    w0, w1 = CALENDAR.window(DAY)
    return g, PatrolPlan(base=office, assigned=assigned, mode=mode), w0.timestamp(), w1.timestamp()


@pytest.mark.parametrize("mode", list(RouteMode))
def test_evening_stays_in_service_hours_and_walks_at_human_speed(mode: RouteMode) -> None:
    g, plan, start, end = _plan(mode)
    traj = plan_evening(g, plan, start, end, random.Random(1))
    assert traj.start == start
    assert end - 1 <= traj.end <= end + 2
    for s in traj.segments:
        assert s.t1 >= s.t0
        if s.t1 > s.t0:
            speed = math.hypot(s.x1 - s.x0, s.y1 - s.y0) / (s.t1 - s.t0)
            assert speed < WALK_SPEED_MPS * 1.1 * 1.08 + 1e-6
    reasons = [s.reason for s in traj.stops]
    assert reasons[0] == "briefing"
    assert reasons[-1] == "debriefing"
    assert reasons.count("break") == 1
    brk = next(s for s in traj.stops if s.reason == "break")
    assert brk.checkpoint_id == plan.base
    assert 1200 <= brk.leave - brk.arrive <= 1801
    visited = {s.checkpoint_id for s in traj.stops}
    assert len(visited & set(plan.assigned)) > 0.8 * len(plan.assigned)


def test_staleness_goes_where_nobody_has_been_longest() -> None:
    g, plan, start, end = _plan(RouteMode.STALENESS)
    seen: dict[str, float] = {c: start - 3600 for c in plan.assigned}
    stale = sorted(plan.assigned)[5]
    seen[stale] = start - 10 * 86400
    traj = plan_evening(
        g, PatrolPlan(plan.base, plan.assigned, RouteMode.STALENESS, requests=False), start, end, random.Random(2), seen
    )
    first = next(s for s in traj.stops if s.reason == "staleness")
    assert first.checkpoint_id == stale


def test_avoided_checkpoints_are_never_visited() -> None:
    g, plan, start, end = _plan(RouteMode.TOUR)
    avoid = frozenset(c for c in plan.assigned if g.checkpoints[c].kind is CheckpointKind.CAR_PARK_UNDERGROUND)
    assert avoid
    traj = plan_evening(g, PatrolPlan(plan.base, plan.assigned, avoid=avoid), start, end, random.Random(3))
    assert not {s.checkpoint_id for s in traj.stops} & avoid


def test_scripted_route_keeps_its_times() -> None:
    g = EstateGraph(registry())
    route = [("mor-b01-hall-a", 1000.0, 1200.0), ("mor-b02-hall-a", 1500.0, 1600.0)]
    traj = scripted_trajectory(g, route, random.Random(1))
    assert [s.checkpoint_id for s in traj.stops] == [c for c, _, _ in route]
    for stop, (_, a, b) in zip(traj.stops, route, strict=True):
        assert stop.arrive == pytest.approx(a, abs=1e-6)
        assert stop.leave == pytest.approx(b, abs=1e-6)
    with pytest.raises(ValueError, match="unknown checkpoint 'nope'"):
        scripted_trajectory(g, [("nope", 1.0, 2.0)], random.Random(1))
