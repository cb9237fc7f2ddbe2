"""Signature checks at ingest speed: RFC 8785 bytes without the pure-Python canonicaliser.

The bytes come from ``ronde.protocol.canonical`` (the one canonical form, shared with signing and
the audit chain): its fast path is the C JSON encoder over a normalised copy of the message, exact
wherever it answers (the float domain is documented there), and ``rfc8785`` otherwise.

Only the *bytes* have a fast path. The verdict always comes from the one strict verifier,
``ronde.protocol.signing.verify_strict`` (libsodium, 53 µs against OpenSSL's 101 µs on the 2-core
VM of ``bench/bench_ingest.py``), whichever way the bytes were made; a refusal is final. (An
earlier version asked OpenSSL again when libsodium refused: OpenSSL accepts R = identity, S = 0
under the all-zero key, and forged visits were stored as signed.)
"""

from __future__ import annotations

from typing import Any

from ronde.protocol.canonical import CanonicalError, canonical
from ronde.protocol.signing import SIG_FIELD, unb64u, verify_strict


def signed_material(obj: dict[str, Any]) -> tuple[bytes, bytes]:
    """``(signature, RFC 8785 bytes)`` of ``obj`` for ``verify_strict``; empty bytes for what is not a
    well-formed signature or has no canonical form (``verify_strict`` refuses them). Never raises."""
    sig = obj.get(SIG_FIELD)
    if not isinstance(sig, str):
        return b"", b""
    try:
        signature = unb64u(sig)
    except (ValueError, TypeError):
        return b"", b""
    try:
        return signature, canonical(obj, omit=SIG_FIELD)
    except CanonicalError:  # not even RFC 8785 can encode it: nothing can have been signed over it
        return b"", b""


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
    try:
        data = canonical(obj, omit=SIG_FIELD)
    except CanonicalError:  # not even RFC 8785 can encode it: nothing can have been signed over it
        return False
    return verify_strict(signature, data, raw_key)
