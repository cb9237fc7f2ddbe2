"""The worker holds at most its window of messages, whatever the broker sends (real Mosquitto, real SQLite).

A backlog waits in the worker's durable session, then the worker drains it. Mosquitto 2.0.11 does not keep to the
Receive Maximum the worker announces (a PUBACK of the oldest in-flight message releases up to that many more), and
over MQTT 3.1.1 the test broker's ``max_inflight_messages 0`` sets no bound at all: the worker's own count of
messages received and not yet written and acked (``ReceiveWindow.peak``) must still never pass its window, and
every message must be stored once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from ronde.ingest.config import IngestConfig
from ronde.ingest.consumer import IngestWorker
from ronde.store.sqlite import SqliteStore
from tests.ingest.broker import PASSWORD, Publisher
from tests.ingest.helpers import ALWAYS, GATEWAYS, GW, REGISTRY, encode, topic, visit, wait_for
from tests.support.services import Mosquitto, run_mosquitto

pytestmark = [pytest.mark.mosquitto]

BACKLOG = 20_000
WINDOW = 300


@pytest.fixture
def broker() -> Iterator[Mosquitto]:
    """The test broker: durable sessions, 100,000 queued messages each, ``max_inflight_messages 0``."""
    with run_mosquitto() as b:
        yield b


def _worker(port: int, store: SqliteStore, version: str, *, wait_subscribed: bool = True) -> IngestWorker:
    config = IngestConfig(
        name=f"window-v{version[0]}",
        broker_port=port,
        username="ingest",
        password=SecretStr(PASSWORD),
        mqtt_version=version,  # type: ignore[arg-type]
        shared=version == "5",
        batch_size=100,
        receive_maximum=WINDOW,
        batch_window_ms=20,
        maintenance=False,
    )
    worker = IngestWorker(config, store, REGISTRY, ALWAYS, GATEWAYS)
    worker.start()
    if wait_subscribed:
        assert worker.wait_connected(10)
    else:
        assert wait_for(lambda: worker.connections >= 1, 10), "no CONNACK"
    return worker


def _publish(port: int, payloads: list[bytes]) -> None:
    """QoS 1, each acknowledged by the broker, 500 at most in the publisher's own queue."""
    pub = Publisher(port, GW)
    try:
        infos = []
        for i, payload in enumerate(payloads):
            infos.append(pub.publish(topic(), payload, wait=False))
            if i >= 500:
                infos[i - 500].wait_for_publish(30)
        for info in infos:
            info.wait_for_publish(30)
    finally:
        pub.close()


def _accepted(worker: IngestWorker) -> int:
    accepted = worker.counters.snapshot()["accepted"]
    assert isinstance(accepted, dict)
    return int(accepted.get("visit", 0))


@pytest.mark.parametrize("version", ["5", "3.1.1"])
def test_a_backlog_is_drained_within_the_window(broker: Mosquitto, tmp_path: Path, version: str) -> None:
    store = SqliteStore(tmp_path / "r.db")
    store.open()
    try:
        _worker(broker.port, store, version).stop()  # the durable session and its subscriptions exist
        start = datetime.now(UTC) - timedelta(hours=2)
        events = [visit(i, first_seen=start + timedelta(milliseconds=100 * i)) for i in range(1, BACKLOG + 1)]
        _publish(broker.port, [encode(e) for e in events])
        # the session's backlog comes before the SUBACK of the worker's (re)subscription, and the window holds back
        # what is beyond it: the worker is subscribed (``wait_connected``) only once it has read its way there
        worker = _worker(broker.port, store, version, wait_subscribed=False)
        try:
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline and _accepted(worker) < BACKLOG:
                assert worker.pending <= WINDOW, f"{worker.pending} messages held, window {WINDOW}"
                time.sleep(0.05)
            assert wait_for(lambda: worker.pending == 0, 30)
            assert worker.wait_connected(30), "the SUBACK behind the backlog was read"
        finally:
            worker.stop()
        assert worker.failure is None
        assert 0 < worker.writer.window.peak <= WINDOW, f"peak {worker.writer.window.peak}, window {WINDOW}"
        stored = store.visits(start - timedelta(minutes=1), datetime.now(UTC) + timedelta(hours=1))
        assert sorted(v.event_id for v in stored) == sorted(e["id"] for e in events), "each stored once"
    finally:
        store.close()
