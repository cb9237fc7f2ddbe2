"""Where an ingest worker's messages come from: a narrow ``MessageSource`` protocol, and
``PahoSource``, its MQTT implementation (paho-mqtt 2.x, MQTT v5 or 3.1.1, manual acks).

The worker needs four things of a source: receive until told to stop, acknowledge one message
after its write is durable, say whether it is connected and subscribed, and disconnect. Everything
MQTT (the durable session, subscriptions, reconnects, connection generations) stays here, so the
worker's ack-after-write rules are tested with a list of messages (``tests/ingest/test_worker_unit.py``).
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from ronde.ingest.config import IngestConfig
from ronde.ingest.paho_client import BufferedClient
from ronde.ingest.pipeline import Incoming
from ronde.ingest.window import ReceiveWindow
from ronde.protocol.backoff import Backoff
from ronde.protocol.topics import TopicKind, subscription

log = logging.getLogger("ronde.ingest.consumer")  # the worker's log, as before the split
# CONNACK reason codes that no retry will fix: bad credentials, not authorised, banned, bad client id
_PERMANENT_REFUSALS = frozenset({0x85, 0x86, 0x87, 0x8A})
SUBSCRIBED_KINDS = (TopicKind.VISIT, TopicKind.STATUS, TopicKind.HEARTBEAT, TopicKind.TELEMETRY)
TOPIC_CACHE_SIZE = 4096  # a few topics per gateway; cleared when full (a broker letting anything through)
Deliver = Callable[[Incoming], None]


class BrokerRefused(ConnectionRefusedError):
    """The broker refused this client for a reason no retry will fix (credentials, ACL, ban)."""


class MessageSource(Protocol):
    """Messages in, acknowledgements out. A message is acked at most once, and only by ``ack``."""

    @property
    def ready(self) -> bool:
        """Connected and subscribed: messages published from now on reach this source."""

    @property
    def connections(self) -> int:
        """Successful connections so far (reconnects included)."""

    def wait_ready(self, timeout: float) -> bool: ...

    def run(self, deliver: Deliver, stopping: threading.Event) -> None:
        """Receive (reconnecting as needed) until ``stopping`` is set, handing each message to
        ``deliver`` from the source's own thread. Raises ``BrokerRefused`` when the broker
        refuses this client for good (credentials, ACL): retrying cannot help."""

    def ack(self, message: Incoming) -> bool:
        """Acknowledge ``message`` (its write is durable). False, and nothing sent, if it came on a
        connection that has since dropped: its packet id died with it, the broker redelivers it."""

    def close(self, *, forget_session: bool = False) -> None:
        """Disconnect, after the last acks. ``forget_session``: the broker drops the session now."""


SourceFactory = Callable[[IngestConfig, bool], MessageSource]  # (config, retire) -> source


class PahoSource:
    """The worker's MQTT session: client id ``ingest-{name}``, persistent session (clean_start=False
    + Session Expiry), Receive Maximum = the window of unacked messages, re-subscribed on every
    connect (Mosquitto 2.0.11 forgets durable clients' ``$share`` subscriptions), reconnects with
    the protocol's backoff. paho's network thread runs under ``run`` (``loop_start``).

    Each connect and disconnect starts a new *generation*; a message carries the generation it
    arrived in and ``ack`` sends its PUBACK only within that same generation (checked and sent
    under one lock, so a reconnect cannot slip in between). ``retire=True`` leaves the shared
    subscriptions instead of joining them (the session is drained, then forgotten on ``close``)."""

    def __init__(self, config: IngestConfig, retire: bool = False) -> None:
        self.config = config
        self.retire = retire
        self._connections = 0
        self._generation = 0
        self._lock = threading.Lock()  # generation changes vs. acks
        self._connected = threading.Event()
        self._ready = threading.Event()  # connected and subscribed
        self._disconnected = threading.Event()
        self._refused: BrokerRefused | None = None
        self._stopping = threading.Event()
        self._deliver: Deliver = _drop
        # one str per topic, shared by its messages, instead of one decoded per message (up to a window's worth held:
        # ~0.3 MB at 4,000); read and filled by paho's network thread only
        self._topics: dict[bytes, str] = {}
        self._backoff = Backoff(config.reconnect_min_s, config.reconnect_max_s)
        self.client = self._make_client()

    # ---- MessageSource --------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def connections(self) -> int:
        return self._connections

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def run(self, deliver: Deliver, stopping: threading.Event) -> None:
        c = self.config
        self._deliver, self._stopping = deliver, stopping
        while not stopping.is_set():
            self._disconnected.clear()
            try:
                self._connect()
            except (OSError, ssl.SSLError, ValueError) as exc:
                delay = self._backoff.next_delay()
                log.warning(
                    "broker %s:%d unreachable (%s); retrying in %.1f s", c.broker_host, c.broker_port, exc, delay
                )
                stopping.wait(delay)
                continue
            self.client.loop_start()
            while not self._disconnected.is_set() and not stopping.is_set():
                self._disconnected.wait(0.2)
            if self._refused is not None:
                raise self._refused
            if stopping.is_set():
                return
            self.client.loop_stop()
            delay = self._backoff.next_delay()
            log.warning("disconnected from the broker; reconnecting in %.1f s", delay)
            stopping.wait(delay)

    def ack(self, message: Incoming) -> bool:
        if message.qos == 0:
            return True  # nothing to acknowledge
        with self._lock:
            if message.generation != self._generation:
                return False
            self.client.ack(message.mid, message.qos)
        return True

    def hold_back(self, window: ReceiveWindow) -> None:
        """Read no PUBLISH while ``window`` (the worker's messages received and not yet acked) is full: the
        broker's Receive Maximum, kept on the worker's side too (``ronde.ingest.window``)."""
        if isinstance(self.client, BufferedClient):
            self.client.window = window

    def ack_many(self, messages: list[Incoming]) -> int:
        """``ack`` of each message, in order, the QoS 1 PUBACKs of the connection in force queued as one write
        (``BufferedClient.ack_many``); answers how many were acknowledged (the others are redelivered)."""
        client = self.client
        if not isinstance(client, BufferedClient):
            return sum(self.ack(m) for m in messages)
        with self._lock:
            generation = self._generation
            current = [m for m in messages if m.qos == 0 or m.generation == generation]
            client.ack_many([m.mid for m in current if m.qos == 1])
            for m in current:
                if m.qos > 1:  # not subscribed at QoS 2: only if a broker sent one anyway
                    client.ack(m.mid, m.qos)
        return len(current)

    def close(self, *, forget_session: bool = False) -> None:
        if self._connected.is_set():
            props = None
            if forget_session and self.config.mqtt_version == "5":
                props = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
                props.SessionExpiryInterval = 0  # the broker forgets this session now
            self.client.disconnect(properties=props)
        self.client.loop_stop()

    # ---- paho -----------------------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        c = self.config
        if c.mqtt_version == "5":
            client = BufferedClient(
                CallbackAPIVersion.VERSION2,
                client_id=c.client_id,
                protocol=mqtt.MQTTv5,
                reconnect_on_failure=False,
                manual_ack=True,
            )
        else:  # a durable session the 3.1.1 way; the broker's own in-flight window applies
            client = BufferedClient(
                CallbackAPIVersion.VERSION2,
                client_id=c.client_id,
                protocol=mqtt.MQTTv311,
                clean_session=False,
                reconnect_on_failure=False,
                manual_ack=True,
            )
        if c.username is not None:
            client.username_pw_set(c.username, c.password.get_secret_value() if c.password else None)
        if c.tls:
            client.tls_set(ca_certs=str(c.tls_ca) if c.tls_ca else None, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.max_inflight_messages_set(100)  # our own publishes only (none): not the receive window
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def _connect(self) -> None:
        c = self.config
        if c.mqtt_version != "5":
            self.client.connect(c.broker_host, c.broker_port, keepalive=c.keepalive_s)
            return
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = c.session_expiry_s
        props.ReceiveMaximum = c.receive_maximum
        self.client.connect(c.broker_host, c.broker_port, keepalive=c.keepalive_s, clean_start=False, properties=props)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            if reason.value in _PERMANENT_REFUSALS:  # retrying cannot help: stop with a clear message
                self._refused = BrokerRefused(
                    f"broker refused {self.config.client_id} (user {self.config.username!r}): {reason}"
                )
                self._disconnected.set()
            return
        with self._lock:
            self._generation += 1
        self._connections += 1
        self._backoff.reset()
        shared = self.config.shared
        if self.retire:
            client.unsubscribe([subscription(kind, shared=shared) for kind in SUBSCRIBED_KINDS])
            log.info("retiring %s: left the shared subscriptions; draining its session", self.config.client_id)
            self._connected.set()
            self._ready.set()
            return
        # Subscribe on every connect, session present or not: Mosquitto < 2.0.12 does not restore
        # the $share subscriptions of a durable client, and re-subscribing is harmless elsewhere.
        result, _ = client.subscribe([(subscription(kind, shared=shared), 1) for kind in SUBSCRIBED_KINDS])
        if result != MQTTErrorCode.MQTT_ERR_SUCCESS:
            log.error("subscribe failed: %s", result)
        log.info("connected as %s (session present: %s)", self.config.client_id, flags.session_present)
        self._connected.set()

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: list[ReasonCode], properties: Properties | None
    ) -> None:
        failed = [str(r) for r in reasons if r.is_failure]
        if failed:
            log.error("subscription refused by the broker (check its ACL): %s", ", ".join(failed))
        else:
            log.info("subscribed: %s", ", ".join(subscription(k, shared=self.config.shared) for k in SUBSCRIBED_KINDS))
            self._ready.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._lock:
            self._generation += 1
        self._connected.clear()
        self._ready.clear()
        self._disconnected.set()
        if not self._stopping.is_set():
            log.warning("connection lost: %s", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        raw = message._topic
        topic = self._topics.get(raw)
        if topic is None:
            topic = self._topic_str(raw)
        self._deliver(
            Incoming(topic, bytes(message.payload), datetime.now(UTC), message.mid, message.qos, self._generation)
        )

    def _topic_str(self, raw: bytes) -> str:
        """The topic as text (undecodable bytes replaced, as before: the message is then rejected by topic), kept."""
        topic = bytes(raw).decode("utf-8", "replace")
        if len(self._topics) >= TOPIC_CACHE_SIZE:
            self._topics.clear()
        self._topics[bytes(raw)] = topic
        return topic


def _drop(message: Incoming) -> None:
    """Before ``run``: nothing is taken (and so nothing acked)."""
