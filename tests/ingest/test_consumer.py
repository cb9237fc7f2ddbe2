"""The worker on real Mosquitto (the shipped config) and the embedded store.

Rejections with reasons while valid neighbours are stored, redelivery that doubles nothing,
sequence gaps, and two workers sharing one subscription.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from paho.mqtt.enums import MQTTErrorCode

from ronde.ingest.config import IngestConfig
from ronde.ingest.consumer import IngestWorker
from ronde.ingest.gaps import record_gaps
from ronde.ingest.paho_client import BufferedClient
from ronde.protocol.messages import format_time
from ronde.protocol.signing import sign
from ronde.protocol.topics import TopicKind
from ronde.store.influx import InfluxStore
from ronde.store.port import Store
from ronde.store.records import RejectReason
from ronde.store.sqlite import SqliteStore
from tests.ingest.broker import PASSWORD, Publisher, shipped_broker
from tests.ingest.helpers import (
    ALWAYS,
    GATEWAYS,
    GW,
    GW2,
    KEYS,
    REGISTRY,
    beacon_of,
    encode,
    topic,
    visit,
    wait_for,
)
from tests.support.services import Mosquitto

pytestmark = [pytest.mark.mosquitto]


@pytest.fixture
def broker() -> Iterator[Mosquitto]:
    with shipped_broker(["ingest", GW, GW2]) as b:
        yield b


@pytest.fixture(params=["sqlite", pytest.param("influx", marks=pytest.mark.influx)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The embedded store, and InfluxDB (Debian's 1.6.7: the session's influxd, a database per test)."""
    if request.param == "sqlite":
        s: Store = SqliteStore(tmp_path / "r.db")
    else:
        server = request.getfixturevalue("influxd")
        s = InfluxStore(server.url, database=f"ingest_{uuid.uuid4().hex[:12]}")
    s.open()
    yield s
    s.close()


def _config(port: int, name: str = "w1", **kw: object) -> IngestConfig:
    base: dict[str, object] = dict(
        name=name,
        broker_port=port,
        username="ingest",
        password=PASSWORD,
        batch_size=50,
        receive_maximum=100,
        batch_window_ms=50,
        maintenance=False,
        reconnect_min_s=0.1,
        reconnect_max_s=1.0,
    )
    base.update(kw)
    return IngestConfig.model_validate(base)


def _worker(store: Store, port: int, name: str = "w1", **kw: object) -> IngestWorker:
    w = IngestWorker(_config(port, name, **kw), store, REGISTRY, ALWAYS, GATEWAYS)
    w.start()
    assert w.wait_connected(10)
    return w


def _stored(store: Store, start: datetime, end: datetime) -> int:
    """Visits stored so far, for polling while workers write. InfluxDB 1.x may show a point whose
    fields are not all visible yet during a concurrent write, and the store's row decoder then
    raises TypeError (reported to the store's owner): counted as "not yet" here."""
    try:
        return len(store.visits(start, end))
    except TypeError:
        return -1


def _window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(days=1), now + timedelta(days=1)


def test_bad_messages_rejected_with_reasons_and_neighbours_stored(broker: Mosquitto, store: Store) -> None:
    worker = _worker(store, broker.port)
    pub = Publisher(broker.port, GW)
    try:
        eid_cp = REGISTRY.eid_checkpoints()[0]
        now = datetime.now(UTC)
        good = visit(1)
        bad: list[tuple[bytes, RejectReason]] = [
            (encode(dict(good, id=visit(99)["id"])), RejectReason.SIGNATURE_INVALID),  # forged: altered after signing
            (
                encode(visit(2, checkpoint=eid_cp, beacon=beacon_of(eid_cp, now - timedelta(days=2)))),
                RejectReason.EID_REPLAY,
            ),
            (encode(visit(3, beacon={"format": "altbeacon", "beacon_id": "ab" * 20})), RejectReason.UNKNOWN_BEACON),
            (encode(visit(4, first_seen=now + timedelta(hours=1))), RejectReason.CLOCK_FUTURE),
            (b"{" + b" " * 6000 + b"}", RejectReason.SIZE),
            (b'{"v":1,"type":"visit","badge":"\xc3\x28"}', RejectReason.ENCODING),
            (encode(sign(dict(visit(5), count="12"), KEYS[GW])), RejectReason.SCHEMA),
            (encode(visit(6, gateway=GW2)), RejectReason.GATEWAY_MISMATCH),
            (b'{"v":1,"type":"visit","id":', RejectReason.ENCODING),
        ]
        valid = [visit(10 + i) for i in range(len(bad) + 1)]
        for i, (payload, _) in enumerate(bad):
            pub.publish(topic(), encode(valid[i]))
            pub.publish(topic(), payload)
        pub.publish(topic(), encode(valid[-1]))
        start, end = _window()
        assert wait_for(
            lambda: _stored(store, start, end) == len(valid) and len(store.rejections(start, end)) == len(bad), 20
        ), (len(store.visits(start, end)), store.rejections(start, end))
        assert sorted(v.event_id for v in store.visits(start, end)) == sorted(v["id"] for v in valid)
        rejected = store.rejections(start, end)
        assert sorted(r.reason.value for r in rejected) == sorted(r.value for _, r in bad)
        assert all(r.gateway_id == GW and r.topic == topic() and len(r.payload_sha256) == 64 for r in rejected)
        # the writer counts a batch once it is written: the store can show it a moment before
        assert wait_for(lambda: sum(worker.counters.snapshot()["rejected"].values()) == len(bad), 5)  # type: ignore[attr-defined]
    finally:
        pub.close()
        worker.stop()


def test_redelivery_doubles_nothing_and_gap_is_recorded(broker: Mosquitto, store: Store) -> None:
    worker = _worker(store, broker.port)
    pub = Publisher(broker.port, GW)
    try:
        events = [visit(s) for s in (1, 2, 3, 4, 8, 9)]  # 5..7 lost before the broker
        for e in events + events:  # everything published twice
            pub.publish(topic(), encode(e))
        hb = sign(
            {
                "v": 1,
                "type": "heartbeat",
                "gateway_id": GW,
                "at": format_time(datetime.now(UTC)),
                "scanning": True,
                "in_service": True,
                "outbox_depth": 0,
                "next_seq": 10,
                "adverts_per_s": 3.0,
            },
            KEYS[GW],
        )
        pub.publish(topic(kind=TopicKind.HEARTBEAT), encode(hb))
        start, end = _window()
        assert wait_for(lambda: GW in store.latest_gateway_states(), 20)
        assert wait_for(lambda: worker.counters.snapshot()["duplicates"] == len(events), 10)
        visits = store.visits(start, end)
        assert sorted(v.seq for v in visits) == [1, 2, 3, 4, 8, 9]
        gaps = record_gaps(store, datetime.now(UTC) + timedelta(seconds=1), grace=timedelta(0))
        assert [(g.gateway_id, g.first_missing, g.last_missing) for g in gaps] == [(GW, 5, 7)]
        assert [(g.first_missing, g.last_missing) for g in store.gaps(start, end)] == [(5, 7)]
    finally:
        pub.close()
        worker.stop()


def test_two_workers_share_the_load_each_event_stored_once(broker: Mosquitto, store: Store) -> None:
    w1 = _worker(store, broker.port, "w1")
    w2 = _worker(store, broker.port, "w2")
    pubs = [Publisher(broker.port, GW), Publisher(broker.port, GW2)]
    try:
        sent: list[str] = []
        for i in range(1, 201):
            gw = GW if i % 2 else GW2
            e = visit(i, gateway=gw)
            sent.append(e["id"])
            pubs[0 if gw == GW else 1].publish(topic(gw), encode(e), wait=False)
        start, end = _window()
        assert wait_for(lambda: _stored(store, start, end) == len(sent), 30)
        got = [v.event_id for v in store.visits(start, end)]
        assert sorted(got) == sorted(sent)

        def accepted() -> tuple[int, int]:
            return (
                w1.counters.snapshot()["accepted"].get("visit", 0),  # type: ignore[attr-defined]
                w2.counters.snapshot()["accepted"].get("visit", 0),  # type: ignore[attr-defined]
            )

        # a worker counts a batch once its write returned: the rows can be readable a moment before (seen at load 9)
        assert wait_for(lambda: sum(accepted()) == len(sent), 10), (accepted(), w1.counters.snapshot())
        a, b = accepted()
        assert a > 0
        assert b > 0
        # a worker restarts (durable session, $share re-subscribed on connect): the group still works
        w2.stop()
        w2 = _worker(store, broker.port, "w2")
        more = [visit(300 + i) for i in range(100)]
        for e in more:
            pubs[0].publish(topic(), encode(e))
        assert wait_for(lambda: _stored(store, start, end) == len(sent) + len(more), 30)
        b2 = w2.counters.snapshot()["accepted"].get("visit", 0)  # type: ignore[attr-defined]
        assert b2 > 0, "the restarted worker gets its share again (re-subscribed on connect)"
    finally:
        for p in pubs:
            p.close()
        w1.stop()
        w2.stop()


def test_broker_restart_worker_reconnects_and_resubscribes(broker: Mosquitto, tmp_path: Path) -> None:
    """Mosquitto 2.0.11 restores a durable client's session from persistence but NOT its $share
    subscriptions (fixed in 2.0.12): checked here on the real 2.0.11, the worker re-subscribes."""
    store = SqliteStore(tmp_path / "r.db")
    store.open()
    worker = _worker(store, broker.port)
    try:
        pub = Publisher(broker.port, GW)
        before = [visit(i) for i in range(1, 11)]
        for e in before:
            pub.publish(topic(), encode(e))
        start, end = _window()
        assert wait_for(lambda: len(store.visits(start, end)) == 10, 20)
        pub.close()
        connections = worker.connections
        broker.restart()
        assert wait_for(lambda: worker.connections > connections and worker.connected, 20), "worker reconnected"
        pub = Publisher(broker.port, GW)
        after = [visit(i) for i in range(11, 31)]
        for e in after:
            pub.publish(topic(), encode(e))
        assert wait_for(lambda: len(store.visits(start, end)) == 30, 20), broker.log()[-2000:]
        pub.close()
    finally:
        worker.stop()
        store.close()


def test_retired_worker_drains_its_session_and_leaves_the_group(broker: Mosquitto, tmp_path: Path) -> None:
    """Mosquitto keeps routing a share of the group's messages to an offline durable member
    (checked on 2.0.11). ``retire`` drains that session and deletes it, so nothing waits there."""
    store = SqliteStore(tmp_path / "r.db")
    store.open()
    w1 = _worker(store, broker.port, "w1")
    w2 = _worker(store, broker.port, "w2")
    w2.stop()  # offline, its durable session still in the group
    pub = Publisher(broker.port, GW)
    try:
        first = [visit(i) for i in range(1, 41)]
        for e in first:
            pub.publish(topic(), encode(e))
        start, end = _window()
        time.sleep(1.0)
        parked = len(first) - len(store.visits(start, end))
        assert parked > 0, "the broker parks a share in the offline member's session"
        retiring = IngestWorker(
            _config(broker.port, "w2"), store, REGISTRY, ALWAYS, GATEWAYS, retire=True, retire_idle_s=1.0
        )
        retiring.run()  # returns by itself once drained
        assert retiring.failure is None
        assert len(store.visits(start, end)) == len(first)
        more = [visit(100 + i) for i in range(20)]
        for e in more:
            pub.publish(topic(), encode(e))
        assert wait_for(lambda: len(store.visits(start, end)) == len(first) + len(more), 10), (
            "after retirement the remaining worker receives everything"
        )
    finally:
        pub.close()
        w1.stop()
        store.close()


def test_wrong_password_fails_fast(broker: Mosquitto, tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "r.db")
    worker = IngestWorker(_config(broker.port, password="wrong"), store, REGISTRY, ALWAYS, GATEWAYS)
    with pytest.raises(RuntimeError, match="refused ingest-w1"):
        worker.run()
    store.close()


class _BuggyStore(SqliteStore):
    """A real store whose write has a bug (not an outage): the worker must stop, acking nothing."""

    def write(self, batch: object) -> None:
        raise ZeroDivisionError("bug in the store")


def test_a_failing_loop_stops_the_worker_without_acking(broker: Mosquitto, tmp_path: Path) -> None:
    buggy = _BuggyStore(tmp_path / "bug.db")
    worker = IngestWorker(_config(broker.port), buggy, REGISTRY, ALWAYS, GATEWAYS)
    acks: list[int] = []
    real_ack = worker.client.ack

    def spy_ack(mid: int, qos: int) -> MQTTErrorCode:
        acks.append(mid)
        return real_ack(mid, qos)

    worker.client.ack = spy_ack  # type: ignore[method-assign]
    client = worker.client
    assert isinstance(client, BufferedClient)
    real_many = client.ack_many

    def spy_many(mids: Iterable[int]) -> MQTTErrorCode:
        mids = list(mids)
        acks.extend(mids)
        return real_many(mids)

    client.ack_many = spy_many  # type: ignore[method-assign]
    pub = Publisher(broker.port, GW)
    events = [visit(i) for i in range(1, 6)]
    try:
        thread_error: list[BaseException] = []

        def run() -> None:
            try:
                worker.run()
            except RuntimeError as exc:
                thread_error.append(exc)

        import threading

        t = threading.Thread(target=run)
        t.start()
        assert worker.wait_connected(10)
        for e in events:
            pub.publish(topic(), encode(e))
        t.join(30)
        assert thread_error
        assert "ZeroDivisionError" in str(thread_error[0])
        assert acks == []
    finally:
        pub.close()
        worker.stop()
    # a healthy worker with the same name gets every one of them again
    store = SqliteStore(tmp_path / "ok.db")
    store.open()
    again = _worker(store, broker.port)
    try:
        start, end = _window()
        assert wait_for(lambda: len(store.visits(start, end)) == len(events), 20)
    finally:
        again.stop()
        store.close()
