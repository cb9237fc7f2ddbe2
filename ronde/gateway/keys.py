"""The gateway's Ed25519 device key: made once by ``ronde gateway enroll``, never leaves the device.

Stored as PKCS#8 PEM with mode 0600 (refused if group/other can read it, as ssh does); the
server registers the public key (base64url, 32 bytes) under the gateway id. The key is a ``SeedKey``: the gateway
process reads, writes and signs with it without loading ``cryptography`` (8.5 MB of its RSS, issue 17, item 2),
which reads only a key file in another PEM form than the one written here (``ronde.protocol.seedkey``).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ronde.protocol.seedkey import SeedKey, pkcs8_pem, seed_from_pkcs8_pem
from ronde.protocol.signing import public_key_text


class KeyFileError(Exception):
    """The device key file is missing, unreadable or malformed."""


def create_key(path: Path, *, force: bool = False) -> SeedKey:
    """Write a new key to ``path`` (0600, parent made 0700 if missing); refuses to overwrite unless ``force``."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = SeedKey.generate()
    pem = pkcs8_pem(key.seed)
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


def load_key(path: Path) -> SeedKey:
    try:
        st = path.stat()
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the device key: {exc.strerror} (run `ronde gateway enroll`)") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path}: device key is accessible by others (mode {st.st_mode & 0o777:04o}); chmod 600 it")
    seed = seed_from_pkcs8_pem(data)
    return SeedKey(seed) if seed is not None else SeedKey(_seed_of_other_pem(path, data))


def _seed_of_other_pem(path: Path, data: bytes) -> bytes:
    """The seed of a key file in another form than ``create_key``'s (a PKCS#8 v2 with its public key, an OpenSSL
    tool's output...), read by ``cryptography``; its messages for what is not an Ed25519 private key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, load_pem_private_key

    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: not a PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 key")
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def public_key_of(path: Path) -> str:
    return public_key_text(load_key(path))
