"""The in-process driver: the gateway's own pipeline and whole app on a simulated clock."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path

import pytest

from ronde.firmware_sim.drivers.inproc import ScenarioSource, SimClock, in_outage, run_pipeline
from ronde.firmware_sim.scenarios import Scenario, build_scenario, scripted_scenario
from ronde.gateway.app import GatewayApp
from ronde.gateway.indicator import ConsoleIndicator
from ronde.protocol.messages import VisitEvent
from tests.firmware_sim.support import CALENDAR, registry
from tests.gateway.support import Collector, eventually, make_config
from tests.support.services import Mosquitto

DAY = date(2026, 11, 18)
STOPS = ("mor-b01-hall-a", "mor-b03-hall-b", "boi-paris-green-space-1")


def _scripted(minutes: tuple[tuple[int, int], ...] = ((5, 9), (12, 16), (40, 44))) -> Scenario:
    w0, _ = CALENDAR.window(DAY)
    route = [
        (cid, w0 + timedelta(minutes=a), w0 + timedelta(minutes=b)) for cid, (a, b) in zip(STOPS, minutes, strict=True)
    ]
    return scripted_scenario(registry(), CALENDAR, DAY, {"t1": route}, seed=3)


async def test_sim_clock_runs_fast_and_jumps() -> None:
    wall = [0.0]
    clock = SimClock(1000.0, speed=100.0, wall=lambda: wall[0])
    wall[0] = 2.0
    assert clock.now() == 1200.0
    clock.jump_to(5000.0)
    assert clock.now() == 5000.0
    clock.jump_to(10.0)  # never backwards
    assert clock.now() == 5000.0
    real = SimClock(0.0, speed=500.0)
    await real.sleep(50.0)
    assert real.now() >= 50.0  # in about 0.1 s of wall time: bench/bench_clocks.py prints the figure
    with pytest.raises(ValueError, match="speed must be positive"):
        SimClock(0.0, speed=0)


def test_sim_clock_does_not_leap_over_a_stall_when_told_so() -> None:
    """A stalled process (GC, loaded CPU) must not let the detection tick run ahead of the stream's feed."""
    wall = [0.0]
    clock = SimClock(1000.0, speed=400.0, wall=lambda: wall[0], max_leap_s=60.0)
    wall[0] = 0.1
    assert clock.now() == pytest.approx(1040.0)  # a normal step: full speed
    wall[0] = 2.1  # a 2 s stall: 800 simulated seconds, of which one leap counts
    assert clock.now() == pytest.approx(1100.0)
    wall[0] = 2.2
    assert clock.now() == pytest.approx(1140.0)  # full speed again from there
    clock.jump_to(5000.0)  # jumps are not leaps
    assert clock.now() == pytest.approx(5000.0)
    wall[0] = 100.0
    clock.restart(0.0)
    wall[0] = 100.1
    assert clock.now() == pytest.approx(40.0)
    free = SimClock(1000.0, speed=400.0, wall=lambda: wall[0])
    wall[0] = 102.1
    assert free.now() == pytest.approx(1800.0)  # off by default
    with pytest.raises(ValueError, match="max_leap_s must be positive"):
        SimClock(0.0, max_leap_s=0.0)


async def test_source_releases_advertisements_on_the_simulated_clock() -> None:
    sc = _scripted()
    clock = SimClock(sc.start.timestamp() - 1, speed=1000.0)
    source = ScenarioSource(sc, "t1", clock)
    late = [clock.now() - adv.t async for adv in source.stream()]
    assert source.delivered == len(late) > 100
    assert source.finished.is_set()
    assert min(late) >= 0  # never released before its time (its speed in wall time: bench/bench_clocks.py)


def test_run_pipeline_finds_the_scripted_stops() -> None:
    sc = _scripted()
    visits = run_pipeline(sc, "t1")
    found = {registry().by_beacon_key.get(v.key) for v in visits}
    assert set(STOPS) <= found
    for cid in STOPS:
        truth = max((v for v in sc.truth if v.checkpoint_id == cid), key=lambda v: v.duration_s)
        a, b = truth.start.timestamp(), truth.end.timestamp()
        det = [v for v in visits if registry().by_beacon_key.get(v.key) == cid and v.first_seen < b and v.last_seen > a]
        assert abs(min(v.first_seen for v in det) - a) < 30


@pytest.mark.mosquitto
async def test_whole_gateway_on_simulated_time_publishes_signed_visits(tmp_path: Path, mosquitto: Mosquitto) -> None:
    sc = _scripted()
    spec = sc.team("t1")
    config = make_config(tmp_path, mosquitto.port, gateway_id=spec.gateway_id)
    collector = Collector(mosquitto.port, client_id="sim-inproc-collector")
    clock = SimClock(sc.start.timestamp() - 5, speed=200.0, max_leap_s=60)  # a loaded CPU never skips a stop

    def stops_seen() -> set[str | None]:
        return {
            registry().by_beacon_key.get(VisitEvent.model_validate(v).beacon.key()) for v in collector.of_kind("visit")
        }

    source = ScenarioSource(sc, "t1", clock)
    app = GatewayApp(config, source, clock, indicator=ConsoleIndicator())
    task = asyncio.create_task(app.run())
    try:
        await eventually(source.finished.is_set, 60, "the scenario to play out")
        await clock.sleep(120)  # let the last visit time out
        # every scripted stop, not any three visits: neighbouring beacons heard on the way count as visits too, and
        # under load the last stop's visit is published after three others were
        await eventually(lambda: set(STOPS) <= stops_seen(), 30, "the three stops' visits on MQTT")
    finally:
        app.stop()
        await asyncio.wait_for(task, 30)
        collector.close()
    events = [VisitEvent.model_validate(v) for v in collector.of_kind("visit")]
    keys = {registry().by_beacon_key.get(e.beacon.key()) for e in events}
    assert set(STOPS) <= keys
    assert all(e.sig is not None and e.gateway_id == spec.gateway_id for e in events)
    for e in events:
        assert sc.start - timedelta(seconds=1) <= e.first_seen <= e.last_seen <= sc.end + timedelta(seconds=1)


def test_outage_lookup() -> None:
    sc = build_scenario("outage", 1, registry(), CALENDAR)
    ((a, b),) = sc.outages["t1"]
    assert in_outage(sc, "t1", a.timestamp())
    assert in_outage(sc, "t1", b.timestamp() - 1)
    assert not in_outage(sc, "t1", b.timestamp())
    assert not in_outage(sc, "t2", a.timestamp())
