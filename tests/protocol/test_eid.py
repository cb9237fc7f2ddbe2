"""Eddystone-EID against every public vector in tests/vectors (loaded, never edited)."""

from typing import Any

import pytest

from ronde.protocol.eid import compute_eid, derive_identity_key, shared_secret, temporary_key
from tests.support.vectors import load_vectors


def _load(name: str) -> list[dict[str, Any]]:
    return load_vectors(name)  # type: ignore[no-any-return]


@pytest.mark.parametrize("v", _load("eid_vectors.json"), ids=lambda v: v["id"])
def test_eid_vectors(v: dict[str, Any]) -> None:
    ik = bytes.fromhex(v["identity_key_hex"])
    eid = compute_eid(ik, v["rotation_exponent"], v["counter"])
    assert eid.hex() == v["expected_eid_hex"].lower()
    for key in ("temporary_key_hex", "expected_temporary_key_hex"):
        if key in v:
            assert temporary_key(ik, v["counter"]).hex() == v[key].lower()


def test_all_eid_vectors_loaded() -> None:
    assert len(_load("eid_vectors.json")) == 11


@pytest.mark.parametrize("v", _load("eid_key_derivation_vectors.json"), ids=lambda v: v["id"])
def test_key_derivation_vectors(v: dict[str, Any]) -> None:
    resolver_pub = bytes.fromhex(v["resolver_public_key_hex"])
    beacon_pub = bytes.fromhex(v["beacon_public_key_hex"])
    secret = shared_secret(bytes.fromhex(v["resolver_private_key_hex"]), beacon_pub)
    assert secret.hex() == v["shared_secret_hex"].lower()
    assert derive_identity_key(resolver_pub, beacon_pub, secret).hex() == v["identity_key_hex"].lower()
    if "temporary_key_hex_at_counter_0" in v:
        ik = bytes.fromhex(v["identity_key_hex"])
        assert temporary_key(ik, 0).hex() == v["temporary_key_hex_at_counter_0"].lower()
        assert compute_eid(ik, 0, 0).hex() == v["eid_hex_K0_counter0"].lower()


def test_eid_is_stable_within_a_rotation_period() -> None:
    ik = bytes(16)
    assert compute_eid(ik, 10, 1024) == compute_eid(ik, 10, 2047) != compute_eid(ik, 10, 2048)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="identity key must be 16 bytes"):
        compute_eid(b"short", 10, 0)
    with pytest.raises(ValueError, match=r"rotation exponent K must be 0\.\.15"):
        compute_eid(bytes(16), 16, 0)
