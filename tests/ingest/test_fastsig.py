"""The fast canonical form is RFC 8785's wherever it answers; outside it rfc8785 makes the bytes;
either way the verdict is the one strict verifier's (libsodium), never a second opinion."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ronde.ingest.fastsig import canonical, canonical_fast, verify_fast
from ronde.protocol.signing import b64u, canonical_bytes, raw_public_key, sign, verify, verify_strict
from tests.ingest.helpers import GATEWAYS, GW, GW2, KEYS, visit

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda ch: st.lists(ch, max_size=4) | st.dictionaries(st.text(max_size=6), ch, max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(obj=st.dictionaries(st.text(max_size=6), json_values, max_size=6))
def test_fast_form_equals_rfc8785_when_it_answers(obj: dict[str, Any]) -> None:
    fast = canonical_fast(obj)
    if fast is None:
        return
    try:
        reference = bytes(rfc8785.dumps({k: v for k, v in obj.items() if k != "sig"}))
    except Exception:  # the reference refuses (e.g. out-of-range integers): fast must not have answered
        raise AssertionError(f"fast answered where RFC 8785 refuses: {obj!r}") from None
    assert fast == reference


def _raw(gateway: str) -> bytes:
    raw = GATEWAYS.entries[gateway].public_key_raw
    assert raw is not None
    return raw


@settings(max_examples=60, deadline=None)
@given(rssi=st.floats(-127, 20), count=st.integers(1, 10_000_000), badge=st.from_regex(r"[A-Za-z0-9_-]{4,40}",
                                                                                      fullmatch=True))
def test_same_verdict_as_reference(rssi: float, count: int, badge: str) -> None:
    signed = sign(dict(visit(1, signed=False), rssi_mean=rssi, count=count, badge=badge), KEYS[GW])
    assert canonical_fast(signed) in (None, canonical_bytes(signed))
    assert canonical(signed) == canonical_bytes(signed)
    assert verify_fast(signed, _raw(GW)) is verify(signed, KEYS[GW].public_key()) is True
    assert verify_fast(signed, _raw(GW2)) is verify(signed, KEYS[GW2].public_key()) is False
    assert verify_fast(dict(signed, count=count + 1), _raw(GW)) is False
    assert verify_fast(dict(signed, sig=signed["sig"][:-4] + "AAAA"), _raw(GW)) is False


@pytest.mark.parametrize(
    "extra",
    [{"tiny": 1e-7}, {"huge": 1e300}, {"clé": "non-ASCII key"}, {"nested": [{"e": 1.5e-9}]}],
)
def test_outside_the_fast_domain_rfc8785_makes_the_bytes(extra: dict[str, Any]) -> None:
    """Where the fast form declines, the message is still checked (rfc8785 bytes), by the same verifier."""
    signed = sign({**visit(1, signed=False), **extra}, KEYS[GW])
    assert canonical_fast(signed) is None
    assert canonical(signed) == canonical_bytes(signed)
    assert verify_fast(signed, _raw(GW)) is True
    assert verify_fast(signed, _raw(GW2)) is False
    assert verify_fast({**signed, "count": signed["count"] + 1}, _raw(GW)) is False


def test_what_rfc8785_cannot_encode_is_refused_not_raised() -> None:
    obj = {"a": 2**80, "sig": b64u(bytes(64))}  # beyond IEEE doubles: no canonical form exists
    assert canonical(obj) is None and verify_fast(obj, _raw(GW)) is False


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
