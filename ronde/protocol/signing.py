"""Canonical encoding (RFC 8785, JCS) and Ed25519 signatures of visit events.

The signature covers the JSON object exactly as published minus its ``sig`` member, so a
verifier needs no model: parse the payload, drop ``sig``, canonicalise, verify. Keys travel
as base64url without padding (32 bytes each).
"""

from __future__ import annotations

import base64
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

SIG_FIELD = "sig"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical_bytes(obj: dict[str, Any]) -> bytes:
    """RFC 8785 canonical JSON of ``obj`` without its signature member."""
    return bytes(rfc8785.dumps({k: v for k, v in obj.items() if k != SIG_FIELD}))


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def private_key_from_bytes(raw: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return b64u(pub.public_bytes(Encoding.Raw, PublicFormat.Raw))


def public_key_from_text(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(unb64u(text))


def sign(obj: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """A copy of ``obj`` with its ``sig`` member set."""
    signed = {k: v for k, v in obj.items() if k != SIG_FIELD}
    signed[SIG_FIELD] = b64u(key.sign(canonical_bytes(signed)))
    return signed


def verify(obj: dict[str, Any], public_key: Ed25519PublicKey) -> bool:
    """True only for a present, well-formed, valid signature. Never raises on bad input."""
    sig = obj.get(SIG_FIELD)
    if not isinstance(sig, str):
        return False
    try:
        raw = unb64u(sig)
        public_key.verify(raw, canonical_bytes(obj))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
