"""The server's audit key: Ed25519, signs every report manifest so a landlord can tell a genuine
report from an edited one.

Why a signature and not only digests: a digest in a file can be recomputed by whoever edits the
file; a signature needs the private key, which stays on the server. The landlord receives the
public key once (``ronde audit key``, the audit page, ``GET /api/v1/audit/key``) and checks every
later report with it.

Where the private key lives: ``$RONDE_AUDIT_KEY`` (a path), else
``$XDG_DATA_HOME/ronde/audit-key.pem`` (``~/.local/share/ronde/audit-key.pem``). It is a PKCS#8
PEM file, created on first use with mode 0600 in a 0700 directory (fine for the embedded demo;
a production server provisions it and backs it up: losing it means issuing with a new key).
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

KEY_ENV = "RONDE_AUDIT_KEY"
SIGNATURE_FIELD = "signature"
UNSIGNED_FIELDS = frozenset({SIGNATURE_FIELD, "file"})
_KEY_TEXT_LEN = 43  # an Ed25519 public key (32 bytes) in unpadded base64url
"""Members of a manifest the signature does not cover: the signature itself, and the report's file
name (a landlord may rename the file)."""


class AuditKeyError(ValueError):
    """The audit key cannot be read, created or parsed (message names the file or the text)."""


def default_key_path() -> Path:
    configured = os.environ.get(KEY_ENV)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ronde" / "audit-key.pem"


def load_signing_key(path: Path | None = None, *, create: bool = True) -> Ed25519PrivateKey:
    """The private key at ``path`` (default location if None), created (0600) when absent and
    ``create`` is true. Two processes creating it at once end up with the same key (O_EXCL)."""
    p = path or default_key_path()
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        if not create:
            raise AuditKeyError(f"{p}: no audit key (create it with 'ronde audit key')") from None
        return _create(p)
    except OSError as exc:
        raise AuditKeyError(f"{p}: cannot read the audit key: {exc.strerror}") from None
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise AuditKeyError(f"{p}: not a PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditKeyError(f"{p}: the audit key must be Ed25519")
    return key


def _create(p: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    try:
        p.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_signing_key(p, create=False)
    except OSError as exc:
        raise AuditKeyError(f"{p}: cannot create the audit key: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    return key


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """Base64url (no padding) of the 32 raw bytes: what a landlord copies once."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return base64.urlsafe_b64encode(pub.public_bytes(Encoding.Raw, PublicFormat.Raw)).rstrip(b"=").decode()


def fingerprint(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, first 16 bytes as colon-separated hex pairs (read aloud on
    the phone to check a key)."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    h = hashlib.sha256(pub.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:32]
    return ":".join(h[i : i + 2] for i in range(0, 32, 2))


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A public key given as its base64url text, or a path to a file holding that text (or a PEM
    public key)."""
    candidate = text.strip()
    p = Path(candidate).expanduser()
    if len(candidate) != _KEY_TEXT_LEN and p.is_file():
        try:
            candidate = p.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise AuditKeyError(f"{p}: cannot read the public key: {exc}") from None
        if candidate.startswith("-----BEGIN"):
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            try:
                pem = load_pem_public_key(candidate.encode())
            except ValueError as exc:
                raise AuditKeyError(f"{p}: not a PEM public key: {exc}") from None
            if not isinstance(pem, Ed25519PublicKey):
                raise AuditKeyError(f"{p}: the audit key must be Ed25519")
            return pem
        candidate = candidate.split()[0] if candidate else candidate
    try:
        raw = base64.urlsafe_b64decode(candidate + "=" * (-len(candidate) % 4))
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise AuditKeyError(f"not an Ed25519 public key (base64url of 32 bytes): {candidate[:60]!r}") from None


def signed_bytes(manifest: dict[str, Any]) -> bytes:
    """RFC 8785 canonical JSON of the manifest without its unsigned members."""
    return bytes(rfc8785.dumps({k: v for k, v in manifest.items() if k not in UNSIGNED_FIELDS}))


def sign_manifest(manifest: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """A copy of ``manifest`` with its ``signature`` member (algorithm, key fingerprint, value)."""
    out = {k: v for k, v in manifest.items() if k != SIGNATURE_FIELD}
    value = base64.urlsafe_b64encode(key.sign(signed_bytes(out))).rstrip(b"=").decode()
    out[SIGNATURE_FIELD] = {"algorithm": "Ed25519", "key_fingerprint": fingerprint(key), "value": value}
    return out


def signature_problem(manifest: dict[str, Any], public_key: Ed25519PublicKey) -> str | None:
    """None when ``manifest`` carries a valid signature by ``public_key``; else why not."""
    sig = manifest.get(SIGNATURE_FIELD)
    if not isinstance(sig, dict) or not isinstance(sig.get("value"), str):
        return "the manifest is not signed"
    if sig.get("algorithm") != "Ed25519":
        return f"unsupported signature algorithm {sig.get('algorithm')!r}"
    mine = fingerprint(public_key)
    if sig.get("key_fingerprint") != mine:
        return (
            f"signed with key {sig.get('key_fingerprint')!r}, not with the audit key {mine} given "
            "(another server's report, or a forged one)"
        )
    text: str = sig["value"]
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        public_key.verify(raw, signed_bytes(manifest))
    except (InvalidSignature, ValueError, TypeError):
        return "the signature does not match the manifest: it was edited after it was issued"
    return None
