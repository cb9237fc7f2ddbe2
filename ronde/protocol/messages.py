"""Wire messages, version 1 (pydantic: this is an edge).

Every message is a JSON object with ``"v": 1`` and a ``"type"``. Times are RFC 3339 UTC strings
with millisecond precision and a ``Z`` suffix (``2026-03-29T19:30:00.000Z``). Every kind is
signed by the gateway (``sig``, see ``signing``): the signature covers every other member of the
object as published. ``sig`` stays optional on the wire so that messages without it still parse;
whether one is acceptable is ingest's decision (per gateway, ``allow_unsigned``), not the schema's.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    field_validator,
    model_validator,
)

from ronde.protocol.topics import GATEWAY_ID_PATTERN

PROTOCOL_VERSION = 1
MAX_PAYLOAD_BYTES = 4096
BADGE_PATTERN = r"^[A-Za-z0-9_-]{4,40}$"
HEX = r"^[0-9a-f]+$"


def format_time(t: datetime) -> str:
    if t.tzinfo is None:
        raise ValueError("naive datetime: Ronde only handles aware UTC instants")
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.astimezone(UTC).microsecond // 1000:03d}Z"


def parse_time(s: str) -> datetime:
    t = datetime.fromisoformat(s.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError("time without a UTC offset")
    return t.astimezone(UTC)


def _check_aware(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError("time must carry a UTC offset (use ...Z)")
    return t.astimezone(UTC)


UtcTime = Annotated[datetime, PlainSerializer(format_time, return_type=str, when_used="always")]


class _Wire(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=False, json_schema_serialization_defaults_required=True
    )


class IBeaconId(_Wire):
    format: Literal["ibeacon"] = "ibeacon"
    uuid: str = Field(pattern=r"^[0-9a-f]{32}$", description="16-byte proximity UUID, lowercase hex, no dashes")
    major: int = Field(ge=0, le=65535)
    minor: int = Field(ge=0, le=65535)

    def key(self) -> str:
        return f"ibeacon:{self.uuid}:{self.major}:{self.minor}"


class AltBeaconId(_Wire):
    format: Literal["altbeacon"] = "altbeacon"
    beacon_id: str = Field(pattern=r"^[0-9a-f]{40}$", description="20-byte beacon id, lowercase hex")

    def key(self) -> str:
        return f"altbeacon:{self.beacon_id}"


class EddystoneUidId(_Wire):
    format: Literal["eddystone_uid"] = "eddystone_uid"
    namespace: str = Field(pattern=r"^[0-9a-f]{20}$")
    instance: str = Field(pattern=r"^[0-9a-f]{12}$")

    def key(self) -> str:
        return f"eddystone_uid:{self.namespace}:{self.instance}"


class EddystoneEidId(_Wire):
    """The raw 8-byte ephemeral id; the server resolves it with the gateway's clock (first/last seen)."""

    format: Literal["eddystone_eid"] = "eddystone_eid"
    eid: str = Field(pattern=r"^[0-9a-f]{16}$")

    def key(self) -> str:
        return f"eddystone_eid:{self.eid}"


BeaconId = Annotated[IBeaconId | AltBeaconId | EddystoneUidId | EddystoneEidId, Field(discriminator="format")]
BEACON_ID_ADAPTER: TypeAdapter[IBeaconId | AltBeaconId | EddystoneUidId | EddystoneEidId] = TypeAdapter(BeaconId)


class VisitEvent(_Wire):
    """One closed visit of a team's scanner at one beacon."""

    v: Literal[1] = 1
    type: Literal["visit"] = "visit"
    id: str = Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$", description="ULID; the idempotency key")
    gateway_id: str = Field(pattern=f"^{GATEWAY_ID_PATTERN}$")
    seq: int = Field(ge=1, le=2**53 - 1, description="per-gateway, +1 per event, survives restarts")
    badge: str = Field(pattern=BADGE_PATTERN, description="pseudonymous team badge, never a name")
    beacon: BeaconId
    first_seen: UtcTime
    last_seen: UtcTime
    count: int = Field(ge=1, le=10_000_000, description="advertisements received during the visit")
    rssi_max: int = Field(ge=-127, le=20)
    rssi_mean: float = Field(ge=-127, le=20, description="rounded to 0.1 dB")
    sig: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{86}$",
        description="Ed25519 signature (base64url, no padding) over the RFC 8785 canonical form without 'sig'",
    )

    _aware = field_validator("first_seen", "last_seen")(_check_aware)

    @model_validator(mode="after")
    def _ordered(self) -> VisitEvent:
        if self.last_seen < self.first_seen:
            raise ValueError("last_seen is before first_seen")
        if self.rssi_mean > self.rssi_max + 0.05:
            raise ValueError("rssi_mean is above rssi_max")
        return self


class GatewayStatus(_Wire):
    """Retained on ``.../status``; the will publishes the same shape with state "offline"."""

    v: Literal[1] = 1
    type: Literal["status"] = "status"
    gateway_id: str = Field(pattern=f"^{GATEWAY_ID_PATTERN}$")
    state: Literal["online", "offline"]
    at: UtcTime | None = None
    scanning: bool = False
    reason: str | None = Field(default=None, max_length=200)
    sig: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_-]{86}$", description="Ed25519 signature, as on visits (the will's too)"
    )

    _aware = field_validator("at")(lambda t: None if t is None else _check_aware(t))


class Heartbeat(_Wire):
    v: Literal[1] = 1
    type: Literal["heartbeat"] = "heartbeat"
    gateway_id: str = Field(pattern=f"^{GATEWAY_ID_PATTERN}$")
    at: UtcTime
    scanning: bool
    in_service: bool
    outbox_depth: int = Field(ge=0)
    next_seq: int = Field(ge=1)
    adverts_per_s: float = Field(ge=0)
    battery_pct: int | None = Field(default=None, ge=0, le=100)
    sig: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{86}$", description="Ed25519 signature, as on visits")

    _aware = field_validator("at")(_check_aware)


class BeaconTelemetry(_Wire):
    """Eddystone TLM relayed by a gateway, at most once per beacon per period."""

    v: Literal[1] = 1
    type: Literal["telemetry"] = "telemetry"
    gateway_id: str = Field(pattern=f"^{GATEWAY_ID_PATTERN}$")
    at: UtcTime
    beacon: BeaconId
    battery_mv: int | None = Field(default=None, ge=0, le=65535, description="None: beacon does not report it")
    temperature_c: float | None = Field(default=None, ge=-128, le=128)
    adv_count: int = Field(ge=0, le=2**32 - 1)
    uptime_s: float = Field(ge=0, description="TLM SEC_CNT / 10")
    sig: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{86}$", description="Ed25519 signature, as on visits")

    _aware = field_validator("at")(_check_aware)


def to_wire(message: _Wire) -> dict[str, Any]:
    """The JSON object as published (sig omitted when None)."""
    out = message.model_dump(mode="json")
    if out.get("sig", "") is None:
        del out["sig"]
    return out


def encode(message: _Wire) -> bytes:
    return json.dumps(to_wire(message), ensure_ascii=False, separators=(",", ":")).encode()


MESSAGE_MODELS: dict[str, type[_Wire]] = {
    "visit": VisitEvent,
    "status": GatewayStatus,
    "heartbeat": Heartbeat,
    "telemetry": BeaconTelemetry,
}
