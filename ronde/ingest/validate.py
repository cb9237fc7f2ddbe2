"""Validation of one MQTT message: ``(topic, payload, received_at, context) -> Accepted | Rejection``.

Pure apart from the EID cache; never raises, whatever the bytes. Each refusal carries a named
``RejectReason``, the topic, the gateway (when the topic names one), the time, and the SHA-256
of the payload (never its content: it may carry a badge). Checks, cheapest and most telling first:

size → topic in the v1 tree → gateway enrolled → UTF-8 JSON object → v1 schema (strict types)
→ payload gateway = topic gateway → signature, for every kind (or none, if *that gateway* is
enrolled with ``allow_unsigned``) → badge enrolled for the gateway → clock sanity → visit length
(visits) → service hours of any estate (visits) → beacon known / EID resolved in its window →
service hours of the checkpoint's estate (visits: ``calendar.for_estate``, its own calendar if it has one).

The visit length bound (``max_visit``) follows the gateway's own: its detector closes a visit at
``max_visit_s`` (1 h), so a longer one was not made by a working gateway and would inflate
presence. The end of a long visit past the service window is not clipped here: the stored visit is
what the gateway signed, and coverage counts only its part inside the window
(``ronde.coverage.service_time.clip_to_window``), the one place that clips.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from ronde.ingest.eid_resolver import EidMatch, EidReplay, EidResolver
from ronde.ingest.enrich import enrich_visit, heartbeat_record, status_record, telemetry_record
from ronde.ingest.fastsig import signed_material
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.errors import format_validation_error, schema_names
from ronde.protocol.estate import Checkpoint, Registry
from ronde.protocol.frozen import fast_init
from ronde.protocol.gateways import GatewayEntry, GatewayRegistry
from ronde.protocol.messages import (
    MAX_PAYLOAD_BYTES,
    BeaconTelemetry,
    EddystoneEidId,
    GatewayStatus,
    Heartbeat,
    VisitEvent,
)
from ronde.protocol.signing import verify_strict
from ronde.protocol.topics import TopicKind, parse_topic
from ronde.store.records import (
    BeaconCheck,
    BeaconTelemetryRecord,
    GatewayStateRecord,
    Rejection,
    RejectReason,
    StoredVisit,
    Verification,
)
from ronde.store.retention import DEFAULT_RETENTION

log = logging.getLogger(__name__)

# The gateway closes a visit at max_visit_s (3600 s, ronde.gateway.detection_config) on the first
# advertisement at or after that, and merges fragments only up to it: 5 minutes of margin.
DEFAULT_MAX_VISIT = timedelta(seconds=3600 + 300)

_MODELS: dict[TopicKind, type[VisitEvent | GatewayStatus | Heartbeat | BeaconTelemetry]] = {
    TopicKind.VISIT: VisitEvent,
    TopicKind.STATUS: GatewayStatus,
    TopicKind.HEARTBEAT: Heartbeat,
    TopicKind.TELEMETRY: BeaconTelemetry,
}


@dataclass(frozen=True, slots=True)
class ValidationContext:
    registry: Registry
    calendar: ServiceCalendar
    gateways: GatewayRegistry
    eid: EidResolver
    accept_unknown_gateways: bool = False  # demo only: unknown gateways are let in, unsigned (no key to check)
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    max_future: timedelta = timedelta(minutes=5)
    max_age: timedelta = timedelta(days=DEFAULT_RETENTION.raw_days)  # the raw-data retention: older has expired
    max_visit: timedelta = DEFAULT_MAX_VISIT

    @classmethod
    def build(
        cls,
        registry: Registry,
        calendar: ServiceCalendar,
        gateways: GatewayRegistry,
        **options: Any,
    ) -> ValidationContext:
        """A context with an EID resolver over the registry's EID beacons."""
        eid_options = {k: options.pop(k) for k in ("drift_ppm", "min_periods", "replay_horizon") if k in options}
        return cls(registry, calendar, gateways, EidResolver(registry.eid_checkpoints(), **eid_options), **options)


@fast_init  # one per accepted message
@dataclass(frozen=True, slots=True)
class Accepted:
    """A valid message as a store record. ``eid`` is set for EID-resolved visits (replay checks)."""

    record: StoredVisit | BeaconTelemetryRecord | GatewayStateRecord
    topic: str
    payload_sha256: str
    eid: str | None = None


class _Reject(Exception):
    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def payload_digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def validate(topic: str, payload: bytes, received_at: datetime, context: ValidationContext) -> Accepted | Rejection:
    """Never raises: an unexpected error in a check becomes a SCHEMA rejection, logged with its trace."""
    try:
        return validate_strict(topic, payload, received_at, context)
    except Exception as exc:  # noqa: BLE001 - last resort: a bug must not stop ingest nor lose the message
        return internal_error(topic, payload, received_at, exc)


def internal_error(topic: str, payload: bytes, received_at: datetime, exc: Exception) -> Rejection:
    """The last resort's rejection of a message a check failed on unexpectedly, logged with where (never what)."""
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ is not None else None
    log.error(  # no message text nor trace arguments: they may echo the payload
        "unexpected error validating a message on %r: %s at %s:%s (sha256 %s…)",
        _safe_topic(topic)[:200],
        type(exc).__name__,
        where.filename if where else "?",
        where.lineno if where else "?",
        payload_digest(bytes(payload))[:12],
    )
    return Rejection(
        at=received_at,
        reason=RejectReason.SCHEMA,
        detail=f"internal error: {type(exc).__name__}",
        topic=_safe_topic(topic),
        gateway_id=None,
        payload_sha256=payload_digest(bytes(payload)),
    )


def _safe_topic(topic: str) -> str:
    return topic[:256].encode("utf-8", "replace").decode("utf-8")


def validate_strict(
    topic: str, payload: bytes, received_at: datetime, context: ValidationContext
) -> Accepted | Rejection:
    """``validate`` without the last-resort guard (what the fuzz tests exercise)."""
    step = validate_front(topic, payload, received_at, context)
    if not isinstance(step, Pending):
        return step
    return validate_back(step, step.verify())


@fast_init  # one per message
@dataclass(frozen=True, slots=True)
class Pending:
    """A message that passed every check before its signature: the signature check (``verify``, pure and GIL-free:
    a batch may run them on several threads, ``ronde.ingest.pipeline``) and the checks after it are left."""

    message: VisitEvent | GatewayStatus | Heartbeat | BeaconTelemetry
    topic: str
    digest: str
    received_at: datetime
    context: ValidationContext
    event_id: str | None
    verification: Verification | None  # None: the signature below decides (SIGNED or refused)
    signature: bytes = b""
    signed_bytes: bytes = b""
    key: bytes = b""

    def verify(self) -> bool:
        """True when no signature is to be checked, or when ``verify_strict`` accepts it."""
        return self.verification is not None or verify_strict(self.signature, self.signed_bytes, self.key)


def validate_front(
    topic: str, payload: bytes, received_at: datetime, context: ValidationContext
) -> Accepted | Rejection | Pending:
    """The checks up to the signature, in order: size, topic, gateway, JSON, schema, gateway match, signature
    present and well formed. A ``Pending`` goes on to ``Pending.verify`` then ``validate_back``."""
    digest = payload_digest(payload)
    parsed = parse_topic(topic)
    gateway_id = parsed.gateway_id if parsed is not None else None
    event_id: str | None = None
    try:
        if len(payload) > context.max_payload_bytes:
            raise _Reject(RejectReason.SIZE, f"payload over {context.max_payload_bytes} bytes")  # noqa: TRY301 - answered by 'except _Reject' below
        if parsed is None:
            raise _Reject(RejectReason.TOPIC, "topic not in the ronde/v1/gw/{id}/{kind} tree")  # noqa: TRY301 - answered by 'except _Reject' below
        gateway = context.gateways.get(parsed.gateway_id)
        if gateway is None and not context.accept_unknown_gateways:
            raise _Reject(RejectReason.UNKNOWN_GATEWAY, "the topic's gateway is not enrolled")  # noqa: TRY301 - answered by 'except _Reject' below
        obj = _parse_json(payload)
        raw_id = obj.get("id")
        event_id = raw_id if isinstance(raw_id, str) and _ULID.fullmatch(raw_id) else None  # not any text
        if obj.get("type") != parsed.kind.value:
            raise _Reject(RejectReason.SCHEMA, f"type: not {parsed.kind.value!r} as the topic says")  # noqa: TRY301 - answered by 'except _Reject' below
        try:
            message = _MODELS[parsed.kind].model_validate_json(payload, strict=True)
        except ValidationError as exc:
            raise _Reject(RejectReason.SCHEMA, _schema_detail(exc)) from None
        if message.gateway_id != parsed.gateway_id:
            raise _Reject(  # noqa: TRY301 - answered by 'except _Reject' below
                RejectReason.GATEWAY_MISMATCH,
                "gateway_id: not the topic's gateway",
            )
        verification, signature, signed_bytes, key = _verification(message, gateway, obj, context)
        return Pending(
            message, topic, digest, received_at, context, event_id, verification, signature, signed_bytes, key
        )
    except _Reject as r:
        return _rejection(r, topic, gateway_id, digest, received_at, event_id)


def validate_back(pending: Pending, verified: bool) -> Accepted | Rejection:
    """The checks after the signature (``verified``: what ``pending.verify()`` answered)."""
    message, topic, digest, received_at, context = (
        pending.message,
        pending.topic,
        pending.digest,
        pending.received_at,
        pending.context,
    )
    try:
        if not verified:
            raise _Reject(RejectReason.SIGNATURE_INVALID, "Ed25519 signature does not match the enrolled key")  # noqa: TRY301 - answered by 'except _Reject' below
        verification = pending.verification or Verification.SIGNED
        if isinstance(message, VisitEvent):
            return _visit(message, verification, topic, digest, received_at, context)
        if isinstance(message, BeaconTelemetry):
            _check_clock(message.at, message.at, received_at, context)
            checkpoint, _, _ = _resolve_beacon(message.beacon, message.at, context)
            return Accepted(telemetry_record(message, checkpoint), topic, digest)
        if isinstance(message, Heartbeat):
            _check_clock(message.at, message.at, received_at, context)
            return Accepted(heartbeat_record(message), topic, digest)
        if message.at is not None:
            _check_clock(message.at, message.at, received_at, context)
        return Accepted(status_record(message, received_at), topic, digest)
    except _Reject as r:
        return _rejection(r, topic, message.gateway_id, digest, received_at, pending.event_id)


def _rejection(
    r: _Reject, topic: str, gateway_id: str | None, digest: str, received_at: datetime, event_id: str | None
) -> Rejection:
    return Rejection(
        at=received_at,
        reason=r.reason,
        detail=r.detail[:300],
        topic=_safe_topic(topic),
        gateway_id=gateway_id,
        payload_sha256=digest,
        event_id=event_id,
    )


def _parse_json(payload: bytes) -> dict[str, Any]:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise _Reject(RejectReason.ENCODING, "not UTF-8") from None
    try:
        obj = _DECODER.decode(text)  # what json.loads(text, parse_constant=…) does, without a decoder per message
    except RecursionError:
        raise _Reject(RejectReason.ENCODING, "not JSON: nested too deeply") from None
    except ValueError:  # its message quotes the text around the error
        raise _Reject(RejectReason.ENCODING, "not JSON (NaN and Infinity included)") from None
    if not isinstance(obj, dict):
        raise _Reject(RejectReason.SCHEMA, "not a JSON object")
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)


_SCHEMA_NAMES = schema_names(_MODELS.values())  # the only location parts a rejection detail may show
_ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")  # a rejection keeps the event id only if it is one


def _schema_detail(exc: ValidationError) -> str:
    """Where and what kind of error, nothing the sender wrote (``ronde.protocol.errors``, content-free)."""
    return format_validation_error(exc, echo_input=False, schema_names=_SCHEMA_NAMES, limit=3)


def _check_clock(first: datetime, last: datetime, received_at: datetime, context: ValidationContext) -> None:
    if max(first, last) > received_at + context.max_future:
        limit = context.max_future.total_seconds()
        raise _Reject(RejectReason.CLOCK_FUTURE, f"more than {limit:.0f} s ahead of the server clock")
    if first < received_at - context.max_age:
        raise _Reject(RejectReason.CLOCK_TOO_OLD, f"older than the {context.max_age.days}-day retention")


def _verification(
    message: VisitEvent | GatewayStatus | Heartbeat | BeaconTelemetry,
    gateway: GatewayEntry | None,
    obj: dict[str, Any],
    context: ValidationContext,
) -> tuple[Verification | None, bytes, bytes, bytes]:
    """The same strict check for every kind: a status or heartbeat drives supervision (a forged
    "online, scanning" hides a dead scanner) and telemetry drives maintenance, as visits drive
    presence. Unsigned passes only for a gateway enrolled with ``allow_unsigned`` (or an unknown
    one under ``accept_unknown_gateways``, which has no key anyway); a bad signature never does.

    Answers ``(verification, signature, signed bytes, key)``: a verification when it is decided here, or None and
    what ``verify_strict`` is to check (``Pending.verify``); a malformed signature is checked as empty bytes, which
    ``verify_strict`` refuses, so it is rejected at the same step as a wrong one."""
    allow_unsigned = gateway.allow_unsigned if gateway is not None else context.accept_unknown_gateways
    if message.sig is None:
        if allow_unsigned:
            return Verification.UNSIGNED, b"", b"", b""
        raise _Reject(RejectReason.SIGNATURE_MISSING, "unsigned message (gateway not enrolled as allow_unsigned)")
    if gateway is None or gateway.public_key_raw is None:
        if allow_unsigned:
            return Verification.UNSIGNED, b"", b"", b""  # a signature we hold no key for proves nothing
        raise _Reject(RejectReason.SIGNATURE_INVALID, "no public key enrolled for this gateway")
    signature, signed_bytes = signed_material(obj)
    return None, signature, signed_bytes, gateway.public_key_raw


def _resolve_beacon(
    beacon: Any, observed_at: datetime, context: ValidationContext
) -> tuple[Checkpoint, BeaconCheck, str | None]:
    if isinstance(beacon, EddystoneEidId):
        result = context.eid.resolve(bytes.fromhex(beacon.eid), observed_at)
        if isinstance(result, EidMatch):
            return result.checkpoint, BeaconCheck.EID_RESOLVED, beacon.eid
        if isinstance(result, EidReplay):
            raise _Reject(RejectReason.EID_REPLAY, "EID of one of our beacons, for a period outside its window")
        raise _Reject(RejectReason.EID_UNRESOLVED, "EID of none of our beacons near this time")
    key = beacon.key()
    checkpoint = context.registry.checkpoint_for_beacon(key)
    if checkpoint is None:
        raise _Reject(RejectReason.UNKNOWN_BEACON, f"beacon not in estate revision {context.registry.revision}")
    return checkpoint, BeaconCheck.STATIC, None


def _visit(
    event: VisitEvent,
    verification: Verification,
    topic: str,
    digest: str,
    received_at: datetime,
    context: ValidationContext,
) -> Accepted:
    gateway = context.gateways.get(event.gateway_id)
    if gateway is not None and not gateway.badge_allowed(event.badge):
        raise _Reject(RejectReason.GATEWAY_MISMATCH, "badge not enrolled on this gateway")
    _check_clock(event.first_seen, event.last_seen, received_at, context)
    if event.last_seen - event.first_seen > context.max_visit:
        raise _Reject(
            RejectReason.VISIT_TOO_LONG, f"longer than the {context.max_visit.total_seconds():.0f} s a visit may last"
        )
    any_estate = context.calendar.service_day(event.first_seen)
    if any_estate is None:  # in service for no estate: cheapest refusal
        raise _Reject(RejectReason.OUT_OF_SERVICE, "first seen outside service hours: not collected")
    checkpoint, check, eid = _resolve_beacon(event.beacon, event.first_seen, context)
    service_day = (  # no estate with a calendar of its own: the same calendar, the same answer (asked once)
        any_estate
        if not getattr(context.calendar, "estates", ())
        else context.calendar.for_estate(checkpoint.estate).service_day(event.first_seen)
    )
    if service_day is None:
        raise _Reject(
            RejectReason.OUT_OF_SERVICE, f"first seen outside the service hours of estate {checkpoint.estate}"
        )
    visit = enrich_visit(
        event,
        checkpoint,
        service_day,
        verification=verification,
        beacon_check=check,
        received_at=received_at,
        payload_sha256=digest,
    )
    return Accepted(visit, topic, digest, eid)
