from __future__ import annotations

import json

import pytest

from ronde.gateway.detection import DetectedVisit
from ronde.gateway.events import EventFactory
from ronde.gateway.pipeline import TelemetryReading
from ronde.gateway.wire import EddystoneUidId, IBeaconId
from ronde.protocol.messages import BeaconTelemetry, VisitEvent
from ronde.protocol.signing import new_private_key, public_key_from_text, public_key_text, verify
from ronde.protocol.topics import TopicKind

BEACON = IBeaconId(uuid="f7826da64fa24e988024bc5b71e0893e", major=1, minor=7)


def visit(**kw: object) -> DetectedVisit:
    base: dict[str, object] = dict(
        identity=BEACON,
        key=BEACON.key(),
        first_seen=1_774_980_000.0,
        last_seen=1_774_980_030.5,
        count=31,
        rssi_max=-55,
        rssi_mean=-61.04,
    )
    base.update(kw)
    return DetectedVisit(**base)  # type: ignore[arg-type]


def test_visit_event_is_valid_signed_and_carries_the_sequence() -> None:
    key = new_private_key()
    factory = EventFactory("gw-mordacs-1", "team-a7", key)
    msg = factory.visit(visit(), 42, 1_774_980_045.0)
    assert msg.kind is TopicKind.VISIT
    assert msg.seq == 42
    obj = json.loads(msg.payload)
    event = VisitEvent.model_validate(obj)
    assert event.id == msg.msg_id
    assert event.seq == 42
    assert event.badge == "team-a7"
    assert event.beacon.key() == BEACON.key()
    assert obj["first_seen"] == "2026-03-31T18:00:00.000Z"
    assert obj["last_seen"] == "2026-03-31T18:00:30.500Z"
    assert obj["rssi_mean"] == -61.0
    assert verify(obj, public_key_from_text(public_key_text(key)))
    tampered = dict(obj, seq=43)
    assert not verify(tampered, key.public_key())


def test_ids_are_unique_and_ordered() -> None:
    factory = EventFactory("gw-1", "team-a7", new_private_key())
    ids = [factory.visit(visit(), i + 1, 1000.0).msg_id for i in range(50)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 50


def test_out_of_range_detector_output_is_refused_not_published() -> None:
    factory = EventFactory("gw-1", "team-a7", new_private_key())
    with pytest.raises(ValueError, match="time outside"):
        factory.visit(visit(first_seen=2000.0, last_seen=1000.0), 1, 2000.0)


def test_telemetry_message_is_signed() -> None:
    key = new_private_key()
    factory = EventFactory("gw-1", "team-a7", key)
    uid = EddystoneUidId(namespace="00112233445566778899", instance="aabbccddeeff")
    reading = TelemetryReading(
        identity=uid, t=1_774_980_000.0, battery_mv=2950, temperature_c=21.5, adv_count=1234, uptime_s=3600.0
    )
    msg = factory.telemetry(reading, 1_774_980_001.0)
    assert msg.kind is TopicKind.TELEMETRY
    assert msg.seq is None
    tlm = BeaconTelemetry.model_validate_json(msg.payload)
    assert tlm.beacon.key() == uid.key()
    assert tlm.battery_mv == 2950
    assert tlm.temperature_c == 21.5
    obj = json.loads(msg.payload)
    assert verify(obj, key.public_key())
    assert not verify({**obj, "battery_mv": 3300}, key.public_key())
