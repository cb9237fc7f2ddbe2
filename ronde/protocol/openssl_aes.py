"""AES through the libcrypto Python links, bound with ctypes: the ingest worker's two AES uses without
``cryptography`` (its Rust module is 8 MB of a worker's RSS, issue 17, item 1).

- ``aes128_ecb``: one block of AES-128, what Eddystone-EID computes (``ronde.protocol.eid``);
- ``aes256_gcm_open``: opening a sealed identity key (``ronde.opdb.sealing``; sealing stays on ``cryptography``:
  the registry import and the API seal, the worker only opens).

Each is used only if its known-answer test passes (FIPS-197 C.1; the GCM specification's test case 14, and its tag
refused once altered); otherwise the callers use ``cryptography``, as before. ``tests/protocol/test_openssl_aes.py``
compares both with ``cryptography`` on random inputs.
"""

from __future__ import annotations

import ctypes

from ronde.protocol.openssl_ed25519 import libcrypto_paths

_GCM_SET_IVLEN, _GCM_SET_TAG = 0x9, 0x11  # EVP_CTRL_GCM_SET_IVLEN, EVP_CTRL_GCM_SET_TAG
TAG_BYTES = 16
NONCE_BYTES = 12
_BLOCK = 16
# FIPS-197, appendix C.1
_ECB_KEY, _ECB_IN = bytes(range(16)), bytes.fromhex("00112233445566778899aabbccddeeff")
_ECB_OUT = bytes.fromhex("69c4e0d86a7b0430d8cdb78070b4c55a")
# McGrew and Viega, "The Galois/Counter Mode of Operation", test case 14: AES-256, zero key, zero 96-bit IV
_GCM_CT_TAG = bytes.fromhex("cea7403d4d606b6e074ec5d3baf39d18" + "d0d1c8a799996bf0265b98b5d48ab919")


class InvalidTag(ValueError):
    """The sealed value does not open: another key, another context, or altered bytes."""


class _Aes:
    """The EVP cipher calls, with their C types declared (a wrong one would corrupt memory)."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        vp, buf, int_p, cint = ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int
        self.new = lib.EVP_CIPHER_CTX_new
        self.new.argtypes, self.new.restype = [], vp
        self.free = lib.EVP_CIPHER_CTX_free
        self.free.argtypes, self.free.restype = [vp], None
        self.ecb128, self.gcm256 = lib.EVP_aes_128_ecb, lib.EVP_aes_256_gcm
        self.ecb128.argtypes, self.ecb128.restype = [], vp
        self.gcm256.argtypes, self.gcm256.restype = [], vp
        self.padding = lib.EVP_CIPHER_CTX_set_padding
        self.padding.argtypes, self.padding.restype = [vp, cint], cint
        self.ctrl = lib.EVP_CIPHER_CTX_ctrl
        self.ctrl.argtypes, self.ctrl.restype = [vp, cint, cint, vp], cint
        self.enc_init, self.enc_update = lib.EVP_EncryptInit_ex, lib.EVP_EncryptUpdate
        self.dec_init, self.dec_update, self.dec_final = (
            lib.EVP_DecryptInit_ex,
            lib.EVP_DecryptUpdate,
            lib.EVP_DecryptFinal_ex,
        )
        for init in (self.enc_init, self.dec_init):
            init.argtypes, init.restype = [vp, vp, vp, buf, buf], cint
        for update in (self.enc_update, self.dec_update):
            update.argtypes, update.restype = [vp, buf, int_p, buf, cint], cint
        self.dec_final.argtypes, self.dec_final.restype = [vp, buf, int_p], cint

    def ecb_block(self, key: bytes, block: bytes) -> bytes:
        if len(key) != _BLOCK or len(block) != _BLOCK:
            raise ValueError("AES-128 of one block: 16-byte key and block")
        ctx = self.new()
        if not ctx:
            raise MemoryError("EVP_CIPHER_CTX_new")
        try:
            out, n = ctypes.create_string_buffer(2 * _BLOCK), ctypes.c_int(0)
            ok = self.enc_init(ctx, self.ecb128(), None, key, None) == 1 and self.padding(ctx, 0) == 1
            if not ok or self.enc_update(ctx, out, ctypes.byref(n), block, _BLOCK) != 1 or n.value != _BLOCK:
                raise ValueError("EVP AES-128-ECB failed")
            return out.raw[:_BLOCK]
        finally:
            self.free(ctx)

    def gcm_open(self, key: bytes, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        if len(key) != 2 * _BLOCK or len(nonce) != NONCE_BYTES or len(data) < TAG_BYTES:
            raise ValueError("AES-256-GCM: 32-byte key, 12-byte nonce, ciphertext and 16-byte tag")
        body, tag = data[:-TAG_BYTES], ctypes.create_string_buffer(data[-TAG_BYTES:], TAG_BYTES)
        ctx = self.new()
        if not ctx:
            raise MemoryError("EVP_CIPHER_CTX_new")
        try:
            out, n, last = ctypes.create_string_buffer(len(body) + _BLOCK), ctypes.c_int(0), ctypes.c_int(0)
            if (
                self.dec_init(ctx, self.gcm256(), None, None, None) != 1
                or self.ctrl(ctx, _GCM_SET_IVLEN, NONCE_BYTES, None) != 1
                or self.dec_init(ctx, None, None, key, nonce) != 1
                or (aad and self.dec_update(ctx, None, ctypes.byref(n), aad, len(aad)) != 1)
                or self.dec_update(ctx, out, ctypes.byref(n), body, len(body)) != 1
                or self.ctrl(ctx, _GCM_SET_TAG, TAG_BYTES, ctypes.cast(tag, ctypes.c_void_p)) != 1
            ):
                raise ValueError("EVP AES-256-GCM failed")
            if self.dec_final(ctx, ctypes.cast(ctypes.byref(out, n.value), ctypes.c_char_p), ctypes.byref(last)) != 1:
                raise InvalidTag("the tag does not match")
            return out.raw[: n.value + last.value]
        finally:
            self.free(ctx)


_AES: list[_Aes | None] = []  # [] until first looked for, then [the binding or None]


def libcrypto_aes() -> _Aes | None:
    """Python's libcrypto if both known-answer tests pass, else None; looked for once per process."""
    if not _AES:
        _AES.append(_find())
    return _AES[0]


def _find() -> _Aes | None:
    for path in libcrypto_paths():
        try:
            aes = _Aes(ctypes.CDLL(path))
            if aes.ecb_block(_ECB_KEY, _ECB_IN) != _ECB_OUT or aes.gcm_open(
                bytes(32), bytes(12), _GCM_CT_TAG, b""
            ) != bytes(16):
                continue
            try:
                aes.gcm_open(bytes(32), bytes(12), _GCM_CT_TAG[:-1] + b"\x00", b"")
            except InvalidTag:
                return aes
        except (OSError, AttributeError, ValueError, MemoryError):
            continue
    return None
