"""Detected visits and beacon telemetry → signed wire messages ready for the outbox.

Every message a gateway publishes is signed the same way (``signed_json``): visits, telemetry,
and, in ``status``, its statuses (the MQTT will included) and heartbeats.

The sequence number is not chosen here: the outbox allocates it inside the transaction that
stores the event (``Outbox.enqueue_sequenced``), so numbering and durability cannot disagree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ronde.gateway.detection import DetectedVisit
from ronde.gateway.outbox import OutgoingMessage
from ronde.gateway.pipeline import TelemetryReading
from ronde.gateway.ulid import UlidGenerator
from ronde.gateway.wire import telemetry_object, visit_object
from ronde.protocol.canonical import wire_bytes
from ronde.protocol.signing import Signer, sign
from ronde.protocol.topics import TopicKind


def utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


class EventFactory:
    def __init__(self, gateway_id: str, badge: str, key: Signer, ulids: UlidGenerator | None = None) -> None:
        self.gateway_id = gateway_id
        self.badge = badge
        self.key = key
        self.ulids = ulids or UlidGenerator()

    def visit(self, visit: DetectedVisit, seq: int, now: float) -> OutgoingMessage:
        """A signed VisitEvent; raises ValueError if the detector produced something the wire forbids."""
        event_id = self.ulids.new(now)
        event = visit_object(
            id=event_id,
            gateway_id=self.gateway_id,
            seq=seq,
            badge=self.badge,
            beacon=visit.identity,
            first_seen=utc(visit.first_seen),
            last_seen=utc(visit.last_seen),
            count=visit.count,
            rssi_max=max(-127, min(20, visit.rssi_max)),
            rssi_mean=round(max(-127.0, min(20.0, visit.rssi_mean)), 1),
        )
        return OutgoingMessage(TopicKind.VISIT, event_id, seq, signed_json(event, self.key))

    def telemetry(self, reading: TelemetryReading, now: float) -> OutgoingMessage:
        message = telemetry_object(
            gateway_id=self.gateway_id,
            at=utc(reading.t),
            beacon=reading.identity,
            battery_mv=reading.battery_mv,
            temperature_c=reading.temperature_c,
            adv_count=reading.adv_count,
            uptime_s=reading.uptime_s,
        )
        return OutgoingMessage(TopicKind.TELEMETRY, self.ulids.new(now), None, signed_json(message, self.key))


def signed_json(message: dict[str, Any], key: Signer) -> bytes:
    """The wire bytes of ``message`` (a JSON object of ``ronde.gateway.wire``) with its ``sig`` (RFC 8785 form
    signed, ``wire_bytes`` sent)."""
    return wire_bytes(sign(message, key))
