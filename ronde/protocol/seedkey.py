"""An Ed25519 private key held as its RFC 8032 seed, signing through the OpenSSL that Python itself links.

Why not ``cryptography``: on a scanner its Rust module is 8.5 MB of the ``ronde gateway run`` process's 55 MB
(issue 17, item 2: target 50 MB), to sign a few messages a minute. Python's ``ssl`` and ``hashlib`` already map
the system's libcrypto (paho imports both), and OpenSSL 1.1.1 and later sign Ed25519 (``EVP_DigestSign``), the
implementation ``cryptography`` itself calls (its wheels bundle their own OpenSSL build). Ed25519 signatures are
deterministic (RFC 8032, 5.1.6): the bytes are the same whichever library makes them, and
``tests/protocol/test_seedkey.py`` compares them with ``cryptography``'s and libsodium's. PyNaCl would be 2 MB of
RSS, but 4 MiB more on the scanner's disk, whose install target is 45 MiB (``bench/bench_install.py``).

The library is used only if a known-answer test (RFC 8032, test 1) gives the expected public key and signature;
where libcrypto cannot be found, lacks Ed25519 or fails that test, the key signs with ``cryptography``, as before.
A key file stays PKCS#8 PEM, the form ``cryptography`` writes and reads (``pkcs8_pem``, ``seed_from_pkcs8_pem``).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable
from dataclasses import InitVar, dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ronde.protocol.openssl_ed25519 import OpenSslKey

SEED_BYTES = 32
SIGNATURE_BYTES = 64
# RFC 8410 (7): PrivateKeyInfo { version 0, AlgorithmIdentifier { id-Ed25519 }, OCTET STRING { OCTET STRING seed } }
_PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")
_PEM_BEGIN, _PEM_END = b"-----BEGIN PRIVATE KEY-----", b"-----END PRIVATE KEY-----"


@dataclass(frozen=True, slots=True, eq=False)
class SeedKey:
    """An Ed25519 private key: its 32-byte seed, its public key and a ``sign(data) -> signature``. ``backend`` says
    which library signs (``"openssl"``, else ``"cryptography"``); ``use_openssl=False`` forces the second."""

    seed: bytes = field(repr=False)
    use_openssl: InitVar[bool] = True
    public_key_raw: bytes = field(init=False, repr=False)
    backend: str = field(init=False)
    _sign: Callable[[bytes], bytes] = field(init=False, repr=False)

    def __post_init__(self, use_openssl: bool) -> None:
        if type(self.seed) is not bytes or len(self.seed) != SEED_BYTES:
            raise ValueError(f"an Ed25519 seed is {SEED_BYTES} bytes")
        sign: Callable[[bytes], bytes]
        openssl = _openssl_key(self.seed) if use_openssl else None
        if openssl is not None:
            public, sign, backend = openssl.public_key(), openssl.sign, "openssl"
        else:
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
            from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

            other = Ed25519PrivateKey.from_private_bytes(self.seed)
            public, sign = other.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw), other.sign
            backend = "cryptography"
        object.__setattr__(self, "public_key_raw", public)
        object.__setattr__(self, "backend", backend)
        object.__setattr__(self, "_sign", sign)

    @classmethod
    def generate(cls) -> SeedKey:
        """A new key: 32 random bytes from the system's CSPRNG are the seed (RFC 8032, 5.1.5)."""
        return cls(secrets.token_bytes(SEED_BYTES))

    def sign(self, data: bytes, /) -> bytes:
        """The 64-byte Ed25519 signature of ``data``."""
        return self._sign(data)


def _openssl_key(seed: bytes) -> OpenSslKey | None:
    """The key in libcrypto, or None where it cannot sign (ctypes is imported here: a verifier never loads it)."""
    from ronde.protocol.openssl_ed25519 import OpenSslKey, libcrypto

    lib = libcrypto()
    return OpenSslKey(lib, seed) if lib is not None else None


def pkcs8_pem(seed: bytes) -> bytes:
    """The unencrypted PKCS#8 PEM of an Ed25519 seed, byte for byte what ``cryptography`` writes."""
    if len(seed) != SEED_BYTES:
        raise ValueError(f"an Ed25519 seed is {SEED_BYTES} bytes")
    body = base64.b64encode(_PKCS8_PREFIX + seed)  # 48 bytes: one line of 64 characters
    return _PEM_BEGIN + b"\n" + body + b"\n" + _PEM_END + b"\n"


def seed_from_pkcs8_pem(data: bytes) -> bytes | None:
    """The seed of an unencrypted Ed25519 PKCS#8 PEM in its plain RFC 8410 form (what ``pkcs8_pem`` and
    ``cryptography`` write), else None: anything else (another key type, encrypted, with attributes or a public
    key, not PEM) is for a full parser to read or refuse."""
    text = data.strip()
    if not (text.startswith(_PEM_BEGIN) and text.endswith(_PEM_END)):
        return None
    body = b"".join(text[len(_PEM_BEGIN) : -len(_PEM_END)].split())
    try:
        der = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(der) != len(_PKCS8_PREFIX) + SEED_BYTES or not der.startswith(_PKCS8_PREFIX):
        return None
    return der[len(_PKCS8_PREFIX) :]
