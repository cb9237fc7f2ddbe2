"""In-process driver: the gateway's own code fed from a scenario, at accelerated simulated time.

``SimClock`` implements the gateway's ``Clock`` protocol: simulated time runs ``speed`` times faster
than the wall clock and can jump over idle stretches (the nights of a ``week``); sleepers wake
within ``POLL_S`` of wall time after their simulated deadline. ``ScenarioSource`` implements the
gateway's ``AdvertisementSource``: it releases each advertisement when the simulated clock reaches
its time. ``run_pipeline`` skips the clock altogether: it feeds the pipeline as fast as Python goes.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterator

from ronde.firmware_sim.scenarios import Scenario
from ronde.gateway.detection import DetectedVisit, DetectionConfig
from ronde.gateway.pipeline import ScanPipeline, TelemetryReading
from ronde.protocol.radio import Advertisement

POLL_S = 0.02
TICK_S = 1.0


class SimClock:
    """Simulated UTC epoch seconds = start + speed × wall seconds elapsed (+ any jumps)."""

    def __init__(self, start: float, speed: float = 100.0, wall: Callable[[], float] = time.monotonic) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._wall = wall
        self._wall0 = wall()
        self._sim0 = start

    def now(self) -> float:
        return self._sim0 + (self._wall() - self._wall0) * self.speed

    def restart(self, start: float) -> None:
        """Simulated time starts again from ``start`` now: for a clock nothing sleeps on yet (the demo's,
        once its streams are primed, so the evening is not half over before the first advertisement)."""
        self._wall0 = self._wall()
        self._sim0 = start

    def jump_to(self, t: float) -> None:
        """Move simulated time forward to ``t`` at once (never backwards)."""
        now = self.now()
        if t > now:
            self._sim0 += t - now

    async def sleep(self, seconds: float) -> None:
        deadline = self.now() + max(0.0, seconds)
        while True:
            remaining = deadline - self.now()
            if remaining <= 0:
                return
            await asyncio.sleep(min(remaining / self.speed, POLL_S))


class ScenarioSource:
    """One team's advertisements, released on the simulated clock (an ``AdvertisementSource``)."""

    def __init__(self, scenario: Scenario, team_id: str, clock: SimClock, *, jump_idle_s: float = 300.0) -> None:
        scenario.team(team_id)
        self.scenario = scenario
        self.team_id = team_id
        self.clock = clock
        self.jump_idle_s = jump_idle_s
        self.delivered = 0
        self.finished = asyncio.Event()
        self._primed: tuple[Advertisement | None, Iterator[Advertisement]] | None = None

    def prime(self) -> None:
        """Start the team's stream now (blocking: run it in a thread). Its first advertisement costs
        seconds of CPU (every beacon's source looks ahead); done inside ``stream`` it held the event
        loop, and with it the gateway's MQTT link and anything else on that loop."""
        adverts = self.scenario.advertisements(self.team_id)
        self._primed = (next(adverts, None), adverts)

    async def stream(self) -> AsyncIterator[Advertisement]:
        first, rest = self._primed if self._primed is not None else (None, self.scenario.advertisements(self.team_id))
        adverts = itertools.chain([first], rest) if first is not None else rest
        try:
            for adv in adverts:
                wait = adv.t - self.clock.now()
                if wait > self.jump_idle_s:
                    self.clock.jump_to(adv.t - 1.0)
                    wait = adv.t - self.clock.now()
                if wait > 0:
                    await self.clock.sleep(wait)
                self.delivered += 1
                yield adv
        finally:
            self.finished.set()


def run_pipeline(
    scenario: Scenario,
    team_id: str,
    config: DetectionConfig | None = None,
    telemetry: list[TelemetryReading] | None = None,
) -> list[DetectedVisit]:
    """The gateway's ScanPipeline over the team's stream, ticked once per simulated second."""
    pipeline = ScanPipeline(config or DetectionConfig())
    visits: list[DetectedVisit] = []
    next_tick = None
    last_t = scenario.start.timestamp()
    for adv in scenario.advertisements(team_id):
        if next_tick is None:
            next_tick = adv.t + TICK_S
        elif adv.t >= next_tick:
            visits.extend(pipeline.tick(adv.t))
            next_tick = adv.t + TICK_S
        for item in pipeline.feed(adv):
            if isinstance(item, DetectedVisit):
                visits.append(item)
            elif telemetry is not None:
                telemetry.append(item)
        last_t = adv.t
    visits.extend(pipeline.tick(last_t + 3600.0))
    visits.extend(pipeline.close_all(last_t + 3600.0))
    visits.sort(key=lambda v: (v.first_seen, v.key))
    return visits


def in_outage(scenario: Scenario, team_id: str, t: float) -> bool:
    """Whether the team's scanner has no network at simulated time ``t`` (for a harness cutting the link)."""
    return any(a.timestamp() <= t < b.timestamp() for a, b in scenario.outages.get(team_id, []))
