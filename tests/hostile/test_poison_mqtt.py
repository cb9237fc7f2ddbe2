"""Poison MQTT messages on real parts: the shipped Mosquitto config, a real ``IngestWorker``, and
the SQLite store or Debian's influxd 1.6.7.

A poison is a message that once stopped ingest for good: a value no store can hold (an integer
beyond 64 bits, 1e999) made the store refuse the batch, the batch was never acked, the broker
redelivered it after every restart and every worker of the share group died in turn, with the
valid visits queued behind it never stored. Each must now be recorded as a rejection while the
worker goes on and stores the valid visit published after it. Beyond the named ones, hypothesis
generates poisons over every message kind (derandomized: the same ones each run). The store-level
defence is tested too: a record that still reaches a store with such a value makes the engine
raise ``StoreRejected`` (not a crash), and the worker isolates it, writes the rest of the batch
and records it as ``store_refused``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ronde.ingest.config import IngestConfig
from ronde.ingest.consumer import IngestWorker
from ronde.protocol.messages import format_time
from ronde.protocol.topics import TopicKind
from ronde.store.errors import StoreRejected
from ronde.store.influx import InfluxStore
from ronde.store.port import Store
from ronde.store.records import (
    BeaconCheck,
    BeaconTelemetryRecord,
    GatewayStateRecord,
    RejectReason,
    StoredVisit,
    Verification,
    WriteBatch,
)
from ronde.store.sqlite import SqliteStore
from tests.ingest.broker import PASSWORD, Publisher, shipped_broker
from tests.ingest.helpers import ALWAYS, GATEWAYS, GW, REGISTRY, beacon_of, encode, static_checkpoints, topic, visit
from tests.ingest.helpers import wait_for as _wait_for
from tests.support.services import Mosquitto

pytestmark = [pytest.mark.mosquitto]

SECRET = "zqsecret7f3a9x"


@pytest.fixture
def broker() -> Iterator[Mosquitto]:
    with shipped_broker(["ingest", GW]) as b:
        yield b


@pytest.fixture(params=["sqlite", pytest.param("influx", marks=pytest.mark.influx)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The embedded store, and InfluxDB (the session's influxd, a database per test)."""
    if request.param == "sqlite":
        s: Store = SqliteStore(tmp_path / "r.db")
    else:
        server = request.getfixturevalue("influxd")
        s = InfluxStore(server.url, database=f"poison_{uuid.uuid4().hex[:12]}")
    s.open()
    yield s
    s.close()


def _worker(store: Store, port: int) -> IngestWorker:
    config = IngestConfig.model_validate(
        dict(
            name=f"p{uuid.uuid4().hex[:6]}",
            broker_port=port,
            username="ingest",
            password=PASSWORD,
            batch_size=50,
            receive_maximum=100,
            batch_window_ms=30,
            maintenance=False,
            reconnect_min_s=0.1,
            reconnect_max_s=1.0,
        )
    )
    worker = IngestWorker(config, store, REGISTRY, ALWAYS, GATEWAYS)
    worker.start()
    assert worker.wait_connected(10)
    return worker


def _window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(days=1), now + timedelta(days=1)


def wait_for(predicate: Any, timeout: float) -> bool:
    """InfluxDB 1.x may show a point whose fields are not all visible yet (the store's decoder then
    raises TypeError): "not yet"."""

    def safe() -> bool:
        try:
            return bool(predicate())
        except TypeError:
            return False

    return _wait_for(safe, timeout, 0.05)


# ---- the poisons --------------------------------------------------------------------------------


def _now() -> str:
    return format_time(datetime.now(UTC) - timedelta(seconds=5))


def heartbeat(**over: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "type": "heartbeat",
        "gateway_id": GW,
        "at": _now(),
        "scanning": True,
        "in_service": True,
        "outbox_depth": 0,
        "next_seq": 1,
        "adverts_per_s": 3.5,
        "battery_pct": 80,
    } | over


def telemetry(**over: Any) -> dict[str, Any]:
    cp = static_checkpoints()[0]
    return {
        "v": 1,
        "type": "telemetry",
        "gateway_id": GW,
        "at": _now(),
        "beacon": beacon_of(cp),
        "battery_mv": 3000,
        "temperature_c": 21.5,
        "adv_count": 1000,
        "uptime_s": 3600.0,
    } | over


def status(**over: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "type": "status",
        "gateway_id": GW,
        "state": "online",
        "at": _now(),
        "scanning": True,
        "reason": None,
    } | over


def raw(obj: dict[str, Any], **literals: str) -> bytes:
    """``obj`` as JSON with some members written as raw JSON text (``1e999`` has no Python value
    that json.dumps would write that way)."""
    marked = obj | {k: f"@@{k}@@" for k in literals}
    text = json.dumps(marked, separators=(",", ":"))
    for k, literal in literals.items():
        text = text.replace(f'"@@{k}@@"', literal)
    return text.encode()


SCHEMA, ENCODING = RejectReason.SCHEMA, RejectReason.ENCODING
NAMED_POISONS: list[tuple[RejectReason, TopicKind, bytes]] = [
    (SCHEMA, TopicKind.HEARTBEAT, encode(heartbeat(outbox_depth=18446744073709551616))),
    (SCHEMA, TopicKind.HEARTBEAT, raw(heartbeat(), adverts_per_s="1e999")),
    (SCHEMA, TopicKind.HEARTBEAT, raw(heartbeat(), adverts_per_s="-1e999")),
    (SCHEMA, TopicKind.HEARTBEAT, encode(heartbeat(next_seq=2**63))),
    (SCHEMA, TopicKind.TELEMETRY, raw(telemetry(), uptime_s="1e999")),
    (SCHEMA, TopicKind.TELEMETRY, encode(telemetry(uptime_s=1e300))),
    (ENCODING, TopicKind.TELEMETRY, raw(telemetry(), temperature_c="NaN")),  # not JSON
    (SCHEMA, TopicKind.VISIT, encode(visit(1) | {"seq": 2**64})),
    (SCHEMA, TopicKind.STATUS, encode(status(reason="x" * 1000))),
    (SCHEMA, TopicKind.STATUS, encode(status(at="9999-12-31T23:59:59.999Z"))),
]

BASES = {
    TopicKind.HEARTBEAT: heartbeat,
    TopicKind.TELEMETRY: telemetry,
    TopicKind.STATUS: status,
    TopicKind.VISIT: lambda: visit(1, signed=False),
}
EXTREMES = st.one_of(
    st.integers(min_value=2**63, max_value=2**70).map(str),
    st.integers(min_value=-(2**70), max_value=-(2**63) - 1).map(str),
    st.sampled_from(["1e999", "-1e999", "1e308", "-1e308", "NaN", "Infinity", "-Infinity", "1E400", "123456789e300"]),
    st.integers(min_value=300, max_value=3000).map(lambda n: json.dumps("\u00e9" * (n // 2) + "x" * (n // 2))),
    st.integers(min_value=2, max_value=3000).map(lambda depth: "[" * depth + "0" + "]" * depth),
    st.integers(min_value=2, max_value=400).map(lambda depth: '{"a":' * depth + "0" + "}" * depth),
)


@st.composite
def poisons(draw: st.DrawFn) -> tuple[TopicKind, bytes]:
    """A valid message of some kind with one member (or a new one, or one of its beacon's) set to
    an extreme value no member accepts: a huge integer, an infinite or NaN float, a long string,
    deep nesting."""
    kind = draw(st.sampled_from(sorted(BASES, key=str)))
    obj: dict[str, Any] = BASES[kind]()
    value = draw(EXTREMES)
    members = sorted(obj) + ["extra"] + ([f"beacon.{k}" for k in sorted(obj["beacon"])] if "beacon" in obj else [])
    member = draw(st.sampled_from(members))
    if member.startswith("beacon."):
        inner = member.split(".", 1)[1]
        beacon = dict(obj["beacon"])
        beacon[inner] = "@@beacon@@"
        return kind, raw(obj | {"beacon": beacon}).replace(b'"@@beacon@@"', value.encode())
    return kind, raw(obj, **{member: value})


# ---- tests ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_poisons_are_recorded_and_the_worker_stores_what_follows(
    broker: Mosquitto, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    worker = _worker(store, broker.port)
    pub = Publisher(broker.port, GW)
    published: set[tuple[str, bytes]] = set()
    valid: list[str] = []
    seq = iter(range(1, 10_000))

    def seen() -> int:
        c = worker.counters
        return sum(c.rejected.values()) + c.duplicates

    def feed(kind: TopicKind, payload: bytes) -> None:
        """One poison, then a valid signed visit: the poison is accounted for, the visit stored."""
        before = seen()
        published.add((topic(GW, kind), payload))
        pub.publish(topic(GW, kind), payload)
        v = visit(next(seq), badge=SECRET)
        valid.append(v["id"])
        pub.publish(topic(), encode(v))
        start, end = _window()
        assert wait_for(lambda: seen() > before and len(store.visits(start, end)) == len(valid), 20), (
            payload[:200],
            worker.counters.snapshot(),
            worker.failure,
        )
        assert worker.failure is None
        assert worker.connected

    try:
        for _, kind, payload in NAMED_POISONS:
            feed(kind, payload)

        @settings(max_examples=30, derandomize=True, deadline=None, database=None)
        @given(poisons())
        def generated(poison: tuple[TopicKind, bytes]) -> None:
            feed(*poison)

        generated()
        start, end = _window()
        assert wait_for(lambda: len(store.rejections(start, end)) == len(published), 20)
        rejections = store.rejections(start, end)
        assert len(rejections) == len(published)  # every distinct poison recorded once, none twice
        assert {(r.topic, r.payload_sha256) for r in rejections} == {
            (t, hashlib.sha256(p).hexdigest()) for t, p in published
        }
        assert {r.reason for r in rejections} <= {RejectReason.SCHEMA, RejectReason.ENCODING, RejectReason.SIZE}
        named = {hashlib.sha256(p).hexdigest(): reason for reason, _, p in NAMED_POISONS}
        assert all(r.reason is named[r.payload_sha256] for r in rejections if r.payload_sha256 in named)
        assert sorted(v.event_id for v in store.visits(start, end)) == sorted(valid)
        snap = worker.counters.snapshot()
        assert sum(snap["rejected"].values()) == len(published)  # type: ignore[attr-defined]
        assert worker.failure is None
        assert worker.connected
        assert all(SECRET not in r.getMessage() for r in caplog.records)
    finally:
        pub.close()
        worker.stop()


def _records() -> dict[str, WriteBatch]:
    """One record per kind with a value no store holds as it is."""
    now = datetime.now(UTC).replace(microsecond=0)
    state = GatewayStateRecord(
        at=now,
        gateway_id=GW,
        online=True,
        scanning=True,
        in_service=True,
        outbox_depth=0,
        adverts_per_s=1.0,
        battery_pct=50,
    )
    tlm = BeaconTelemetryRecord(
        at=now,
        checkpoint_id=static_checkpoints()[0].id,
        gateway_id=GW,
        battery_mv=3000,
        temperature_c=20.0,
        adv_count=1,
        uptime_s=1.0,
    )
    cp = static_checkpoints()[0]
    v = StoredVisit(
        event_id="01JDX8Z3Q4R5S6T7V8W9XYZABC",
        gateway_id=GW,
        seq=1,
        badge="EQUIPE-A1",
        checkpoint_id=cp.id,
        kind=cp.kind.value,
        building=cp.building,
        estate=cp.estate,
        landlord=cp.landlord,
        service_day=now.date(),
        first_seen=now,
        last_seen=now + timedelta(seconds=20),
        count=3,
        rssi_max=-60,
        rssi_mean=-70.0,
        verification=Verification.SIGNED,
        beacon_check=BeaconCheck.STATIC,
        received_at=now,
        payload_sha256="0" * 64,
    )
    return {
        "state outbox_depth 2^64": WriteBatch(gateway_states=(replace(state, outbox_depth=2**64),)),
        "state outbox_depth -2^63-1": WriteBatch(gateway_states=(replace(state, outbox_depth=-(2**63) - 1),)),
        "state adverts_per_s inf": WriteBatch(gateway_states=(replace(state, adverts_per_s=math.inf),)),
        "state adverts_per_s nan": WriteBatch(gateway_states=(replace(state, adverts_per_s=math.nan),)),
        "telemetry uptime_s inf": WriteBatch(telemetry=(replace(tlm, uptime_s=math.inf),)),
        "telemetry uptime_s nan": WriteBatch(telemetry=(replace(tlm, uptime_s=math.nan),)),
        "telemetry adv_count 2^64": WriteBatch(telemetry=(replace(tlm, adv_count=2**64),)),
        "visit seq 2^64": WriteBatch(visits=(replace(v, seq=2**64),)),
        "visit rssi_mean -inf": WriteBatch(visits=(replace(v, rssi_mean=-math.inf),)),
        "valid neighbours and one bad": WriteBatch(
            visits=(v,), telemetry=(tlm,), gateway_states=(replace(state, outbox_depth=2**64),)
        ),
    }


@pytest.mark.parametrize("case", sorted(_records()))
def test_the_engine_refuses_what_it_cannot_hold_with_store_rejected(store: Store, case: str) -> None:
    with pytest.raises(StoreRejected):
        store.write(_records()[case])
    start, end = _window()
    if isinstance(store, SqliteStore):  # one transaction: nothing of the refused batch is kept
        assert store.visits(start, end) == []
        assert store.latest_gateway_states() == {}
    # the store still works: the same kinds of record with ordinary values are written
    [state] = _records()["state outbox_depth 2^64"].gateway_states
    store.write(WriteBatch(gateway_states=(replace(state, outbox_depth=7),)))
    assert wait_for(lambda: store.latest_gateway_states()[GW].outbox_depth == 7, 10)


class RefusingStore(SqliteStore):
    """A real SQLite store that refuses for good any batch holding one given visit, as an engine
    refuses a value it cannot hold; everything else is written."""

    def __init__(self, path: Path, refused_event_id: str) -> None:
        super().__init__(path)
        self.refused_event_id = refused_event_id
        self.writes = 0

    def write(self, batch: WriteBatch) -> None:
        self.writes += 1
        if any(v.event_id == self.refused_event_id for v in batch.visits):
            raise StoreRejected("refused for the test")
        super().write(batch)


@pytest.mark.slow
def test_a_record_the_store_refuses_is_isolated_recorded_and_acked(broker: Mosquitto, tmp_path: Path) -> None:
    events = [visit(i) for i in range(1, 9)]
    poison = events[3]
    store = RefusingStore(tmp_path / "r.db", poison["id"])
    store.open()
    worker = _worker(store, broker.port)
    pub = Publisher(broker.port, GW)
    try:
        for e in events:  # published together: they land in one batch or a few
            pub.publish(topic(), encode(e), wait=False)
        start, end = _window()
        assert wait_for(lambda: len(store.visits(start, end)) == 7 and len(store.rejections(start, end)) == 1, 20)
        stored = sorted(v.event_id for v in store.visits(start, end))
        assert stored == sorted(e["id"] for e in events if e is not poison)
        [rejection] = store.rejections(start, end)
        assert rejection.reason is RejectReason.STORE_REFUSED
        assert (rejection.event_id, rejection.gateway_id, rejection.topic) == (poison["id"], GW, topic())
        assert rejection.payload_sha256 == hashlib.sha256(encode(poison)).hexdigest()
        assert "EQUIPE" not in rejection.detail
        assert worker.failure is None
        assert worker.connected
        assert worker.counters.snapshot()["rejected"] == {"store_refused": 1}
        assert wait_for(lambda: worker.pending == 0, 10)  # every message acked, the poison included
    finally:
        pub.close()
        worker.stop()
        store.close()
    # acked for good: a new worker on the same session receives nothing again
    again = RefusingStore(tmp_path / "r.db", poison["id"])
    again.open()
    w2 = IngestWorker(worker.config, again, REGISTRY, ALWAYS, GATEWAYS)
    w2.start()
    try:
        assert w2.wait_connected(10)
        assert not wait_for(lambda: again.writes > 0, 2)
    finally:
        w2.stop()
        again.close()
