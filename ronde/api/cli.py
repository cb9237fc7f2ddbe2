"""``ronde api serve`` (the HTTP API and web pages, on uvicorn) and ``ronde api token``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ronde.api.auth import Role, TokenFileError, add_token
from ronde.protocol.errors import format_validation_error, validation_issues
from ronde.redact import redact_url
from ronde.store.port import Store

log = logging.getLogger(__name__)

# HTTP edge and session settings (ApiSettings field = flag name): omitted, the settings' default holds
EDGE_FLAGS: tuple[tuple[str, type, str], ...] = (
    ("--max-body-bytes", int, "largest request body (65536); larger answers 413 before it is read"),
    ("--max-import-body-bytes", int, "largest estate-file import/check body (2097152)"),
    ("--session-idle-min", int, "a page session unused this long ends (60)"),
    ("--session-absolute-h", int, "a page session ends this long after sign-in (12)"),
    ("--tokens-reload-s", float, "check the tokens file for changes at most this often (5)"),
)


def register(sub: Any) -> None:
    api = sub.add_parser("api", help="the HTTP API and web pages").add_subparsers(dest="api_cmd", required=True)
    serve = api.add_parser("serve", help="serve the API and the web pages (uvicorn)")
    serve.add_argument("--store", required=True, help="store URL, e.g. sqlite:///var/lib/ronde/ronde.db")
    serve.add_argument("--store-database", default="ronde", help="InfluxDB database/bucket")
    serve.add_argument("--store-org", default=None, help="InfluxDB 2.x organisation (token: $RONDE_STORE_TOKEN)")
    serve.add_argument("--store-user", default=None, help="InfluxDB 1.x user (password: $RONDE_STORE_PASSWORD)")
    serve.add_argument(
        "--database",
        default=None,
        metavar="URL",
        help="the operational database: registry, gateways, badges, tokens, sessions, access log (default: "
        "RONDE_DATABASE_URL, else sqlite:///var/ronde/ronde.db); EID keys sealed with RONDE_OPDB_SECRET_KEY",
    )
    serve.add_argument(
        "--estate", default=None, help="file mode only (with --tokens): estate file (default: the bundled sample)"
    )
    serve.add_argument(
        "--tokens",
        default=None,
        type=Path,
        help="file mode (deprecated): serve from YAML files instead of the database; the token file "
        "(SHA-256 hashes). Migrate with `ronde registry import`",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--registry-file",
        type=Path,
        default=None,
        help="file mode only: where registry changes are persisted (estate YAML)",
    )
    serve.add_argument("--gateways", type=Path, default=None, help="file mode only: ingest's gateways file")
    serve.add_argument("--badges", type=Path, default=None, help="file mode only: team badges file")
    serve.add_argument(
        "--access-log",
        type=Path,
        default=None,
        help="append-only JSONL log of audit-data reads (default: the database's audit_access_log)",
    )
    serve.add_argument("--stale-after-min", type=int, default=45)
    serve.add_argument(
        "--sequence-anomaly-after",
        type=int,
        default=None,
        metavar="N",
        help="a sequence gap wider than N events is a sequence anomaly, not lost events (100000)",
    )
    serve.add_argument("--cookie-secure", action="store_true", help="mark the session cookie Secure (behind HTTPS)")
    serve.add_argument("--lang", choices=("fr", "en"), default="fr", help="default page language")
    for flag, kind, text in EDGE_FLAGS:
        serve.add_argument(flag, type=kind, default=None, help=text)
    serve.set_defaults(func=_serve)
    token = api.add_parser("token", help="create a bearer token: prints it once, stores only its SHA-256")
    token.add_argument("--tokens", required=True, type=Path)
    token.add_argument("--name", required=True)
    token.add_argument("--role", required=True, choices=[r.value for r in Role])
    token.add_argument("--landlord", default=None, help="landlord id (role landlord only)")
    token.set_defaults(func=_token)


def _token(args: argparse.Namespace) -> int:
    try:
        secret = add_token(args.tokens, args.name, Role(args.role), args.landlord)
    except (TokenFileError, ValidationError, ValueError) as exc:
        text = format_validation_error(exc, echo_input=True) if isinstance(exc, ValidationError) else str(exc)
        print(f"ronde api token: {text}", file=sys.stderr)
        return 2
    print(secret)
    return 0


def open_reader_store(args: argparse.Namespace) -> Store:
    """The store as ``ronde api serve`` opens it: ``StoreAccess.READ``, so starting the API never
    creates nor changes retention policies or buckets (that is the ingest's maintenance role; the
    API used to reset them to the defaults). Raises StoreUnavailable or StoreConfigError."""
    from ronde.store.config import open_store
    from ronde.store.credentials import store_password, store_token
    from ronde.store.port import StoreAccess

    return open_store(
        args.store,
        token=store_token(),
        org=args.store_org,
        database=args.store_database,
        username=args.store_user,
        password=store_password(),
        access=StoreAccess.READ,
    )


def _serve(args: argparse.Namespace) -> int:  # noqa: PLR0911 - one exit status per refusal
    import uvicorn

    from ronde.api.app import create_app
    from ronde.api.settings import ApiSettings
    from ronde.protocol.calendar import ServiceCalendar
    from ronde.protocol.estate import EstateFileError, default_estate_path, load_estate
    from ronde.store.config import StoreConfigError
    from ronde.store.port import StoreUnavailable

    try:
        settings = ApiSettings(
            tokens_file=args.tokens,
            registry_file=args.registry_file,
            gateways_file=args.gateways,
            badges_file=args.badges,
            access_log=args.access_log,
            stale_after_min=args.stale_after_min,
            cookie_secure=args.cookie_secure,
            default_lang=args.lang,
            **{
                f.lstrip("-").replace("-", "_"): getattr(args, f.lstrip("-").replace("-", "_"))
                for f, _, _ in EDGE_FLAGS
                if getattr(args, f.lstrip("-").replace("-", "_")) is not None
            },
            **({} if args.sequence_anomaly_after is None else {"sequence_anomaly_after": args.sequence_anomaly_after}),
        )
    except ValidationError as exc:
        for issue in validation_issues(exc, echo_input=True):
            print(f"ronde api serve: {issue.where}: {issue.what}", file=sys.stderr)
        return 2
    if args.tokens is None:
        for flag in ("estate", "registry_file", "gateways", "badges"):
            if getattr(args, flag) is not None:
                print(
                    f"ronde api serve: --{flag.replace('_', '-')} is for file mode (with --tokens); the API reads "
                    "its registry from the operational database: `ronde registry import` it there",
                    file=sys.stderr,
                )
                return 2
        return _serve_database(args, settings)
    log.warning(
        "file mode (--tokens): registry, gateways, badges and tokens from YAML files, sessions in memory; "
        "deprecated, see `ronde registry import` and docs/opdb.md"
    )
    source = (
        args.registry_file
        if args.registry_file is not None and args.registry_file.exists()
        else (Path(args.estate) if args.estate else default_estate_path())
    )
    try:
        registry = load_estate(source)
    except EstateFileError as exc:
        print(exc, file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{source}: cannot read: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        store = open_reader_store(args)
    except (StoreUnavailable, StoreConfigError) as exc:  # StoreCorrupt included: a damaged SQLite file
        print(f"ronde api serve: store {redact_url(args.store)}: {exc}", file=sys.stderr)
        return 2
    try:
        app = create_app(settings, store, registry, ServiceCalendar())
    except (TokenFileError, ValueError) as exc:
        print(f"ronde api serve: {exc}", file=sys.stderr)
        store.close()
        return 2
    log.info(
        "Ronde API on http://%s:%d/ (registry %s, store %s)",
        args.host,
        args.port,
        registry.revision,
        redact_url(args.store),
    )
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="info", proxy_headers=False)
    finally:
        store.close()
    return 0


def _serve_database(args: argparse.Namespace, settings: Any) -> int:
    """``ronde api serve`` on the operational database (the default): refuses to start on a database whose
    schema is not this code's (exit 2, naming `ronde db upgrade --url …`) or that holds no registry yet."""
    import uvicorn
    from sqlalchemy.exc import SQLAlchemyError

    from ronde.api.access_log import AccessLog
    from ronde.api.app import create_app_on_database
    from ronde.api.db_registry import EmptyRegistry
    from ronde.opdb.engine import shown
    from ronde.opdb.migrate import DatabaseNotCurrent
    from ronde.opdb.sealing import KEY_VARIABLE
    from ronde.opdb.startup import DatabaseStartupError, open_role_database
    from ronde.store.config import StoreConfigError
    from ronde.store.port import StoreUnavailable

    try:
        database = open_role_database(args.database)
    except DatabaseStartupError as exc:
        print(f"ronde api serve: {exc}", file=sys.stderr)
        return 2
    url, engine, box = database.url, database.engine, database.box
    try:
        store = open_reader_store(args)
    except (StoreUnavailable, StoreConfigError) as exc:  # StoreCorrupt included: a damaged SQLite file
        print(f"ronde api serve: store {redact_url(args.store)}: {exc}", file=sys.stderr)
        engine.dispose()
        return 2
    try:
        app = create_app_on_database(
            settings,
            store,
            engine,
            box=box,
            access_log=AccessLog(settings.access_log) if settings.access_log is not None else None,
        )
    except (DatabaseNotCurrent, EmptyRegistry, SQLAlchemyError, ValueError) as exc:
        print(f"ronde api serve: {exc}", file=sys.stderr)
        store.close()
        engine.dispose()
        return 2
    if box is None:
        log.warning("no %s: registry changes are refused while EID beacons are enrolled", KEY_VARIABLE)
    log.info(
        "Ronde API on http://%s:%d/ (operational database %s, store %s)",
        args.host,
        args.port,
        shown(url),
        redact_url(args.store),
    )
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="info", proxy_headers=False)
    finally:
        store.close()
        engine.dispose()
    return 0
