"""Every failure answers a JSON body with a reason (models.ErrorBody & co.), never a bare 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ronde.api.access_log import AccessLogUnavailable
from ronde.api.auth import Principal
from ronde.api.context import ApiContext
from ronde.api.deps import BadPeriod, Unauthorized
from ronde.api.http_edge import CONTENT_SECURITY_POLICY, SECURITY_HEADERS
from ronde.api.models import ErrorBody, EstateErrorBody, EstateErrorItem, FieldError, ValidationErrorBody
from ronde.api.registry_service import RegistryChangeError, RevisionConflict
from ronde.api.scope import Forbidden, NotFound
from ronde.protocol.errors import format_validation_error
from ronde.protocol.estate import EstateFileError
from ronde.store.port import StoreUnavailable

log = logging.getLogger(__name__)

AUDIT_VISITS_ROUTE = "/api/v1/checkpoints/{checkpoint_id}/visits"  # stored events: audit data too

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation",
    503: "unavailable",
}


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorBody(detail=detail, code=_CODES.get(status, "error"))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _printable(value: object) -> str | int:
    return value if isinstance(value, int) else str(value)


def _audit_data_route(request: Request) -> str | None:
    """The path template of the route, if it serves audit data (reports, access log, stored visits)."""
    path = getattr(request.scope.get("route"), "path", None)
    if isinstance(path, str) and (path.startswith("/api/v1/audit/") or path == AUDIT_VISITS_ROUTE):
        return path
    return None


def _log_denied(request: Request, status: int) -> None:
    """A refused read of audit data leaves a trace: who, which route and ids, when; no data."""
    path = _audit_data_route(request)
    principal: Principal | None = getattr(request.state, "principal", None)
    if path is None or principal is None:
        return
    ctx: ApiContext = request.app.state.ronde
    params = " ".join(f"{k}={v}" for k, v in sorted(request.path_params.items()))
    target = (params + (f" ?{request.url.query}" if request.url.query else ""))[:500]
    try:
        ctx.log_access(principal, f"{request.method} {path}", target, status, denied=True)
    except AccessLogUnavailable as exc:  # the answer is a refusal anyway: nothing leaves untraced
        log.error("denied read not written to the access log: %s", exc)  # noqa: TRY400 - an expected outage: its message, no traceback


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Unauthorized)
    async def _unauthorized(request: Request, exc: Unauthorized) -> JSONResponse:
        return _error(401, str(exc), {"WWW-Authenticate": 'Bearer realm="ronde"'})

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> JSONResponse:
        _log_denied(request, 403)
        return _error(403, str(exc))

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        _log_denied(request, 404)
        return _error(404, str(exc))

    @app.exception_handler(BadPeriod)
    async def _bad_period(request: Request, exc: BadPeriod) -> JSONResponse:
        body = ValidationErrorBody(detail=str(exc), errors=[FieldError(loc=["query"], msg=str(exc), type="period")])
        return JSONResponse(body.model_dump(mode="json"), status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            FieldError(
                loc=[_printable(p) for p in e.get("loc", ())], msg=str(e.get("msg", "")), type=str(e.get("type", ""))
            )
            for e in exc.errors()
        ]
        detail = format_validation_error(exc.errors(), echo_input=True) or "invalid request"
        body = ValidationErrorBody(detail=detail, errors=errors)
        return JSONResponse(body.model_dump(mode="json"), status_code=422)

    @app.exception_handler(EstateFileError)
    async def _estate(request: Request, exc: EstateFileError) -> JSONResponse:
        body = EstateErrorBody(
            detail=str(exc),
            source=exc.source,
            errors=[EstateErrorItem(line=e.line, location=e.location, message=e.message) for e in exc.errors],
        )
        return JSONResponse(body.model_dump(mode="json"), status_code=422)

    @app.exception_handler(RegistryChangeError)
    async def _registry(request: Request, exc: RegistryChangeError) -> JSONResponse:
        body = EstateErrorBody(
            detail=str(exc),
            source="registry",
            errors=[EstateErrorItem(line=None, location=e.location, message=e.message) for e in exc.errors],
        )
        return JSONResponse(body.model_dump(mode="json"), status_code=422)

    @app.exception_handler(RevisionConflict)
    async def _revision(request: Request, exc: RevisionConflict) -> JSONResponse:
        return _error(409, str(exc))

    @app.exception_handler(StoreUnavailable)
    async def _store(request: Request, exc: StoreUnavailable) -> JSONResponse:
        log.warning("store unavailable: %s", exc)
        return _error(503, f"store unavailable, retry later: {exc}", {"Retry-After": "5"})

    @app.exception_handler(AccessLogUnavailable)
    async def _access_log(request: Request, exc: AccessLogUnavailable) -> JSONResponse:
        log.error("%s", exc)
        detail = "audit access log unavailable: audit data is not served without a trace"
        return _error(503, detail, {"Retry-After": "30"})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        # answered by Starlette's outermost middleware, outside SecurityHeaders: the headers are put here
        headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, **dict(SECURITY_HEADERS)}
        return _error(500, "internal error (logged)", headers)
