"""Photos of technical reports (issue 14): re-encoded, stripped, bounded, stored by digest.

Why re-encode rather than strip tags: a phone's JPEG carries EXIF (GPS position, device serial, time) in
several places (APP1, XMP, MakerNotes, thumbnails); decoding to pixels and encoding a fresh JPEG keeps none of
it, whatever the input hid. The orientation tag is applied to the pixels first, so the picture stays upright.
Bounds: the upload size (``FieldConfig.max_photo_bytes``, checked before decoding, and by the request guard),
the decoded pixel count (Pillow's decompression-bomb guard, ``MAX_PIXELS``), and the stored dimensions
(``max_photo_px`` on the longer side).

The store is a narrow Protocol (``MediaStore``): the filesystem one here; an S3-compatible one can be added
with the same three methods. Files are named by the SHA-256 of their (re-encoded) bytes.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
MAX_PIXELS = 40_000_000  # a 12-Mpx phone photo is far below; a decompression bomb far above
JPEG_QUALITY = 85
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class PhotoRefused(ValueError):
    """The upload is not a usable image (415) or is too large (413)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class StoredImage:
    sha256: str
    data: bytes
    width: int
    height: int
    content_type: str = "image/jpeg"


def reencode(data: bytes, content_type: str, *, max_bytes: int, max_px: int) -> StoredImage:
    """A fresh JPEG of the image's pixels (upright, at most ``max_px`` on its longer side), with no metadata."""
    if content_type.partition(";")[0].strip().lower() not in ACCEPTED_TYPES:
        raise PhotoRefused(415, f"Content-Type {content_type!r} is not one of {', '.join(sorted(ACCEPTED_TYPES))}")
    if len(data) > max_bytes:
        raise PhotoRefused(413, f"photo larger than {max_bytes} bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.format not in {"JPEG", "PNG", "WEBP"}:
                    raise PhotoRefused(415, f"not a JPEG, PNG or WebP image (found {img.format})")
                if img.width * img.height > MAX_PIXELS:
                    raise PhotoRefused(413, f"image of {img.width}×{img.height} pixels is over {MAX_PIXELS} pixels")
                img.load()
                upright = ImageOps.exif_transpose(img)
                rgb = upright.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoRefused(413, f"image refused as a decompression bomb: {exc}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, PhotoRefused):
            raise
        raise PhotoRefused(415, "the body is not a readable image") from None
    rgb.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    rgb.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)  # no exif=, no icc_profile=: nothing carried
    encoded = out.getvalue()
    return StoredImage(hashlib.sha256(encoded).hexdigest(), encoded, rgb.width, rgb.height)


class MediaStore(Protocol):
    def put(self, sha256: str, data: bytes) -> None: ...

    def get(self, sha256: str) -> bytes | None: ...

    def delete(self, sha256: str) -> None: ...


class FsMediaStore:
    """Files ``<root>/<aa>/<sha256>``, written atomically (temporary file, then rename), mode 0600."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if not _DIGEST.fullmatch(sha256):
            raise ValueError(f"not a SHA-256 digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, sha256: str, data: bytes) -> None:
        path = self._path(sha256)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, sha256: str) -> bytes | None:
        try:
            return self._path(sha256).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, sha256: str) -> None:
        self._path(sha256).unlink(missing_ok=True)
