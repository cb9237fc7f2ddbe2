"""Wire messages, version 1 (pydantic: this is an edge).

Every message is a JSON object with ``"v": 1`` and a ``"type"``. Times are RFC 3339 UTC strings
with millisecond precision and a ``Z`` suffix (``2026-03-29T19:30:00.000Z``). Every kind is
signed by the gateway (``sig``, see ``signing``): the signature covers every other member of the
object as published. ``sig`` stays optional on the wire so that messages without it still parse;
whether one is acceptable is ingest's decision (per gateway, ``allow_unsigned``), not the schema's.

Every number and string is bounded here, before anything reaches a store: one heartbeat with
``"outbox_depth": 18446744073709551616`` or ``"adverts_per_s": 1e999`` once made both stores refuse
a batch that was then redelivered for ever. Integers use ``WireInt`` (the JSON-safe range, inside
the signed 64 bits SQLite and InfluxDB hold) narrowed per field, floats ``WireFloat`` (finite,
bounded), strings ``WireStr``; ``_Wire`` refuses non-finite floats and long strings for any field,
and ``assert_bounded`` (run on every model of ``MESSAGE_MODELS`` at import) refuses a message kind
with an unbounded number, so a kind added later cannot forget it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from annotated_types import Ge, Le
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    field_validator,
    model_validator,
)

from ronde.protocol import canonical, topics
from ronde.protocol.topics import GATEWAY_ID_PATTERN

PROTOCOL_VERSION = 1
MAX_PAYLOAD_BYTES = 4096
WIRE_INT_MAX = 2**53 - 1
"""The largest integer every JSON parser reads exactly; far inside SQLite's and InfluxDB's int64."""
WIRE_FLOAT_MAX = 1e12
"""No measured quantity of the protocol comes near it; finite, so line protocol can carry it."""
WIRE_STR_MAX = 256
"""No string member is longer (a payload is at most ``MAX_PAYLOAD_BYTES`` anyway)."""
HEX = r"^[0-9a-f]+$"
BADGE_PATTERN = topics.BADGE_PATTERN
"""Defined with the gateway id's pattern (``topics``), which the gateway checks without loading this module."""
wire_bytes = canonical.wire_bytes
"""The one encoder of every publisher (``canonical.wire_bytes``), here as before."""


def format_time(t: datetime) -> str:
    if t.tzinfo is None:
        raise ValueError("naive datetime: Ronde only handles aware UTC instants")
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.astimezone(UTC).microsecond // 1000:03d}Z"


def parse_time(s: str) -> datetime:
    t = datetime.fromisoformat(s.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError("time without a UTC offset")
    return t.astimezone(UTC)


TIME_MIN = datetime(2000, 1, 1, tzinfo=UTC)
TIME_MAX = datetime(2200, 1, 1, tzinfo=UTC)
"""Wire times lie in [TIME_MIN, TIME_MAX): InfluxDB's nanosecond timestamps end in 2262."""


def _check_aware(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError("time must carry a UTC offset (use ...Z)")
    if not TIME_MIN <= t < TIME_MAX:
        raise ValueError("time outside 2000-01-01 .. 2200-01-01")
    return t.astimezone(UTC)


UtcTime = Annotated[datetime, PlainSerializer(format_time, return_type=str, when_used="always")]

# Bounded building blocks: narrow them per field *inside* ``Annotated`` (``Annotated[WireInt,
# Field(ge=0, le=100)]``): a ``Field(le=…)`` given as the default would be overridden by the alias's
# own bound (pydantic keeps the last one), which ``assert_bounded`` refuses.
WireInt = Annotated[int, Field(ge=-WIRE_INT_MAX, le=WIRE_INT_MAX)]
WireFloat = Annotated[float, Field(ge=-WIRE_FLOAT_MAX, le=WIRE_FLOAT_MAX, allow_inf_nan=False)]
WireStr = Annotated[str, Field(max_length=WIRE_STR_MAX)]


class _Wire(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=False,
        json_schema_serialization_defaults_required=True,
        allow_inf_nan=False,
        str_max_length=WIRE_STR_MAX,
    )


class IBeaconId(_Wire):
    format: Literal["ibeacon"] = "ibeacon"
    uuid: str = Field(pattern=r"^[0-9a-f]{32}$", description="16-byte proximity UUID, lowercase hex, no dashes")
    major: Annotated[WireInt, Field(ge=0, le=65535)]
    minor: Annotated[WireInt, Field(ge=0, le=65535)]

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
    seq: Annotated[WireInt, Field(ge=1)] = Field(description="per-gateway, +1 per event, survives restarts")
    badge: str = Field(pattern=BADGE_PATTERN, description="pseudonymous team badge, never a name")
    beacon: BeaconId
    first_seen: UtcTime
    last_seen: UtcTime
    count: Annotated[WireInt, Field(ge=1, le=10_000_000)] = Field(
        description="advertisements received during the visit"
    )
    rssi_max: Annotated[WireInt, Field(ge=-127, le=20)]
    rssi_mean: Annotated[WireFloat, Field(ge=-127, le=20)] = Field(description="rounded to 0.1 dB")
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
    reason: Annotated[WireStr, Field(max_length=200)] | None = None
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
    outbox_depth: Annotated[WireInt, Field(ge=0, le=100_000_000)] = Field(
        description="events not yet acknowledged by the broker"
    )
    next_seq: Annotated[WireInt, Field(ge=1)]
    adverts_per_s: Annotated[WireFloat, Field(ge=0, le=100_000)]
    battery_pct: Annotated[WireInt, Field(ge=0, le=100)] | None = None
    sig: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{86}$", description="Ed25519 signature, as on visits")

    _aware = field_validator("at")(_check_aware)


class BeaconTelemetry(_Wire):
    """Eddystone TLM relayed by a gateway, at most once per beacon per period."""

    v: Literal[1] = 1
    type: Literal["telemetry"] = "telemetry"
    gateway_id: str = Field(pattern=f"^{GATEWAY_ID_PATTERN}$")
    at: UtcTime
    beacon: BeaconId
    battery_mv: Annotated[WireInt, Field(ge=0, le=65535)] | None = Field(
        default=None, description="None: beacon does not report it"
    )
    temperature_c: Annotated[WireFloat, Field(ge=-128, le=128)] | None = None
    adv_count: Annotated[WireInt, Field(ge=0, le=2**32 - 1)]
    uptime_s: Annotated[WireFloat, Field(ge=0, le=(2**32 - 1) / 10)] = Field(description="TLM SEC_CNT / 10")
    sig: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{86}$", description="Ed25519 signature, as on visits")

    _aware = field_validator("at")(_check_aware)


def to_wire(message: _Wire) -> dict[str, Any]:
    """The JSON object as published (sig omitted when None)."""
    out = message.model_dump(mode="json")
    if out.get("sig", "") is None:
        del out["sig"]
    return out


def encode(message: _Wire) -> bytes:
    """``wire_bytes`` of an unsigned message."""
    return wire_bytes(to_wire(message))


MESSAGE_MODELS: dict[str, type[_Wire]] = {
    "visit": VisitEvent,
    "status": GatewayStatus,
    "heartbeat": Heartbeat,
    "telemetry": BeaconTelemetry,
}


def assert_bounded(model: type[BaseModel]) -> None:
    """Raise TypeError unless every number of ``model`` has finite bounds inside the wire's range
    and every string a length bound (``maxLength``, a pattern, a constant or a date-time).

    Checked on the model's JSON Schema, so nested models and optional members are covered, and on
    each field's own constraints, where a bound given as ``Field(le=…)`` next to a ``WireInt``
    annotation is silently replaced by the alias's wider one."""
    for name, info in model.model_fields.items():
        lows: list[Any] = [m.ge for m in info.metadata if isinstance(m, Ge)]
        highs: list[Any] = [m.le for m in info.metadata if isinstance(m, Le)]
        if (lows and max(lows) > lows[-1]) or (highs and min(highs) < highs[-1]):
            raise TypeError(f"{model.__name__}.{name}: a bound is widened by a later one; narrow it inside Annotated")
    schema = model.model_json_schema()
    for where, node in _schema_nodes(schema, model.__name__):
        kind = node.get("type")
        if kind in ("integer", "number") and "const" not in node and "enum" not in node:
            limit = WIRE_INT_MAX if kind == "integer" else WIRE_FLOAT_MAX
            low = node.get("minimum", node.get("exclusiveMinimum"))
            high = node.get("maximum", node.get("exclusiveMaximum"))
            if low is None or high is None or not -limit <= low <= high <= limit:
                raise TypeError(f"{where}: {kind} without bounds inside ±{limit:g} (use WireInt/WireFloat)")
        elif kind == "string" and not any(k in node for k in ("maxLength", "pattern", "const", "enum", "format")):
            raise TypeError(f"{where}: string without a length bound (use WireStr)")


def _schema_nodes(node: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        out.append((where, node))
        for key, child in node.items():
            out.extend(_schema_nodes(child, f"{where}.{key}"))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            out.extend(_schema_nodes(child, f"{where}[{i}]"))
    return out


for _model in MESSAGE_MODELS.values():
    assert_bounded(_model)
