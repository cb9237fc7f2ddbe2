"""The demo's teams' streams computed in child processes are the scenario's own, byte for byte."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from pathlib import Path

import pytest

from ronde.demo.streams import StreamJobs, compute_streams
from ronde.firmware_sim.scenarios import build_scenario
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import default_estate_path, load_estate
from tests.support.untraced import untraced

pytestmark = pytest.mark.slow


def test_a_child_computes_the_team_stream_the_parent_would() -> None:
    day = date(2026, 12, 4)
    scenario = build_scenario("evening", 7, load_estate(default_estate_path()), ServiceCalendar(), day=day, teams=2)
    streams = asyncio.run(compute_streams(7, default_estate_path(), day, 2))
    assert len(streams) == len(scenario.teams) == 2
    with untraced():  # the reference: 8 s, 45 s under coverage's tracer (the simulator is measured elsewhere)
        mine = list(scenario.advertisements(scenario.teams[1].team_id))
    assert streams[1] == mine
    assert len(mine) > 1000


def test_a_child_that_fails_says_why(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"(?s)the stream of team 1 failed: .*no-estate\.yaml"):
        asyncio.run(compute_streams(7, tmp_path / "no-estate.yaml", date(2026, 12, 4), 1))


def test_kill_ends_the_children_at_once() -> None:
    jobs = StreamJobs.start(7, default_estate_path(), date(2026, 12, 4), 2)
    started = time.monotonic()
    jobs.kill()
    assert time.monotonic() - started < 5
    assert all(p.returncode is not None for p in jobs.procs)
