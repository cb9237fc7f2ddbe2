"""Ed25519 signing through the libcrypto Python links (``ssl``, ``hashlib``), bound with ctypes: what
``ronde.protocol.seedkey`` signs with, so that a scanner's gateway process loads neither ``cryptography`` nor PyNaCl
(issue 17, item 2). Imported only where a private key is made: a verifier never loads ctypes.

The library is used only if it gives RFC 8032's test 1 (public key and signature) exactly.
"""

from __future__ import annotations

import contextlib
import ctypes

SEED_BYTES = 32
SIGNATURE_BYTES = 64
_NID_ED25519 = 1087  # EVP_PKEY_ED25519
# RFC 8032, 7.1, TEST 1 (the empty message)
_KAT_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
_KAT_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
_KAT_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)


class _LibCrypto:
    """The seven EVP calls Ed25519 signing needs, with their C types declared (a wrong one would corrupt memory)."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        vp, size_p, buf, size = ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p, ctypes.c_size_t
        self.new_key = lib.EVP_PKEY_new_raw_private_key
        self.new_key.argtypes, self.new_key.restype = [ctypes.c_int, vp, buf, size], vp
        self.public = lib.EVP_PKEY_get_raw_public_key
        self.public.argtypes, self.public.restype = [vp, buf, size_p], ctypes.c_int
        self.free_key = lib.EVP_PKEY_free
        self.free_key.argtypes, self.free_key.restype = [vp], None
        self.new_ctx = lib.EVP_MD_CTX_new
        self.new_ctx.argtypes, self.new_ctx.restype = [], vp
        self.free_ctx = lib.EVP_MD_CTX_free
        self.free_ctx.argtypes, self.free_ctx.restype = [vp], None
        self.sign_init = lib.EVP_DigestSignInit
        self.sign_init.argtypes, self.sign_init.restype = [vp, vp, vp, vp, vp], ctypes.c_int
        self.sign = lib.EVP_DigestSign
        self.sign.argtypes, self.sign.restype = (
            [vp, ctypes.c_char_p, size_p, ctypes.c_char_p, ctypes.c_size_t],
            ctypes.c_int,
        )


class OpenSslKey:
    """One ``EVP_PKEY`` made from the seed, freed with this object; a fresh ``EVP_MD_CTX`` per signature (OpenSSL
    1.1.1 allows one ``EVP_DigestSign`` per initialised context)."""

    __slots__ = ("_lib", "_pkey")

    def __init__(self, lib: _LibCrypto, seed: bytes) -> None:
        self._lib = lib
        self._pkey = lib.new_key(_NID_ED25519, None, seed, len(seed))
        if not self._pkey:
            raise ValueError("OpenSSL refused the Ed25519 seed")

    def __del__(self) -> None:
        if getattr(self, "_pkey", None):
            self._lib.free_key(self._pkey)

    def public_key(self) -> bytes:
        out, size = ctypes.create_string_buffer(SEED_BYTES), ctypes.c_size_t(SEED_BYTES)
        if self._lib.public(self._pkey, out, ctypes.byref(size)) != 1 or size.value != SEED_BYTES:
            raise ValueError("OpenSSL gave no Ed25519 public key")
        return out.raw

    def sign(self, data: bytes, /) -> bytes:
        lib = self._lib
        ctx = lib.new_ctx()
        if not ctx:
            raise MemoryError("EVP_MD_CTX_new")
        try:
            out, size = ctypes.create_string_buffer(SIGNATURE_BYTES), ctypes.c_size_t(SIGNATURE_BYTES)
            if lib.sign_init(ctx, None, None, None, self._pkey) != 1:
                raise ValueError("EVP_DigestSignInit failed")
            if lib.sign(ctx, out, ctypes.byref(size), data, len(data)) != 1 or size.value != SIGNATURE_BYTES:
                raise ValueError("EVP_DigestSign failed")
            return out.raw
        finally:
            lib.free_ctx(ctx)


_OPENSSL: list[_LibCrypto | None] = []  # [] until first looked for, then [the library or None]


def libcrypto_paths() -> list[str]:
    """The libcrypto this process has mapped (``hashlib`` loads it), then the usual sonames."""
    import hashlib  # noqa: F401 - maps the libcrypto Python was built with

    paths = []
    with contextlib.suppress(OSError), open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
        for line in maps:  # (no /proc: not Linux, the sonames below are tried)
            path = line.rstrip("\n").partition("/")[2]
            if "/libcrypto.so" in "/" + path and "/" + path not in paths:
                paths.append("/" + path)
    return [*paths, "libcrypto.so.3", "libcrypto.so.1.1"]


def libcrypto() -> _LibCrypto | None:
    """Python's libcrypto if it signs Ed25519 right (the known-answer test), else None; looked for once."""
    if not _OPENSSL:
        _OPENSSL.append(_find_openssl())
    return _OPENSSL[0]


def openssl_available() -> bool:
    """Whether keys sign through libcrypto here (found, with Ed25519, and passing the known-answer test)."""
    return libcrypto() is not None


def _find_openssl() -> _LibCrypto | None:
    for path in libcrypto_paths():
        try:
            lib = _LibCrypto(ctypes.CDLL(path))
            key = OpenSslKey(lib, _KAT_SEED)
            if key.public_key() == _KAT_PUBLIC and key.sign(b"") == _KAT_SIGNATURE:
                return lib
        except (OSError, AttributeError, ValueError, MemoryError):
            continue
    return None
