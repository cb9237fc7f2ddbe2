"""Published Eddystone-EID vectors, reproduced exactly, through the protocol functions and the simulated beacon."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ronde.protocol.eid import compute_eid, derive_identity_key, shared_secret, temporary_key
from ronde.protocol.radio import EDDYSTONE_SERVICE_UUID
from tests.firmware_sim.support import eid_beacon
from tests.support.vectors import load_vectors

EIDS: list[dict[str, Any]] = load_vectors("eid_vectors.json")
DERIVATIONS: list[dict[str, Any]] = load_vectors("eid_key_derivation_vectors.json")


def test_all_vectors_loaded() -> None:
    assert len(EIDS) == 11
    assert len(DERIVATIONS) == 2


@pytest.mark.parametrize("v", EIDS, ids=lambda v: v["id"])
def test_eid(v: dict[str, Any]) -> None:
    ik = bytes.fromhex(v["identity_key_hex"])
    assert compute_eid(ik, v["rotation_exponent"], v["counter"]).hex() == v["expected_eid_hex"].lower()
    if v.get("temporary_key_hex"):
        assert temporary_key(ik, v["counter"]).hex() == v["temporary_key_hex"].lower()


@pytest.mark.parametrize("v", EIDS, ids=lambda v: v["id"])
def test_simulated_beacon_puts_the_vector_eid_on_air(v: dict[str, Any]) -> None:
    """A drift-free beacon whose counter started at ``epoch`` sends the vector's EID at epoch + counter."""
    epoch = 1_000_000
    beacon = eid_beacon(bytes.fromhex(v["identity_key_hex"]), v["rotation_exponent"], epoch)
    t = epoch + v["counter"] + 0.5
    assert beacon.eid_counter(t) == v["counter"]
    frame = beacon.frame(t, 0).service_data[EDDYSTONE_SERVICE_UUID]
    assert frame[0] == 0x30
    assert frame[1] == (-18) & 0xFF
    assert frame[2:].hex() == v["expected_eid_hex"].lower()


def _public(private_hex: str) -> bytes:
    key = X25519PrivateKey.from_private_bytes(bytes.fromhex(private_hex))
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@pytest.mark.parametrize("v", DERIVATIONS, ids=lambda v: v["id"])
def test_identity_key_derivation(v: dict[str, Any]) -> None:
    resolver_pub = bytes.fromhex(v["resolver_public_key_hex"])
    beacon_pub = bytes.fromhex(v["beacon_public_key_hex"])
    assert _public(v["resolver_private_key_hex"]).hex() == v["resolver_public_key_hex"].lower()
    secret = shared_secret(bytes.fromhex(v["resolver_private_key_hex"]), beacon_pub)
    assert secret.hex() == v["shared_secret_hex"].lower()
    if v.get("beacon_private_key_hex"):
        assert _public(v["beacon_private_key_hex"]).hex() == v["beacon_public_key_hex"].lower()
        assert shared_secret(bytes.fromhex(v["beacon_private_key_hex"]), resolver_pub) == secret
    ik = derive_identity_key(resolver_pub, beacon_pub, secret)
    assert ik.hex() == v["identity_key_hex"].lower()
    if v.get("temporary_key_hex_at_counter_0"):
        assert temporary_key(ik, 0).hex() == v["temporary_key_hex_at_counter_0"].lower()
    if v.get("eid_hex_K0_counter0"):
        assert compute_eid(ik, 0, 0).hex() == v["eid_hex_K0_counter0"].lower()
