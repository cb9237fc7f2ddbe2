"""The gateway's Ed25519 device key: made once by ``ronde gateway enroll``, never leaves the device.

Stored as PKCS#8 PEM with mode 0600 (refused if group/other can read it, as ssh does); the
server registers the public key (base64url, 32 bytes) under the gateway id.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from ronde.protocol.signing import new_private_key, public_key_text


class KeyFileError(Exception):
    """The device key file is missing, unreadable or malformed."""


def create_key(path: Path, *, force: bool = False) -> Ed25519PrivateKey:
    """Write a new key to ``path`` (0600, parent made 0700 if missing); refuses to overwrite unless ``force``."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = new_private_key()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path}: a device key already exists (use --force to replace it and re-register)") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot create: {exc.strerror}") from None
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


def load_key(path: Path) -> Ed25519PrivateKey:
    try:
        st = path.stat()
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the device key: {exc.strerror} (run `ronde gateway enroll`)") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path}: device key is accessible by others (mode {st.st_mode & 0o777:04o}); chmod 600 it")
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: not a PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 key")
    return key


def public_key_of(path: Path) -> str:
    return public_key_text(load_key(path))
