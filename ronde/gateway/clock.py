"""Time as the gateway sees it, injected so the simulator can run evenings at accelerated speed."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """``now()`` is UTC epoch seconds; ``sleep`` waits ``seconds`` of *this* clock's time."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The wall clock (timestamps) and the event loop's timer (sleeps)."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class AcceleratedClock:
    """Simulated time running ``speed`` times faster than the event loop's, from ``start`` (epoch s).

    For the simulator and tests: a patrol evening at 60x passes in six minutes, while sockets,
    the broker and SQLite run at their real speed.
    """

    def __init__(self, start: float, speed: float = 60.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = start
        self.speed = speed
        self._origin = time.monotonic()

    def now(self) -> float:
        return self.start + (time.monotonic() - self._origin) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)
