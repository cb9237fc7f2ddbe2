from __future__ import annotations

import time

import pytest

from ronde.gateway.clock import AcceleratedClock, Clock, SystemClock


async def test_accelerated_clock_runs_faster_than_the_loop() -> None:
    clock: Clock = AcceleratedClock(1_000_000.0, speed=100)
    start = time.monotonic()
    t0 = clock.now()
    await clock.sleep(20)  # 20 simulated seconds
    assert time.monotonic() - start < 1.0
    assert clock.now() - t0 >= 20


async def test_system_clock_is_the_wall_clock() -> None:
    clock: Clock = SystemClock()
    assert abs(clock.now() - time.time()) < 1
    await clock.sleep(-1)  # a negative sleep is no sleep


def test_speed_must_be_positive() -> None:
    with pytest.raises(ValueError):
        AcceleratedClock(0.0, speed=0)
