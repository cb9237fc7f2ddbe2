"""A rejection keeps no payload content: a secret placed in the payload of every kind of refused
message appears neither in the rejection's detail nor in any log record, as stored and read back
from a real SQLite store through the batch processor the worker runs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ronde.ingest.pipeline import BatchProcessor, Incoming
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.gateways import GatewayRegistry, gateway_entry
from ronde.protocol.messages import format_time
from ronde.protocol.signing import public_key_text, sign
from ronde.protocol.topics import TopicKind
from ronde.store.records import RejectReason
from ronde.store.sqlite import SqliteStore
from tests.ingest import helpers
from tests.ingest.helpers import GW, GW2, KEYS, REGISTRY, context, encode, topic

SECRET = "zqsecret7f3a9x"  # fits a badge, a gateway id and a type: every string member can carry it
NOW = datetime.now(UTC)
NEVER = ServiceCalendar(days=frozenset(), start=datetime.min.time(), end=datetime.min.time(), timezone="UTC")


def visit(seq: int = 1, **kw: Any) -> dict[str, Any]:
    kw.setdefault("first_seen", NOW - timedelta(seconds=30))
    kw.setdefault("badge", SECRET)
    return helpers.visit(seq, **kw)


def heartbeat(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "v": 1,
        "type": "heartbeat",
        "gateway_id": GW,
        "at": format_time(NOW - timedelta(seconds=5)),
        "scanning": True,
        "in_service": True,
        "outbox_depth": 0,
        "next_seq": 1,
        "adverts_per_s": 3.5,
        "battery_pct": None,
    }
    return base | over


def _eid_replay() -> dict[str, Any]:
    cp = REGISTRY.eid_checkpoints()[0]
    return visit(checkpoint=cp, beacon=helpers.beacon_of(cp, NOW - timedelta(days=2)))


# (rejection reason, topic, payload, context options)
Case = tuple[RejectReason, str, Callable[[], bytes], dict[str, Any]]
CASES: dict[str, Case] = {
    "size": (RejectReason.SIZE, topic(), lambda: encode(visit(badge=SECRET * 400)), {}),
    "topic": (RejectReason.TOPIC, f"ronde/v1/gw/{GW}/{SECRET}", lambda: encode(visit()), {}),
    "unknown_gateway": (
        RejectReason.UNKNOWN_GATEWAY,
        topic("gw-nobody"),
        lambda: encode(visit(gateway="gw-nobody", key=KEYS[GW])),
        {},
    ),
    "not_utf8": (RejectReason.ENCODING, topic(), lambda: f'{{"badge":"{SECRET}\xff"}}'.encode("latin-1"), {}),
    "not_json": (RejectReason.ENCODING, topic(), lambda: f'{{"badge":"{SECRET}" "x"}}'.encode(), {}),  # noqa: PLW0108 - a payload factory like its neighbours
    "nan": (RejectReason.ENCODING, topic(), lambda: f'{{"badge":"{SECRET}","count":NaN}}'.encode(), {}),  # noqa: PLW0108 - a payload factory like its neighbours
    "not_an_object": (RejectReason.SCHEMA, topic(), lambda: encode([SECRET]), {}),  # type: ignore[arg-type]
    "type_string": (RejectReason.SCHEMA, topic(), lambda: encode(dict(visit(), type=SECRET)), {}),
    "extra_member": (
        RejectReason.SCHEMA,
        topic(),
        lambda: encode(sign(dict(visit(), **{SECRET: SECRET}), KEYS[GW])),
        {},
    ),
    "extra_beacon_member": (
        RejectReason.SCHEMA,
        topic(),
        lambda: encode(
            sign(dict(visit(), beacon={"format": "altbeacon", "beacon_id": "ab" * 20, SECRET: 1}), KEYS[GW])
        ),
        {},
    ),
    "beacon_tag": (
        RejectReason.SCHEMA,
        topic(),
        lambda: encode(sign(dict(visit(), beacon={"format": SECRET}), KEYS[GW])),
        {},
    ),
    "badge_pattern": (RejectReason.SCHEMA, topic(), lambda: encode(visit(badge=f"{SECRET} {SECRET}")), {}),
    "wrong_json_type": (RejectReason.SCHEMA, topic(), lambda: encode(sign(dict(visit(), seq=SECRET), KEYS[GW])), {}),
    "heartbeat_value": (
        RejectReason.SCHEMA,
        topic(GW, TopicKind.HEARTBEAT),
        lambda: encode(heartbeat(battery_pct=SECRET)),
        {},
    ),
    "gateway_mismatch": (
        RejectReason.GATEWAY_MISMATCH,
        topic(GW2),
        lambda: encode(visit(gateway=GW, key=KEYS[GW]) | {"gateway_id": SECRET}),
        {},
    ),
    "badge_not_enrolled": (
        RejectReason.GATEWAY_MISMATCH,
        topic(),
        lambda: encode(visit()),
        {"gateways": GatewayRegistry.of(gateway_entry(GW, public_key_text(KEYS[GW]), frozenset({"EQUIPE-A1"})))},
    ),
    "signature_missing": (RejectReason.SIGNATURE_MISSING, topic(), lambda: encode(visit(signed=False)), {}),
    "signature_invalid": (RejectReason.SIGNATURE_INVALID, topic(), lambda: encode(visit(key=KEYS[GW2])), {}),
    "clock_future": (
        RejectReason.CLOCK_FUTURE,
        topic(),
        lambda: encode(visit(first_seen=NOW + timedelta(minutes=10))),
        {},
    ),
    "clock_too_old": (
        RejectReason.CLOCK_TOO_OLD,
        topic(),
        lambda: encode(visit(first_seen=NOW - timedelta(days=61))),
        {},
    ),
    "out_of_service": (RejectReason.OUT_OF_SERVICE, topic(), lambda: encode(visit()), {"calendar": NEVER}),
    "unknown_beacon": (
        RejectReason.UNKNOWN_BEACON,
        topic(),
        lambda: encode(visit(beacon={"format": "altbeacon", "beacon_id": "ab" * 20})),
        {},
    ),
    "eid_unresolved": (
        RejectReason.EID_UNRESOLVED,
        topic(),
        lambda: encode(visit(beacon={"format": "eddystone_eid", "eid": "00112233aabbccdd"})),
        {},
    ),
    "eid_replay": (RejectReason.EID_REPLAY, topic(), lambda: encode(_eid_replay()), {}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_secret_in_the_payload_never_reaches_detail_store_or_log(
    case: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reason, where, payload, options = CASES[case]
    body = payload()
    assert SECRET.encode() in body
    store = SqliteStore(tmp_path / "r.db")
    store.open()
    try:
        caplog.set_level(logging.DEBUG)
        outcome = BatchProcessor(context(**options), store).process([Incoming(where, body, NOW)])
        assert [r.reason for r in outcome.batch.rejections] == [reason], outcome.batch.rejections
        store.write(outcome.batch)
        stored = store.rejections(NOW - timedelta(minutes=1), NOW + timedelta(minutes=1))
        assert [r.reason for r in stored] == [reason]
        rejection = stored[0]
        assert rejection.detail
        assert SECRET not in rejection.detail
        assert SECRET not in repr(rejection).replace(rejection.topic, "")  # the topic is the broker's, not the payload
        for record in caplog.records:
            assert SECRET not in record.getMessage()
            assert SECRET not in (record.exc_text or "")
    finally:
        store.close()


def test_schema_detail_names_fields_and_bounds_only() -> None:
    """Field names and the schema's bounds are what an operator needs; an unexpected member is
    reported without its name, which the sender chose."""
    from ronde.ingest.validate import validate

    body = encode(heartbeat(outbox_depth=2**64, adverts_per_s=-1.0, **{SECRET: 1}))
    result = validate(topic(GW, TopicKind.HEARTBEAT), body, NOW, context())
    assert getattr(result, "reason", None) is RejectReason.SCHEMA
    detail = getattr(result, "detail", "")
    assert "outbox_depth: less_than_equal (le=100000000)" in detail
    assert "adverts_per_s: greater_than_equal (ge=0" in detail
    assert "message: unexpected field" in detail
    assert SECRET not in detail
