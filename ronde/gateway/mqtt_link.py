"""The MQTT connection (paho-mqtt 2.x, MQTT v5), behind a narrow ``MqttLink`` protocol.

paho runs in one network thread driven by our own loop (not ``loop_forever``) so that reconnects
use our jittered, capped backoff; its callbacks become ``LinkEvent``s on an asyncio queue. QoS 1
messages stay in paho's session store across reconnects and are re-sent with DUP and the same mid,
so the publisher's mid→row map stays valid; after a process restart the outbox re-sends instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ronde.protocol.backoff import Backoff

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Connected:
    session_present: bool


@dataclass(frozen=True, slots=True)
class Disconnected:
    reason: str


@dataclass(frozen=True, slots=True)
class Published:
    mid: int
    ok: bool
    reason: str


LinkEvent = Connected | Disconnected | Published


class MqttLink(Protocol):
    @property
    def connected(self) -> bool: ...

    def start(self) -> None:
        """Begin connecting in the background (returns at once)."""

    def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool = False) -> int | None:
        """Queue a message; the mid whose ``Published`` event will follow, or None if it was not taken."""

    async def next_event(self) -> LinkEvent: ...

    async def close(self, last_words: tuple[str, bytes] | None = None) -> None:
        """Publish ``last_words`` (retained, QoS 1) if connected, then disconnect cleanly."""


@dataclass(frozen=True, slots=True)
class LinkSettings:
    host: str
    port: int
    client_id: str
    username: str
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    client_cert_file: str | None = None
    client_key_file: str | None = None
    keepalive_s: int = 30
    session_expiry_s: int = 7 * 86400
    reconnect_initial_s: float = 1.0
    reconnect_max_s: float = 60.0
    inflight_window: int = 20
    will: tuple[str, bytes] | None = None
    protocol: Literal["v5", "v3.1.1"] = "v5"


class PahoLink:
    def __init__(self, settings: LinkSettings) -> None:
        self.settings = settings
        self._loop: asyncio.AbstractEventLoop | None = None
        self._events: asyncio.Queue[LinkEvent] = asyncio.Queue()
        self._stop = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected = False
        self._client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        if s.protocol == "v5":
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=s.client_id, protocol=mqtt.MQTTv5)
        else:  # only for brokers without v5 (the embedded demo broker): persistent session the 3.1.1 way
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=s.client_id, protocol=mqtt.MQTTv311, clean_session=False
            )
        client.username_pw_set(s.username, s.password)
        if s.tls:
            client.tls_set(
                ca_certs=s.ca_file,
                certfile=s.client_cert_file,
                keyfile=s.client_key_file,
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        if s.will is not None:
            client.will_set(s.will[0], s.will[1], qos=1, retain=True)
        client.max_inflight_messages_set(s.inflight_window)
        client.max_queued_messages_set(0)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        return client

    # ---- callbacks (paho's network thread) -----------------------------------------------------

    def _emit(self, event: LinkEvent) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._events.put_nowait, event)

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.error("broker %s:%d refused the connection: %s", self.settings.host, self.settings.port, reason)
            return
        self._connected = True
        log.info(
            "connected to %s:%d (session present: %s)", self.settings.host, self.settings.port, flags.session_present
        )
        self._emit(Connected(bool(flags.session_present)))

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        was = self._connected
        self._connected = False
        if was:
            log.warning("disconnected from %s:%d: %s", self.settings.host, self.settings.port, reason)
            self._emit(Disconnected(str(reason)))

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        self._emit(Published(mid, not reason.is_failure, str(reason)))

    # ---- network thread ------------------------------------------------------------------------

    def _run(self) -> None:
        s = self.settings
        backoff = Backoff(s.reconnect_initial_s, s.reconnect_max_s)
        v5 = s.protocol == "v5"
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = s.session_expiry_s
        while not self._closing.is_set():
            try:
                if v5:
                    self._client.connect(s.host, s.port, s.keepalive_s, clean_start=False, properties=props)
                else:
                    self._client.connect(s.host, s.port, s.keepalive_s)
            except (OSError, ssl.SSLError, ValueError) as exc:
                delay = backoff.next_delay()
                log.warning("cannot reach broker %s:%d (%s); retrying in %.1fs", s.host, s.port, exc, delay)
                self._closing.wait(delay)
                continue
            rc = MQTTErrorCode.MQTT_ERR_SUCCESS
            while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and not self._stop.is_set():
                rc = self._client.loop(timeout=0.2)
                if self._connected:
                    backoff.reset()
            if self._closing.is_set():
                break
            delay = backoff.next_delay()
            log.info("reconnecting to %s:%d in %.1fs", s.host, s.port, delay)
            self._closing.wait(delay)
        self._connected = False

    # ---- MqttLink --------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name=f"mqtt-{self.settings.client_id}", daemon=True)
        self._thread.start()

    def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool = False) -> int | None:
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            # NO_CONN with QoS>0: paho keeps it in its session store and sends it after reconnecting.
            return None if qos == 0 and info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS else int(info.mid)
        log.error("paho refused to queue a message on %s: %s", topic, mqtt.error_string(info.rc))
        return None

    async def next_event(self) -> LinkEvent:
        return await self._events.get()

    async def close(self, last_words: tuple[str, bytes] | None = None) -> None:
        self._closing.set()
        if self._connected and last_words is not None:
            info = self._client.publish(last_words[0], last_words[1], qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                await asyncio.to_thread(info.wait_for_publish, 3.0)
        if self._connected:
            self._client.disconnect()
            for _ in range(20):
                if not self._connected:
                    break
                await asyncio.sleep(0.05)
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 5.0)
        self._connected = False
