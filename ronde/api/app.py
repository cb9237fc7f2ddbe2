"""The API application factory: everything it uses is handed in, nothing is global."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from ronde.api.access_log import AccessLog, AccessLogWriter
from ronde.api.auth import Principal, Tokens
from ronde.api.calendar_book import CalendarBook, DbCalendars, FixedCalendars
from ronde.api.context import ApiContext, default_sessions, utc_now
from ronde.api.deps import Ctx, ScopeDep
from ronde.api.errors import install_error_handlers
from ronde.api.http_edge import GZIP_MINIMUM_BYTES, AssetFiles, RequestGuard, SecurityHeaders
from ronde.api.models import ERROR_RESPONSES, ErrorBody, Health, Me
from ronde.api.registry_service import Registries, RegistryService
from ronde.api.routes import audit as audit_routes
from ronde.api.routes import calendar as calendar_routes
from ronde.api.routes import coverage as coverage_routes
from ronde.api.routes import enrolment_page as enrolment_page_routes
from ronde.api.routes import field as field_routes
from ronde.api.routes import field_pages as field_page_routes
from ronde.api.routes import notify as notify_routes
from ronde.api.routes import pages as page_routes
from ronde.api.routes import registry as registry_routes
from ronde.api.routes import supervision as supervision_routes
from ronde.api.routes import supervision_page as supervision_page_routes
from ronde.api.routes import terrain as terrain_api_routes
from ronde.api.routes import terrain_pages as terrain_routes
from ronde.api.sessions import SessionManager
from ronde.api.settings import ApiSettings
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.port import Store

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ronde.api.field_context import FieldConfig
    from ronde.api.field_media import MediaStore
    from ronde.opdb.sealing import SecretBox

STATIC_DIR = Path(__file__).with_name("web") / "static"
# gzip when the client accepts it, for bodies of at least GZIP_MINIMUM_BYTES (``http_edge``: 1 KiB); level 6: a
# city-scale page of 1,000 checkpoints (618 KB of JSON) packs to 28 KB in 3 ms of CPU; level 9 takes 4x the CPU
# for 10 % less (docs/api.md, "Pages, limits and compression").
# PDFs are left alone (their streams are compressed already); event streams and images are Starlette's default.
GZIP_LEVEL = 6
GZIP_EXCLUDED = (*DEFAULT_EXCLUDED_CONTENT_TYPES, "application/pdf")

DESCRIPTION = """\
Ronde proves the presence of social mediators (médiation sociale et tranquillité résidentielle)
on the Mordacs and Bois l'Abbé estates. Coverage figures are about **places** (checkpoints,
buildings, estates, landlords), never a per-person score.

Authentication: `Authorization: Bearer <token>`. Roles: `admin`, `supervisor`, `landlord`
(confined to its own patrimony: it never sees another landlord's checkpoints, reports or events,
nor team badges) and `gateway` (publishes over MQTT only: no access here). Every read of audit
data is logged.
"""

TAGS = [
    {"name": "meta", "description": "health and identity"},
    {"name": "registry", "description": "landlords, estates, buildings, checkpoints, beacons, gateways, team badges"},
    {"name": "estate file", "description": "import/export of the versioned estate file (YAML)"},
    {"name": "coverage", "description": "coverage of places per service day and period, idleness, fair share"},
    {"name": "calendar", "description": "the service calendar: days, hours, closed dates, per estate if it differs"},
    {"name": "supervision", "description": "live view for supervisors: stale checkpoints, teams, maintenance"},
    {"name": "audit", "description": "landlord audit reports (CSV, PDF) carrying a hash-chain digest"},
    {"name": "notify", "description": "bilans mensuels (preview, files, deliveries, resend) and alerts in progress"},
    {"name": "pages", "description": "web pages (French first, ?lang=en)"},
]


WARM_UP_PATH = "/.well-known/ronde-warm-up"  # matches no route: the startup request below answers 404


async def _send_nowhere(message: object) -> None:
    del message


async def _empty_body() -> dict[str, object]:
    return {"type": "http.request", "body": b"", "more_body": False}


def _nothing() -> None:
    """What the start-up runs in the thread pool (see ``_warm_routes``)."""


@contextlib.asynccontextmanager
async def _warm_routes(app: FastAPI) -> AsyncIterator[None]:
    """Walk every route once at startup. FastAPI (0.165) builds a route's state (dependants, signatures,
    parameter models) on the first request that reaches its router, not when the app is made: cProfile put
    ~230 ms of CPU of ``ronde api serve``'s first landlord request there, the coverage request itself
    ~410 (docs/performance.md). One request to a path no route matches, sent through the whole app as
    uvicorn's lifespan starts, builds all of it (and the middleware stack) before the first user arrives. One call
    through the thread pool the sync routes run in imports anyio's event loop backend and starts a worker: the
    first landlord request spent ~11 ms of its event loop's time importing it (py-spy, December 7)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": WARM_UP_PATH,
        "raw_path": WARM_UP_PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 0),
        "server": ("localhost", 80),
    }
    await app(scope, _empty_body, _send_nowhere)
    await run_in_threadpool(_nothing)
    yield


def create_app(
    settings: ApiSettings,
    store: Store,
    registry: Registry | Registries,
    calendar: ServiceCalendar | CalendarBook,
    *,
    tokens: Tokens | None = None,
    clock: Callable[[], datetime] = utc_now,
    sessions: SessionManager | None = None,
    access_log: AccessLogWriter | None = None,
) -> FastAPI:
    """Build the API on an in-memory registry (tests, benchmarks): ``tokens`` are required (a ``TokenBook``, or
    any ``Tokens``); ``clock`` lets a test run an accelerated evening; ``sessions`` (page sign-ins) default to an
    in-process table with the settings' lifetimes. A plain ``Registry`` is wrapped in a ``RegistryService`` kept
    in memory: nothing is written to any file. ``create_app_on_database`` gives the operational database's
    registry, tokens, sessions and access log instead (what ``ronde api serve`` and the demo run). The store
    must be open."""
    if tokens is None:
        raise ValueError("no tokens: pass tokens= (the API on the operational database: create_app_on_database)")
    service: Registries = registry if not isinstance(registry, Registry) else RegistryService(registry)
    app = FastAPI(
        title=f"{settings.title} API",
        version="1",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=_warm_routes,
    )
    app.state.ronde = ApiContext(
        settings=settings,
        store=store,
        registry=service,
        calendar_book=FixedCalendars(calendar) if isinstance(calendar, ServiceCalendar) else calendar,
        tokens=tokens,
        access_log=access_log if access_log is not None else AccessLog(settings.access_log),
        clock=clock,
        sessions=sessions if sessions is not None else default_sessions(settings),
    )
    install_error_handlers(app)
    app.include_router(_meta_router())
    app.include_router(_docs_router(app))
    app.include_router(terrain_api_routes.router)  # field activity (issue 14): docs/field.md
    app.include_router(field_routes.router)
    app.include_router(notify_routes.router)  # bilans and alerts (issue 15): docs/notify.md
    for module in (
        registry_routes,
        coverage_routes,
        calendar_routes,
        supervision_routes,
        audit_routes,
        page_routes,
        supervision_page_routes,
        terrain_routes,
        field_page_routes,
        enrolment_page_routes,
    ):
        app.include_router(module.router)
    app.mount("/static", AssetFiles(directory=STATIC_DIR), name="static")
    # last added runs first: headers are put on every answer, the guard's 401/413 included
    app.add_middleware(RequestGuard)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(  # outermost: compresses what every other layer answered, errors included
        GZipMiddleware,
        minimum_size=GZIP_MINIMUM_BYTES,
        compresslevel=GZIP_LEVEL,
        exclude_content_types=GZIP_EXCLUDED,
    )
    return app


def create_app_on_database(
    settings: ApiSettings,
    store: Store,
    engine: Engine,
    *,
    box: SecretBox | None = None,
    clock: Callable[[], datetime] = utc_now,
    calendar: ServiceCalendar | None = None,
    access_log: AccessLogWriter | None = None,
    field: FieldConfig | None = None,
    media: MediaStore | None = None,
) -> FastAPI:
    """The API on the operational database (``ronde.opdb``): the registry, gateways and badges
    (``DbRegistryService``), the tokens (``DbTokens``: every look-up reads the database, so a token revoked
    through one API process is refused by every other at once), the page sessions (``DbSessionStore``) and
    the audit access log (``DbAccessLog``, unless ``access_log`` is given: ``--access-log FILE``); the service
    calendars from ``service_calendars`` (``DbCalendars``: followed as they change). Several API processes on one
    database serve the same state.

    Field records (issue 14) live there too: ``field`` gives their settings (media folder, photo limits,
    retention; default ``FieldConfig()``), ``media`` another media store than the filesystem one; device tokens
    are looked up after API tokens (``FieldTokens``), with the same immediate revocation.

    Raises ``DatabaseNotCurrent`` (naming the command to run) when the database's schema is not this code's,
    and ``EmptyRegistry`` when no registry was imported yet."""
    from ronde.api.db_registry import DbRegistryService
    from ronde.api.field_context import FieldConfig, FieldServices
    from ronde.opdb.access_repo import DbAccessLog, DbSessionStore
    from ronde.opdb.device_repo import FieldTokens
    from ronde.opdb.migrate import require_current

    require_current(engine)
    registry = DbRegistryService(engine, box)
    _ = registry.registry  # EmptyRegistry now rather than on the first request
    # the database's calendars, followed as they change (``calendar``: a fixed one, e.g. the demo's)
    book: ServiceCalendar | CalendarBook = DbCalendars(engine) if calendar is None else calendar
    _ = book.current() if isinstance(book, DbCalendars) else None  # a calendar the rule refuses: now, not later
    sessions = SessionManager(
        DbSessionStore(engine),
        idle=timedelta(minutes=settings.session_idle_min),
        absolute=timedelta(hours=settings.session_absolute_h),
        clock=utc_now,
    )
    field_services = FieldServices.build(engine, field or FieldConfig(), media)
    app = create_app(
        settings,
        store,
        registry,
        book,
        tokens=FieldTokens(engine, clock=clock),  # a device's last activity on the app's clock, like every page
        clock=clock,
        sessions=sessions,
        access_log=access_log if access_log is not None else DbAccessLog(engine),
    )
    app.state.field = field_services
    return app


def _docs_router(app: FastAPI) -> APIRouter:
    """Swagger UI at /api/docs, with a CSP of its own: its assets come from jsDelivr (as FastAPI ships
    it) and its one inline script is allowed by hash, not by 'unsafe-inline'."""
    router = APIRouter(include_in_schema=False)
    html = bytes(get_swagger_ui_html(openapi_url="/api/openapi.json", title=f"{app.title} – docs").body).decode()
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"
        for script in re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    )
    csp = (
        f"default-src 'none'; script-src https://cdn.jsdelivr.net {hashes}; "
        "style-src https://cdn.jsdelivr.net 'unsafe-inline'; img-src 'self' data: https://fastapi.tiangolo.com; "
        "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    )

    @router.get("/api/docs")
    def docs() -> HTMLResponse:
        return HTMLResponse(html, headers={"Content-Security-Policy": csp})

    return router


def _meta_router() -> APIRouter:
    router = APIRouter(tags=["meta"])

    @router.get(
        "/healthz",
        summary="Liveness and store readability (no authentication)",
        responses={503: {"model": ErrorBody, "description": "the store cannot be read"}},
    )
    def healthz(ctx: Ctx) -> Health:
        """503 (through the StoreUnavailable handler) when the store cannot be read: an API whose
        every data route fails is not healthy, and the orchestrator should see it."""
        ctx.store.check()
        reg = ctx.registry.registry
        return Health(registry_revision=reg.revision, checkpoints=len(reg.checkpoints))

    @router.get("/api/v1/me", summary="Who the token is", responses=ERROR_RESPONSES)
    def me(scope: ScopeDep) -> Me:
        p: Principal = scope.principal
        return Me(name=p.name, role=p.role, landlord=p.landlord)

    return router
