"""``SeedKey`` signs exactly as ``cryptography`` and libsodium do (issue 17, item 2).

Ed25519 signatures are deterministic (RFC 8032): the gateway may change the library that signs only if every byte
stays the same, which is what these tests check, over random seeds and messages and over whole wire messages.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import nacl.bindings
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from ronde.gateway.events import signed_json
from ronde.protocol.messages import IBeaconId, VisitEvent, to_wire
from ronde.protocol.openssl_ed25519 import openssl_available
from ronde.protocol.seedkey import SeedKey, pkcs8_pem, seed_from_pkcs8_pem
from ronde.protocol.signing import public_key_text, sign, verify

RNG = random.Random(20261205)


def _cases(n: int) -> list[tuple[bytes, bytes]]:
    return [(RNG.randbytes(32), RNG.randbytes(RNG.choice((0, 1, 63, 64, 65, 300, 1500, 70_000)))) for _ in range(n)]


def test_this_machine_signs_through_libcrypto() -> None:
    """The saving is real here: Python's own libcrypto is found and passes the RFC 8032 known-answer test."""
    assert openssl_available()
    assert SeedKey(bytes(32)).backend == "openssl"
    assert SeedKey(bytes(32), use_openssl=False).backend == "cryptography"


@pytest.mark.parametrize("use_openssl", [True, False])
def test_signatures_and_public_keys_are_those_of_cryptography_and_libsodium(use_openssl: bool) -> None:
    for seed, message in _cases(300):
        key = SeedKey(seed, use_openssl=use_openssl)
        reference = Ed25519PrivateKey.from_private_bytes(seed)
        public, secret = nacl.bindings.crypto_sign_seed_keypair(seed)
        assert key.public_key_raw == reference.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) == public
        signature = key.sign(message)
        assert signature == reference.sign(message) == nacl.bindings.crypto_sign(message, secret)[:64]


def test_rfc8032_vectors() -> None:
    """RFC 8032, 7.1, tests 2 and 3 (test 1 is the known-answer test the module runs itself)."""
    vectors = [
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
            "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
        (
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
            "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ),
    ]
    for seed, public, message, signature in vectors:
        key = SeedKey(bytes.fromhex(seed))
        assert key.public_key_raw.hex() == public
        assert key.sign(bytes.fromhex(message)).hex() == signature


def test_a_signed_wire_message_is_byte_for_byte_the_same() -> None:
    event = VisitEvent(
        id="01JQ6Y7M8N9P0QRSTVWXYZ1234",
        gateway_id="gw-mordacs-1",
        seq=42,
        badge="team-a7",
        beacon=IBeaconId(uuid="f7826da64fa24e988024bc5b71e0893e", major=1, minor=7),
        first_seen=datetime(2026, 3, 31, 18, 0, tzinfo=UTC),
        last_seen=datetime(2026, 3, 31, 18, 0, 30, 500_000, tzinfo=UTC),
        count=31,
        rssi_max=-55,
        rssi_mean=-61.0,
    )
    for seed, _ in _cases(20):
        ours, theirs = SeedKey(seed), Ed25519PrivateKey.from_private_bytes(seed)
        assert signed_json(to_wire(event), ours) == signed_json(to_wire(event), theirs)
        assert public_key_text(ours) == public_key_text(theirs)
        assert verify(sign({"a": 1}, ours), ours.public_key_raw)


def test_the_key_file_is_what_cryptography_writes_and_reads() -> None:
    for seed, _ in _cases(50):
        reference = Ed25519PrivateKey.from_private_bytes(seed)
        assert pkcs8_pem(seed) == reference.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        assert seed_from_pkcs8_pem(pkcs8_pem(seed)) == seed
        assert seed_from_pkcs8_pem(pkcs8_pem(seed).replace(b"\n", b"\r\n") + b"\n\n") == seed


def test_other_pem_forms_are_left_to_a_full_parser() -> None:
    x25519 = X25519PrivateKey.from_private_bytes(bytes(32)).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    ed = Ed25519PrivateKey.from_private_bytes(bytes(32))
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption

    encrypted = ed.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(b"secret"))
    for other in (x25519, encrypted, b"hello", b"", pkcs8_pem(bytes(32)).replace(b"PRIVATE", b"PUBLIC")):
        assert seed_from_pkcs8_pem(other) is None
    with pytest.raises(ValueError, match="32 bytes"):
        SeedKey(bytes(31))
    assert "seed" not in repr(SeedKey(bytes(32)))
