"""Ingest's signature check: the canonical bytes come from ``ronde.protocol.canonical`` (fast path
where exact, rfc8785 elsewhere; the fast path itself is checked in tests/protocol/test_canonical.py);
either way the verdict is the one strict verifier's (libsodium), never a second opinion."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ronde.ingest.fastsig import verify_fast
from ronde.protocol.canonical import CanonicalError, canonical, fast_canonical
from ronde.protocol.signing import b64u, canonical_bytes, raw_public_key, sign, verify, verify_strict
from tests.ingest.helpers import GATEWAYS, GW, GW2, KEYS, visit


def _raw(gateway: str) -> bytes:
    raw = GATEWAYS.entries[gateway].public_key_raw
    assert raw is not None
    return raw


@settings(max_examples=60, deadline=None)
@given(
    rssi=st.floats(-127, 20),
    count=st.integers(1, 10_000_000),
    badge=st.from_regex(r"[A-Za-z0-9_-]{4,40}", fullmatch=True),
)
def test_same_verdict_as_reference(rssi: float, count: int, badge: str) -> None:
    signed = sign(dict(visit(1, signed=False), rssi_mean=rssi, count=count, badge=badge), KEYS[GW])
    assert fast_canonical(signed, omit="sig") in (None, canonical_bytes(signed))
    assert canonical(signed, omit="sig") == canonical_bytes(signed)
    assert verify_fast(signed, _raw(GW)) is verify(signed, KEYS[GW].public_key()) is True
    assert verify_fast(signed, _raw(GW2)) is verify(signed, KEYS[GW2].public_key()) is False
    assert verify_fast(dict(signed, count=count + 1), _raw(GW)) is False
    # one character of R changed, always to another: "AAAA" written over the last four left the signature as it was
    # when they were "AAAA" already (1 in 65,536 with the event ids random; a CI run met it)
    sig = signed["sig"]
    tampered = sig[:10] + ("B" if sig[10] == "A" else "A") + sig[11:]
    assert verify_fast(dict(signed, sig=tampered), _raw(GW)) is False


@pytest.mark.parametrize(
    "extra",
    [{"tiny": 1e-7}, {"huge": 1e300}, {"clé": "non-ASCII key"}, {"nested": [{"e": 1.5e-9}]}],
)
def test_outside_the_fast_domain_rfc8785_makes_the_bytes(extra: dict[str, Any]) -> None:
    """Where the fast form declines, the message is still checked (rfc8785 bytes), by the same verifier."""
    signed = sign({**visit(1, signed=False), **extra}, KEYS[GW])
    assert fast_canonical(signed, omit="sig") is None
    assert canonical(signed, omit="sig") == canonical_bytes(signed)
    assert verify_fast(signed, _raw(GW)) is True
    assert verify_fast(signed, _raw(GW2)) is False
    assert verify_fast({**signed, "count": signed["count"] + 1}, _raw(GW)) is False


def test_what_rfc8785_cannot_encode_is_refused_not_raised() -> None:
    obj = {"a": 2**80, "sig": b64u(bytes(64))}  # beyond IEEE doubles: no canonical form exists
    with pytest.raises(CanonicalError):
        canonical(obj, omit="sig")
    assert verify_fast(obj, _raw(GW)) is False


@settings(max_examples=300, deadline=None)
@given(signature=st.binary(max_size=80), data=st.binary(max_size=200), key=st.binary(max_size=40))
def test_strict_verifier_never_raises_on_garbage(signature: bytes, data: bytes, key: bytes) -> None:
    assert verify_strict(signature, data, key) is False


def test_strict_verifier_accepts_a_real_signature_only() -> None:
    data = b'{"a":1}'
    assert verify_strict(KEYS[GW].sign(data), data, _raw(GW)) is True
    assert verify_strict(KEYS[GW2].sign(data), data, _raw(GW)) is False
    assert _raw(GW) == raw_public_key(KEYS[GW])


def test_a_refusal_is_final_whatever_the_path() -> None:
    """The forgery that used to pass: all-zero key, R = identity, S = 0. libsodium refuses it, and no
    other verifier is asked, on the fast path or the rfc8785 one."""
    forged_sig = b64u(bytes([1]) + bytes(63))  # R = (0, 1) encoded, S = 0
    for obj in (visit(1, signed=False), {**visit(1, signed=False), "tiny": 1e-7}):
        forged = {**obj, "sig": forged_sig}
        assert verify_fast(forged, bytes(32)) is False
        assert verify(forged, bytes(32)) is False
