"""Validation: every refusal has its named reason; valid messages become enriched records."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ronde.ingest.validate import Accepted, ValidationContext, validate, validate_strict
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.gateways import GatewayRegistry, gateway_entry
from ronde.protocol.messages import format_time
from ronde.protocol.signing import public_key_text, sign
from ronde.protocol.topics import TopicKind
from ronde.store.records import (
    BeaconCheck,
    BeaconTelemetryRecord,
    GatewayStateRecord,
    Rejection,
    RejectReason,
    StoredVisit,
    Verification,
)
from tests.ingest import helpers
from tests.ingest.helpers import (
    GATEWAYS,
    GW,
    GW2,
    KEYS,
    REGISTRY,
    context,
    encode,
    encode_hostile,
    static_checkpoints,
    topic,
)

NOW = datetime.now(UTC)


def visit(seq: int, **kw: Any) -> dict[str, Any]:
    """Visits dated from NOW, the instant every validation here is made at (not from the wall clock:
    a long test session would otherwise see them minutes in NOW's future)."""
    kw.setdefault("first_seen", NOW - timedelta(seconds=30))
    return helpers.visit(seq, **kw)


def _reason(result: Accepted | Rejection) -> RejectReason | None:
    return result.reason if isinstance(result, Rejection) else None


def test_valid_signed_visit_is_enriched() -> None:
    cp = static_checkpoints()[0]
    obj = visit(7, checkpoint=cp)
    payload = encode(obj)
    result = validate(topic(), payload, NOW, context())
    assert isinstance(result, Accepted)
    v = result.record
    assert isinstance(v, StoredVisit)
    assert (v.event_id, v.gateway_id, v.seq, v.badge) == (obj["id"], GW, 7, "EQUIPE-A1")
    assert (v.checkpoint_id, v.kind, v.building, v.estate, v.landlord) == (
        cp.id,
        cp.kind.value,
        cp.building,
        cp.estate,
        cp.landlord,
    )
    assert v.verification is Verification.SIGNED
    assert v.beacon_check is BeaconCheck.STATIC
    assert v.payload_sha256 == hashlib.sha256(payload).hexdigest()
    assert v.service_day == v.first_seen.date()
    assert v.received_at == NOW


def test_each_failure_has_its_reason() -> None:
    ctx = context()
    good = visit(1)
    forged = dict(good, count=good["count"] + 1)  # changed after signing
    cases: list[tuple[str, bytes, RejectReason]] = [
        (topic(), b"x" * 5000, RejectReason.SIZE),
        ("ronde/v2/gw/gw-test/visit", encode(good), RejectReason.TOPIC),
        ("ronde/v1/gw/gw-test/other", encode(good), RejectReason.TOPIC),
        (topic("gw-nobody"), encode(visit(1, gateway="gw-nobody", key=KEYS[GW])), RejectReason.UNKNOWN_GATEWAY),
        (topic(), b"\xff\xfe{}", RejectReason.ENCODING),
        (topic(), b'{"v":1,"type":"visit",', RejectReason.ENCODING),
        (topic(), b"[1,2,3]", RejectReason.SCHEMA),
        (topic(), encode(sign(dict(good, seq="12"), KEYS[GW])), RejectReason.SCHEMA),
        (topic(), encode(sign(dict(good, count=True), KEYS[GW])), RejectReason.SCHEMA),
        (topic(), encode(sign(dict(good, extra=1), KEYS[GW])), RejectReason.SCHEMA),
        (topic(GW, TopicKind.STATUS), encode(good), RejectReason.SCHEMA),
        (topic(GW2), encode(good), RejectReason.GATEWAY_MISMATCH),
        (topic(), encode(forged), RejectReason.SIGNATURE_INVALID),
        (topic(), encode(visit(1, key=KEYS[GW2])), RejectReason.SIGNATURE_INVALID),
        (topic(), encode(visit(1, signed=False)), RejectReason.SIGNATURE_MISSING),
        (topic(), encode(visit(1, first_seen=NOW + timedelta(minutes=10))), RejectReason.CLOCK_FUTURE),
        (topic(), encode(visit(1, first_seen=NOW - timedelta(days=61))), RejectReason.CLOCK_TOO_OLD),
        (
            topic(),
            encode(visit(1, beacon={"format": "ibeacon", "uuid": "0" * 32, "major": 9, "minor": 9})),
            RejectReason.UNKNOWN_BEACON,
        ),
        (
            topic(),
            encode(visit(1, beacon={"format": "eddystone_eid", "eid": "00112233aabbccdd"})),
            RejectReason.EID_UNRESOLVED,
        ),
    ]
    for t, payload, reason in cases:
        result = validate(t, payload, NOW, ctx)
        assert isinstance(result, Rejection), (reason, result)
        assert result.reason is reason, (reason, result.detail)
        assert result.payload_sha256 == hashlib.sha256(payload).hexdigest()
        assert result.at == NOW
        assert result.detail
        # the payload's content is never kept, only its digest
        assert "EQUIPE" not in result.detail


def test_rejection_names_gateway_and_event() -> None:
    result = validate(topic(GW2), encode(visit(3)), NOW, context())
    assert isinstance(result, Rejection)
    assert result.gateway_id == GW2
    assert result.topic == topic(GW2)
    assert result.event_id is not None


def _legacy_gw() -> GatewayRegistry:
    """GW enrolled with allow_unsigned (and its key), GW2 as usual."""
    return GatewayRegistry.of(gateway_entry(GW, public_key_text(KEYS[GW]), allow_unsigned=True), GATEWAYS.entries[GW2])


def test_unsigned_accepted_only_from_a_gateway_enrolled_allow_unsigned() -> None:
    payload = encode(visit(1, signed=False))
    assert _reason(validate(topic(), payload, NOW, context())) is RejectReason.SIGNATURE_MISSING
    ctx = context(gateways=_legacy_gw())
    result = validate(topic(), payload, NOW, ctx)
    assert isinstance(result, Accepted)
    assert isinstance(result.record, StoredVisit)
    assert result.record.verification is Verification.UNSIGNED
    # the setting is GW's alone: GW2, in the same registry, still needs its signature
    other = encode(visit(1, gateway=GW2, signed=False))
    assert _reason(validate(topic(GW2), other, NOW, ctx)) is RejectReason.SIGNATURE_MISSING
    # a signed message from an allow_unsigned gateway is still checked, and stored as signed
    signed = validate(topic(), encode(visit(2)), NOW, ctx)
    assert isinstance(signed, Accepted)
    assert isinstance(signed.record, StoredVisit)
    assert signed.record.verification is Verification.SIGNED
    # a bad signature is never excused by allow_unsigned
    bad = dict(visit(1), rssi_max=-1)
    assert _reason(validate(topic(), encode(bad), NOW, ctx)) is RejectReason.SIGNATURE_INVALID


def test_unknown_gateway_accepted_unsigned_only_when_configured() -> None:
    payload = encode(visit(1, gateway="gw-new", signed=False))
    assert _reason(validate(topic("gw-new"), payload, NOW, context())) is RejectReason.UNKNOWN_GATEWAY
    result = validate(topic("gw-new"), payload, NOW, context(accept_unknown_gateways=True))
    assert isinstance(result, Accepted)
    assert isinstance(result.record, StoredVisit)
    assert result.record.verification is Verification.UNSIGNED


def _other_kinds(gateway: str = GW) -> dict[TopicKind, dict[str, Any]]:
    at = format_time(NOW)
    from tests.ingest.helpers import beacon_of

    return {
        TopicKind.STATUS: {
            "v": 1,
            "type": "status",
            "gateway_id": gateway,
            "state": "online",
            "at": at,
            "scanning": True,
            "reason": "en service",
        },
        TopicKind.HEARTBEAT: {
            "v": 1,
            "type": "heartbeat",
            "gateway_id": gateway,
            "at": at,
            "scanning": True,
            "in_service": True,
            "outbox_depth": 0,
            "next_seq": 5,
            "adverts_per_s": 2.5,
            "battery_pct": None,
        },
        TopicKind.TELEMETRY: {
            "v": 1,
            "type": "telemetry",
            "gateway_id": gateway,
            "at": at,
            "beacon": beacon_of(static_checkpoints()[0]),
            "battery_mv": 2900,
            "temperature_c": 12.5,
            "adv_count": 10,
            "uptime_s": 100.0,
        },
    }


@pytest.mark.parametrize("kind", [TopicKind.STATUS, TopicKind.HEARTBEAT, TopicKind.TELEMETRY])
def test_every_kind_is_verified_like_visits(kind: TopicKind) -> None:
    obj = _other_kinds()[kind]
    ctx = context()
    assert isinstance(validate(topic(kind=kind), encode(sign(obj, KEYS[GW])), NOW, ctx), Accepted)
    assert _reason(validate(topic(kind=kind), encode(obj), NOW, ctx)) is RejectReason.SIGNATURE_MISSING
    forged = dict(sign(obj, KEYS[GW]), scanning=False) if "scanning" in obj else dict(sign(obj, KEYS[GW]), adv_count=11)
    assert _reason(validate(topic(kind=kind), encode(forged), NOW, ctx)) is RejectReason.SIGNATURE_INVALID
    wrong_key = sign(obj, KEYS[GW2])
    assert _reason(validate(topic(kind=kind), encode(wrong_key), NOW, ctx)) is RejectReason.SIGNATURE_INVALID
    # unsigned: only from the gateway enrolled allow_unsigned, and never forged
    legacy = context(gateways=_legacy_gw())
    assert isinstance(validate(topic(kind=kind), encode(obj), NOW, legacy), Accepted)
    assert _reason(validate(topic(kind=kind), encode(forged), NOW, legacy)) is RejectReason.SIGNATURE_INVALID
    other = _other_kinds(GW2)[kind]
    assert _reason(validate(topic(GW2, kind), encode(other), NOW, legacy)) is RejectReason.SIGNATURE_MISSING


def test_the_signed_will_without_a_time_is_accepted() -> None:
    will = sign(
        {
            "v": 1,
            "type": "status",
            "gateway_id": GW,
            "state": "offline",
            "at": None,
            "scanning": False,
            "reason": "connection lost",
        },
        KEYS[GW],
    )
    result = validate(topic(kind=TopicKind.STATUS), encode(will), NOW, context())
    assert isinstance(result, Accepted)
    assert isinstance(result.record, GatewayStateRecord)
    assert result.record.online is False
    assert result.record.at == NOW  # the receive time stands in


def test_visit_longer_than_max_visit_is_refused_without_its_content() -> None:
    ctx = context()
    day_long = encode(visit(1, first_seen=NOW - timedelta(hours=25), dwell_s=24 * 3600))
    result = validate(topic(), day_long, NOW, ctx)
    assert isinstance(result, Rejection)
    assert result.reason is RejectReason.VISIT_TOO_LONG
    assert "EQUIPE" not in result.detail
    assert "24" not in result.detail
    assert "86400" not in result.detail
    # what a gateway makes: closed at its max_visit_s (1 h) on the next advertisement, a little over
    hour = encode(visit(2, first_seen=NOW - timedelta(minutes=65), dwell_s=3600 + 20))
    assert isinstance(validate(topic(), hour, NOW, ctx), Accepted)
    # the bound is ingest's setting
    strict = context(max_visit=timedelta(minutes=30))
    assert _reason(validate(topic(), hour, NOW, strict)) is RejectReason.VISIT_TOO_LONG


def test_service_window_rules_of_docs_coverage_md() -> None:
    """docs/coverage.md and docs/ingest.md: a visit first seen before the window opens is not
    collected (15:50–16:10 is refused); one first seen inside it and running past its end is
    stored as the gateway signed it (22:10–22:30), coverage counting it only until 22:15."""
    evenings = ServiceCalendar()  # Wed–Sun 16:00–22:15 Paris; 26 Nov 2026 is a Thursday, UTC+1
    early = datetime(2026, 11, 26, 14, 50, tzinfo=UTC)  # 15:50 Paris
    result = validate(
        topic(),
        encode(visit(1, first_seen=early, dwell_s=20 * 60)),
        early + timedelta(minutes=21),
        context(calendar=evenings),
    )
    assert _reason(result) is RejectReason.OUT_OF_SERVICE
    late = datetime(2026, 11, 26, 21, 10, tzinfo=UTC)  # 22:10 Paris
    result = validate(
        topic(),
        encode(visit(2, first_seen=late, dwell_s=20 * 60)),
        late + timedelta(minutes=21),
        context(calendar=evenings),
    )
    assert isinstance(result, Accepted)
    assert isinstance(result.record, StoredVisit)
    assert result.record.last_seen == late + timedelta(minutes=20)  # not clipped at ingest
    assert result.record.service_day.isoformat() == "2026-11-26"


def test_out_of_service_hours_not_collected() -> None:
    evenings = ServiceCalendar()  # Wed–Sun 16:00–22:15 Paris
    thursday_noon = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
    payload = encode(visit(1, first_seen=thursday_noon))
    result = validate(topic(), payload, thursday_noon + timedelta(minutes=1), context(calendar=evenings))
    assert _reason(result) is RejectReason.OUT_OF_SERVICE
    thursday_evening = datetime(2026, 11, 26, 20, 30, tzinfo=UTC)  # 21:30 Paris
    payload = encode(visit(1, first_seen=thursday_evening))
    result = validate(topic(), payload, thursday_evening + timedelta(minutes=1), context(calendar=evenings))
    assert isinstance(result, Accepted)
    assert isinstance(result.record, StoredVisit)
    assert result.record.service_day.isoformat() == "2026-11-26"


def test_badge_not_enrolled_on_gateway() -> None:
    from ronde.protocol.gateways import GatewayRegistry, gateway_entry
    from ronde.protocol.signing import public_key_text

    gws = GatewayRegistry.of(gateway_entry(GW, public_key_text(KEYS[GW]), frozenset({"EQUIPE-B2"})))
    result = validate(topic(), encode(visit(1)), NOW, context(gateways=gws))
    assert _reason(result) is RejectReason.GATEWAY_MISMATCH
    ok = validate(topic(), encode(visit(1, badge="EQUIPE-B2")), NOW, context(gateways=gws))
    assert isinstance(ok, Accepted)


def test_status_heartbeat_telemetry() -> None:
    ctx = context()
    at = format_time(NOW)
    status = validate(
        topic(kind=TopicKind.STATUS),
        encode(sign({"v": 1, "type": "status", "gateway_id": GW, "state": "offline"}, KEYS[GW])),
        NOW,
        ctx,
    )
    assert isinstance(status, Accepted)
    assert isinstance(status.record, GatewayStateRecord)
    assert status.record.online is False
    assert status.record.at == NOW
    hb = validate(
        topic(kind=TopicKind.HEARTBEAT),
        encode(
            sign(
                {
                    "v": 1,
                    "type": "heartbeat",
                    "gateway_id": GW,
                    "at": at,
                    "scanning": True,
                    "in_service": True,
                    "outbox_depth": 3,
                    "next_seq": 9,
                    "adverts_per_s": 4.5,
                    "battery_pct": 80,
                },
                KEYS[GW],
            )
        ),
        NOW,
        ctx,
    )
    assert isinstance(hb, Accepted)
    assert isinstance(hb.record, GatewayStateRecord)
    assert (hb.record.outbox_depth, hb.record.battery_pct, hb.record.online) == (3, 80, True)
    cp = REGISTRY.eid_checkpoints()[0]
    from tests.ingest.helpers import beacon_of

    tlm = validate(
        topic(kind=TopicKind.TELEMETRY),
        encode(
            sign(
                {
                    "v": 1,
                    "type": "telemetry",
                    "gateway_id": GW,
                    "at": at,
                    "beacon": beacon_of(cp, NOW),
                    "battery_mv": 2900,
                    "temperature_c": 11.5,
                    "adv_count": 1000,
                    "uptime_s": 3600.0,
                },
                KEYS[GW],
            )
        ),
        NOW,
        ctx,
    )
    assert isinstance(tlm, Accepted)
    assert isinstance(tlm.record, BeaconTelemetryRecord)
    assert tlm.record.checkpoint_id == cp.id
    assert tlm.record.battery_mv == 2900
    unknown = validate(
        topic(kind=TopicKind.TELEMETRY),
        encode(
            sign(
                {
                    "v": 1,
                    "type": "telemetry",
                    "gateway_id": GW,
                    "at": at,
                    "beacon": {"format": "eddystone_uid", "namespace": "0" * 20, "instance": "0" * 12},
                    "adv_count": 1,
                    "uptime_s": 1.0,
                },
                KEYS[GW],
            )
        ),
        NOW,
        ctx,
    )
    assert _reason(unknown) is RejectReason.UNKNOWN_BEACON


def test_eid_visit_resolved_and_replay_outside_window() -> None:
    ctx = context()
    cp = REGISTRY.eid_checkpoints()[0]
    result = validate(topic(), encode(visit(1, checkpoint=cp)), NOW, ctx)
    assert isinstance(result, Accepted)
    assert isinstance(result.record, StoredVisit)
    assert result.record.checkpoint_id == cp.id
    assert result.record.beacon_check is BeaconCheck.EID_RESOLVED
    # an EID recorded yesterday and replayed now: the beacon's, but far outside its window
    from tests.ingest.helpers import beacon_of

    old = beacon_of(cp, NOW - timedelta(days=1))
    replay = validate(
        topic(), encode(visit(2, checkpoint=cp, beacon=old, first_seen=NOW - timedelta(minutes=1))), NOW, ctx
    )
    assert _reason(replay) is RejectReason.EID_REPLAY


_GOOD = encode(visit(1))


@settings(max_examples=400, deadline=None)
@given(
    t=st.one_of(st.just(topic()), st.text(max_size=80), st.just(topic(GW2)), st.just(topic(kind=TopicKind.STATUS))),
    payload=st.one_of(
        st.binary(max_size=5000),
        st.builds(lambda i, b: _GOOD[:i] + b + _GOOD[i + len(b) :], st.integers(0, len(_GOOD)), st.binary(max_size=8)),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda ch: st.lists(ch, max_size=4) | st.dictionaries(st.text(max_size=8), ch, max_size=4),
            max_leaves=20,
        ).map(lambda o: encode_hostile(o if isinstance(o, dict) else {"v": 1, "type": "visit", "x": o})),
    ),
)
def test_never_raises(t: str, payload: bytes) -> None:
    result = validate_strict(t, payload, NOW, context_cached())
    assert isinstance(result, Accepted | Rejection)


_CTX = context()


def context_cached() -> ValidationContext:
    return _CTX


@settings(max_examples=150, deadline=None)
@given(
    field=st.sampled_from(sorted(visit(1))),
    value=st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True),
        st.text(max_size=30),
        st.lists(st.integers()),
    ),
)
def test_mutated_field_never_raises_nor_passes(field: str, value: object) -> None:
    original = visit(1)
    obj = dict(original, **{field: value})
    result = validate_strict(topic(), encode_hostile(obj), NOW, _CTX)  # NaN/Infinity: ENCODING rejections
    if field != "sig" and value != original[field]:
        assert isinstance(result, Rejection)
