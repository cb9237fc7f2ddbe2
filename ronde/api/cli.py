"""``ronde api serve`` (the HTTP API and web pages, on uvicorn) and ``ronde api token``.

Both read the one settings model (``ronde.settings``: ``--config FILE`` or ``RONDE_CONFIG``, the ``RONDE_*``
variables, then these flags) and the operational database: the API never reads a registry or tokens file.
Exit code 2: settings, database or store that cannot be used (each problem on stderr, naming what to fix).
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ronde.protocol.access import Role
from ronde.protocol.errors import format_validation_error, validation_issues
from ronde.redact import redact_url

if TYPE_CHECKING:
    from ronde.api.settings import ApiSettings
    from ronde.settings import RondeSettings, StoreSection
    from ronde.store.port import Store

log = logging.getLogger(__name__)

GC_THRESHOLD = (50_000, 20, 10)  # ``gc.set_threshold`` of ``ronde api serve`` (the default: 700, 10, 10)

# flag → setting (``ronde.settings``, docs/configuration.md): a flag given wins over the file and the environment
SERVE_FLAGS: tuple[tuple[str, str, type, str], ...] = (
    ("--store", "store.url", str, "store URL, e.g. sqlite:///var/lib/ronde/ronde.db (RONDE_STORE_URL)"),
    ("--store-database", "store.database", str, "InfluxDB database/bucket (ronde)"),
    ("--store-org", "store.org", str, "InfluxDB 2.x organisation (token: RONDE_STORE_TOKEN)"),
    ("--store-user", "store.user", str, "InfluxDB 1.x user (password: RONDE_STORE_PASSWORD)"),
    ("--host", "api.host", str, "address to listen on (127.0.0.1)"),
    ("--port", "api.port", int, "port to listen on (8080)"),
    ("--access-log", "api.access_log", Path, "append-only JSONL file of audit-data reads (default: the database's)"),
    ("--stale-after-min", "api.stale_after_min", int, "idleness above which a checkpoint is stale (45)"),
    ("--sequence-anomaly-after", "api.sequence_anomaly_after", int, "a wider sequence gap is an anomaly (100000)"),
    ("--max-body-bytes", "api.max_body_bytes", int, "largest request body (65536); larger answers 413 unread"),
    ("--max-import-body-bytes", "api.max_import_body_bytes", int, "largest estate-file import/check body (2097152)"),
    ("--session-idle-min", "api.session_idle_min", int, "a page session unused this long ends (60)"),
    ("--session-absolute-h", "api.session_absolute_h", int, "a page session ends this long after sign-in (12)"),
)


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def _settings_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="the TOML settings file (default: $RONDE_CONFIG; docs/configuration.md)",
    )
    parser.add_argument(
        "--database",
        default=None,
        metavar="URL",
        help="the operational database (RONDE_DATABASE_URL, else sqlite:///var/ronde/ronde.db); EID keys sealed "
        "with RONDE_OPDB_SECRET_KEY",
    )


def register(sub: Any) -> None:
    api = sub.add_parser("api", help="the HTTP API and web pages").add_subparsers(dest="api_cmd", required=True)
    serve = api.add_parser(
        "serve",
        help="serve the API and the web pages (uvicorn) from the operational database",
        description="Settings: docs/configuration.md. Secrets only from the environment: RONDE_STORE_TOKEN, "
        "RONDE_STORE_PASSWORD, RONDE_OPDB_SECRET_KEY, RONDE_DATABASE_PASSWORD (or each with _FILE).",
    )
    _settings_arguments(serve)
    for flag, _, kind, text in SERVE_FLAGS:
        serve.add_argument(flag, type=kind, default=None, help=text)
    serve.add_argument(
        "--cookie-secure", action="store_const", const=True, default=None, help="mark the session cookie Secure"
    )
    serve.add_argument("--lang", choices=("fr", "en"), default=None, help="default page language (fr)")
    serve.set_defaults(func=_serve)
    token = api.add_parser(
        "token", help="create a bearer token in the operational database: prints it once, stores only its SHA-256"
    )
    _settings_arguments(token)
    token.add_argument("--name", required=True)
    token.add_argument("--role", required=True, choices=[r.value for r in Role if r not in (Role.DEVICE, Role.PARTNER)])
    token.add_argument("--landlord", default=None, help="landlord id (role landlord only)")
    token.set_defaults(func=_token)


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    flags: dict[str, Any] = {"database.url": args.database}
    for flag, dotted, _, _ in SERVE_FLAGS:
        flags[dotted] = getattr(args, _dest(flag))
    flags["api.cookie_secure"] = args.cookie_secure
    flags["api.default_lang"] = args.lang
    return flags


def _token(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from ronde.opdb.engine import session_factory
    from ronde.opdb.startup import DatabaseStartupError, open_role_database
    from ronde.opdb.token_repo import TokenRefused, create_token
    from ronde.settings import settings_for

    settings = settings_for("api token", args.config, {"database.url": args.database})
    if settings is None:
        return 2
    try:
        database = open_role_database(settings.database.engine_url())
    except DatabaseStartupError as exc:
        print(f"ronde api token: {exc}", file=sys.stderr)
        return 2
    try:
        with session_factory(database.engine).begin() as session:
            secret = create_token(session, args.name, Role(args.role), args.landlord)
    except ValidationError as exc:
        print(f"ronde api token: {format_validation_error(exc, echo_input=True)}", file=sys.stderr)
        return 2
    except (TokenRefused, SQLAlchemyError) as exc:
        print(f"ronde api token: {exc}", file=sys.stderr)
        return 2
    finally:
        database.dispose()
    print(secret)
    return 0


def open_reader_store(store: StoreSection) -> Store:
    """The store as ``ronde api serve`` opens it: ``StoreAccess.READ``, so starting the API never
    creates nor changes retention policies or buckets (that is the ingest's maintenance role; the
    API used to reset them to the defaults). Raises StoreUnavailable or StoreConfigError."""
    from ronde.store.config import StoreConfigError, open_store
    from ronde.store.port import StoreAccess

    if store.url is None:
        raise StoreConfigError("store.url: not set")
    return open_store(
        store.url,
        token=store.token.get_secret_value() if store.token else None,
        org=store.org,
        database=store.database,
        username=store.user,
        password=store.password.get_secret_value() if store.password else None,
        timeout_s=store.timeout_s,
        retry_budget_s=store.retry_budget_s,
        access=StoreAccess.READ,
    )


def api_settings(settings: RondeSettings) -> ApiSettings:
    """The API's own settings (``ApiSettings``, what ``create_app`` takes) from the ``api`` and ``audit``
    sections. Raises pydantic's ValidationError (the bounds are the same: it does not happen in practice)."""
    from ronde.api.settings import ApiSettings

    return ApiSettings(**settings.api.model_dump(exclude={"host", "port"}), audit_key=settings.audit.key)


def _serve(args: argparse.Namespace) -> int:
    from ronde.settings import settings_for

    settings = settings_for("api", args.config, _flags(args), require=("store.url",))  # first: nothing else logged
    if settings is None:
        return 2
    import uvicorn
    from sqlalchemy.exc import SQLAlchemyError

    from ronde.api.access_log import AccessLog
    from ronde.api.app import create_app_on_database
    from ronde.api.db_registry import EmptyRegistry
    from ronde.api.field_context import field_config
    from ronde.opdb.engine import shown
    from ronde.opdb.migrate import DatabaseNotCurrent
    from ronde.opdb.sealing import KEY_VARIABLE
    from ronde.opdb.startup import DatabaseStartupError, open_role_database
    from ronde.store.config import StoreConfigError
    from ronde.store.port import StoreUnavailable

    try:
        app_settings = api_settings(settings)
    except ValidationError as exc:
        for issue in validation_issues(exc, echo_input=True):
            print(f"ronde api: config api: {issue.where}: {issue.what}", file=sys.stderr)
        return 2
    secret_key = settings.database.secret_key
    try:
        database = open_role_database(
            settings.database.engine_url(), secret_key=secret_key.get_secret_value() if secret_key else None
        )
    except DatabaseStartupError as exc:
        print(f"ronde api: {exc}", file=sys.stderr)
        return 2
    engine, box = database.engine, database.box
    store_url = redact_url(settings.store.url or "")
    try:
        store = open_reader_store(settings.store)
    except (StoreUnavailable, StoreConfigError) as exc:  # StoreCorrupt included: a damaged SQLite file
        print(f"ronde api: store {store_url}: {exc}", file=sys.stderr)
        engine.dispose()
        return 2
    try:
        app = create_app_on_database(
            app_settings,
            store,
            engine,
            box=box,
            access_log=AccessLog(app_settings.access_log) if app_settings.access_log is not None else None,
            field=field_config(settings.field),
        )
    except (DatabaseNotCurrent, EmptyRegistry, SQLAlchemyError, ValueError) as exc:
        print(f"ronde api: {exc}", file=sys.stderr)
        store.close()
        engine.dispose()
        return 2
    if box is None:
        log.warning("no %s: registry changes are refused while EID beacons are enrolled", KEY_VARIABLE)
    host, port = settings.api.host, settings.api.port
    log.info(
        "Ronde API on http://%s:%d/ (operational database %s, store %s)", host, port, shown(database.url), store_url
    )
    # The ~220,000 objects of startup (modules, routes, registry) out of the cyclic collector's sight: each
    # full collection scanned them all, ~100 ms of CPU landing on whichever request allocated past its threshold
    # (a warm landlord year: 40 ms of CPU, 145 with it). They stay freed by reference counting when dropped.
    gc.collect()
    gc.freeze()
    # And a first request's own objects: a cold landlord year at city scale keeps ~140,000 (its answer and the
    # coverage cache's pieces), none of them in a cycle; with the default threshold (700) the collector ran ~120
    # young and ~11 middle collections and one full one over them, ~40 ms of that request's CPU (gc.callbacks,
    # docs/performance.md). A young collection every 50,000 allocations instead: a few ms, and cyclic garbage
    # still collected (its peak bounded by the same 50,000 objects, a few MB).
    gc.set_threshold(*GC_THRESHOLD)
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)
    finally:
        store.close()
        engine.dispose()
    return 0
