from __future__ import annotations

import dataclasses
import itertools

from ronde.firmware_sim.estate_graph import EstateGraph
from ronde.protocol.estate import CheckpointKind
from tests.firmware_sim.support import registry


def test_sample_estate_is_one_walkable_graph() -> None:
    g = EstateGraph(registry())
    ids = sorted(g.checkpoints)
    for b in ids[1:]:
        path = g.shortest_path(ids[0], b)
        assert path[0] == ids[0]
        assert path[-1] == b
    # neighbouring halls are close; the two estates are a walk apart
    assert 10 < g.distance("mor-b01-hall-a", "mor-b01-hall-b") < 40


def test_underground_car_parks_are_dead_ends() -> None:
    g = EstateGraph(registry())
    under = {c for c, cp in g.checkpoints.items() if cp.kind is CheckpointKind.CAR_PARK_UNDERGROUND}
    ids = sorted(set(g.checkpoints) - under)
    for a in ids[::5]:
        for b in ids[::7]:
            assert not set(g.shortest_path(a, b)[1:-1]) & under


def test_explicit_paths_are_used() -> None:
    reg = registry()
    ids = sorted(reg.checkpoints)
    chain = tuple(itertools.pairwise(ids))
    g = EstateGraph(dataclasses.replace(reg, paths=chain))
    assert g.shortest_path(ids[0], ids[3]) == ids[:4]
