from __future__ import annotations

import random

import pytest

from ronde.firmware_sim.estate_graph import EstateGraph
from ronde.firmware_sim.patrol import Trajectory, scripted_trajectory
from ronde.firmware_sim.truth import true_visits
from tests.firmware_sim.support import registry


def test_walking_straight_through_a_circle() -> None:
    g = EstateGraph(registry())
    cid = "mor-b01-hall-a"
    c = g.pos[cid]
    traj = Trajectory()
    from ronde.firmware_sim.estate_graph import Point

    traj.begin(1000.0, Point(c.x - 20, c.y + 1), 0, None, 0.0)
    traj.add(1040.0, Point(c.x + 20, c.y + 1), 0, None)  # 1 m/s, passing 1 m from the beacon
    visits = [v for v in true_visits("t1", traj, g) if v.checkpoint_id == cid]
    assert len(visits) == 1
    half = (4.0**2 - 1.0) ** 0.5
    assert visits[0].start.timestamp() == pytest.approx(1020 - half, abs=1e-3)
    assert visits[0].duration_s == pytest.approx(2 * half, abs=1e-3)


def test_underground_counts_only_below_and_halls_only_inside() -> None:
    g = EstateGraph(registry())
    under = "boi-paris-car-park-underground-1"
    rng = random.Random(1)
    traj = scripted_trajectory(g, [(under, 1000.0, 1300.0)], rng)
    visits = true_visits("t1", traj, g)
    at = [v for v in visits if v.checkpoint_id == under]
    assert len(at) == 1
    assert at[0].duration_s == pytest.approx(300, abs=2)
    # while below, the team is nowhere else, even where circles overlap the car park's
    assert all(v.checkpoint_id == under for v in visits if v.start.timestamp() > 1005 and v.end.timestamp() < 1295)
