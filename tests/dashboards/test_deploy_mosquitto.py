"""The broker config shipped in deploy/mosquitto (the one docker-compose mounts), on the real
``mosquitto`` binary (Debian's 2.0.11) with paho-mqtt 2.x over MQTT v5.

Checked: anonymous and wrong-password clients are refused; a gateway can publish under its own id
only (its message under another gateway's id never reaches a subscriber, and it gets "not
authorized"); a gateway cannot read other gateways' topics; ingest reads everything, through a
shared subscription too; the TLS listener works; a persistent ingest session keeps more than
Mosquitto's default 1000 queued messages while ingest is away.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.dashboards.shipped_broker import ShippedBroker, run_shipped_broker

pytestmark = pytest.mark.mosquitto

USERS = {"gw-a": "secret-a", "gw-b": "secret-b", "ingest": "secret-ingest", "healthcheck": "secret-health"}


@dataclass
class Client:
    client: mqtt.Client
    connack: threading.Event = field(default_factory=threading.Event)
    reason: Any = None
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    suback: list[Any] = field(default_factory=list)
    puback: dict[int, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_messages(self, n: int, timeout: float = 10.0) -> list[tuple[str, bytes]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= n:
                    return list(self.messages)
            time.sleep(0.02)
        with self.lock:
            return list(self.messages)

    def publish(self, topic: str, payload: bytes) -> Any:
        info = self.client.publish(topic, payload, qos=1)
        deadline = time.monotonic() + 10
        while info.mid not in self.puback and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.puback.get(info.mid)

    def subscribe(self, topic: str) -> Any:
        before = len(self.suback)
        self.client.subscribe(topic, qos=1)
        deadline = time.monotonic() + 10
        while len(self.suback) == before and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.suback[-1][0]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def connect(
    port: int,
    user: str | None,
    password: str | None,
    *,
    client_id: str,
    tls_ca: str | None = None,
    clean_start: bool = True,
    session_expiry: int = 0,
) -> Client:
    c = Client(mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5))
    if user is not None:
        c.client.username_pw_set(user, password)
    if tls_ca is not None:
        c.client.tls_set(ca_certs=tls_ca, cert_reqs=ssl.CERT_REQUIRED)

    def on_connect(client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        c.reason = reason
        c.connack.set()

    def on_message(client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with c.lock:
            c.messages.append((msg.topic, bytes(msg.payload)))

    def on_subscribe(client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        c.suback.append(reasons)

    def on_publish(client: mqtt.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        c.puback[mid] = reason

    c.client.on_connect = on_connect
    c.client.on_message = on_message
    c.client.on_subscribe = on_subscribe
    c.client.on_publish = on_publish
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    if session_expiry:
        props.SessionExpiryInterval = session_expiry
    props.ReceiveMaximum = 200
    c.client.connect("127.0.0.1", port, clean_start=clean_start, properties=props)
    c.client.loop_start()
    assert c.connack.wait(10), "no CONNACK"
    return c


def barrier(c: Client) -> None:
    """A round trip on ``c``'s connection, instead of waiting a while for nothing: the broker routes a
    PUBLISH to every subscriber when it receives it (before its PUBACK), and a SUBACK asked for afterwards
    is queued behind anything already routed to ``c``. Once it is back, a message that was going to reach
    ``c`` has arrived."""
    assert not c.subscribe("ronde/v1/barrier").is_failure


@pytest.fixture(scope="module")
def broker() -> Iterator[ShippedBroker]:
    with run_shipped_broker(USERS) as b:
        yield b


def test_config_is_the_shipped_one(broker: ShippedBroker) -> None:
    text = broker.config_text
    for line in (
        "allow_anonymous false",
        "persistence true",
        "max_queued_messages 500000",
        "per_listener_settings false",
    ):
        assert line in text.splitlines()


def test_anonymous_and_bad_passwords_are_refused(broker: ShippedBroker) -> None:
    port = broker.broker.port
    anonymous = connect(port, None, None, client_id="anon")
    assert anonymous.reason.is_failure, anonymous.reason
    wrong = connect(port, "gw-a", "not-the-password", client_id="wrong")
    assert wrong.reason.is_failure, wrong.reason
    unknown = connect(port, "gw-z", "whatever", client_id="unknown")
    assert unknown.reason.is_failure, unknown.reason
    for c in (anonymous, wrong, unknown):
        c.client.loop_stop()


def test_gateway_publishes_only_under_its_own_id(broker: ShippedBroker) -> None:
    port = broker.broker.port
    ingest = connect(port, "ingest", USERS["ingest"], client_id="ingest-1")
    assert not ingest.reason.is_failure
    assert not ingest.subscribe("ronde/v1/gw/#").is_failure
    gw_a = connect(port, "gw-a", USERS["gw-a"], client_id="gw-a")
    try:
        ok = gw_a.publish("ronde/v1/gw/gw-a/visit", b"from-a-as-a")
        forged = gw_a.publish("ronde/v1/gw/gw-b/visit", b"from-a-as-b")
        outside = gw_a.publish("ronde/v1/other", b"from-a-outside")
        assert not ok.is_failure
        assert forged.is_failure, forged
        assert forged.getName() == "Not authorized", forged
        assert outside.is_failure
        # the sentinel: published after the forgery on the same connection, so a forgery the broker let
        # through would reach ingest before it (MQTT keeps one publisher's order per subscriber)
        assert not gw_a.publish("ronde/v1/gw/gw-a/visit", b"sentinel").is_failure
        got = ingest.wait_messages(2)
        assert got == [("ronde/v1/gw/gw-a/visit", b"from-a-as-a"), ("ronde/v1/gw/gw-a/visit", b"sentinel")], got
    finally:
        gw_a.close()
        ingest.close()


def test_gateway_cannot_read_other_gateways(broker: ShippedBroker) -> None:
    """Mosquitto grants the SUBSCRIBE but checks read access per message: nothing is delivered."""
    port = broker.broker.port
    spy = connect(port, "gw-a", USERS["gw-a"], client_id="gw-a-reader")
    spy.subscribe("ronde/v1/gw/#")
    ingest = connect(port, "ingest", USERS["ingest"], client_id="ingest-control")
    ingest.subscribe("ronde/v1/gw/gw-b/status")
    gw_b = connect(port, "gw-b", USERS["gw-b"], client_id="gw-b-status")
    try:
        assert not gw_b.publish("ronde/v1/gw/gw-b/status", b"online").is_failure
        assert ingest.wait_messages(1) == [("ronde/v1/gw/gw-b/status", b"online")]
        barrier(spy)
        assert spy.messages == []
    finally:
        for c in (gw_b, ingest, spy):
            c.close()


def test_ingest_reads_all_gateways_through_a_shared_subscription(broker: ShippedBroker) -> None:
    port = broker.broker.port
    ingest = connect(port, "ingest", USERS["ingest"], client_id="ingest-shared")
    assert not ingest.subscribe("$share/ingest/ronde/v1/gw/+/visit").is_failure
    gws = [connect(port, g, USERS[g], client_id=g + "-pub") for g in ("gw-a", "gw-b")]
    try:
        for g, c in zip(("gw-a", "gw-b"), gws, strict=True):
            assert not c.publish(f"ronde/v1/gw/{g}/visit", g.encode()).is_failure
        got = ingest.wait_messages(2)
        assert sorted(got) == [("ronde/v1/gw/gw-a/visit", b"gw-a"), ("ronde/v1/gw/gw-b/visit", b"gw-b")]
    finally:
        for c in (*gws, ingest):
            c.close()


def test_healthcheck_user_reads_uptime_only(broker: ShippedBroker) -> None:
    """What the compose health check runs: read $SYS/broker/uptime, nothing else."""
    health = connect(broker.broker.port, "healthcheck", USERS["healthcheck"], client_id="health")
    health.subscribe("$SYS/broker/uptime")
    health.subscribe("ronde/v1/gw/#")
    gw_a = connect(broker.broker.port, "gw-a", USERS["gw-a"], client_id="gw-a-health")
    try:
        assert not gw_a.publish("ronde/v1/gw/gw-a/visit", b"x").is_failure  # PUBACKed: the broker has routed it
        barrier(health)
        got = health.wait_messages(1, timeout=15)  # $SYS is published every 10 s
        assert [t for t, _ in health.messages] == ["$SYS/broker/uptime"] * len(health.messages), got
        assert got
    finally:
        gw_a.close()
        health.close()


def test_tls_listener(broker: ShippedBroker) -> None:
    port = broker.broker.port
    ingest = connect(port, "ingest", USERS["ingest"], client_id="ingest-tls")
    assert not ingest.subscribe("ronde/v1/gw/+/heartbeat").is_failure
    gw_b = connect(broker.tls_port, "gw-b", USERS["gw-b"], client_id="gw-b-tls", tls_ca=str(broker.ca_file))
    try:
        assert not gw_b.reason.is_failure
        assert not gw_b.publish("ronde/v1/gw/gw-b/heartbeat", b"tls").is_failure
        assert ingest.wait_messages(1) == [("ronde/v1/gw/gw-b/heartbeat", b"tls")]
    finally:
        gw_b.close()
        ingest.close()


def test_offline_ingest_session_keeps_more_than_the_default_queue(broker: ShippedBroker) -> None:
    """1,500 events (Mosquitto's default would drop beyond 1,000) published while ingest is away."""
    port = broker.broker.port
    n = 1500
    ingest = connect(port, "ingest", USERS["ingest"], client_id="ingest-durable", clean_start=True, session_expiry=3600)
    assert not ingest.subscribe("ronde/v1/gw/gw-a/telemetry").is_failure
    ingest.client.disconnect()
    ingest.client.loop_stop()
    gw_a = connect(port, "gw-a", USERS["gw-a"], client_id="gw-a-burst")
    try:
        for i in range(n):
            gw_a.client.publish("ronde/v1/gw/gw-a/telemetry", str(i).encode(), qos=1)
        deadline = time.monotonic() + 30
        while len(gw_a.puback) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(gw_a.puback) == n
    finally:
        gw_a.close()
    back = connect(port, "ingest", USERS["ingest"], client_id="ingest-durable", clean_start=False, session_expiry=3600)
    try:
        got = back.wait_messages(n, timeout=30)
        assert sorted(int(p) for _, p in got) == list(range(n))
    finally:
        back.close()
