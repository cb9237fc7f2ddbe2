"""The documented contract (schemas, examples) is what the code sends and accepts."""

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

from ronde.protocol import signing
from ronde.protocol.messages import MESSAGE_MODELS, IBeaconId, VisitEvent, encode, format_time, parse_time, to_wire
from ronde.protocol.schema_export import SCHEMA_DIR, rendered

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.json"))
DOC_PUBLIC_KEY = "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg"


def _schema(kind: str) -> dict[str, object]:
    return json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text())  # type: ignore[no-any-return]


def test_committed_schemas_are_generated_ones() -> None:
    for name, text in rendered().items():
        assert (SCHEMA_DIR / name).read_text() == text, f"{name} is stale: run python -m ronde.protocol.schema_export"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_match_schema_and_model(path: Path) -> None:
    obj = json.loads(path.read_text())
    jsonschema.validate(obj, _schema(obj["type"]))
    model = MESSAGE_MODELS[obj["type"]].model_validate(obj)
    assert to_wire(model) == obj  # what the code would send is exactly the example


def test_documented_examples_are_in_protocol_md() -> None:
    text = (ROOT / "docs" / "protocol.md").read_text()
    visit = json.loads((ROOT / "docs" / "examples" / "visit-ibeacon.json").read_text())
    assert visit["sig"] in text
    assert signing.canonical_bytes(visit).decode() in text


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_signatures_verify(path: Path) -> None:
    """Every kind is signed, the will included (its "at" is null: see docs/protocol.md)."""
    obj = json.loads(path.read_text())
    assert signing.verify(obj, signing.public_key_from_text(DOC_PUBLIC_KEY))
    tampered = {**obj, "gateway_id": "gw-equipe-b"}
    assert not signing.verify(tampered, signing.public_key_from_text(DOC_PUBLIC_KEY))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_v1_messages_without_sig_still_parse(path: Path) -> None:
    """Unsigned messages of every kind stay readable: accepting them is ingest's per-gateway choice."""
    obj = {k: v for k, v in json.loads(path.read_text()).items() if k != "sig"}
    jsonschema.validate(obj, _schema(obj["type"]))
    assert to_wire(MESSAGE_MODELS[obj["type"]].model_validate(obj)) == obj


def _event(**over: object) -> VisitEvent:
    base: dict[str, object] = dict(
        id="01JDX8Z3Q4R5S6T7V8W9XYZABC",
        gateway_id="gw-1",
        seq=1,
        badge="equipe-01",
        beacon=IBeaconId(uuid="0" * 32, major=1, minor=2),
        first_seen=datetime(2026, 3, 29, 19, 30, tzinfo=UTC),
        last_seen=datetime(2026, 3, 29, 19, 31, tzinfo=UTC),
        count=3,
        rssi_max=-60,
        rssi_mean=-70.0,
    )
    base.update(over)
    return VisitEvent.model_validate(base)


def test_encoded_event_validates_against_schema() -> None:
    obj = json.loads(encode(_event()))
    jsonschema.validate(obj, _schema("visit"))
    assert obj["first_seen"] == "2026-03-29T19:30:00.000Z"
    assert "sig" not in obj


@pytest.mark.parametrize(
    "over",
    [
        {"last_seen": datetime(2026, 3, 29, 19, 29, tzinfo=UTC)},
        {"rssi_mean": -50.0},
        {"seq": 0},
        {"badge": "Jean Dupont"},
        {"gateway_id": "GW 1"},
        {"id": "not-a-ulid"},
        {"first_seen": datetime(2026, 3, 29, 19, 30)},
    ],
)
def test_invalid_events_are_refused(over: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        _event(**over)


def test_extra_members_are_refused() -> None:
    obj = json.loads(encode(_event()))
    obj["name"] = "Jean Dupont"
    with pytest.raises(ValidationError):
        VisitEvent.model_validate(obj)


def test_time_format_round_trip() -> None:
    t = datetime(2026, 10, 25, 20, 30, 1, 123456, tzinfo=UTC)
    assert format_time(t) == "2026-10-25T20:30:01.123Z"
    assert parse_time(format_time(t)) == t.replace(microsecond=123000)
