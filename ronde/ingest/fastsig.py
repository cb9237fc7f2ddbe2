"""Signature checks at ingest speed: RFC 8785 bytes without the pure-Python canonicaliser, and
libsodium for the Ed25519 maths.

For the JSON values a visit event holds (ASCII keys, strings, integers, floats between 1e-4
and 1e16, where Python's repr and ECMAScript's Number.toString agree) RFC 8785's canonical form
is exactly ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` once
integral floats are written as integers (ECMAScript prints -70.0 as -70). ``canonical_fast``
returns None outside that domain.

libsodium (PyNaCl) checks an Ed25519 signature in about half the time OpenSSL takes (53 µs
against 101 µs on the 2-core VM of ``bench/bench_ingest.py``, which prints both). A signature
libsodium accepts is valid for RFC 8032; anything it refuses (or a message outside the fast
domain) goes to the reference path (``ronde.protocol.signing.verify``: rfc8785 + OpenSSL), whose
verdict stands: never a different verdict from the reference, only a faster yes.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nacl.bindings import crypto_sign_open
from nacl.exceptions import CryptoError

from ronde.protocol.signing import SIG_FIELD, unb64u, verify


class _Outside(Exception):
    """A value outside the domain where the fast canonical form equals RFC 8785's."""


def _number(value: int | float) -> int | float:
    if isinstance(value, int):  # never a bool here: callers test for bool first
        if abs(value) > 2**53:  # JCS prints numbers as IEEE doubles
            raise _Outside
        return value
    if value == 0.0:
        return 0
    if not (1e-4 <= abs(value) < 1e16):  # where repr() and ECMAScript agree on the notation
        raise _Outside
    return int(value) if value.is_integer() else value


def _normalise_dict(obj: dict[Any, Any], skip: str | None = None) -> dict[str, Any]:
    """Scalars handled inline (a visit is a dozen of them): one call per object, not per value."""
    out: dict[str, Any] = {}
    for k, v in obj.items():
        if type(k) is not str or not k.isascii():
            raise _Outside  # JCS sorts by UTF-16 code units; identical to code points for ASCII
        if k == skip:
            continue
        kind = type(v)
        if kind is str or kind is bool or v is None:
            out[k] = v
        elif kind is int or kind is float:
            out[k] = _number(v)
        else:
            out[k] = _normalise(v)
    return out


def _normalise(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int or kind is float:
        return _number(value)
    if kind is dict:
        return _normalise_dict(value)
    if kind is list:
        return [_normalise(v) for v in value]
    raise _Outside


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_fast(obj: dict[str, Any]) -> bytes | None:
    """RFC 8785 bytes of ``obj`` minus ``sig``, or None when outside the fast domain."""
    try:
        norm = _normalise_dict(obj, skip=SIG_FIELD)
    except _Outside:
        return None
    try:
        return _ENCODER.encode(norm).encode()
    except (UnicodeEncodeError, ValueError):  # lone surrogates, NaN: the reference decides
        return None


def sodium_verify(signature: bytes, data: bytes, raw_key: bytes) -> bool:
    """libsodium's Ed25519 check (GIL released). False for any refusal or malformed input."""
    if len(signature) != 64 or len(raw_key) != 32:
        return False
    try:
        crypto_sign_open(signature + data, raw_key)
    except (CryptoError, ValueError, TypeError):
        return False
    return True


def verify_fast(obj: dict[str, Any], public_key: Ed25519PublicKey, raw_key: bytes | None = None) -> bool:
    """Same verdict as ``signing.verify``; never raises. ``raw_key``: the same key as 32 bytes
    (enables libsodium; without it OpenSSL checks the fast canonical form)."""
    sig = obj.get(SIG_FIELD)
    if not isinstance(sig, str):
        return False
    data = canonical_fast(obj)
    if data is not None:
        try:
            signature = unb64u(sig)
        except (ValueError, TypeError):
            return False  # not base64url: the reference refuses it too
        if raw_key is not None and sodium_verify(signature, data, raw_key):
            return True
        if raw_key is None:
            try:
                public_key.verify(signature, data)
                return True
            except (InvalidSignature, ValueError, TypeError):
                pass
    return verify(obj, public_key)  # maybe a canonical form we do not reproduce: the reference decides
