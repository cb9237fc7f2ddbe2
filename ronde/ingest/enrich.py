"""Enrichment: a verified wire message becomes a store record, with the registry's context.

beacon → checkpoint → kind, building, estate, landlord (tags in InfluxDB); the service day from
the calendar; the team badge stays a plain field (cardinality and privacy: never a tag).
"""

from __future__ import annotations

from datetime import date, datetime

from ronde.protocol.estate import Checkpoint
from ronde.protocol.messages import BeaconTelemetry, GatewayStatus, Heartbeat, VisitEvent
from ronde.store.records import (
    BeaconCheck,
    BeaconTelemetryRecord,
    GatewayStateRecord,
    StoredVisit,
    Verification,
)


def enrich_visit(
    event: VisitEvent,
    checkpoint: Checkpoint,
    service_day: date,
    *,
    verification: Verification,
    beacon_check: BeaconCheck,
    received_at: datetime,
    payload_sha256: str,
) -> StoredVisit:
    return StoredVisit(
        event_id=event.id,
        gateway_id=event.gateway_id,
        seq=event.seq,
        badge=event.badge,
        checkpoint_id=checkpoint.id,
        kind=checkpoint.kind.value,
        building=checkpoint.building,
        estate=checkpoint.estate,
        landlord=checkpoint.landlord,
        service_day=service_day,
        first_seen=event.first_seen,
        last_seen=event.last_seen,
        count=event.count,
        rssi_max=event.rssi_max,
        rssi_mean=round(event.rssi_mean, 1),
        verification=verification,
        beacon_check=beacon_check,
        received_at=received_at,
        payload_sha256=payload_sha256,
    )


def telemetry_record(message: BeaconTelemetry, checkpoint: Checkpoint) -> BeaconTelemetryRecord:
    return BeaconTelemetryRecord(
        at=message.at,
        checkpoint_id=checkpoint.id,
        gateway_id=message.gateway_id,
        battery_mv=message.battery_mv,
        temperature_c=message.temperature_c,
        adv_count=message.adv_count,
        uptime_s=message.uptime_s,
    )


def status_record(message: GatewayStatus, received_at: datetime) -> GatewayStateRecord:
    """The retained status; the MQTT will carries no time, so the broker's delivery time stands in."""
    return GatewayStateRecord(
        at=message.at or received_at,
        gateway_id=message.gateway_id,
        online=message.state == "online",
        scanning=message.scanning and message.state == "online",
    )


def heartbeat_record(message: Heartbeat) -> GatewayStateRecord:
    return GatewayStateRecord(
        at=message.at,
        gateway_id=message.gateway_id,
        online=True,
        scanning=message.scanning,
        in_service=message.in_service,
        outbox_depth=message.outbox_depth,
        adverts_per_s=message.adverts_per_s,
        battery_pct=message.battery_pct,
    )
