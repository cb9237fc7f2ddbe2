"""``TeamScanners.play``: an evening ends once every visit is at the broker, whatever the process went through.

Found by a CI-only hang of tests/e2e/test_evening.py::test_dst_sundays_land_on_their_service_day: a stalled
process let the evening's clock reach its cap (5 min past the end, where it is held) before the stream was
fed; the detection tick sleeps on that clock, so the last visit stayed open for good and ``play`` waited for
ever. Each test here plays one short stop (4 minutes at the hall) through a real gateway app and mosquitto.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from ronde.demo.scanners import AFTER_END_S, EveningStuckError, TeamScanners
from ronde.firmware_sim.scenarios import scripted_scenario
from ronde.gateway.outbox import OutgoingMessage
from tests.e2e.harness import CAL, ESTATE, local, registry
from tests.gateway.support import Collector
from tests.support.services import free_port, run_mosquitto

pytestmark = pytest.mark.mosquitto

DAY = date(2026, 3, 29)


def _scanners(workdir: Path, port: int) -> TeamScanners:
    stop = [("e2e-hall-1", local(DAY, 21, 28), local(DAY, 21, 32))]
    scenario = scripted_scenario(registry(), CAL, DAY, {"t1": stop}, seed=3)
    return TeamScanners.build(scenario, workdir, "127.0.0.1", port, estate=ESTATE, speed=400.0)


async def test_an_evening_whose_clock_reached_its_cap_before_play_still_ends(tmp_path: Path) -> None:
    with run_mosquitto() as broker:
        scanners = _scanners(tmp_path, broker.port)
        # As after a set-up (or a stall) longer than the whole evening at x400: the clock is held at its cap,
        # the detection tick's next wake-up is past it, and the stream is fed at once.
        scanners.clock.jump_to(scanners.scenario.end.timestamp() + AFTER_END_S)
        recorded = await scanners.play(deadline_s=60)
    assert recorded == 1
    assert scanners.apps[0].unrecorded == 0


async def test_a_visit_still_being_written_is_waited_for(tmp_path: Path) -> None:
    with run_mosquitto() as broker:
        collector = Collector(broker.port, client_id="scanners-collector")
        try:
            scanners = _scanners(tmp_path, broker.port)
            outbox = scanners.apps[0].outbox
            write = outbox.enqueue_sequenced

            def slow_disk(build: Callable[[int], OutgoingMessage], now: float) -> OutgoingMessage:
                time.sleep(0.5)  # meanwhile the visit is neither open in the pipeline nor in the outbox
                return write(build, now)

            outbox.enqueue_sequenced = slow_disk  # type: ignore[method-assign]
            recorded = await scanners.play(deadline_s=60)
            collector.wait(lambda: bool(collector.of_kind("visit")), 10)
            visits = collector.of_kind("visit")
        finally:
            collector.close()
    assert recorded == 1
    assert len(visits) == 1


async def test_an_evening_that_cannot_end_fails_saying_where_it_stood(tmp_path: Path) -> None:
    scanners = _scanners(tmp_path, free_port())  # nothing listens there: the outbox cannot drain
    started = time.monotonic()
    with pytest.raises(EveningStuckError) as err:
        await scanners.play(deadline_s=10)
    assert time.monotonic() - started < 40  # the gateways stopped after the deadline, not waited for
    message = str(err.value)
    assert "not over after 10 s of wall time" in message, message
    assert re.search(r"stream t1: [1-9]\d* advert\(s\), over", message), message
    assert re.search(r": 0 open, 0 unrecorded, 1 recorded, outbox [1-9]\d*, 0 in flight, 0 acked", message), message
    assert "link down" in message, message
