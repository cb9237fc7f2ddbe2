"""The teams' scanners of a scenario: real gateway apps fed by the simulator on a simulated clock.

Used by ``ronde demo`` and by the end-to-end tests: each team's ``GatewayApp`` (real detection,
outbox, signatures, MQTT) hears its team's simulated advertisements, and ``play`` returns once every
stream is over and every visit has left its gateway's outbox (acknowledged by the broker).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ronde.firmware_sim.drivers.inproc import ScenarioSource, SimClock
from ronde.firmware_sim.scenarios import Scenario
from ronde.gateway.app import GatewayApp
from ronde.gateway.config import parse_config
from ronde.gateway.indicator import IndicatorState
from ronde.gateway.keys import create_key
from ronde.protocol.gateways import GatewayRegistry, gateway_entry
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


@dataclass
class TeamScanners:
    scenario: Scenario
    clock: SimClock
    apps: list[GatewayApp]
    sources: list[ScenarioSource]
    keys: dict[str, Ed25519PrivateKey]  # by gateway id

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
    ) -> TeamScanners:
        clock = SimClock(start=scenario.start.timestamp() - 2.0, speed=speed)
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

    @property
    def visits_recorded(self) -> int:
        return sum(a.visits_recorded for a in self.apps)

    async def play(
        self, progress: ProgressHook | None = None, failure: Callable[[], BaseException | None] = lambda: None
    ) -> int:
        """Run the evening through the gateways; returns the number of visits they recorded."""
        async with asyncio.TaskGroup() as tg:
            runs = [tg.create_task(a.run(), name=f"gateway-{a.gateway_id}") for a in self.apps]
            end = self.scenario.end.timestamp()
            while True:
                if progress is not None:
                    progress(self.clock.now(), self.visits_recorded)
                streams_done = all(s.finished.is_set() for s in self.sources)
                if streams_done and all(a.pipeline.open_count == 0 and a.outbox.depth() == 0 for a in self.apps):
                    break
                if streams_done and self.clock.now() < end + 300:
                    self.clock.jump_to(self.clock.now() + 5.0)  # let away timeouts close the last visits
                error = failure()
                if error is not None:
                    raise RuntimeError(f"a consumer failed while the evening was played: {error!r}")
                await asyncio.sleep(0.1)
            if progress is not None:
                progress(end, self.visits_recorded)
            for a in self.apps:
                a.stop()
            await asyncio.gather(*runs)
        return self.visits_recorded
