"""AES through Python's libcrypto gives exactly ``cryptography``'s results (issue 17, item 1)."""

from __future__ import annotations

import random

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ronde.opdb.sealing import SecretBox, SecretKeyError
from ronde.protocol.openssl_aes import InvalidTag, libcrypto_aes

RNG = random.Random(20261206)


def test_this_machine_computes_aes_through_libcrypto() -> None:
    assert libcrypto_aes() is not None


def test_one_block_of_aes128_is_cryptography_s() -> None:
    aes = libcrypto_aes()
    assert aes is not None
    for _ in range(500):
        key, block = RNG.randbytes(16), RNG.randbytes(16)
        enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - the reference for one block
        assert aes.ecb_block(key, block) == enc.update(block) + enc.finalize()
    with pytest.raises(ValueError, match="16-byte"):
        aes.ecb_block(bytes(15), bytes(16))


def test_gcm_opens_what_cryptography_seals_and_refuses_any_change() -> None:
    aes = libcrypto_aes()
    assert aes is not None
    for i in range(300):
        key, nonce, plain, aad = RNG.randbytes(32), RNG.randbytes(12), RNG.randbytes(i % 70), RNG.randbytes(i % 20)
        sealed = AESGCM(key).encrypt(nonce, plain, aad)
        assert aes.gcm_open(key, nonce, sealed, aad) == plain
        flip = RNG.randrange(len(sealed))
        altered = sealed[:flip] + bytes([sealed[flip] ^ 1 << RNG.randrange(8)]) + sealed[flip + 1 :]
        for args in ((key, nonce, altered, aad), (key, nonce, sealed, aad + b"x"), (bytes(32), nonce, sealed, aad)):
            with pytest.raises(InvalidTag):
                aes.gcm_open(*args)


def test_sealing_answers_as_before() -> None:
    """A sealed key opens; another context or key still says which variable to check (the EID vectors of
    tests/protocol/test_eid.py run ``compute_eid`` through libcrypto too)."""
    box = SecretBox(bytes(range(32)))
    sealed = box.seal(b"identity key 16b", b"eid:cp-1")
    assert box.open(sealed, b"eid:cp-1") == b"identity key 16b"
    with pytest.raises(SecretKeyError, match="RONDE_OPDB_SECRET_KEY"):
        box.open(sealed, b"eid:cp-2")
    with pytest.raises(SecretKeyError, match="RONDE_OPDB_SECRET_KEY"):
        SecretBox(bytes(32)).open(sealed, b"eid:cp-1")
