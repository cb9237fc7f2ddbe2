"""Canonical encoding (RFC 8785, JCS) and Ed25519 signatures of every wire message.

The signature covers the JSON object exactly as published minus its ``sig`` member, so a
verifier needs no model: parse the payload, drop ``sig``, canonicalise, verify. Keys travel
as base64url without padding (32 bytes each).

There is one verifier, ``verify_strict``: libsodium's Ed25519 check (PyNaCl), which refuses a
small-order or non-canonical public key, a small-order R and a non-canonical S. RFC 8032 leaves
these cases to the implementation and OpenSSL accepts some of them: under the all-zero public key
it accepts R = identity, S = 0 for *any* message. A second verifier consulted when the first says
no can only ever turn a refusal into an acceptance, so nothing falls back to another one.
Keys are also vetted when they are enrolled (``check_public_key``): a key that is not a point of
the prime-order subgroup has no private key anyone could hold, so it is never a gateway's key.
"""

from __future__ import annotations

import base64
import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from ronde.protocol.canonical import canonical
from ronde.protocol.seedkey import SeedKey

if TYPE_CHECKING:  # imported where keys are made or read: a verifier (libsodium, raw bytes) never loads it
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIG_FIELD = "sig"


class Signer(Protocol):
    """What signs a message: a gateway's ``SeedKey`` (no ``cryptography`` loaded: ``ronde.protocol.seedkey``) or
    ``cryptography``'s ``Ed25519PrivateKey`` (the audit, notify and API keys). Both make the same bytes."""

    def sign(self, data: bytes, /) -> bytes: ...


_NACL: tuple[ModuleType, type[Exception]] | None = None


def _libsodium() -> tuple[ModuleType, type[Exception]]:
    """PyNaCl's bindings and its refusal error, imported on first use: only the server roles verify
    or vet keys (``ronde[server]`` brings PyNaCl); a scanner signs with ``cryptography`` and so does
    not install it (its install stays within the Raspberry Pi size target)."""
    global _NACL  # noqa: PLW0603 - one import per process, kept for the per-message hot path
    if _NACL is None:
        bindings = importlib.import_module("nacl.bindings")
        exceptions = importlib.import_module("nacl.exceptions")
        _NACL = (bindings, exceptions.CryptoError)
    return _NACL


_PUBLIC_KEY_BYTES = 32  # Ed25519
_SIGNATURE_BYTES = 64


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical_bytes(obj: dict[str, Any]) -> bytes:
    """RFC 8785 canonical JSON of ``obj`` without its signature member (``ronde.protocol.canonical``:
    the fast path where it is exact, ``rfc8785`` elsewhere). Raises ``CanonicalError`` (a
    ``ValueError``) for a value RFC 8785 cannot encode."""
    return canonical(obj, omit=SIG_FIELD)


def new_private_key() -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate()


def private_key_bytes(key: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def private_key_from_bytes(raw: bytes) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey | SeedKey) -> str:
    return b64u(raw_public_key(key))


def public_key_from_text(text: str) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey.from_public_bytes(unb64u(text))


def sign(obj: dict[str, Any], key: Signer) -> dict[str, Any]:
    """A copy of ``obj`` with its ``sig`` member set."""
    signed = {k: v for k, v in obj.items() if k != SIG_FIELD}
    signed[SIG_FIELD] = b64u(key.sign(canonical_bytes(signed)))
    return signed


class WeakPublicKey(ValueError):
    """A public key no honest gateway can have: it would let anyone forge its signatures."""


def check_public_key(raw: bytes) -> bytes:
    """``raw`` if it is a canonical encoding of a point of the prime-order subgroup; else raises
    WeakPublicKey. Refuses the all-zero key, the eight small-order points (identity included),
    keys with a torsion component and non-canonical encodings (y ≥ p), all of which libsodium
    refuses at verification anyway: refusing them at enrolment says so when it can be fixed."""
    if len(raw) != _PUBLIC_KEY_BYTES:
        raise WeakPublicKey(f"not a 32-byte Ed25519 public key ({len(raw)} bytes)")
    if not _libsodium()[0].crypto_core_ed25519_is_valid_point(raw):
        raise WeakPublicKey(
            "not a usable Ed25519 public key (small-order, non-canonical or outside the prime-order subgroup): "
            "signatures under it could be forged"
        )
    return raw


def public_key_raw_from_text(text: str) -> bytes:
    """The 32 raw bytes of a base64url public key, vetted by ``check_public_key``."""
    try:
        raw = unb64u(text)
    except (ValueError, TypeError) as exc:
        raise WeakPublicKey(f"not base64url: {exc}") from None
    return check_public_key(raw)


def verify_strict(signature: bytes, data: bytes, raw_key: bytes) -> bool:
    """THE Ed25519 check: libsodium's ``crypto_sign_open`` (the detached verification over
    signature ‖ message; PyNaCl does not bind ``crypto_sign_verify_detached`` itself, and both run
    the same checks). False for any refusal or malformed input; never raises. Releases the GIL."""
    if type(signature) is not bytes or type(data) is not bytes or type(raw_key) is not bytes:
        return False
    if len(signature) != _SIGNATURE_BYTES or len(raw_key) != _PUBLIC_KEY_BYTES:
        return False
    bindings, refused = _libsodium()
    try:
        bindings.crypto_sign_open(signature + data, raw_key)
    except (refused, ValueError, TypeError):
        return False
    return True


def raw_public_key(key: Ed25519PrivateKey | Ed25519PublicKey | SeedKey) -> bytes:
    if isinstance(key, SeedKey):
        return key.public_key_raw
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(Encoding.Raw, PublicFormat.Raw)


def verify(obj: dict[str, Any], public_key: Ed25519PublicKey | bytes) -> bool:
    """True only for a present, well-formed, valid signature (RFC 8785 bytes, ``verify_strict``).
    Never raises on bad input."""
    sig = obj.get(SIG_FIELD)
    if not isinstance(sig, str):
        return False
    raw_key = public_key if isinstance(public_key, bytes) else raw_public_key(public_key)
    try:
        signature = unb64u(sig)
        data = canonical_bytes(obj)
    except (ValueError, TypeError):  # CanonicalError is a ValueError
        return False
    return verify_strict(signature, data, raw_key)
