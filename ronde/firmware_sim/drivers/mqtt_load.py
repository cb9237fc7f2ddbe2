"""Load driver: many virtual gateways publishing signed VisitEvents straight to MQTT (v5, QoS 1).

Each virtual gateway is what a real one looks like to the server: its own MQTT client id and
username (= gateway id, as the broker ACL expects), its own Ed25519 key (kept in ``keys_dir`` and
reused across runs, with the next sequence number, so reruns never replay old seqs), its own badge,
and visits to real beacons of the estate file (EIDs computed for the current time). The public keys
are written to ``keys_dir/gateways.json`` in the ingest's ``ronde-gateways`` format, ready to load.

``rate`` is the total number of events per second over all gateways; the events are spread evenly.
One paho network thread per gateway: fine for hundreds of gateways, use several processes beyond.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ronde.gateway.keys import create_key, load_key
from ronde.gateway.ulid import UlidGenerator
from ronde.protocol.eid import compute_eid
from ronde.protocol.estate import Checkpoint, Registry
from ronde.protocol.messages import (
    BeaconId,
    EddystoneEidId,
    EddystoneUidId,
    IBeaconId,
    VisitEvent,
    to_wire,
    wire_bytes,
)
from ronde.protocol.seedkey import SeedKey
from ronde.protocol.signing import public_key_text, sign
from ronde.protocol.topics import TopicKind, gateway_topic

log = logging.getLogger(__name__)
KEYS_FILE = "gateways.json"
STATE_FILE = "load-state.json"


@dataclass(frozen=True, slots=True)
class VirtualGateway:
    gateway_id: str
    badge: str
    key: SeedKey


@dataclass
class LoadStats:
    gateways: int = 0
    published: int = 0
    acked: int = 0
    failed: int = 0
    not_connected: int = 0
    duration_s: float = 0.0
    ack_latency_s: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.ack_latency_s)

        def pct(q: float) -> float | None:
            return None if not lat else round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 2)

        return {
            "gateways": self.gateways,
            "published": self.published,
            "acked": self.acked,
            "failed": self.failed,
            "not_connected": self.not_connected,
            "duration_s": round(self.duration_s, 3),
            "acked_per_s": round(self.acked / self.duration_s, 1) if self.duration_s else 0.0,
            "puback_ms": {"p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99)},
        }


def prepare_gateways(keys_dir: Path, count: int, prefix: str = "load-gw") -> list[VirtualGateway]:
    """Create (or reuse) keys for ``count`` gateways and write the public keys file."""
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    gateways = []
    for i in range(1, count + 1):
        gid = f"{prefix}-{i:04d}"
        path = keys_dir / f"{gid}.pem"
        key = load_key(path) if path.exists() else create_key(path)
        gateways.append(VirtualGateway(gid, f"LOAD-{i:04d}", key))
    doc = {
        "format": "ronde-gateways",
        "version": 1,
        "gateways": [{"id": g.gateway_id, "public_key": public_key_text(g.key), "badges": [g.badge]} for g in gateways],
    }
    (keys_dir / KEYS_FILE).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return gateways


def _load_state(keys_dir: Path) -> dict[str, int]:
    path = keys_dir / STATE_FILE
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): int(v) for k, v in data.get("next_seq", {}).items()}


def _save_state(keys_dir: Path, next_seq: dict[str, int]) -> None:
    (keys_dir / STATE_FILE).write_text(json.dumps({"next_seq": next_seq}, indent=1) + "\n", encoding="utf-8")


def beacon_for(checkpoint: Checkpoint, now: float) -> BeaconId:
    """The identity a scanner standing at ``checkpoint`` would report now."""
    spec = checkpoint.beacon
    fields = dict(spec.fields)
    if spec.format == "ibeacon":
        return IBeaconId(uuid=str(fields["uuid"]), major=int(fields["major"]), minor=int(fields["minor"]))
    if spec.format == "eddystone_uid":
        return EddystoneUidId(namespace=str(fields["namespace"]), instance=str(fields["instance"]))
    if spec.format == "eddystone_eid":
        assert spec.identity_key is not None
        assert spec.rotation_exponent is not None
        counter = max(0, int(now - (spec.clock_epoch or 0)))
        return EddystoneEidId(eid=compute_eid(spec.identity_key, spec.rotation_exponent, counter).hex())
    raise ValueError(f"no load support for beacon format {spec.format!r}")


def make_event(
    gw: VirtualGateway, seq: int, checkpoint: Checkpoint, now: float, rng: random.Random, ulids: UlidGenerator
) -> bytes:
    dwell = rng.uniform(30.0, 300.0)
    count = max(1, int(dwell * rng.uniform(0.5, 0.9)))
    rssi_max = rng.randint(-75, -50)
    event = VisitEvent(
        id=ulids.new(now),
        gateway_id=gw.gateway_id,
        seq=seq,
        badge=gw.badge,
        beacon=beacon_for(checkpoint, now),
        first_seen=datetime.fromtimestamp(now - dwell, UTC),
        last_seen=datetime.fromtimestamp(now, UTC),
        count=count,
        rssi_max=rssi_max,
        rssi_mean=round(rssi_max - rng.uniform(2.0, 10.0), 1),
    )
    signed = sign(to_wire(event), gw.key)
    return wire_bytes(signed)


class _Client:
    def __init__(
        self, gw: VirtualGateway, host: str, port: int, password: str | None, stats: LoadStats, lock: threading.Lock
    ) -> None:
        self.gw = gw
        self.stats = stats
        self.lock = lock
        self.sent_at: dict[int, float] = {}
        self.early_acks: dict[int, float] = {}
        self.connected = threading.Event()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=gw.gateway_id, protocol=mqtt.MQTTv5)
        c.username_pw_set(gw.gateway_id, password)
        c.max_inflight_messages_set(100)
        c.max_queued_messages_set(0)
        c.on_connect = self._on_connect
        c.on_publish = self._on_publish
        c.on_disconnect = self._on_disconnect
        self.client = c
        c.connect_async(host, port, keepalive=30)
        c.loop_start()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if not reason.is_failure:
            self.connected.set()
        else:
            log.warning("%s: connection refused: %s", self.gw.gateway_id, reason)

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.connected.clear()

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        # Runs on paho's thread, possibly before ``publish`` below has recorded the mid: never call
        # paho while holding ``lock`` (paho holds its own locks around this callback).
        now = time.monotonic()
        with self.lock:
            if reason.is_failure:
                self.stats.failed += 1
                self.sent_at.pop(mid, None)
                return
            self.stats.acked += 1
            sent = self.sent_at.pop(mid, None)
            if sent is None:
                self.early_acks[mid] = now
            else:
                self.stats.ack_latency_s.append(now - sent)

    def publish(self, payload: bytes) -> bool:
        sent = time.monotonic()
        info = self.client.publish(gateway_topic(self.gw.gateway_id, TopicKind.VISIT), payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return False
        with self.lock:
            self.stats.published += 1
            acked = self.early_acks.pop(info.mid, None)
            if acked is None:
                self.sent_at[info.mid] = sent
            else:
                self.stats.ack_latency_s.append(acked - sent)
        return True

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def run_load(
    registry: Registry,
    *,
    gateways: int,
    rate: float,
    duration_s: float,
    host: str,
    port: int,
    keys_dir: Path,
    password: str | None = None,
    seed: int = 0,
    connect_timeout_s: float = 15.0,
    drain_timeout_s: float = 15.0,
    clock: Callable[[], float] = time.time,
) -> LoadStats:
    if gateways < 1 or rate <= 0 or duration_s <= 0:
        raise ValueError("gateways, rate and duration must be positive")
    vgs = prepare_gateways(keys_dir, gateways)
    next_seq = _load_state(keys_dir)
    stats = LoadStats(gateways=gateways)
    lock = threading.Lock()
    rng = random.Random(seed)
    ulids = UlidGenerator()
    checkpoints = sorted(
        (c for c in registry.checkpoints.values() if c.beacon.format != "altbeacon"), key=lambda c: c.id
    )
    clients = [_Client(g, host, port, password, stats, lock) for g in vgs]
    try:
        deadline = time.monotonic() + connect_timeout_s
        for c in clients:
            if not c.connected.wait(max(0.0, deadline - time.monotonic())):
                raise ConnectionError(
                    f"{c.gw.gateway_id}: not connected to {host}:{port} after {connect_timeout_s:.0f} s"
                )
        period = 1.0 / rate
        start = time.monotonic()
        i = 0
        while True:
            due = start + i * period
            if due - start >= duration_s:
                break
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            client = clients[i % len(clients)]
            gid = client.gw.gateway_id
            seq = next_seq.get(gid, 1)
            payload = make_event(client.gw, seq, rng.choice(checkpoints), clock(), rng, ulids)
            if client.connected.is_set() and client.publish(payload):
                next_seq[gid] = seq + 1
            else:
                stats.not_connected += 1
            i += 1
        drain_until = time.monotonic() + drain_timeout_s
        while time.monotonic() < drain_until:
            with lock:
                if stats.acked + stats.failed >= stats.published:
                    break
            time.sleep(0.01)
        stats.duration_s = time.monotonic() - start
    finally:
        for c in clients:
            c.close()
        _save_state(keys_dir, next_seq)
    return stats
