"""The gateway's wire messages and beacon ids, built without pydantic (issue 17, item 2).

pydantic, its core and the models of ``ronde.protocol.messages`` were about 14 MB of a scanner's
45 MB process, for four kinds of message built a few times a minute. The gateway builds each
message's JSON object here instead: members in the models' order, the models' bounds and patterns,
a ``ValueError`` for what the wire forbids. The server still reads every message with the models.
``tests/gateway/test_wire.py`` holds the two together: the same bytes for the same message, and a
refusal here for each value the models refuse.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from ronde.protocol.topics import BADGE_PATTERN, GATEWAY_ID_PATTERN

WIRE_INT_MAX = 2**53 - 1
WIRE_FLOAT_MAX = 1e12
TIME_MIN = datetime(2000, 1, 1, tzinfo=UTC)
TIME_MAX = datetime(2200, 1, 1, tzinfo=UTC)

_ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
_GATEWAY_ID = re.compile(GATEWAY_ID_PATTERN)
_BADGE = re.compile(BADGE_PATTERN.removeprefix("^").removesuffix("$"))


def _hex(name: str, value: str, length: int) -> str:
    if not isinstance(value, str) or len(value) != length or value.strip("0123456789abcdef"):
        raise ValueError(f"{name}: {length} lowercase hex digits expected")
    return value


def _matching(name: str, value: str, pattern: re.Pattern[str]) -> str:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise ValueError(f"{name}: does not match {pattern.pattern!r}")
    return value


def _int(name: str, value: int, low: int, high: int = WIRE_INT_MAX) -> int:
    if not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name}: an integer in [{low}, {high}] expected, got {value!r}")
    return int(value)


def _float(name: str, value: float, low: float, high: float) -> float:
    if not isinstance(value, int | float) or not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{name}: a number in [{low:g}, {high:g}] expected, got {value!r}")
    return float(value)


def _time(name: str, t: datetime) -> datetime:
    if not TIME_MIN <= t < TIME_MAX:
        raise ValueError(f"{name}: time outside 2000-01-01 .. 2200-01-01")
    return t


def wire_time(t: datetime) -> str:
    """``ronde.protocol.messages.format_time`` of an aware UTC instant (milliseconds, ``Z``)."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class IBeaconId:
    format: ClassVar[str] = "ibeacon"
    uuid: str
    major: int
    minor: int

    def __post_init__(self) -> None:
        _hex("uuid", self.uuid, 32)
        _int("major", self.major, 0, 65535)
        _int("minor", self.minor, 0, 65535)

    def key(self) -> str:
        return f"ibeacon:{self.uuid}:{self.major}:{self.minor}"

    def wire(self) -> dict[str, Any]:
        return {"format": self.format, "uuid": self.uuid, "major": self.major, "minor": self.minor}


@dataclass(frozen=True, slots=True)
class AltBeaconId:
    format: ClassVar[str] = "altbeacon"
    beacon_id: str

    def __post_init__(self) -> None:
        _hex("beacon_id", self.beacon_id, 40)

    def key(self) -> str:
        return f"altbeacon:{self.beacon_id}"

    def wire(self) -> dict[str, Any]:
        return {"format": self.format, "beacon_id": self.beacon_id}


@dataclass(frozen=True, slots=True)
class EddystoneUidId:
    format: ClassVar[str] = "eddystone_uid"
    namespace: str
    instance: str

    def __post_init__(self) -> None:
        _hex("namespace", self.namespace, 20)
        _hex("instance", self.instance, 12)

    def key(self) -> str:
        return f"eddystone_uid:{self.namespace}:{self.instance}"

    def wire(self) -> dict[str, Any]:
        return {"format": self.format, "namespace": self.namespace, "instance": self.instance}


@dataclass(frozen=True, slots=True)
class EddystoneEidId:
    """The raw 8-byte ephemeral id; the server resolves it with the gateway's clock (first/last seen)."""

    format: ClassVar[str] = "eddystone_eid"

    eid: str

    def __post_init__(self) -> None:
        _hex("eid", self.eid, 16)

    def key(self) -> str:
        return f"eddystone_eid:{self.eid}"

    def wire(self) -> dict[str, Any]:
        return {"format": self.format, "eid": self.eid}


BeaconId = IBeaconId | AltBeaconId | EddystoneUidId | EddystoneEidId


def visit_object(
    *,
    id: str,
    gateway_id: str,
    seq: int,
    badge: str,
    beacon: BeaconId,
    first_seen: datetime,
    last_seen: datetime,
    count: int,
    rssi_max: int,
    rssi_mean: float,
) -> dict[str, Any]:
    """A ``VisitEvent``'s JSON object, unsigned (each member checked, then the two relations between them)."""
    obj = {
        "v": 1,
        "type": "visit",
        "id": _matching("id", id, _ULID),
        "gateway_id": _matching("gateway_id", gateway_id, _GATEWAY_ID),
        "seq": _int("seq", seq, 1),
        "badge": _matching("badge", badge, _BADGE),
        "beacon": beacon.wire(),
        "first_seen": wire_time(_time("first_seen", first_seen)),
        "last_seen": wire_time(_time("last_seen", last_seen)),
        "count": _int("count", count, 1, 10_000_000),
        "rssi_max": _int("rssi_max", rssi_max, -127, 20),
        "rssi_mean": _float("rssi_mean", rssi_mean, -127, 20),
    }
    if last_seen < first_seen:
        raise ValueError("last_seen is before first_seen")
    if rssi_mean > rssi_max + 0.05:
        raise ValueError("rssi_mean is above rssi_max")
    return obj


def telemetry_object(
    *,
    gateway_id: str,
    at: datetime,
    beacon: BeaconId,
    battery_mv: int | None,
    temperature_c: float | None,
    adv_count: int,
    uptime_s: float,
) -> dict[str, Any]:
    """A ``BeaconTelemetry``'s JSON object, unsigned."""
    return {
        "v": 1,
        "type": "telemetry",
        "gateway_id": _matching("gateway_id", gateway_id, _GATEWAY_ID),
        "at": wire_time(_time("at", at)),
        "beacon": beacon.wire(),
        "battery_mv": None if battery_mv is None else _int("battery_mv", battery_mv, 0, 65535),
        "temperature_c": None if temperature_c is None else _float("temperature_c", temperature_c, -128, 128),
        "adv_count": _int("adv_count", adv_count, 0, 2**32 - 1),
        "uptime_s": _float("uptime_s", uptime_s, 0, (2**32 - 1) / 10),
    }


def status_object(
    *, gateway_id: str, online: bool, at: datetime | None, scanning: bool, reason: str | None
) -> dict[str, Any]:
    """A ``GatewayStatus``'s JSON object, unsigned; ``at=None`` for the will."""
    if reason is not None and len(reason) > 200:  # noqa: PLR2004 - the model's bound
        raise ValueError("reason: at most 200 characters")
    return {
        "v": 1,
        "type": "status",
        "gateway_id": _matching("gateway_id", gateway_id, _GATEWAY_ID),
        "state": "online" if online else "offline",
        "at": None if at is None else wire_time(_time("at", at)),
        "scanning": bool(scanning),
        "reason": reason,
    }


def heartbeat_object(
    *,
    gateway_id: str,
    at: datetime,
    scanning: bool,
    in_service: bool,
    outbox_depth: int,
    next_seq: int,
    adverts_per_s: float,
    battery_pct: int | None,
) -> dict[str, Any]:
    """A ``Heartbeat``'s JSON object, unsigned."""
    return {
        "v": 1,
        "type": "heartbeat",
        "gateway_id": _matching("gateway_id", gateway_id, _GATEWAY_ID),
        "at": wire_time(_time("at", at)),
        "scanning": bool(scanning),
        "in_service": bool(in_service),
        "outbox_depth": _int("outbox_depth", outbox_depth, 0, 100_000_000),
        "next_seq": _int("next_seq", next_seq, 1),
        "adverts_per_s": _float("adverts_per_s", adverts_per_s, 0, 100_000),
        "battery_pct": None if battery_pct is None else _int("battery_pct", battery_pct, 0, 100),
    }
