"""The HTTP edge: what every request and response goes through before and after the routes.

* ``RequestGuard`` (pure ASGI, so it sees the request before anything reads its body): a body
  larger than its route allows is answered ``413`` at once when ``Content-Length`` says so, or as
  soon as the streamed bytes pass the limit (chunked or undeclared length), without buffering it;
  a write to ``/api/`` without a known bearer token is answered ``401`` before its body is read.
  Both close the connection rather than drain a hostile body.
* ``SecurityHeaders``: CSP, frame, MIME-sniffing and referrer headers on every response.
* ``AssetFiles``: the static folder serves an allow-list of asset types only (never ``.py``).
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from ronde.api.context import ApiContext

# The gzip middleware's threshold (``app.py``): smaller bodies gain less than the header costs. Here, not there,
# because the field app's routes gzip their own files and must know which plain answers the middleware also sees.
GZIP_MINIMUM_BYTES = 1024
# Routes whose bodies are estate files: ``max_import_body_bytes`` instead of ``max_body_bytes``.
IMPORT_ROUTES = frozenset({("PUT", "/api/v1/estate-file"), ("POST", "/api/v1/estate-file/check")})
# A phone trades its one-time enrolment code for a token: the code is the credential, no bearer yet.
ANONYMOUS_WRITES = frozenset({("POST", "/api/v1/terrain/devices")})
# Photo uploads (``PUT /api/v1/terrain/reports/{id}/photo``): the field settings' ``max_photo_bytes``.
PHOTO_ROUTE = re.compile(r"^/api/v1/terrain/reports/[^/]+/photo$")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Pages load their CSS and JS from /static only; nothing inline, nothing from elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
)
ASSET_TYPES = frozenset({".css", ".js", ".svg", ".png", ".ico", ".woff2"})


class BodyTooLarge(Exception):
    """Raised into the app by the guarded ``receive`` once the body passes its limit."""


def _error(status: int, code: str, detail: str, extra: dict[str, str] | None = None) -> Response:
    body = json.dumps({"detail": detail, "code": code}).encode("utf-8")
    headers = {"Connection": "close", **(extra or {})}
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _header(scope: Scope, name: bytes) -> list[bytes]:
    return [v for k, v in scope.get("headers", ()) if k.lower() == name]


def _bearer(scope: Scope) -> str | None:
    for value in _header(scope, b"authorization"):
        scheme, _, token = value.decode("latin-1").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return None


class RequestGuard:
    """Bounds every request body and refuses anonymous writes before their body is read.

    Limits and tokens are read from the app's ``ApiContext`` (``scope["app"].state.ronde``) on each
    request, so the guard follows the context the app actually serves.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx: ApiContext = scope["app"].state.ronde
        method, path = scope["method"], scope["path"]
        limit = ctx.settings.max_import_body_bytes if (method, path) in IMPORT_ROUTES else ctx.settings.max_body_bytes
        field = getattr(scope["app"].state, "field", None)
        if field is not None and method == "PUT" and PHOTO_ROUTE.fullmatch(path):
            limit = field.config.max_photo_bytes
        declared = _header(scope, b"content-length")
        chunked = any(b"chunked" in v.lower() for v in _header(scope, b"transfer-encoding"))
        has_body = chunked or any(v.strip() not in (b"", b"0") for v in declared)
        try:
            length = max((int(v) for v in declared), default=0)
        except ValueError:
            await _error(400, "bad_request", "invalid Content-Length")(scope, receive, send)
            return
        if length > limit:  # declared too large: refused on the header, token or not
            await self._too_large(limit, scope, receive, send)
            return
        if (
            method not in SAFE_METHODS
            and path.startswith("/api/")
            and has_body
            and (method, path) not in ANONYMOUS_WRITES
        ):
            token = _bearer(scope)
            if token is None or ctx.tokens.authenticate(token) is None:
                await _error(
                    401, "unauthorized", "missing or unknown bearer token", {"WWW-Authenticate": 'Bearer realm="ronde"'}
                )(scope, receive, send)
                return

        received = 0
        exceeded = False
        started = False

        async def guarded_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge(limit)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # whatever the app made of the aborted read (often a 400) is replaced by the 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._too_large(limit, scope, receive, send)

    @staticmethod
    async def _too_large(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        await _error(413, "too_large", f"request body larger than {limit} bytes")(scope, receive, send)


class SecurityHeaders:
    """Adds the CSP (unless the route set its own), X-Frame-Options, nosniff and Referrer-Policy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
                for name, value in SECURITY_HEADERS:
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AssetFiles(StaticFiles):
    """StaticFiles limited to asset types: the package's ``__init__.py`` and the like answer 404."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if PurePosixPath(path).suffix.lower() not in ASSET_TYPES:
            raise HTTPException(404, "not found")
        return await super().get_response(path, scope)
