"""The fast canonical form is RFC 8785's wherever it answers, and verification gives the same verdict."""

from __future__ import annotations

from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ronde.ingest.fastsig import canonical_fast, sodium_verify, verify_fast
from ronde.protocol.signing import canonical_bytes, sign, verify
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


@settings(max_examples=60, deadline=None)
@given(rssi=st.floats(-127, 20), count=st.integers(1, 10_000_000), badge=st.from_regex(r"[A-Za-z0-9_-]{4,40}",
                                                                                      fullmatch=True))
def test_same_verdict_as_reference(rssi: float, count: int, badge: str) -> None:
    obj = dict(visit(1, signed=False), rssi_mean=rssi, count=count, badge=badge)
    signed = sign(obj, KEYS[GW])
    pub_gw, pub_other = KEYS[GW].public_key(), KEYS[GW2].public_key()
    assert canonical_fast(signed) in (None, canonical_bytes(signed))
    assert verify_fast(signed, pub_gw) is verify(signed, pub_gw) is True
    assert verify_fast(signed, pub_other) is verify(signed, pub_other) is False
    tampered = dict(signed, count=count + 1)
    assert verify_fast(tampered, pub_gw) is False


@settings(max_examples=60, deadline=None)
@given(rssi=st.floats(-127, 20), count=st.integers(1, 10_000_000))
def test_libsodium_path_gives_the_reference_verdict(rssi: float, count: int) -> None:
    signed = sign(dict(visit(1, signed=False), rssi_mean=rssi, count=count), KEYS[GW])
    raw_gw, raw_other = GATEWAYS.entries[GW].public_key_raw, GATEWAYS.entries[GW2].public_key_raw
    pub_gw, pub_other = KEYS[GW].public_key(), KEYS[GW2].public_key()
    assert raw_gw is not None and raw_other is not None
    assert verify_fast(signed, pub_gw, raw_gw) is verify(signed, pub_gw) is True
    assert verify_fast(signed, pub_other, raw_other) is verify(signed, pub_other) is False
    assert verify_fast(dict(signed, count=count + 1), pub_gw, raw_gw) is False
    assert verify_fast(dict(signed, sig=signed["sig"][:-4] + "AAAA"), pub_gw, raw_gw) is False


@settings(max_examples=300, deadline=None)
@given(signature=st.binary(max_size=80), data=st.binary(max_size=200), key=st.binary(max_size=40))
def test_sodium_verify_never_raises_on_garbage(signature: bytes, data: bytes, key: bytes) -> None:
    assert sodium_verify(signature, data, key) is False


def test_sodium_verify_accepts_a_real_signature() -> None:
    data = b'{"a":1}'
    raw = GATEWAYS.entries[GW].public_key_raw
    assert raw is not None
    assert sodium_verify(KEYS[GW].sign(data), data, raw) is True
    assert sodium_verify(KEYS[GW2].sign(data), data, raw) is False
