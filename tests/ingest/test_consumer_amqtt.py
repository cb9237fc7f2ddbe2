"""The worker on an MQTT 3.1.1-only broker: amqtt, the demo's embedded broker, in-process."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from amqtt.broker import Broker
from paho.mqtt.enums import CallbackAPIVersion

from ronde.ingest.config import IngestConfig
from ronde.ingest.consumer import IngestWorker
from ronde.store.sqlite import SqliteStore
from tests.ingest.helpers import ALWAYS, GATEWAYS, REGISTRY, encode, topic, visit, wait_for
from tests.support.services import free_port, wait_port


@pytest.fixture
def amqtt_port() -> Iterator[int]:
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    broker: list[Broker] = []

    async def serve() -> None:
        b = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
                "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
            }
        )
        await b.start()
        broker.append(b)
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(serve(), loop)
    assert ready.wait(15)
    wait_port(port)
    yield port
    asyncio.run_coroutine_threadsafe(broker[0].shutdown(), loop).result(15)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_mqtt_311_broker(amqtt_port: int, tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "r.db")
    store.open()  # the test reads before the worker's writer thread may have created the tables
    cfg = IngestConfig(
        name="demo",
        broker_port=amqtt_port,
        mqtt_version="3.1.1",
        shared=False,
        maintenance=False,
        batch_size=20,
        receive_maximum=40,
        batch_window_ms=50,
    )
    worker = IngestWorker(cfg, store, REGISTRY, ALWAYS, GATEWAYS)
    worker.start()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gw-pub", protocol=mqtt.MQTTv311)
    try:
        assert worker.wait_connected(15)
        pub.connect("127.0.0.1", amqtt_port)
        pub.loop_start()
        events = [visit(i) for i in range(1, 31)]
        for e in events + events[:5]:
            pub.publish(topic(), encode(e), qos=1).wait_for_publish(10)
        now = datetime.now(UTC)
        assert wait_for(lambda: len(store.visits(now - timedelta(days=1), now + timedelta(days=1))) == 30, 20)
        assert wait_for(lambda: worker.counters.snapshot()["duplicates"] == 5, 10)
    finally:
        pub.disconnect()
        pub.loop_stop()
        worker.stop()
        store.close()
