"""Forged signatures under degenerate keys (issue 11, item 12).

Ed25519 verification checks [S]B = R + [k]A with k = SHA-512(R ‖ A ‖ M). If A is a point of small
order (the all-zero encoding is one, of order 4) and R is too, then S = 0 satisfies the equation
for every message whose k makes R + [k]A the identity: no private key is needed. A permissive
verifier (OpenSSL took the relay when libsodium refused) stored 3 of 24 such visits as "signed".

Here: every small-order key is refused at enrolment (gateways file, API, ``GatewayRegistry.enrol``)
with a clear error; keys forced into a registry object anyway still yield ``signature_invalid`` for
every forgery, including the ones that satisfy the cofactorless equation (checked in pure Python
below, so the test proves its forgeries are real ones); and end to end, on the shipped Mosquitto
with an ingest worker, none is stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ronde.api.registry_service import RegistryChangeError, RegistryService
from ronde.ingest.config import IngestConfig
from ronde.ingest.consumer import IngestWorker
from ronde.ingest.validate import validate
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import load_default_estate
from ronde.protocol.gateways import (
    EnrolmentError,
    GatewayEntry,
    GatewayRegistry,
    GatewaysFileError,
    gateway_entry,
    parse_gateways,
)
from ronde.protocol.signing import b64u, canonical_bytes, new_private_key, public_key_text
from ronde.store.records import Rejection, RejectReason
from ronde.store.sqlite import SqliteStore
from tests.ingest.broker import PASSWORD, Publisher, shipped_broker
from tests.ingest.helpers import ALWAYS, GW, KEYS, REGISTRY, context, encode, topic, visit, wait_for
from tests.support.services import Mosquitto

# The eight points of order dividing 8 on edwards25519, canonically encoded (identity, order 2,
# two of order 4 (the all-zero key is one), four of order 8).
SMALL_ORDER = [
    bytes.fromhex("0100000000000000000000000000000000000000000000000000000000000000"),
    bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    bytes.fromhex("0000000000000000000000000000000000000000000000000000000000000000"),
    bytes.fromhex("0000000000000000000000000000000000000000000000000000000000000080"),
    bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
    bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),
    bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
    bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
]
ZERO_KEY = bytes(32)
# Non-canonical encodings of small-order points: y = p (0), y = p + 1 (1), x = 0 with the sign bit set.
NON_CANONICAL = [
    bytes.fromhex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    bytes.fromhex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    bytes.fromhex("0100000000000000000000000000000000000000000000000000000000000080"),
]

# ---- a few lines of edwards25519, to show the forgeries below are real ones --------------------

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
Point = tuple[int, int]


def _decode(s: bytes) -> Point:
    y = int.from_bytes(s, "little") & ((1 << 255) - 1)
    sign = s[31] >> 7
    assert y < P, "non-canonical"
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * pow(2, (P - 1) // 4, P) % P
    assert (x * x - x2) % P == 0, "not on the curve"
    if x & 1 != sign:
        x = (P - x) % P
    return x, y


def _add(a: Point, b: Point) -> Point:
    (x1, y1), (x2, y2) = a, b
    t = D * x1 * x2 * y1 * y2 % P
    return (x1 * y2 + x2 * y1) * pow(1 + t, P - 2, P) % P, (y1 * y2 + x1 * x2) * pow(1 - t, P - 2, P) % P


IDENTITY: Point = (0, 1)


def _times(n: int, a: Point) -> Point:
    out = IDENTITY
    for _ in range(n):
        out = _add(out, a)
    return out


def _cofactorless_accepts(message: bytes, r: bytes, key: bytes) -> bool:
    """[0]B == R + [k]A: what a verifier without the small-order checks accepts for S = 0."""
    k = int.from_bytes(hashlib.sha512(r + key + message).digest(), "little") % L
    return _add(_decode(r), _times(k % 8, _decode(key))) == IDENTITY  # A has order | 8


def test_the_listed_points_are_the_eight_small_order_points() -> None:
    points = {_decode(s) for s in SMALL_ORDER}
    assert len(points) == 8
    assert all(_times(8, p) == IDENTITY for p in points)
    assert _decode(ZERO_KEY) in points
    assert _times(4, _decode(ZERO_KEY)) == IDENTITY


# ---- enrolment ----------------------------------------------------------------------------------

BAD_KEYS = [*SMALL_ORDER, *NON_CANONICAL]
BAD_IDS = [f"small-order-{i}" for i in range(len(SMALL_ORDER))] + [f"non-canonical-{i}" for i in range(3)]


@pytest.mark.parametrize("raw", BAD_KEYS, ids=BAD_IDS)
def test_degenerate_keys_are_refused_at_enrolment(raw: bytes, tmp_path: Path) -> None:
    text = b64u(raw)
    with pytest.raises(EnrolmentError, match="small-order, non-canonical or outside the prime-order subgroup"):
        gateway_entry("gw-forger", text)
    doc = f'format: ronde-gateways\nversion: 1\ngateways:\n  - {{id: gw-forger, public_key: "{text}"}}\n'
    with pytest.raises(GatewaysFileError) as err:
        parse_gateways(doc, "gateways.yaml")
    assert "gateways.yaml: gateways[0].public_key: not a usable Ed25519 public key" in str(err.value)
    forced = GatewayEntry("gw-forger", text, None, raw)  # built by hand: enrol vets it again
    with pytest.raises(EnrolmentError, match="could be forged"):
        GatewayRegistry().enrol(forced)
    service = RegistryService(load_default_estate())
    with pytest.raises(RegistryChangeError, match="could be forged"):
        service.put_gateway(forced)
    assert service.gateways.get("gw-forger") is None


def test_the_api_refuses_degenerate_keys_reused_keys_and_reserved_ids(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from ronde.api.app import create_app
    from ronde.api.auth import TokenBook
    from ronde.api.settings import ApiSettings
    from tests.api.support import TOKENS, auth

    store = SqliteStore(tmp_path / "r.db")
    store.open()
    app = create_app(
        ApiSettings(), store, load_default_estate(), ServiceCalendar(), tokens=TokenBook.from_tokens(TOKENS)
    )
    admin = auth("tok-admin")
    good = public_key_text(new_private_key())
    try:
        with TestClient(app) as c:
            for raw in BAD_KEYS:
                r = c.put("/api/v1/gateways/gw-forger", json={"public_key": b64u(raw)}, headers=admin)
                assert r.status_code == 422, r.text
                assert "could be forged" in r.text, r.text
            assert c.put("/api/v1/gateways/gw-a", json={"public_key": good}, headers=admin).status_code == 200
            r = c.put("/api/v1/gateways/gw-b", json={"public_key": good}, headers=admin)
            assert r.status_code == 422
            assert "already enrolled for gateway 'gw-a'" in r.text
            assert good not in r.text
            # re-keying a gateway with its own key is not a reuse
            assert c.put("/api/v1/gateways/gw-a", json={"public_key": good}, headers=admin).status_code == 200
            for reserved in ("ingest", "healthcheck"):
                key = public_key_text(new_private_key())
                r = c.put(f"/api/v1/gateways/{reserved}", json={"public_key": key}, headers=admin)
                assert r.status_code == 422
                assert "reserved" in r.text
            ids = {g["gateway_id"] for g in c.get("/api/v1/gateways", headers=admin).json()}
            assert {"gw-forger", "gw-b", "ingest", "healthcheck"}.isdisjoint(ids)
            assert "gw-a" in ids
    finally:
        store.close()


# ---- verification, with the keys forced into a registry -----------------------------------------


def _forced_registry(keys: dict[str, bytes]) -> GatewayRegistry:
    """A registry holding degenerate keys, as if enrolment had been bypassed (an old file, a bug)."""
    honest = {GW: gateway_entry(GW, public_key_text(KEYS[GW]))}
    forced = {gid: GatewayEntry(gid, b64u(raw), None, raw) for gid, raw in keys.items()}
    return GatewayRegistry({**honest, **forced})


def _forged(seq: int, gateway: str, r: bytes, first_seen: datetime) -> dict[str, Any]:
    obj = visit(seq, gateway=gateway, signed=False, first_seen=first_seen)
    return {**obj, "sig": b64u(r + bytes(32))}  # S = 0


def test_forged_visits_are_signature_invalid_for_every_small_order_key_and_r() -> None:
    now = datetime.now(UTC)
    keys = {f"gw-forger-{i}": raw for i, raw in enumerate(SMALL_ORDER)}
    ctx = context(gateways=_forced_registry(keys))
    real_forgeries = 0
    for gid, key in keys.items():
        for j, r in enumerate(SMALL_ORDER):
            for seq in (1, 2, 3):  # different messages, different k
                forged = _forged(seq * 10 + j, gid, r, now - timedelta(seconds=30))
                real_forgeries += _cofactorless_accepts(canonical_bytes(forged), r, key)
                result = validate(topic(gid), encode(forged), now, ctx)
                assert isinstance(result, Rejection), (gid, j)
                assert result.reason is RejectReason.SIGNATURE_INVALID, (gid, j)
    assert real_forgeries > 0  # some of these satisfy the cofactorless equation: they were real forgeries
    # the honest gateway next to them is unaffected
    assert not isinstance(
        validate(topic(GW), encode(visit(1, first_seen=now - timedelta(seconds=30))), now, ctx), Rejection
    )


def test_identity_r_and_zero_s_under_the_all_zero_key() -> None:
    """The case of the issue: R = identity encoding, S = 0, key = 32 zero bytes."""
    now = datetime.now(UTC)
    ctx = context(gateways=_forced_registry({"gw-zero": ZERO_KEY}))
    for seq in range(1, 25):
        forged = _forged(seq, "gw-zero", SMALL_ORDER[0], now - timedelta(seconds=30))
        result = validate(topic("gw-zero"), encode(forged), now, ctx)
        assert isinstance(result, Rejection)
        assert result.reason is RejectReason.SIGNATURE_INVALID


# ---- end to end: the shipped Mosquitto and an ingest worker ---------------------------------------


@pytest.fixture
def broker() -> Iterator[Mosquitto]:
    with shipped_broker(["ingest", GW, "gw-zero", "gw-small"]) as b:
        yield b


@pytest.mark.mosquitto
def test_no_forged_visit_is_stored_end_to_end(broker: Mosquitto, tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "r.db")
    store.open()
    gateways = _forced_registry({"gw-zero": ZERO_KEY, "gw-small": SMALL_ORDER[4]})
    config = IngestConfig.model_validate(
        dict(
            name="forgery",
            broker_port=broker.port,
            username="ingest",
            password=PASSWORD,
            batch_size=50,
            receive_maximum=150,
            batch_window_ms=50,
            maintenance=False,
        )
    )
    worker = IngestWorker(config, store, REGISTRY, ALWAYS, gateways)
    worker.start()
    publishers = {g: Publisher(broker.port, g) for g in (GW, "gw-zero", "gw-small")}
    try:
        assert worker.wait_connected(10)
        now = datetime.now(UTC)
        forged: list[tuple[str, dict[str, Any]]] = [  # 24 forged visits per forger, every small-order R in turn
            (gid, _forged(seq, gid, SMALL_ORDER[seq % 8], now - timedelta(seconds=40)))
            for seq in range(1, 25)
            for gid in ("gw-zero", "gw-small")
        ]
        genuine = [visit(100 + i, first_seen=now - timedelta(seconds=40)) for i in range(5)]
        for gid, obj in forged:
            publishers[gid].publish(topic(gid), encode(obj))
        for obj in genuine:
            publishers[GW].publish(topic(GW), encode(obj))
        start, end = now - timedelta(hours=1), now + timedelta(hours=1)
        assert wait_for(
            lambda: len(store.visits(start, end)) == len(genuine) and len(store.rejections(start, end)) == len(forged),
            30,
        ), (len(store.visits(start, end)), len(store.rejections(start, end)))
        stored = store.visits(start, end)
        assert sorted(v.event_id for v in stored) == sorted(v["id"] for v in genuine)
        assert not [v for v in stored if v.gateway_id in ("gw-zero", "gw-small")]  # 0 forged stored
        rejections = store.rejections(start, end)
        assert {r.reason for r in rejections} == {RejectReason.SIGNATURE_INVALID}
        assert sorted(r.event_id or "" for r in rejections) == sorted(obj["id"] for _, obj in forged)
    finally:
        for p in publishers.values():
            p.close()
        worker.stop()
        store.close()
