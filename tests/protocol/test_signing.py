import pytest
from hypothesis import given
from hypothesis import strategies as st

from ronde.protocol import signing


def test_sign_verify_and_field_order_independence() -> None:
    key = signing.new_private_key()
    obj = {"b": 1, "a": [1, "x"], "c": {"z": -1.5, "y": None}}
    signed = signing.sign(obj, key)
    pub = signing.public_key_from_text(signing.public_key_text(key))
    assert signing.verify(signed, pub)
    reordered = dict(reversed(list(signed.items())))
    assert signing.verify(reordered, pub)
    assert not signing.verify({**signed, "b": 2}, pub)
    other = signing.new_private_key()
    assert not signing.verify(signed, other.public_key())


def test_canonical_form_is_rfc8785() -> None:
    assert signing.canonical_bytes({"b": 1, "a": 2.50, "sig": "x"}) == b'{"a":2.5,"b":1}'


@given(st.one_of(st.none(), st.integers(), st.text(), st.binary().map(lambda b: b.hex())))
def test_verify_never_raises_on_garbage_signatures(sig: object) -> None:
    key = signing.new_private_key()
    assert signing.verify({"a": 1, "sig": sig}, key.public_key()) is False


def test_key_round_trip() -> None:
    key = signing.new_private_key()
    again = signing.private_key_from_bytes(signing.private_key_bytes(key))
    assert signing.public_key_text(again) == signing.public_key_text(key)


def test_enrolment_vets_public_keys() -> None:
    key = signing.new_private_key()
    raw = signing.raw_public_key(key)
    assert signing.check_public_key(raw) == raw
    assert signing.public_key_raw_from_text(signing.public_key_text(key)) == raw
    for bad in (bytes(32), bytes([1]) + bytes(31), raw[:31]):  # all-zero, identity, short
        with pytest.raises(signing.WeakPublicKey):
            signing.check_public_key(bad)
    # y = p (non-canonical encoding of y = 0) and a point with a torsion component
    p_bytes = (2**255 - 19).to_bytes(32, "little")
    with pytest.raises(signing.WeakPublicKey):
        signing.check_public_key(p_bytes)


def test_verify_accepts_raw_keys_and_refuses_malformed_ones() -> None:
    key = signing.new_private_key()
    signed = signing.sign({"a": 1}, key)
    assert signing.verify(signed, signing.raw_public_key(key))
    assert not signing.verify(signed, signing.raw_public_key(key)[:31])
