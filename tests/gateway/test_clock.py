from __future__ import annotations

import time

import pytest

from ronde.gateway.clock import AcceleratedClock, Clock, SystemClock


async def test_accelerated_clock_runs_faster_than_the_loop() -> None:
    """How fast it really runs in wall time is a figure, not an assertion: bench/bench_clocks.py."""
    clock: Clock = AcceleratedClock(1_000_000.0, speed=100)
    t0 = clock.now()
    await clock.sleep(20)  # 20 simulated seconds
    assert clock.now() - t0 >= 20


async def test_system_clock_is_the_wall_clock() -> None:
    clock: Clock = SystemClock()
    assert abs(clock.now() - time.time()) < 1
    await clock.sleep(-1)  # a negative sleep is no sleep


def test_speed_must_be_positive() -> None:
    with pytest.raises(ValueError, match="speed must be positive"):
        AcceleratedClock(0.0, speed=0)
