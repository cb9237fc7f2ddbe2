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
from collections.abc import AsyncIterator, Callable, Iterable, Iterator

from ronde.firmware_sim.scenarios import Scenario
from ronde.gateway.detection import DetectedVisit, DetectionConfig
from ronde.gateway.pipeline import ScanPipeline, TelemetryReading
from ronde.protocol.radio import Advertisement

POLL_S = 0.02
TICK_S = 1.0


class SimClock:
    """Simulated UTC epoch seconds = start + speed × wall seconds elapsed (+ any jumps).

    ``max_leap_s`` (simulated seconds, off by default): between two readings the clock moves at most
    this much; a longer wall gap (the process stalled: a GC pass, a loaded CPU) is not simulated time.
    A leap would let the detection tick run at a time the stream has not been fed up to yet: a visit
    cut short, or (on a clock held at a cap) left open for good. Readings come from one thread.
    """

    def __init__(
        self,
        start: float,
        speed: float = 100.0,
        wall: Callable[[], float] = time.monotonic,
        *,
        max_leap_s: float | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        if max_leap_s is not None and max_leap_s <= 0:
            raise ValueError("max_leap_s must be positive")
        self.speed = speed
        self.max_leap_s = max_leap_s
        self._wall = wall
        self._wall0 = self._last_wall = wall()
        self._sim0 = start

    def now(self) -> float:
        w = self._wall()
        if self.max_leap_s is not None:
            leap = (w - self._last_wall) * self.speed
            if leap > self.max_leap_s:
                self._wall0 += (leap - self.max_leap_s) / self.speed  # the stall beyond one leap: not simulated
            self._last_wall = w
        return self._sim0 + (w - self._wall0) * self.speed

    def restart(self, start: float) -> None:
        """Simulated time starts again from ``start`` now: for a clock nothing sleeps on yet (the demo's,
        once its streams are primed, so the evening is not half over before the first advertisement)."""
        self._wall0 = self._last_wall = self._wall()
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

    def preload(self, adverts: Iterable[Advertisement]) -> None:
        """Play this stream, computed elsewhere (the demo's child processes, ``ronde.demo.streams``), instead of
        computing it here: the scenario's own stream for this team, time-ordered."""
        rest = iter(adverts)
        self._primed = (next(rest, None), rest)

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
