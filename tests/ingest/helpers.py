"""Builders shared by the ingest tests: a registry, an always-open calendar, signed wire events."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ronde.ingest.pipeline import BatchProcessor, Incoming
from ronde.ingest.validate import ValidationContext
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.eid import compute_eid
from ronde.protocol.estate import Checkpoint, Registry, load_default_estate
from ronde.protocol.gateways import GatewayRegistry, gateway_entry
from ronde.protocol.messages import format_time, wire_bytes
from ronde.protocol.signing import public_key_text, sign
from ronde.protocol.topics import TopicKind, gateway_topic
from ronde.store.port import Store

# Every hour of every day is service time, so tests run whatever the wall clock says.
ALWAYS = ServiceCalendar(days=frozenset(range(7)), start=datetime.min.time(), end=datetime.min.time(), timezone="UTC")
REGISTRY: Registry = load_default_estate()
GW = "gw-test"
GW2 = "gw-other"
KEYS: dict[str, Ed25519PrivateKey] = {GW: Ed25519PrivateKey.generate(), GW2: Ed25519PrivateKey.generate()}
GATEWAYS = GatewayRegistry.of(*(gateway_entry(g, public_key_text(k)) for g, k in KEYS.items()))
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(at: datetime | None = None) -> str:
    ms = int((at or datetime.now(UTC)).timestamp() * 1000)
    n = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(n >> (5 * i)) & 31] for i in range(25, -1, -1))


def static_checkpoints() -> list[Checkpoint]:
    return [c for c in REGISTRY.checkpoints.values() if c.beacon.key is not None]


def beacon_of(checkpoint: Checkpoint, at: datetime | None = None) -> dict[str, Any]:
    b = checkpoint.beacon
    if b.format == "eddystone_eid":
        assert b.identity_key is not None
        assert b.rotation_exponent is not None
        assert b.clock_epoch is not None
        counter = int((at or datetime.now(UTC)).timestamp()) - b.clock_epoch
        return {"format": "eddystone_eid", "eid": compute_eid(b.identity_key, b.rotation_exponent, counter).hex()}
    return {"format": b.format, **dict(b.fields)}


def visit(
    seq: int,
    *,
    gateway: str = GW,
    checkpoint: Checkpoint | None = None,
    beacon: dict[str, Any] | None = None,
    first_seen: datetime | None = None,
    dwell_s: float = 20.0,
    badge: str = "EQUIPE-A1",
    signed: bool = True,
    key: Ed25519PrivateKey | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    first = first_seen or datetime.now(UTC) - timedelta(seconds=30)
    cp = checkpoint or static_checkpoints()[seq % len(static_checkpoints())]
    obj: dict[str, Any] = {
        "v": 1,
        "type": "visit",
        "id": event_id or ulid(first),
        "gateway_id": gateway,
        "seq": seq,
        "badge": badge,
        "beacon": beacon or beacon_of(cp, first),
        "first_seen": format_time(first),
        "last_seen": format_time(first + timedelta(seconds=dwell_s)),
        "count": 12,
        "rssi_max": -61,
        "rssi_mean": -70.5,
    }
    return sign(obj, key or KEYS[gateway]) if signed else obj


def encode(obj: dict[str, Any]) -> bytes:
    """As a gateway publishes it (``wire_bytes``)."""
    return wire_bytes(obj)


def encode_hostile(obj: dict[str, Any]) -> bytes:
    """Like ``encode``, but NaN and Infinity are written as Python's json writes them, as a hostile
    sender could (the wire encoder refuses them)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def topic(gateway: str = GW, kind: TopicKind = TopicKind.VISIT) -> str:
    return gateway_topic(gateway, kind)


def context(**options: Any) -> ValidationContext:
    calendar = options.pop("calendar", ALWAYS)
    return ValidationContext.build(REGISTRY, calendar, options.pop("gateways", GATEWAYS), **options)


def wait_for(predicate: Any, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def ingest_evening(store: Store, calendar: ServiceCalendar, day: date, n: int, *, after: int = 0) -> None:
    """``n`` visits of ``day`` through ingest's pipeline, one a minute from half an hour into the evening, the first
    one numbered ``after + 1`` (later ones: late events)."""
    start = calendar.window(day)[0] + timedelta(minutes=30)
    cps = static_checkpoints()
    ctx = context(calendar=calendar, max_age=timedelta(days=3650))
    msgs = [
        Incoming(
            topic(),
            encode(visit(i + 1, checkpoint=cps[i % len(cps)], first_seen=start + timedelta(minutes=i))),
            start + timedelta(minutes=i + 1),
        )
        for i in range(after, after + n)
    ]
    store.write(BatchProcessor(ctx, store).process(msgs).batch)
