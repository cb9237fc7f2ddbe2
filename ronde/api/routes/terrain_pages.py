"""The team's field app, ``/terrain/``: static files shipped in the package (``ronde/api/web/terrain``).

Served by routes rather than the ``/static`` mount for three reasons: the service worker must live
under ``/terrain/`` for its scope to cover the app; the app needs a CSP of its own (a web manifest,
a worker and ``blob:`` photo previews, which the pages' policy forbids); and every answer is
``no-cache`` with an ETag, so a phone revalidates cheaply and never runs a stale app after an update.
The worker's cache name carries a digest of the shell, so a new release replaces the cached shell.

Text files are gzipped here, once, rather than by the app's gzip middleware on every request: the middleware
would send the gzipped body under the plain body's strong ETag, and two representations must not share a strong
validator (RFC 9110 §8.8.3). The gzipped one carries its own (``"<digest>-gzip"``), both answer ``Vary:
Accept-Encoding``, and ``If-None-Match`` is compared weakly (§13.1.2), so each gets its 304.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ronde.api.http_edge import GZIP_MINIMUM_BYTES

TERRAIN_DIR = Path(__file__).resolve().parent.parent / "web" / "terrain"
TERRAIN_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
    "manifest-src 'self'; worker-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# URL name → (file in the package, media type)
ASSETS: dict[str, tuple[str, str]] = {
    "": ("index.html", "text/html; charset=utf-8"),
    "app.js": ("app.js", "text/javascript; charset=utf-8"),
    "queue.js": ("queue.js", "text/javascript; charset=utf-8"),
    "app.css": ("app.css", "text/css; charset=utf-8"),
    "manifest.webmanifest": ("manifest.json", "application/manifest+json"),
    "icon.svg": ("icon.svg", "image/svg+xml"),
    "icon-192.png": ("icon-192.png", "image/png"),
    "icon-512.png": ("icon-512.png", "image/png"),
    "sw.js": ("sw.js", "text/javascript; charset=utf-8"),
}
SHELL_VERSION_MARK = b"ronde-terrain-v1"
# images are compressed already (the middleware leaves them too); every other file is sent gzipped when accepted
NOT_GZIPPED = frozenset({"image/png"})

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str
    gzipped: bytes | None  # the gzip representation, None for an image
    gzip_etag: str


@cache
def shell_digest() -> str:
    """One digest over every shipped file: the worker's cache name, so any change refreshes the shell."""
    h = hashlib.sha256()
    for name in sorted({f for f, _ in ASSETS.values()}):
        h.update(name.encode())
        h.update((TERRAIN_DIR / name).read_bytes())
    return h.hexdigest()[:16]


@cache
def asset(name: str) -> Asset:
    """The bytes of one shipped file (read once: they only change with a release)."""
    filename, media_type = ASSETS[name]
    body = (TERRAIN_DIR / filename).read_bytes()
    if name == "sw.js":
        body = body.replace(SHELL_VERSION_MARK, f"ronde-terrain-{shell_digest()}".encode())
    digest = hashlib.sha256(body).hexdigest()[:32]
    # mtime=0: the same bytes at every start and in every API process, so the validator holds across them
    gzipped = None if media_type in NOT_GZIPPED else gzip.compress(body, compresslevel=9, mtime=0)
    return Asset(body, media_type, f'"{digest}"', gzipped, f'"{digest}-gzip"')


def accepts_gzip(accept_encoding: str) -> bool:
    """The gzip middleware's own rule (``gzip`` anywhere in Accept-Encoding, q-values not read): a plain answer
    this route sends is one the middleware leaves plain, so it never goes out gzipped under the plain ETag."""
    return "gzip" in accept_encoding.lower()


def none_match(if_none_match: str, etag: str) -> bool:
    """If-None-Match holds ``*`` or ``etag`` under the weak comparison (a ``W/`` prefix does not count)."""
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or etag.removeprefix("W/") in (t.removeprefix("W/") for t in tags)


def _answer(request: Request, name: str) -> Response:
    a = asset(name)
    zipped = a.gzipped is not None and accepts_gzip(request.headers.get("accept-encoding", ""))
    headers = {
        "Cache-Control": "no-cache",
        "ETag": a.gzip_etag if zipped else a.etag,
        "Content-Security-Policy": TERRAIN_CSP,
    }
    if a.gzipped is not None and (zipped or len(a.body) < GZIP_MINIMUM_BYTES):
        headers["Vary"] = "Accept-Encoding"  # a larger plain answer gets it from the gzip middleware: said once
    if name == "sw.js":
        headers["Service-Worker-Allowed"] = "/terrain/"
    if none_match(request.headers.get("if-none-match", ""), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    if zipped and a.gzipped is not None:
        headers["Content-Encoding"] = "gzip"  # the app's gzip middleware passes an encoded body through
        return Response(a.gzipped, media_type=a.media_type, headers=headers)
    return Response(a.body, media_type=a.media_type, headers=headers)


@router.get("/terrain")
def terrain_redirect() -> RedirectResponse:
    return RedirectResponse("/terrain/", status_code=308)


@router.get("/terrain/")
def terrain_app(request: Request) -> Response:
    """The app's single page; its screens (enrolment, home, report, sollicitation) are drawn by app.js."""
    return _answer(request, "")


@router.get("/terrain/{name}")
def terrain_asset(name: str, request: Request) -> Response:
    """A file of the app: script, style, manifest, icons, the service worker (scope /terrain/)."""
    if name not in ASSETS or not name:
        return Response(b'{"detail": "not found", "code": "not_found"}', 404, media_type="application/json")
    return _answer(request, name)
