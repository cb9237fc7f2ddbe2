"""Every number and string of the wire messages is bounded, and a message kind added later cannot
forget it: ``assert_bounded`` (run on ``MESSAGE_MODELS`` at import) refuses it."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field, ValidationError

from ronde.protocol.messages import (
    MESSAGE_MODELS,
    WIRE_FLOAT_MAX,
    WIRE_INT_MAX,
    IBeaconId,
    WireFloat,
    WireInt,
    _Wire,
    assert_bounded,
    format_time,
)

AT = format_time(datetime(2026, 3, 29, 19, 30, tzinfo=UTC))
VALID: dict[str, dict[str, Any]] = {
    "visit": {
        "v": 1,
        "type": "visit",
        "id": "01JDX8Z3Q4R5S6T7V8W9XYZABC",
        "gateway_id": "gw-1",
        "seq": 1,
        "badge": "equipe-01",
        "beacon": {"format": "ibeacon", "uuid": "0" * 32, "major": 1, "minor": 2},
        "first_seen": AT,
        "last_seen": AT,
        "count": 3,
        "rssi_max": -60,
        "rssi_mean": -70.0,
    },
    "status": {
        "v": 1,
        "type": "status",
        "gateway_id": "gw-1",
        "state": "online",
        "at": AT,
        "scanning": True,
        "reason": None,
    },
    "heartbeat": {
        "v": 1,
        "type": "heartbeat",
        "gateway_id": "gw-1",
        "at": AT,
        "scanning": True,
        "in_service": True,
        "outbox_depth": 0,
        "next_seq": 1,
        "adverts_per_s": 1.5,
        "battery_pct": 50,
    },
    "telemetry": {
        "v": 1,
        "type": "telemetry",
        "gateway_id": "gw-1",
        "at": AT,
        "beacon": {"format": "altbeacon", "beacon_id": "ab" * 20},
        "battery_mv": 3000,
        "temperature_c": 20.5,
        "adv_count": 10,
        "uptime_s": 36.5,
    },
}
EXTREMES = [
    "18446744073709551616",
    "-9223372036854775809",
    "1e999",
    "-1e999",
    "1e300",
    '"' + "x" * 300 + '"',
    "[[[[[[[[[[0]]]]]]]]]]",
    '{"a":{"a":{"a":0}}}',
]


def test_the_valid_examples_are_valid() -> None:
    for kind, obj in VALID.items():
        MESSAGE_MODELS[kind].model_validate_json(json.dumps(obj), strict=True)


@pytest.mark.parametrize("kind", sorted(VALID))
def test_every_member_refuses_every_extreme_value(kind: str) -> None:
    model = MESSAGE_MODELS[kind]
    for member in VALID[kind]:
        for extreme in EXTREMES:
            text = json.dumps(VALID[kind] | {member: "@@"}).replace('"@@"', extreme)
            with pytest.raises(ValidationError):
                model.model_validate_json(text, strict=True)


def test_the_bounds_fit_both_stores() -> None:
    assert WIRE_INT_MAX < 2**63
    assert math.isfinite(WIRE_FLOAT_MAX)
    for model in MESSAGE_MODELS.values():
        assert_bounded(model)
    assert_bounded(IBeaconId)


def test_a_later_kind_with_an_unbounded_integer_is_refused() -> None:
    class Bare(_Wire):
        type: Literal["bare"] = "bare"
        count: int

    with pytest.raises(TypeError, match="integer without bounds"):
        assert_bounded(Bare)


def test_a_later_kind_with_an_unbounded_float_is_refused() -> None:
    class Loose(_Wire):
        level: float = Field(ge=0)

    with pytest.raises(TypeError, match="number without bounds"):
        assert_bounded(Loose)


def test_a_bound_the_alias_would_silently_widen_is_refused() -> None:
    class Widened(_Wire):
        depth: WireInt = Field(le=5)  # pydantic keeps the alias's le=2**53-1: the trap

    with pytest.raises(TypeError, match="widened"):
        assert_bounded(Widened)


def test_a_string_outside_the_wire_base_needs_a_bound() -> None:
    class Elsewhere(BaseModel):
        name: str

    with pytest.raises(TypeError, match="string without a length bound"):
        assert_bounded(Elsewhere)


def test_a_well_formed_later_kind_passes_and_inherits_finite_floats() -> None:
    class Later(_Wire):
        depth: Annotated[WireInt, Field(ge=0, le=5)]
        level: Annotated[WireFloat, Field(ge=0)]
        note: str

    assert_bounded(Later)
    with pytest.raises(ValidationError):
        Later.model_validate_json('{"depth": 6, "level": 1, "note": "x"}')
    with pytest.raises(ValidationError):
        Later.model_validate_json('{"depth": 1, "level": 1e999, "note": "x"}')
    with pytest.raises(ValidationError):
        Later.model_validate_json('{"depth": 1, "level": 1, "note": "' + "x" * 300 + '"}')
