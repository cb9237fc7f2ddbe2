"""Sealing secrets at rest (EID identity keys): AES-256-GCM with a key from the environment or a key file.

The key is 32 random bytes, base64url: ``RONDE_OPDB_SECRET_KEY`` (the key itself) or
``RONDE_OPDB_SECRET_KEY_FILE`` (a file holding it, e.g. a Docker/systemd credential). Make one with
``python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"``.

A sealed value is ``b"\\x01" + nonce(12) + ciphertext+tag``, bound to what it belongs to (the associated data,
e.g. ``b"eid:<checkpoint id>"``): a sealed key copied onto another checkpoint's row does not open.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_VARIABLE = "RONDE_OPDB_SECRET_KEY"
KEY_FILE_VARIABLE = "RONDE_OPDB_SECRET_KEY_FILE"
_VERSION = b"\x01"
_KEY_BYTES = 32  # AES-256-GCM


class SecretKeyError(ValueError):
    """No usable sealing key: the message names the variable to set."""


class SecretBox:
    """The sealing key. ``cryptography``'s AES-GCM is loaded at the first seal or open, not with the key: an ingest
    worker given the key but no EID beacon to open never loads it (about 8 MB per process, issue 17, item 1)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != _KEY_BYTES:
            raise SecretKeyError(f"the operational database key must be 32 bytes (base64url), not {len(key)}")
        self._key = key
        self._cipher: AESGCM | None = None

    def _aead(self) -> AESGCM:
        if self._cipher is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._cipher = AESGCM(self._key)
        return self._cipher

    @classmethod
    def from_text(cls, text: str) -> SecretBox:
        try:
            key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
        except (binascii.Error, ValueError):
            raise SecretKeyError("the operational database key is not base64url text") from None
        return cls(key)

    @classmethod
    def from_env(cls) -> SecretBox:
        """From ``RONDE_OPDB_SECRET_KEY`` or the file named by ``RONDE_OPDB_SECRET_KEY_FILE``."""
        text = os.environ.get(KEY_VARIABLE)
        if not text and os.environ.get(KEY_FILE_VARIABLE):
            path = Path(os.environ[KEY_FILE_VARIABLE])
            try:
                text = path.read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError) as exc:
                raise SecretKeyError(f"{KEY_FILE_VARIABLE}={path}: cannot read the key: {exc}") from None
        if not text:
            raise SecretKeyError(
                f"EID identity keys are sealed in the operational database: set {KEY_VARIABLE} "
                f"(32 random bytes, base64url) or {KEY_FILE_VARIABLE}"
            )
        return cls.from_text(text)

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead().encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        """The plaintext; opened by Python's libcrypto where it passes its known-answer tests, so that an ingest
        worker opening its EID beacons' keys does not load ``cryptography`` (``ronde.protocol.openssl_aes``)."""
        if len(sealed) < 1 + 12 + 16 or sealed[:1] != _VERSION:
            raise SecretKeyError("a sealed value of the operational database is malformed")
        from ronde.protocol.openssl_aes import InvalidTag as TagRefused
        from ronde.protocol.openssl_aes import libcrypto_aes

        aes = libcrypto_aes()
        try:
            if aes is not None:
                return aes.gcm_open(self._key, sealed[1:13], sealed[13:], context)
            from cryptography.exceptions import InvalidTag

            try:
                return self._aead().decrypt(sealed[1:13], sealed[13:], context)
            except InvalidTag:
                raise TagRefused from None
        except TagRefused:
            raise SecretKeyError(
                f"a sealed value does not open with this key: is {KEY_VARIABLE} the key the database was written with?"
            ) from None
