"""The worker's ack-after-write rules without a broker: a fake ``MessageSource`` feeds it messages
and records the acks; the store is a real SQLite file behind a switch that makes it fail.

``PahoSource``'s own part (an ack only within the connection a message came on) is tested at the
end by driving its paho callbacks directly."""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from ronde.ingest.config import IngestConfig
from ronde.ingest.consumer import IngestWorker
from ronde.ingest.maintenance import MaintenanceRunner
from ronde.ingest.pipeline import Incoming
from ronde.ingest.rollup import RetentionScheduler, RollupScheduler
from ronde.ingest.source import BrokerRefused, Deliver, PahoSource
from ronde.store.errors import StoreRejected
from ronde.store.port import StoreUnavailable
from ronde.store.records import RejectReason, WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.ingest.helpers import ALWAYS, GATEWAYS, REGISTRY, encode, topic, visit


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


class FakeSource:
    """A ``MessageSource`` over a queue. ``reconnect()`` starts a new connection generation: acks
    of messages from an earlier one are refused, as the ``MessageSource`` contract says."""

    def __init__(self, config: IngestConfig, retire: bool) -> None:
        self.retire = retire
        self.generation = 1
        self.acked: list[int] = []
        self.stale: list[int] = []  # acks refused: the message came on a dropped connection
        self.closed: bool | None = None  # forget_session of the close, once closed
        self.refuse: BrokerRefused | None = None
        self._inbox: queue.SimpleQueue[Incoming] = queue.SimpleQueue()
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._mids = itertools.count(1)

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def connections(self) -> int:
        return self.generation

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def run(self, deliver: Deliver, stopping: threading.Event) -> None:
        if self.refuse is not None:
            raise self.refuse
        self._ready.set()
        while not stopping.is_set():
            try:
                deliver(self._inbox.get(timeout=0.02))
            except queue.Empty:
                continue

    def ack(self, message: Incoming) -> bool:
        with self._lock:
            if message.generation != self.generation:
                self.stale.append(message.mid)
                return False
            self.acked.append(message.mid)
            return True

    def close(self, *, forget_session: bool = False) -> None:
        self.closed = forget_session

    # ---- test side ----

    def send(self, payload: bytes, at: str | None = None) -> int:
        mid = next(self._mids)
        self._inbox.put(Incoming(at or topic(), payload, datetime.now(UTC), mid, 1, self.generation))
        return mid

    def reconnect(self) -> None:
        with self._lock:
            self.generation += 1


class SwitchableStore(SqliteStore):
    """A real SQLite store that is 'down' while ``down`` is set, and refuses for good any batch
    holding a visit whose id is in ``poison``."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.down = threading.Event()
        self.poison: set[str] = set()
        self.write_attempts = 0

    def write(self, batch: WriteBatch) -> None:
        self.write_attempts += 1
        if self.down.is_set():
            raise StoreUnavailable("switched off by the test")
        if any(v.event_id in self.poison for v in batch.visits):
            raise StoreRejected("a value this store cannot hold")
        super().write(batch)


def _config(**kw: Any) -> IngestConfig:
    base: dict[str, Any] = dict(
        name="u1", batch_size=50, receive_maximum=100, batch_window_ms=20, maintenance=False, store_retry_max_s=0.05
    )
    return IngestConfig.model_validate(base | kw)


@pytest.fixture
def store(tmp_path: Path) -> SwitchableStore:
    return SwitchableStore(tmp_path / "u.db")


def _worker(store: SwitchableStore, **kw: Any) -> tuple[IngestWorker, FakeSource]:
    sources: list[FakeSource] = []

    def factory(config: IngestConfig, retire: bool) -> FakeSource:
        sources.append(FakeSource(config, retire))
        return sources[0]

    worker = IngestWorker(_config(**kw), store, REGISTRY, ALWAYS, GATEWAYS, source_factory=factory)
    return worker, sources[0]


def _stored_ids(store: SqliteStore) -> set[str]:
    now = datetime.now(UTC)
    return {v.event_id for v in store.visits(now - timedelta(hours=1), now + timedelta(hours=1))}


def test_acked_only_after_the_write_and_retried_while_the_store_is_down(store: SwitchableStore) -> None:
    worker, source = _worker(store)
    store.down.set()
    worker.start()
    try:
        assert worker.wait_connected(5)
        events = [visit(i) for i in range(1, 11)]
        mids = [source.send(encode(e)) for e in events]
        assert wait_for(lambda: store.write_attempts >= 3), "the write is retried while the store is down"
        assert source.acked == []
        assert worker.pending == len(events)
        assert worker.counters.store_retries >= 2
        store.down.clear()
        assert wait_for(lambda: sorted(source.acked) == mids), "acked once the write succeeded"
        assert _stored_ids(store) == {e["id"] for e in events}
        assert worker.pending == 0
    finally:
        worker.stop()
        store.close()
    assert worker.failure is None
    assert source.closed is False


def test_a_permanently_refused_message_is_recorded_as_rejected_and_acked(store: SwitchableStore) -> None:
    worker, source = _worker(store)
    good = [visit(i) for i in range(1, 8)]
    bad = visit(99)
    store.poison.add(bad["id"])
    worker.start()
    try:
        mids = [source.send(encode(e)) for e in [*good[:3], bad, *good[3:]]]
        assert wait_for(lambda: sorted(source.acked) == mids), "the whole batch is acked, the refused one too"
        assert _stored_ids(store) == {e["id"] for e in good}
        now = datetime.now(UTC)
        rejections = store.rejections(now - timedelta(hours=1), now + timedelta(hours=1))
        assert [(r.reason, r.event_id) for r in rejections] == [(RejectReason.STORE_REFUSED, bad["id"])]
        assert worker.counters.rejected == {"store_refused": 1}
    finally:
        worker.stop()
        store.close()


def test_stopping_with_unwritten_messages_acks_none_of_them(store: SwitchableStore) -> None:
    worker, source = _worker(store)
    worker.start()
    assert worker.wait_connected(5)
    store.down.set()
    for i in range(1, 6):
        source.send(encode(visit(i)))
    assert wait_for(lambda: store.write_attempts >= 2)
    worker.stop(timeout=10)
    source.send(encode(visit(6)))  # after stop: not even taken
    time.sleep(0.1)
    assert source.acked == []
    assert source.stale == []
    assert worker.pending == 5
    assert worker.failure is None
    assert source.closed is False, "disconnected cleanly, the session kept for redelivery"
    store.down.clear()
    assert _stored_ids(store) == set()
    store.close()


def test_a_message_from_an_old_connection_is_not_acked(store: SwitchableStore) -> None:
    worker, source = _worker(store)
    store.down.set()
    worker.start()
    try:
        old = source.send(encode(visit(1)))
        assert wait_for(lambda: store.write_attempts >= 1)
        source.reconnect()  # the connection dropped while the batch was being written
        new_event = visit(2)
        new = source.send(encode(new_event))
        store.down.clear()
        assert wait_for(lambda: source.acked == [new] and source.stale == [old])
        assert worker.pending == 0, "written, and left to the broker's redelivery (deduplicated then)"
        assert new_event["id"] in _stored_ids(store)
    finally:
        worker.stop()
        store.close()


def test_the_redelivery_of_a_written_message_is_acked_and_dropped(store: SwitchableStore) -> None:
    worker, source = _worker(store)
    worker.start()
    try:
        payload = encode(visit(1))
        first = source.send(payload)
        assert wait_for(lambda: source.acked == [first])
        again = source.send(payload)
        assert wait_for(lambda: source.acked == [first, again])
        assert worker.counters.duplicates == 1
        assert len(_stored_ids(store)) == 1
    finally:
        worker.stop()
        store.close()


class _BuggyStore(SwitchableStore):
    def write(self, batch: WriteBatch) -> None:
        raise ZeroDivisionError("bug in the store")


def test_a_failing_thread_stops_the_worker_and_nothing_is_acked(tmp_path: Path) -> None:
    store = _BuggyStore(tmp_path / "bug.db")
    worker, source = _worker(store)
    source.send(encode(visit(1)))
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        worker.run()
    assert source.acked == []
    assert isinstance(worker.failure, ZeroDivisionError)
    assert source.closed is False
    store.close()


def test_a_broker_refusal_stops_the_worker_with_its_message(store: SwitchableStore) -> None:
    worker, source = _worker(store)
    source.refuse = BrokerRefused("broker refused ingest-u1 (user None): Not authorized")
    with pytest.raises(RuntimeError, match="refused ingest-u1"):
        worker.run()
    store.close()


def test_retiring_drains_then_asks_the_broker_to_forget_the_session(store: SwitchableStore) -> None:
    sources: list[FakeSource] = []

    def factory(config: IngestConfig, retire: bool) -> FakeSource:
        sources.append(FakeSource(config, retire))
        return sources[0]

    worker = IngestWorker(
        _config(maintenance=True),
        store,
        REGISTRY,
        ALWAYS,
        GATEWAYS,
        source_factory=factory,
        retire=True,
        retire_idle_s=0.2,
    )
    source = sources[0]
    assert source.retire, "a retiring worker runs no maintenance"
    assert worker.maintenance is None, "a retiring worker runs no maintenance"
    mid = source.send(encode(visit(1)))
    worker.run()  # returns by itself once drained and idle
    assert source.acked == [mid]
    assert source.closed is True
    store.close()


def test_maintenance_runs_every_step_even_when_one_fails(store: SwitchableStore) -> None:
    store.open()
    calls: list[str] = []

    class Failing(RollupScheduler):
        def run(self, now: datetime) -> list[Any]:
            calls.append("rollups")
            raise RuntimeError("a bug in rollups")

    class Counting(RetentionScheduler):
        def run(self, now: datetime) -> bool:
            calls.append("retention")
            return True

    config = _config()
    runner = MaintenanceRunner(
        store,
        Failing(store, REGISTRY, ALWAYS),
        Counting(store, config.retention.to_policy()),
        gap_window=timedelta(hours=1),
        gap_grace=timedelta(minutes=10),
        interval_s=0.01,
    )
    stopping = threading.Event()
    t = threading.Thread(target=runner.run, args=(stopping,))
    t.start()
    assert wait_for(lambda: calls.count("retention") >= 2)
    stopping.set()
    t.join(5)
    assert not t.is_alive()
    assert calls[:2] == ["rollups", "retention"]
    store.close()


# ---- PahoSource: acks belong to the connection a message came on ------------------------------------


class _StubClient:
    """Stands in for paho's client: records acks, accepts subscriptions."""

    def __init__(self) -> None:
        self.acks: list[int] = []

    def ack(self, mid: int, qos: int) -> MQTTErrorCode:
        self.acks.append(mid)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def subscribe(self, topics: object) -> tuple[MQTTErrorCode, int]:
        return MQTTErrorCode.MQTT_ERR_SUCCESS, 1


def test_paho_source_acks_only_within_the_connection_a_message_came_on() -> None:
    source = PahoSource(_config())
    stub = _StubClient()
    source.client = stub  # type: ignore[assignment]
    got: list[Incoming] = []
    source._deliver = got.append
    ok = ReasonCode(PacketTypes.CONNACK, "Success")
    connect: Any = source._on_connect
    message: Any = source._on_message
    disconnect: Any = source._on_disconnect  # the callbacks take paho's client: the stub stands in

    def arrive(mid: int) -> Incoming:
        m = mqtt.MQTTMessage(mid=mid, topic=topic().encode())
        m.payload, m.qos = b"{}", 1
        message(stub, None, m)
        return got[-1]

    connect(stub, None, mqtt.ConnectFlags(session_present=False), ok, None)
    first = arrive(7)
    disconnect(stub, None, mqtt.DisconnectFlags(False), ReasonCode(PacketTypes.DISCONNECT), None)
    assert not source.ack(first), "its connection dropped: no PUBACK with a packet id of the old connection"
    connect(stub, None, mqtt.ConnectFlags(session_present=True), ok, None)
    assert not source.ack(first)
    again = arrive(7)  # the broker redelivers it, maybe with the same packet id
    assert source.ack(again)
    assert stub.acks == [7]
    assert source.connections == 2


def test_building_a_worker_leaves_paho_as_shipped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """paho's property tables are patched by the entry point (``ronde ingest run``), not by the
    worker: in ``ronde demo`` the gateways' paho clients share the process."""
    from paho.mqtt import _packet
    from paho.mqtt.properties import Properties

    monkeypatch.setattr(_packet, "Properties", Properties)
    store = SqliteStore(tmp_path / "p.db")
    worker = IngestWorker(_config(), store, REGISTRY, ALWAYS, GATEWAYS)
    assert isinstance(worker.source, PahoSource)
    assert getattr(_packet, "Properties", None) is Properties
    store.close()


def test_the_writer_acks_with_the_message_ids_once_the_payloads_are_let_go(store: SwitchableStore) -> None:
    """Once a batch is validated its payloads are not kept for the write and the acks (``_ack_handles``): the acks
    carry each message's mid and connection, every visit is stored, the payloads are gone from what waits."""
    payloads: list[bytes] = []

    class Recording(FakeSource):
        def ack(self, message: Incoming) -> bool:
            payloads.append(message.payload)
            return super().ack(message)

    sources: list[Recording] = []

    def factory(config: IngestConfig, retire: bool) -> Recording:
        sources.append(Recording(config, retire))
        return sources[0]

    worker = IngestWorker(_config(), store, REGISTRY, ALWAYS, GATEWAYS, source_factory=factory)
    source = sources[0]
    worker.start()
    try:
        assert worker.wait_connected(5)
        events = [visit(i) for i in range(1, 121)]  # several batches of 50
        mids = [source.send(encode(e)) for e in events]
        assert wait_for(lambda: sorted(source.acked) == mids)
        assert _stored_ids(store) == {e["id"] for e in events}
        assert payloads == [b""] * len(events)
    finally:
        worker.stop()
        store.close()
    assert worker.failure is None


def test_paho_source_decodes_each_topic_once_and_keeps_undecodable_ones_replaced() -> None:
    source = PahoSource(_config())
    got: list[Incoming] = []
    source._deliver = got.append
    message: Any = source._on_message

    def arrive(raw: bytes) -> Incoming:
        m = mqtt.MQTTMessage(mid=1, topic=raw)
        m.payload, m.qos = b"{}", 1
        message(None, None, m)
        return got[-1]

    first, second = arrive(topic().encode()), arrive(bytes(topic().encode()))
    assert first.topic == second.topic == topic()
    assert first.topic is second.topic, "one str per topic, shared by its messages"
    assert arrive(b"ronde/v1/\xff/visit").topic == "ronde/v1/\ufffd/visit"
