"""Test helpers for the gateway: beacon advertisements, a scripted patrol source, config files and an
MQTT collector (a real paho subscriber with a persistent session on a real mosquitto)."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ronde.gateway.clock import Clock
from ronde.gateway.config import GatewayConfig, parse_config
from ronde.gateway.keys import create_key
from ronde.protocol.radio import APPLE_COMPANY_ID, EDDYSTONE_SERVICE_UUID, Advertisement
from tests.gateway.bluez_support import eddystone_uid_frame

UUID = "f7826da64fa24e988024bc5b71e0893e"


def ibeacon_payload(uuid: str, major: int, minor: int, power: int = -59) -> bytes:
    ids = bytes.fromhex(uuid) + major.to_bytes(2, "big") + minor.to_bytes(2, "big")
    return b"\x02\x15" + ids + (power & 0xFF).to_bytes(1, "big")


def ibeacon_adv(t: float, minor: int, rssi: int = -60, major: int = 1, address: str | None = None) -> Advertisement:
    return Advertisement(
        t=t,
        address=address or f"C0:00:00:00:{major % 256:02X}:{minor % 256:02X}",
        rssi=rssi,
        manufacturer_data=MappingProxyType({APPLE_COMPANY_ID: ibeacon_payload(UUID, major, minor)}),
    )


def eddystone_uid_adv(
    t: float, namespace: str, instance: str, rssi: int = -60, address: str = "C1:00:00:00:00:01"
) -> Advertisement:
    frame = eddystone_uid_frame(namespace, instance)
    service_data = MappingProxyType({EDDYSTONE_SERVICE_UUID: frame})
    return Advertisement(t=t, address=address, rssi=rssi, service_data=service_data)


def ibeacon_key(minor: int, major: int = 1) -> str:
    return f"ibeacon:{UUID}:{major}:{minor}"


@dataclass
class PatrolSource:
    """A team walking past ``minors`` one after the other: ``dwell_s`` near each beacon (one advert per
    ``interval_s``), ``walk_s`` between them; simulated time from the injected clock."""

    clock: Clock
    minors: list[int]
    dwell_s: float = 20.0
    walk_s: float = 15.0
    interval_s: float = 1.0
    started: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    position: int = 0
    gate: Callable[[], bool] | None = None

    async def stream(self) -> AsyncIterator[Advertisement]:
        self.started.set()
        while self.position < len(self.minors):
            if self.gate is not None and not self.gate():
                await asyncio.sleep(0.02)
                continue
            minor = self.minors[self.position]
            for _ in range(max(1, math.ceil(self.dwell_s / self.interval_s))):  # a count, not a deadline: a
                # process starved under load (an accelerated clock jumps) still gives each beacon all its adverts
                yield ibeacon_adv(self.clock.now(), minor)
                await self.clock.sleep(self.interval_s)
            self.position += 1
            await self.clock.sleep(self.walk_s)
        self.done.set()
        while True:  # the radio stays on, the street is empty
            await self.clock.sleep(3600)


PERSISTENT_BROKER = (
    # ``user root``: mosquitto started as root otherwise drops to user "mosquitto", which cannot write its
    # persistence file in a root-only temporary directory, and a restart would lose every session.
    "listener {port} 127.0.0.1\nallow_anonymous true\nuser root\npersistence true\n"
    "persistence_location {workdir}/\nautosave_interval 1\nmax_queued_messages 100000\nlog_dest stdout\n"
)


def config_text(
    tmp: Path,
    port: int,
    *,
    gateway_id: str = "gw-test-1",
    extra: str = "",
    heartbeat_s: float = 30,
    mqtt_extra: str = "",
) -> str:
    return f"""
heartbeat_s = {heartbeat_s}

[gateway]
id = "{gateway_id}"
badge = "team-a7"
key_file = "{tmp}/device.key"

[mqtt]
host = "127.0.0.1"
port = {port}
tls = false
keepalive_s = 5
session_expiry_s = 3600
reconnect_initial_s = 0.2
reconnect_max_s = 1.0
inflight_window = 5
{mqtt_extra}

[outbox]
path = "{tmp}/outbox.db"
alarm_depth = 10

[telemetry]
period_s = 600
{extra}
"""


async def eventually(predicate: Callable[[], bool], within: float, what: str) -> None:
    """Poll ``predicate`` (state owned by other tasks or threads) until true, or fail saying what was awaited."""
    deadline = time.monotonic() + within
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        await asyncio.sleep(0.05)


def make_config(tmp: Path, port: int, **kwargs: Any) -> GatewayConfig:
    key = tmp / "device.key"
    if not key.exists():
        create_key(key)
    return parse_config(config_text(tmp, port, **kwargs), "test.toml")


class Collector:
    """Subscribes (QoS 1, persistent session) to everything under ronde/v1/gw/ and keeps what arrives."""

    def __init__(self, port: int, client_id: str = "test-collector", auth: tuple[str, str] | None = None) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.reconnect_delay_set(1, 1)
        if auth is not None:
            self.client.username_pw_set(*auth)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", port, keepalive=5, clean_start=False, properties=props)
        self.client.loop_start()
        self.wait(lambda: self.subscribed, 10)

    subscribed = False

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        client.subscribe("ronde/v1/gw/#", qos=1)
        self.subscribed = True

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload)))

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(p) for t, p in self.messages if t.endswith("/" + kind) and p]

    def wait(self, predicate: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise TimeoutError("condition not met in time")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
