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
