"""Signature checks at ingest speed: RFC 8785 bytes without the pure-Python canonicaliser.

For the JSON values a visit event holds (ASCII keys, strings, integers, floats between 1e-4
and 1e16, where Python's repr and ECMAScript's Number.toString agree) RFC 8785's canonical form
is exactly ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` once
integral floats are written as integers (ECMAScript prints -70.0 as -70). ``canonical_fast``
returns None outside that domain, and ``verify_fast`` then falls back to
``ronde.protocol.signing.verify``: never a different verdict, just faster.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ronde.protocol.signing import SIG_FIELD, unb64u, verify


class _Outside(Exception):
    pass


def _normalise(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        if abs(value) > 2**53:  # JCS prints numbers as IEEE doubles
            raise _Outside
        return value
    if kind is float:
        if value == 0.0:
            return 0
        if not (1e-4 <= abs(value) < 1e16):  # where repr() and ECMAScript agree on the notation
            raise _Outside
        return int(value) if value.is_integer() else value
    if kind is dict:
        out = {}
        for k, v in value.items():
            if type(k) is not str or not k.isascii():
                raise _Outside  # JCS sorts by UTF-16 code units; identical to code points for ASCII
            out[k] = _normalise(v)
        return out
    if kind is list:
        return [_normalise(v) for v in value]
    raise _Outside


def canonical_fast(obj: dict[str, Any]) -> bytes | None:
    """RFC 8785 bytes of ``obj`` minus ``sig``, or None when outside the fast domain."""
    try:
        norm = _normalise({k: v for k, v in obj.items() if k != SIG_FIELD})
    except _Outside:
        return None
    try:
        return json.dumps(norm, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
    except (UnicodeEncodeError, ValueError):  # lone surrogates, NaN: the reference decides
        return None


def verify_fast(obj: dict[str, Any], public_key: Ed25519PublicKey) -> bool:
    """Same verdict as ``signing.verify``; never raises."""
    sig = obj.get(SIG_FIELD)
    if not isinstance(sig, str):
        return False
    data = canonical_fast(obj)
    if data is not None:
        try:
            public_key.verify(unb64u(sig), data)
            return True
        except (InvalidSignature, ValueError, TypeError):
            pass  # maybe a canonical form we do not reproduce: let the reference decide
    return verify(obj, public_key)
