"""The teams' scanners of a scenario: real gateway apps fed by the simulator on a simulated clock.

Used by ``ronde demo`` and by the end-to-end tests: each team's ``GatewayApp`` (real detection,
outbox, signatures, MQTT) hears its team's simulated advertisements, and ``play`` returns once every
stream is over and every visit has left its gateway's outbox (acknowledged by the broker).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ronde.firmware_sim.drivers.inproc import ScenarioSource, SimClock
from ronde.firmware_sim.scenarios import Scenario
from ronde.gateway.app import GatewayApp
from ronde.gateway.config import parse_config
from ronde.gateway.indicator import IndicatorState
from ronde.gateway.keys import create_key
from ronde.protocol.gateways import GatewayRegistry, gateway_entry
from ronde.protocol.radio import Advertisement
from ronde.protocol.seedkey import SeedKey
from ronde.protocol.signing import public_key_text

# Called about ten times a second with (simulated now, visits recorded so far).
ProgressHook = Callable[[float, int], None]


class QuietIndicator:
    """Keeps the last state instead of printing it (the caller shows its own progress)."""

    last: IndicatorState | None = None

    def show(self, state: IndicatorState) -> None:
        self.last = state


def gateway_toml(gateway_id: str, badge: str, gdir: Path, host: str, port: int, *, v311: bool, estate: Path) -> str:
    return f"""
heartbeat_s = 60
[gateway]
id = "{gateway_id}"
badge = "{badge}"
key_file = "{gdir / "device.key"}"
[mqtt]
host = "{host}"
port = {port}
tls = false
protocol = "{"v3.1.1" if v311 else "v5"}"
[detection]
estate_file = "{estate}"
[outbox]
path = "{gdir / "outbox.db"}"
"""


AFTER_END_S = 300.0  # the evening's clock stops this long after its end: the last visits' away timeouts pass


class EveningClock(SimClock):
    """The simulated clock, held at ``cap`` once there. Running on at the demo's speed while the last visits
    left the outboxes (seconds of wall time: hours of simulated time), it stamped the gateways' last heartbeats
    and telemetry hours past the evening: in the future, refused by ingest, for an evening just over."""

    def __init__(self, start: float, speed: float, *, cap: float, max_leap_s: float | None = None) -> None:
        super().__init__(start=start, speed=speed, max_leap_s=max_leap_s)
        self.cap = cap

    def now(self) -> float:
        return min(super().now(), self.cap)


@dataclass
class TeamScanners:
    scenario: Scenario
    clock: SimClock
    apps: list[GatewayApp]
    sources: list[ScenarioSource]
    keys: dict[str, SeedKey]  # by gateway id

    @classmethod
    def build(
        cls,
        scenario: Scenario,
        workdir: Path,
        host: str,
        port: int,
        *,
        estate: Path,
        speed: float,
        v311: bool = False,
        fresh: bool = True,
        max_leap_s: float | None = None,
    ) -> TeamScanners:
        """``max_leap_s``: see ``SimClock`` (a stalled process does not skip simulated time)."""
        clock = EveningClock(
            scenario.start.timestamp() - 2.0, speed, cap=scenario.end.timestamp() + AFTER_END_S, max_leap_s=max_leap_s
        )
        apps, sources, keys = [], [], {}
        for team in scenario.teams:
            gdir = workdir / team.gateway_id
            gdir.mkdir(parents=True, exist_ok=True)
            if fresh:
                for stale in ("outbox.db", "outbox.db-wal", "outbox.db-shm", "device.key"):
                    (gdir / stale).unlink(missing_ok=True)
            key = create_key(gdir / "device.key")
            keys[team.gateway_id] = key
            cfg = parse_config(
                gateway_toml(team.gateway_id, team.badge, gdir, host, port, v311=v311, estate=estate),
                f"<{team.gateway_id}>",
            )
            source = ScenarioSource(scenario, team.team_id, clock)
            sources.append(source)
            apps.append(GatewayApp(cfg, source, clock, key=key, indicator=QuietIndicator()))
        return cls(scenario, clock, apps, sources, keys)

    def gateway_registry(self) -> GatewayRegistry:
        """What ingest must know: each scanner's public key and the badge it may report."""
        return GatewayRegistry.of(
            *(
                gateway_entry(t.gateway_id, public_key_text(self.keys[t.gateway_id]), frozenset({t.badge}))
                for t in self.scenario.teams
            )
        )

    async def prime(self) -> None:
        """Start every team's advertisement stream in a thread, then start the evening's clock again
        from its beginning: the streams' first advertisements take seconds of CPU, which the clock
        would otherwise spend (the evening a third over before a visit) and the loop would wait for."""
        await asyncio.gather(*(asyncio.to_thread(s.prime) for s in self.sources))
        self.clock.restart(self.scenario.start.timestamp() - 2.0)

    def preload(self, streams: Mapping[str, Sequence[Advertisement]]) -> None:
        """Each team plays its stream computed elsewhere (``ronde.demo.streams``, by team id); the evening's
        clock starts again from its beginning, as after ``prime``."""
        for source in self.sources:
            source.preload(streams[source.team_id])
        self.clock.restart(self.scenario.start.timestamp() - 2.0)

    @property
    def visits_recorded(self) -> int:
        return sum(a.visits_recorded for a in self.apps)

    async def play(
        self,
        progress: ProgressHook | None = None,
        failure: Callable[[], BaseException | None] = lambda: None,
        *,
        deadline_s: float | None = None,
    ) -> int:
        """Run the evening through the gateways; returns the number of visits they recorded.

        Done once every stream is over and each gateway has nothing unrecorded (open, queued or being
        written) and an empty outbox. ``deadline_s`` (wall seconds; none by default): past it the gateways
        are stopped and ``EveningStuckError`` says where each stood, instead of waiting for ever."""
        give_up = None if deadline_s is None else time.monotonic() + deadline_s
        stuck: str | None = None
        async with asyncio.TaskGroup() as tg:
            runs = [tg.create_task(a.run(), name=f"gateway-{a.gateway_id}") for a in self.apps]
            end = self.scenario.end.timestamp()
            while True:
                if progress is not None:
                    progress(self.clock.now(), self.visits_recorded)
                streams_done = all(s.finished.is_set() for s in self.sources)
                if streams_done and all(a.unrecorded == 0 and a.outbox.depth() == 0 for a in self.apps):
                    break
                if streams_done and self.clock.now() < end + AFTER_END_S:
                    self.clock.jump_to(self.clock.now() + 5.0)  # let away timeouts close the last visits
                elif streams_done:
                    # Held at its cap, the clock wakes no sleeper past it: the detection tick included.
                    for a in self.apps:
                        if a.pipeline.open_count:
                            await a.close_open_visits()
                error = failure()
                if error is not None:
                    raise RuntimeError(f"a consumer failed while the evening was played: {error!r}")
                if give_up is not None and time.monotonic() > give_up:
                    stuck = f"the evening was not over after {deadline_s:.0f} s of wall time: {self.state()}"
                    break
                await asyncio.sleep(0.1)
            if progress is not None and stuck is None:
                progress(end, self.visits_recorded)
            for a in self.apps:
                a.stop()
            await asyncio.gather(*runs)
        if stuck is not None:
            raise EveningStuckError(stuck)
        return self.visits_recorded

    def state(self) -> str:
        """Where the evening stands, for a diagnosis: the clock against the evening's end, each stream, and
        each gateway's visits from detection to the broker's acknowledgement."""
        end = self.scenario.end.timestamp()
        parts = [f"clock {self.clock.now() - end:+.1f} s from the evening's end (held at +{AFTER_END_S:.0f} s)"]
        parts.extend(
            f"stream {s.team_id}: {s.delivered} advert(s), {'over' if s.finished.is_set() else 'playing'}"
            for s in self.sources
        )
        for a in self.apps:
            p = a.publisher
            parts.append(
                f"{a.gateway_id}: {a.pipeline.open_count} open, {a.unrecorded} unrecorded, {a.visits_recorded} "
                f"recorded, outbox {a.outbox.depth()}, {len(p.inflight)} in flight, {p.acked} acked, "
                f"{p.rejected} rejected, link {'up' if a.link.connected else 'down'}"
            )
        return "; ".join(parts)


class EveningStuckError(RuntimeError):
    """``TeamScanners.play`` past its deadline; the message is ``TeamScanners.state`` at that moment."""
