"""Eddystone-EID (google/eddystone ``eddystone-eid/eid-computation.md``).

Both sides need it: beacons compute it, the server resolves it. Pure functions.
"""

from __future__ import annotations

from functools import lru_cache

# ``cryptography`` is imported by the functions that use it: an ingest worker imports this module through its EID
# resolver but loads ``cryptography`` (about 8 MB per process) only when its registry has EID beacons, and even then
# not where Python's libcrypto computes AES-128 (``ronde.protocol.openssl_aes``, issue 17, item 1).

_IDENTITY_KEY_BYTES = 16  # AES-128
_MAX_ROTATION_EXPONENT = 15


def _aes128_ecb(key: bytes, block: bytes) -> bytes:
    from ronde.protocol.openssl_aes import libcrypto_aes

    aes = libcrypto_aes()
    if aes is not None:
        return aes.ecb_block(key, block)
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - Eddystone-EID: AES-128 of one block
    return enc.update(block) + enc.finalize()


def temporary_key(identity_key: bytes, counter: int) -> bytes:
    """AES(IK, 11×0x00 ‖ 0xFF ‖ 2×0x00 ‖ counter[31:16])."""
    return _temporary_key(identity_key, (counter >> 16) & 0xFFFF)


@lru_cache(maxsize=4096)
def _temporary_key(identity_key: bytes, high: int) -> bytes:
    """One per beacon and 2^16 s (18 h): a server resolving EIDs over days computes each once, not per period."""
    return _aes128_ecb(identity_key, bytes(11) + b"\xff" + bytes(2) + high.to_bytes(2, "big"))


def compute_eid(identity_key: bytes, rotation_exponent: int, counter: int) -> bytes:
    """The 8-byte EID for a 32-bit beacon time counter (seconds), K in 0..15."""
    if len(identity_key) != _IDENTITY_KEY_BYTES:
        raise ValueError("identity key must be 16 bytes")
    if not 0 <= rotation_exponent <= _MAX_ROTATION_EXPONENT:
        raise ValueError("rotation exponent K must be 0..15")
    counter &= 0xFFFFFFFF
    masked = (counter >> rotation_exponent) << rotation_exponent
    block = bytes(11) + bytes([rotation_exponent]) + masked.to_bytes(4, "big")
    return _aes128_ecb(temporary_key(identity_key, counter), block)[:8]


def derive_identity_key(resolver_public: bytes, beacon_public: bytes, shared_secret: bytes) -> bytes:
    """IK = HKDF-SHA256(ikm=shared, salt=resolver_pub‖beacon_pub, info="")[:16]."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=resolver_public + beacon_public, info=b"")
    return hkdf.derive(shared_secret)[:16]


def shared_secret(private_key: bytes, peer_public: bytes) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

    return X25519PrivateKey.from_private_bytes(private_key).exchange(X25519PublicKey.from_public_bytes(peer_public))
