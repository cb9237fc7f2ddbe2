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

ESTATE = Path(__file__).with_name("estate_e2e.yaml")
CAL = ServiceCalendar()
ADMIN = "e2e-admin-token"


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


def wait_for(cond: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
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
            f"ingest to process {extra} more message(s)",
        )

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
) -> Iterator[Evening]:
    import asyncio

    reg = scenario.registry
    scanners = TeamScanners.build(scenario, workdir, "127.0.0.1", broker_port, estate=estate, speed=speed)
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
        recorded = asyncio.run(scanners.play(failure=lambda: ingest.failure))
        evening = Evening(
            scenario, scanners, ingest, store, TestClient(_app(store, reg, scenario)), broker_port, published, raw
        )
        evening.settle(0, recorded)
        wait_for(lambda: len(published) >= recorded, "the spy to see every visit")
        for day in scenario.days:
            rollup_day(store, reg, CAL, day)  # as ingest's maintenance does once the evening is over
        yield evening
    finally:
        for client in (spy, raw):
            client.loop_stop()
            client.disconnect()
        ingest.stop()


def _app(store: Store, reg: Registry, scenario: Scenario) -> Any:
    """The API on the wall clock: the scripted evenings are in the past, like any closed evening."""
    tokens = TokenBook.from_tokens({ADMIN: Principal("e2e", Role.ADMIN)})
    return create_app(ApiSettings(), store, reg, CAL, tokens=tokens, clock=lambda: datetime.now(UTC))


def ulid_at(at: datetime, seq: int) -> str:
    """A valid, unique ULID for a test event: ``at`` in milliseconds, ``seq`` in the random part."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    n = (int(at.timestamp() * 1000) << 80) | seq
    return "".join(alphabet[(n >> (5 * i)) & 31] for i in reversed(range(26)))
