"""Faults on real parts: a worker killed mid-batch, InfluxDB down under steady traffic.

Mosquitto runs the shipped config (tests/ingest/broker.py); InfluxDB is Debian's influxd, each
test with its own instance since they stop or freeze it.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from paho.mqtt.enums import MQTTErrorCode

from ronde.ingest.config import IngestConfig
from ronde.ingest.consumer import IngestWorker
from ronde.ingest.paho_client import BufferedClient
from ronde.store.influx import InfluxStore
from tests.ingest.broker import PASSWORD, Publisher, shipped_broker, shipped_queue_limit
from tests.ingest.helpers import ALWAYS, GATEWAYS, GW, REGISTRY, encode, topic, visit, wait_for
from tests.support.opdb_site import site_database, worker_env
from tests.support.services import Influxd, Mosquitto, run_influxd
from tests.support.settings_toml import write_settings

pytestmark = [pytest.mark.mosquitto, pytest.mark.influx]


@pytest.fixture
def broker() -> Iterator[Mosquitto]:
    with shipped_broker(["ingest", GW]) as b:
        yield b


@pytest.fixture
def influx() -> Iterator[Influxd]:
    with run_influxd() as server:
        yield server


def _window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(days=1), now + timedelta(days=1)


def _count(store: InfluxStore) -> tuple[int, int]:
    """(rows, distinct event ids) of the stored visits; (-1, -1) when a point is caught mid-write
    (InfluxDB 1.x shows its fields one by one and the store's row decoder raises TypeError)."""
    start, end = _window()
    try:
        visits = store.visits(start, end)
    except TypeError:
        return -1, -1
    return len(visits), len({v.event_id for v in visits})


class _Worker:
    """``ronde ingest run`` as a subprocess on an operational database (the sample estate, GATEWAYS, every hour
    a service hour), its log in a file."""

    def __init__(self, tmp: Path, broker: Mosquitto, influx: Influxd, name: str) -> None:
        database = tmp / "opdb.db"
        url = f"sqlite:///{database}" if database.exists() else site_database(database, GATEWAYS)
        settings = write_settings(
            tmp / "ronde.toml",
            {
                "database": {"url": url},
                "store": {"url": influx.url, "timeout_s": 2.0, "retry_budget_s": 0.5, "retry_max_s": 1.0},
                "mqtt": {"port": broker.port, "username": "ingest", "reconnect_min_s": 0.2, "reconnect_max_s": 2.0},
                "ingest": {
                    "name": name,
                    "batch_size": 50,
                    "receive_maximum": 100,
                    "batch_window_ms": 50,
                    "maintenance": False,
                },
            },
        )
        self.log_path = tmp / f"worker-{name}-{time.monotonic_ns()}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ronde.cli", "ingest", "run", "--config", str(settings)],
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
            env=worker_env(url, RONDE_MQTT_PASSWORD=PASSWORD),
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, pattern: str, timeout: float) -> bool:
        return (
            wait_for(lambda: re.search(pattern, self.log()) is not None or self.proc.poll() is not None, timeout)
            and re.search(pattern, self.log()) is not None
        )

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)


@pytest.mark.slow
def test_kill_9_between_receiving_and_writing(broker: Mosquitto, influx: Influxd, tmp_path: Path) -> None:
    assert influx.process is not None
    reader = InfluxStore(influx.url, timeout_s=5)
    reader.open()
    pub = Publisher(broker.port, GW)
    worker = _Worker(tmp_path, broker, influx, "k1")
    try:
        assert worker.wait_log(r"connected as ingest-k1", 30), worker.log()
        first = [visit(i) for i in range(1, 21)]
        for e in first:
            pub.publish(topic(), encode(e))
        assert wait_for(lambda: _count(reader) == (20, 20), 30), worker.log()[-3000:]
        # freeze InfluxDB: the next batch is received, then its write hangs
        influx.process.send_signal(signal.SIGSTOP)
        second = [visit(i) for i in range(21, 121)]
        for e in second:
            pub.publish(topic(), encode(e))
        assert worker.wait_log(r"store unavailable during", 30), worker.log()[-3000:]
        worker.proc.send_signal(signal.SIGKILL)  # kill -9: no goodbye, no ack for what it held
        worker.proc.wait(10)
        influx.process.send_signal(signal.SIGCONT)
        restarted = _Worker(tmp_path, broker, influx, "k1")  # the same durable session
        try:
            assert wait_for(lambda: _count(reader)[0] >= 120, 60), restarted.log()[-3000:]
            time.sleep(1.0)  # let any straggling redelivery land, then count again
            assert _count(reader) == (120, 120), restarted.log()[-3000:]
            start, end = _window()
            assert {v.event_id for v in reader.visits(start, end)} == {e["id"] for e in first + second}
            assert restarted.terminate() == 0, restarted.log()[-3000:]
            counters = re.search(r"counters: (\{.*\})", restarted.log())
            assert counters is not None, restarted.log()[-2000:]
        finally:
            if restarted.proc.poll() is None:
                restarted.proc.kill()
    finally:
        if influx.process is not None and influx.process.poll() is None:
            influx.process.send_signal(signal.SIGCONT)
        if worker.proc.poll() is None:
            worker.proc.kill()
        pub.close()
        reader.close()


def _influx_outage_scenario(broker: Mosquitto, influx: Influxd, outage_s: float, rate_per_s: float) -> None:
    """Steady traffic; InfluxDB stopped for ``outage_s``: no ack meanwhile, all stored after, none twice."""
    store = InfluxStore(influx.url, timeout_s=2.0, retry_budget_s=0.5)
    cfg = IngestConfig.model_validate(
        dict(
            name="o1",
            broker_port=broker.port,
            username="ingest",
            password=PASSWORD,
            batch_size=100,
            receive_maximum=200,
            batch_window_ms=100,
            maintenance=False,
            store_retry_max_s=2.0,
        )
    )
    worker = IngestWorker(cfg, store, REGISTRY, ALWAYS, GATEWAYS)
    acks: list[float] = []
    real_ack = worker.client.ack

    def spy_ack(mid: int, qos: int) -> MQTTErrorCode:
        acks.append(time.monotonic())
        return real_ack(mid, qos)

    worker.client.ack = spy_ack  # type: ignore[method-assign]
    client = worker.client
    assert isinstance(client, BufferedClient)
    real_many = client.ack_many

    def spy_many(mids: Iterable[int]) -> MQTTErrorCode:
        mids = list(mids)
        acks.extend(time.monotonic() for _ in mids)
        return real_many(mids)

    client.ack_many = spy_many  # type: ignore[method-assign]
    worker.start()
    assert worker.wait_connected(10)
    pub = Publisher(broker.port, GW)
    sent: list[str] = []
    stop_pub = threading.Event()
    during: list[int] = [0]
    outage = [float("inf"), float("inf")]

    def publish_steadily() -> None:
        seq = 0
        next_t = time.monotonic()
        while not stop_pub.is_set():
            seq += 1
            e = visit(seq)
            pub.publish(topic(), encode(e))
            sent.append(e["id"])
            if outage[0] <= time.monotonic() < outage[1]:
                during[0] += 1
            next_t += 1 / rate_per_s
            time.sleep(max(0.0, next_t - time.monotonic()))

    publisher = threading.Thread(target=publish_steadily, name="steady-publisher")
    publisher.start()
    reader = InfluxStore(influx.url, timeout_s=5)
    try:
        time.sleep(3)
        assert len(acks) > 0, "acks flow while InfluxDB is up"
        outage[0] = time.monotonic()
        influx.stop()
        time.sleep(outage_s)
        outage[1] = time.monotonic()
        influx.start()
        time.sleep(3)
        stop_pub.set()
        publisher.join(30)
        reader.open()
        assert wait_for(lambda: _count(reader)[0] >= len(sent), 120), (_count(reader), len(sent))
        time.sleep(1.0)
        rows, distinct = _count(reader)
        assert rows == distinct == len(sent), (rows, distinct, len(sent))
        # nothing acknowledged while InfluxDB was down (the batch written just before may ack at once)
        grace = 1.0
        acked_during = [t for t in acks if outage[0] + grace < t < outage[1]]
        assert acked_during == [], f"{len(acked_during)} acks while InfluxDB was down"
        # more was queued in the broker than its default limit (1000) would have kept
        assert during[0] > 1000 + cfg.receive_maximum, during[0]
        assert shipped_queue_limit() >= during[0]
        snap = worker.counters.snapshot()
        assert snap["store_retries"] > 0  # type: ignore[operator]
    finally:
        stop_pub.set()
        publisher.join(30)
        pub.close()
        worker.stop()
        reader.close()
        store.close()


@pytest.mark.slow
def test_influxdb_down_60_s_under_steady_traffic(broker: Mosquitto, influx: Influxd) -> None:
    _influx_outage_scenario(broker, influx, outage_s=60.0, rate_per_s=30.0)
