"""The whole chain on real parts for the end-to-end tests.

Simulator (scripted route) → real gateway apps (detection, outbox, Ed25519) → real Mosquitto (MQTT v5)
→ real ingest worker → real store (SQLite, or Debian's InfluxDB 1.6.7) → the FastAPI app, read through
its HTTP interface (Starlette's TestClient). Only the gateways' clock is simulated (accelerated).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from ronde.api.app import create_app
from ronde.api.auth import Principal, Role, TokenBook
from ronde.api.settings import ApiSettings
from ronde.demo.scanners import TeamScanners
from ronde.firmware_sim.scenarios import Scenario
from ronde.ingest.config import IngestConfig, RetentionConfig
from ronde.ingest.consumer import IngestWorker
from ronde.ingest.rollup import rollup_day
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry, load_estate
from ronde.store.port import Store
from tests.support.services import Mosquitto, mosquitto_config, run_mosquitto

ESTATE = Path(__file__).with_name("estate_e2e.yaml")
CAL = ServiceCalendar()
ADMIN = "e2e-admin-token"
# A stalled process (a GC pass in a long suite, a loaded CPU) moves the evening's clock at most this much
# at once: less than the detector's merge gap (180 s), so no tick runs ahead of the stream far enough to
# cut a visit (see SimClock). The CI hang of test_dst_sundays_land_on_their_service_day was a stall that
# took the clock to its cap before the stream was fed.
MAX_LEAP_S = 60.0
PLAY_DEADLINE_S = 120.0  # a stuck evening fails with TeamScanners.state instead of pytest-timeout's stack
# run_mosquitto's broker logging every packet: a message that never reached ingest shows where it went
BROKER_CONFIG = mosquitto_config(0, Path("{workdir}"), "log_type all\n").replace("listener 0 ", "listener {port} ", 1)
BROKER_LOG_LINES = 60  # the broker's last lines in a timeout's message


def local(day: date, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime.combine(day, dtime(hh, mm, ss), tzinfo=CAL.tz)


def estate_for(day: date, workdir: Path) -> Path:
    """The e2e estate with its EID beacon's clock set so that no rotation (every 1024 s) falls inside
    the green-space stop of ``day`` (16:40–16:44): a rotation mid-stay is real, but makes the last
    seen depend on the date the test runs."""
    counter_zero = int(local(day, 16, 38).timestamp()) - 1024 * 2  # drift (≤ 150 ppm) stays under 1 s
    text = ESTATE.read_text(encoding="utf-8").replace("clock_epoch: 1767225600", f"clock_epoch: {counter_zero}")
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "estate_e2e.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def registry(estate: Path = ESTATE) -> Registry:
    return load_estate(estate)


@contextmanager
def e2e_broker() -> Iterator[Mosquitto]:
    """A private Mosquitto as ``run_mosquitto`` starts it, with every packet in its log (``Mosquitto.log``)."""
    with run_mosquitto(BROKER_CONFIG) as broker:
        yield broker


def wait_for(
    cond: Callable[[], bool], what: str, timeout: float = 60.0, detail: Callable[[], str] | None = None
) -> None:
    """``detail``: what the failure message adds (the state of the parts, read when the time is up)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f": {detail()}" if detail is not None else ""))
        time.sleep(0.1)


@dataclass
class Evening:
    """One evening played through the chain; ``api`` reads it back."""

    scenario: Scenario
    scanners: TeamScanners
    ingest: IngestWorker
    store: Store
    api: TestClient
    broker_port: int
    published: list[tuple[str, bytes]]  # every visit message the gateways published, as sent
    raw: mqtt.Client  # connected, for the test's own publishes
    broker_log: Callable[[], str] | None = None  # the broker's log, for a diagnosis

    def get(self, path: str, **params: Any) -> Any:
        r = self.api.get(path, params=params, headers={"Authorization": f"Bearer {ADMIN}"})
        assert r.status_code == 200, (path, r.status_code, r.text)
        return r.json()

    def publish(self, topic: str, payload: bytes) -> None:
        """A raw publish at QoS 1, as a gateway would (the broker here has no ACL)."""
        info = self.raw.publish(topic, payload, qos=1)
        info.wait_for_publish(10)
        assert info.is_published(), f"no PUBACK for a publish on {topic}"

    def settle(self, processed_before: int, extra: int) -> None:
        """Until ingest has written and acked ``extra`` more messages than ``processed_before``."""
        wait_for(
            lambda: self.processed() >= processed_before + extra and self.ingest.pending == 0,
            f"ingest to process {extra} more message(s) (from {processed_before})",
            detail=self.diagnosis,
        )

    def diagnosis(self) -> str:
        """Where a visit could have stopped, from the gateway's outbox to ingest's counters."""
        ingest, client = self.ingest, self.ingest.client
        in_packet = getattr(client, "_in_packet", {})
        return "; ".join(
            [
                f"evening of {', '.join(map(str, self.scenario.days))}",
                f"ingest counters {self.ingest.counters.snapshot()}",
                f"pending {ingest.pending}",
                f"ready {ingest.connected}, {ingest.connections} connection(s), failure {ingest.failure!r}",
                f"paho client {client._client_id!r} state {client._state}, "
                f"buffered {getattr(client, 'buffered', lambda: 0)()} byte(s), "
                f"packet being read {in_packet.get('command', 0):#x} {in_packet.get('to_process', 0)} to go",
                f"the spy saw {len(self.published)} visit message(s): {[t for t, _ in self.published]}",
                *(
                    f"{a.gateway_id}: {a.visits_recorded} recorded, {a.publisher.acked} acked, "
                    f"{len(a.publisher.inflight)} in flight, {a.publisher.rejected} refused"
                    for a in self.scanners.apps  # stopped: their outboxes are closed
                ),
                self._broker_tail(),
            ]
        )

    def _broker_tail(self) -> str:
        if self.broker_log is None:
            return "no broker log"
        chatter = ("PINGREQ", "PINGRESP", "/heartbeat'", "/telemetry'")  # QoS 0 or keepalives: not what is missing
        lines = [x for x in self.broker_log().splitlines() if not any(c in x for c in chatter)]
        return f"the broker's last {BROKER_LOG_LINES} lines:\n" + "\n".join(lines[-BROKER_LOG_LINES:])

    def processed(self) -> int:
        snap = self.ingest.counters.snapshot()
        accepted: dict[str, int] = snap["accepted"]  # type: ignore[assignment]
        rejected: dict[str, int] = snap["rejected"]  # type: ignore[assignment]
        duplicates = snap["duplicates"]
        assert isinstance(duplicates, int)
        return int(accepted.get("visit", 0)) + sum(rejected.values()) + duplicates


@contextmanager
def play_evening(
    scenario: Scenario,
    store: Store,
    broker_port: int,
    workdir: Path,
    *,
    estate: Path = ESTATE,
    raw_days: int = 60,
    speed: float = 400.0,
    broker_log: Callable[[], str] | None = None,
) -> Iterator[Evening]:
    """``broker_log``: the broker's log (``Mosquitto.log``, of an ``e2e_broker``), quoted when ingest falls short."""
    import asyncio

    reg = scenario.registry
    scanners = TeamScanners.build(
        scenario, workdir, "127.0.0.1", broker_port, estate=estate, speed=speed, max_leap_s=MAX_LEAP_S
    )
    ingest = IngestWorker(
        IngestConfig(
            name=f"e2e{time.monotonic_ns() % 100000}",
            broker_port=broker_port,
            maintenance=False,
            retention=RetentionConfig(raw_days=raw_days),
        ),
        store,
        reg,
        CAL,
        scanners.gateway_registry(),
    )
    ingest.start()
    published: list[tuple[str, bytes]] = []
    spy = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="e2e-spy", protocol=mqtt.MQTTv5)
    spy.on_message = lambda _c, _u, m: published.append((m.topic, bytes(m.payload)))
    spy.connect("127.0.0.1", broker_port)
    spy.subscribe("ronde/v1/gw/+/visit", qos=1)
    spy.loop_start()
    raw = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="e2e-raw", protocol=mqtt.MQTTv5)
    raw.connect("127.0.0.1", broker_port)
    raw.loop_start()
    try:
        assert ingest.wait_connected(20), "ingest did not connect to mosquitto"
        recorded = asyncio.run(_play(scanners, ingest))
        evening = Evening(
            scenario,
            scanners,
            ingest,
            store,
            TestClient(_app(store, reg, scenario)),
            broker_port,
            published,
            raw,
            broker_log,
        )
        evening.settle(0, recorded)
        wait_for(lambda: len(published) >= recorded, "the spy to see every visit", detail=evening.diagnosis)
        for day in scenario.days:
            rollup_day(store, reg, CAL, day)  # as ingest's maintenance does once the evening is over
        yield evening
    finally:
        for client in (spy, raw):
            client.loop_stop()
            client.disconnect()
        ingest.stop()


async def _play(scanners: TeamScanners, ingest: IngestWorker) -> int:
    """The streams primed and the clock started again once all is connected (the set-up's wall time is not the
    evening's: at x400 the DST test's 9 simulated minutes are 1.4 s), then played with a deadline."""
    await scanners.prime()
    return await scanners.play(failure=lambda: ingest.failure, deadline_s=PLAY_DEADLINE_S)


def _app(store: Store, reg: Registry, scenario: Scenario) -> Any:
    """The API on the wall clock: the scripted evenings are in the past, like any closed evening."""
    tokens = TokenBook.from_tokens({ADMIN: Principal("e2e", Role.ADMIN)})
    return create_app(ApiSettings(), store, reg, CAL, tokens=tokens, clock=lambda: datetime.now(UTC))


def ulid_at(at: datetime, seq: int) -> str:
    """A valid, unique ULID for a test event: ``at`` in milliseconds, ``seq`` in the random part."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    n = (int(at.timestamp() * 1000) << 80) | seq
    return "".join(alphabet[(n >> (5 * i)) & 31] for i in reversed(range(26)))
