"""The gateway's pydantic-free messages (``ronde.gateway.wire``) against the wire models the server reads them with
(``ronde.protocol.messages``): the same bytes for the same message, and a refusal wherever the models refuse."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from ronde.gateway import wire
from ronde.protocol import messages
from ronde.protocol.canonical import wire_bytes

RNG_SEED = 20261206
ULID = "01M951SZX1FS8R19GT4XDHKHKE"


def _pick(rng: random.Random, valid: Any, *wrong: Any) -> Any:
    """Mostly ``valid``: a message has one member out of bounds now and then, not all of them at once."""
    return rng.choice(wrong) if wrong and rng.random() < 0.06 else valid


def _beacons(rng: random.Random) -> list[tuple[wire.BeaconId, BaseModel]]:
    major, minor = rng.randrange(65536), rng.randrange(65536)
    uuid, ns, inst, eid, alt = (rng.randbytes(n).hex() for n in (16, 10, 6, 8, 20))
    return [
        (wire.IBeaconId(uuid=uuid, major=major, minor=minor), messages.IBeaconId(uuid=uuid, major=major, minor=minor)),
        (wire.EddystoneUidId(namespace=ns, instance=inst), messages.EddystoneUidId(namespace=ns, instance=inst)),
        (wire.EddystoneEidId(eid=eid), messages.EddystoneEidId(eid=eid)),
        (wire.AltBeaconId(beacon_id=alt), messages.AltBeaconId(beacon_id=alt)),
    ]


def _at(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _same(
    build: Callable[..., dict[str, Any]],
    model: type[messages.VisitEvent | messages.BeaconTelemetry | messages.GatewayStatus | messages.Heartbeat],
    ours: dict[str, Any],
    theirs: dict[str, Any],
) -> bool:
    """Both accept with the same bytes, or both refuse."""
    try:
        expected = wire_bytes(messages.to_wire(model(**theirs)))
    except ValidationError:
        with pytest.raises(ValueError):  # noqa: PT011 - each builder words its own refusal
            build(**ours)
        return False
    assert wire_bytes(build(**ours)) == expected
    return True


def test_visits_are_the_models_bytes_and_refused_where_the_models_refuse() -> None:
    rng = random.Random(RNG_SEED)
    accepted = refused = 0
    for _ in range(400):
        for ours_beacon, their_beacon in _beacons(rng):
            first = _pick(rng, rng.uniform(1.7e9, 1.9e9), rng.uniform(9e8, 1e9), rng.uniform(7.2e9, 7.4e9))
            last = first + _pick(rng, rng.uniform(0, 3600), -rng.uniform(0, 5))
            rssi_max = _pick(rng, rng.randint(-127, 20), -128, 21)
            common = {
                "id": _pick(rng, ULID, ULID.lower(), ULID[:-1]),
                "gateway_id": _pick(rng, "gw-mordacs-1", "GW 1", "g" * 64),
                "seq": _pick(rng, rng.choice([1, rng.randrange(2, 2**53)]), 0, 2**53),
                "badge": _pick(rng, "team-a7", "a7", "équipe"),
                "first_seen": _at(first),
                "last_seen": _at(last),
                "count": _pick(rng, rng.choice([1, rng.randrange(1, 10_000_001)]), 0, 10_000_001),
                "rssi_max": rssi_max,
                "rssi_mean": round(rssi_max - _pick(rng, rng.uniform(0, 10), -0.2, -0.04), 1),
            }
            ok = _same(
                wire.visit_object,
                messages.VisitEvent,
                {**common, "beacon": ours_beacon},
                {**common, "beacon": their_beacon},
            )
            accepted, refused = accepted + ok, refused + (not ok)
    assert accepted > 800
    assert refused > 200


def test_telemetry_status_and_heartbeats_are_the_models_bytes() -> None:
    rng = random.Random(RNG_SEED + 1)
    outcomes = set()
    for _ in range(300):
        at = _at(_pick(rng, rng.uniform(1.7e9, 1.9e9), rng.uniform(9e8, 1e9)))
        gateway_id = _pick(rng, rng.choice(["gw-a", "gw-mordacs-1"]), "-gw")
        for ours_beacon, their_beacon in _beacons(rng):
            values = {
                "gateway_id": gateway_id,
                "at": at,
                "battery_mv": _pick(rng, rng.choice([None, rng.randrange(65536)]), 65536, -1),
                "temperature_c": _pick(rng, rng.choice([None, round(rng.uniform(-128, 128), 2)]), 128.5, -129),
                "adv_count": _pick(rng, rng.randrange(2**32), 2**32),
                "uptime_s": _pick(rng, rng.choice([rng.uniform(0, 4e8), 3600]), 5e8, -1.0),
            }
            ours, theirs = {**values, "beacon": ours_beacon}, {**values, "beacon": their_beacon}
            outcomes.add(("telemetry", _same(wire.telemetry_object, messages.BeaconTelemetry, ours, theirs)))
        online, scanning = rng.random() < 0.5, rng.random() < 0.5
        reason = _pick(rng, rng.choice([None, "night audit", "x" * 200]), "x" * 201)
        status_at = rng.choice([None, at])
        ok = _same(
            wire.status_object,
            messages.GatewayStatus,
            {"gateway_id": gateway_id, "online": online, "at": status_at, "scanning": scanning, "reason": reason},
            {
                "gateway_id": gateway_id,
                "state": "online" if online else "offline",
                "at": status_at,
                "scanning": scanning,
                "reason": reason,
            },
        )
        outcomes.add(("status", ok))
        beat = {
            "gateway_id": gateway_id,
            "at": at,
            "scanning": scanning,
            "in_service": rng.random() < 0.5,
            "outbox_depth": _pick(rng, rng.choice([0, rng.randrange(100_000_001)]), 100_000_001),
            "next_seq": _pick(rng, rng.choice([1, rng.randrange(1, 2**40)]), 0),
            "adverts_per_s": _pick(rng, rng.choice([0.0, round(rng.uniform(0, 100_000), 2), 3]), 100_000.5),
            "battery_pct": _pick(rng, rng.choice([None, rng.randrange(101)]), 101),
        }
        outcomes.add(("heartbeat", _same(wire.heartbeat_object, messages.Heartbeat, beat, beat)))
    assert outcomes == {(kind, ok) for kind in ("telemetry", "status", "heartbeat") for ok in (True, False)}


@pytest.mark.parametrize(
    ("ours", "theirs", "values"),
    [
        (wire.IBeaconId, messages.IBeaconId, {"uuid": "F7826DA64FA24E988024BC5B71E0893E", "major": 1, "minor": 7}),
        (wire.IBeaconId, messages.IBeaconId, {"uuid": "f7826da64fa24e988024bc5b71e0893e", "major": 65536, "minor": 7}),
        (wire.EddystoneUidId, messages.EddystoneUidId, {"namespace": "00112233445566778899", "instance": "aabbcc"}),
        (wire.EddystoneEidId, messages.EddystoneEidId, {"eid": "00112233445566zz"}),
        (wire.AltBeaconId, messages.AltBeaconId, {"beacon_id": "00" * 19}),
    ],
)
def test_beacon_ids_refuse_what_the_models_refuse(ours: Any, theirs: Any, values: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        theirs(**values)
    with pytest.raises(ValueError):  # noqa: PT011 - its own words
        ours(**values)


def test_beacon_ids_have_the_models_keys_and_objects() -> None:
    for ours, theirs in _beacons(random.Random(RNG_SEED + 2)):
        assert ours.key() == theirs.key()  # type: ignore[attr-defined,unused-ignore]
        assert ours.wire() == theirs.model_dump(mode="json")
