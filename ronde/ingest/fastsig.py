"""Signature checks at ingest speed: RFC 8785 bytes without the pure-Python canonicaliser.

For the JSON values a wire message holds (ASCII keys, strings, integers, floats between 1e-4
and 1e16, where Python's repr and ECMAScript's Number.toString agree) RFC 8785's canonical form
is exactly ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` once
integral floats are written as integers (ECMAScript prints -70.0 as -70). ``canonical_fast``
returns None outside that domain, and then ``rfc8785`` canonicalises instead.

Only the *bytes* have a fast path. The verdict always comes from the one strict verifier,
``ronde.protocol.signing.verify_strict`` (libsodium, 53 µs against OpenSSL's 101 µs on the 2-core
VM of ``bench/bench_ingest.py``), whichever way the bytes were made; a refusal is final. (An
earlier version asked OpenSSL again when libsodium refused: OpenSSL accepts R = identity, S = 0
under the all-zero key, and forged visits were stored as signed.)
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from ronde.protocol.signing import SIG_FIELD, unb64u, verify_strict


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


def canonical(obj: dict[str, Any]) -> bytes | None:
    """RFC 8785 bytes of ``obj`` minus ``sig``: the fast form when it answers, else ``rfc8785``'s;
    None if not even RFC 8785 can encode it (then nothing can have been signed over it)."""
    data = canonical_fast(obj)
    if data is not None:
        return data
    try:
        return bytes(rfc8785.dumps({k: v for k, v in obj.items() if k != SIG_FIELD}))
    except (rfc8785.CanonicalizationError, ValueError, TypeError, RecursionError):
        return None


def verify_fast(obj: dict[str, Any], raw_key: bytes) -> bool:
    """True only for a present, well-formed signature that ``verify_strict`` accepts over the
    RFC 8785 bytes of ``obj`` under the 32-byte ``raw_key``. Never raises."""
    sig = obj.get(SIG_FIELD)
    if not isinstance(sig, str):
        return False
    try:
        signature = unb64u(sig)
    except (ValueError, TypeError):
        return False
    data = canonical(obj)
    if data is None:
        return False
    return verify_strict(signature, data, raw_key)
