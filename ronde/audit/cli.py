"""``ronde audit report``, ``ronde audit verify`` and ``ronde audit key``.

Exit codes: 0 OK; 1 verification failed (bad signature, edited document, missing days, the store
no longer matches, or with ``--landlord`` a report issued for another landlord); 2 bad input
(unreadable report, unknown landlord, no public key, store unavailable…).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ronde.audit.bilan_cli import add_bilan_command
from ronde.audit.export import ReportFormat, read_report, write_report
from ronde.audit.keys import (
    AuditKeyError,
    default_key_path,
    fingerprint,
    load_signing_key,
    parse_public_key,
    public_key_text,
)
from ronde.audit.labels import Lang
from ronde.audit.report import ReportError, build_report
from ronde.audit.verify import verify_manifest
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import EstateFileError, Registry, load_estate
from ronde.redact import redact_url
from ronde.store.port import Store, StoreAccess, StoreUnavailable

if TYPE_CHECKING:
    from ronde.settings import RondeSettings


def _sqlite_path(url: str) -> str | None:
    """``sqlite://PATH`` as the store package reads it (``sqlite:///abs``, ``sqlite://rel``), or a bare path."""
    if url.startswith("sqlite://"):
        return url[len("sqlite://") :]
    return None if "://" in url else url


def open_store(
    url: str,
    *,
    token: str | None = None,
    org: str | None = None,
    database: str = "ronde",
    username: str | None = None,
    password: str | None = None,
) -> Store:
    """The store behind ``url``, opened read-only (``StoreAccess.READ``: an audit never creates
    nor changes the layout or retention), through the store package's factory
    (``ronde.store.open_store``); a plain path is a SQLite file. An audit never creates an empty
    store: a SQLite file that does not exist is an error. ``token`` (InfluxDB 2.x/3.x), ``org``,
    ``database``, ``username``/``password`` (1.x) are the store's credentials, as for every role
    (``ronde.store.credentials``). Raises StoreUnavailable, or ValueError for a URL that cannot work."""
    path = _sqlite_path(url)
    if path is not None:
        if not Path(path).exists():
            raise StoreUnavailable(f"{path}: no such store file")
        url = f"sqlite://{Path(path).resolve()}"
    factory = getattr(importlib.import_module("ronde.store"), "open_store", None)
    if factory is not None:
        return cast(
            Store,
            factory(
                url,
                token=token,
                org=org,
                database=database,
                username=username,
                password=password,
                access=StoreAccess.READ,
            ),
        )  # opened by the factory
    if path is None:
        raise StoreUnavailable(f"no store engine for {redact_url(url)!r}")
    from ronde.store.sqlite import SqliteStore

    store = SqliteStore(path, access=StoreAccess.READ)
    store.open()
    return store


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


class SettingsRefused(ValueError):
    """The settings cannot run this command; already printed on stderr, one line per problem."""


@dataclass(frozen=True, slots=True)
class AuditRun:
    """What a ``report`` or ``verify`` run reads from the one settings model (``ronde.settings``)."""

    settings: RondeSettings
    database_named: bool  # database.url given by a flag, a variable or the file (not the default)


def _store_flag(url: str | None) -> str | None:
    """``--store`` may be a bare SQLite file path: the settings hold URLs."""
    if url is None or "://" in url:
        return url
    return f"sqlite://{Path(url).resolve()}"


def _settings(args: argparse.Namespace, role: str) -> AuditRun:
    """The settings from ``--config``/``RONDE_CONFIG``, the ``RONDE_*`` variables and this command's flags, with
    the store URL required; ``--store-token-file`` stands for ``RONDE_STORE_TOKEN_FILE``. Raises SettingsRefused
    once each problem is printed as ``ronde <role>: config <origin>: <section.field>: <what>``."""
    from ronde.settings import ConfigError, check_required, load_with_sources
    from ronde.settings.sources import read_secret_file

    flags = {
        "store.url": _store_flag(args.store),
        "store.database": args.store_database,
        "store.org": args.store_org,
        "store.user": args.store_user,
        "database.url": args.database,
        "audit.key": getattr(args, "key", None),
    }
    try:
        if args.store_token_file:
            flags["store.token"] = read_secret_file("--store-token-file", "store.token", args.store_token_file)
        settings, sources = load_with_sources(args.config, flags)
        check_required(settings, "store.url", role)
    except ConfigError as exc:
        for line in exc.lines(role):
            print(line, file=sys.stderr)
        raise SettingsRefused(str(exc)) from None
    return AuditRun(settings, sources.origin_of(("database", "url")) is not None)


def _settings_store(settings: RondeSettings) -> Store:
    """The store the settings name, with the store credentials every role reads (``RONDE_STORE_TOKEN``, or
    ``RONDE_STORE_TOKEN_FILE``; ``RONDE_STORE_PASSWORD`` for InfluxDB 1.x), opened read-only."""
    store = settings.store
    return open_store(
        store.url or "",
        token=store.token.get_secret_value() if store.token else None,
        org=store.org,
        database=store.database,
        username=store.user,
        password=store.password.get_secret_value() if store.password else None,
    )


def _database_url(settings: RondeSettings) -> str:
    return settings.database.engine_url()


def _registry_and_calendar(args: argparse.Namespace, settings: RondeSettings) -> tuple[Registry, ServiceCalendar]:
    """The operational database the settings name (``--database``, ``RONDE_DATABASE_URL``, ``[database] url``, else
    the SQLite default), never an estate file: the registry in force, whose revision and content digest come
    from ``registry_revisions``, and the service calendars from ``service_calendars`` (the report uses its
    landlord's estates' own). ``--closed`` days are added to every calendar's closed dates."""
    closed = frozenset(args.closed or ())
    from ronde.opdb.current import load_current

    current = load_current(_database_url(settings))
    return current.registry, current.calendar.with_closed(closed)  # every estate's calendar


def _key_path(args: argparse.Namespace) -> Path | None:
    return Path(args.key) if getattr(args, "key", None) else None


def _report(args: argparse.Namespace) -> int:
    try:
        run = _settings(args, "audit report")
    except SettingsRefused:
        return 2
    try:
        store = _settings_store(run.settings)
    except (StoreUnavailable, OSError, ValueError) as exc:
        print(f"ronde audit report: {exc}", file=sys.stderr)
        return 2
    try:
        registry, calendar = _registry_and_calendar(args, run.settings)
        key = load_signing_key(run.settings.audit.key)
    except (EstateFileError, OSError, ValueError, RuntimeError) as exc:
        # RuntimeError: the operational database cannot be used (DatabaseStartupError names `ronde db upgrade`;
        # NoRegistry names `ronde registry import`)
        store.close()
        print(f"ronde audit report: {exc}", file=sys.stderr)
        return 2
    try:
        report = build_report(store, registry, calendar, args.landlord, args.first, args.last, now=datetime.now(UTC))
        sidecar = write_report(report, args.out, ReportFormat(args.format), Lang(args.lang), key)
    except (ReportError, StoreUnavailable, OSError) as exc:
        print(f"ronde audit report: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(
        f"{args.out}: report {report.report_id}, {len(report.checkpoints)} checkpoints, "
        f"{len(report.chain.links)} service days, final digest {report.chain.final}"
    )
    print(f"{sidecar}: manifest for 'ronde audit verify'")
    return 0


def _verify(args: argparse.Namespace) -> int:
    try:
        run = _settings(args, "audit verify")
    except SettingsRefused:
        return 2
    try:
        manifest, problems = read_report(args.report)
        estate = load_estate(args.estate) if args.estate else None
        digests = None
        if estate is not None and args.database:
            raise ValueError("--estate and --database exclude each other")  # noqa: TRY301 - reported by the except below like every other argument error
        if estate is None and run.database_named:  # --database, RONDE_DATABASE_URL or the settings file
            from ronde.opdb.current import load_revision_digests

            digests = load_revision_digests(_database_url(run.settings))
        if args.public_key:
            public_key = parse_public_key(args.public_key)
        else:  # on the server itself: its own key, never created here
            public_key = load_signing_key(run.settings.audit.key, create=False).public_key()
        store = _settings_store(run.settings)
    except AuditKeyError as exc:
        print(
            f"ronde audit verify: {exc}; give the server's public key with --public-key "
            "(what 'ronde audit key' prints)",
            file=sys.stderr,
        )
        return 2
    except (ReportError, EstateFileError, StoreUnavailable, OSError, ValueError, RuntimeError) as exc:
        print(f"ronde audit verify: {exc}", file=sys.stderr)
        return 2
    try:
        result = verify_manifest(
            manifest,
            store,
            public_key=public_key,
            document_problems=problems,
            estate=estate,
            landlord=args.landlord,
            revision_digests=digests,
        )
    except StoreUnavailable as exc:
        print(f"ronde audit verify: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(result.message())
    return 0 if result.ok else 1


def _key(args: argparse.Namespace) -> int:
    path = _key_path(args)
    if path is None:  # the key the API and reports sign with: [audit] key, RONDE_AUDIT_KEY (ronde.settings)
        from ronde.settings import ConfigError, load_settings

        try:
            path = load_settings(args.config).audit.key
        except ConfigError as exc:
            for line in exc.lines("audit key"):
                print(line, file=sys.stderr)
            return 2
    path = path or default_key_path()
    try:
        key = load_signing_key(path, create=not args.no_create)
    except AuditKeyError as exc:
        print(f"ronde audit key: {exc}", file=sys.stderr)
        return 2
    print(f"public key (Ed25519, base64url): {public_key_text(key)}")
    print(f"fingerprint: {fingerprint(key)}")
    print(f"private key file: {path}")
    return 0


def _store_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="the TOML settings file (default: $RONDE_CONFIG; docs/configuration.md)",
    )
    parser.add_argument(
        "--store",
        default=None,
        help="store URL (sqlite://PATH, http://influx:8086) or a SQLite file (default: the settings' store.url, "
        "RONDE_STORE_URL)",
    )
    parser.add_argument("--store-database", default=None, help="InfluxDB database (InfluxQL; 2.x: its DBRP mapping)")
    parser.add_argument("--store-org", default=None, help="InfluxDB 2.x organisation")
    parser.add_argument("--store-user", default=None, help="InfluxDB 1.x user (password: $RONDE_STORE_PASSWORD)")
    parser.add_argument(
        "--store-token-file",
        default=None,
        metavar="FILE",
        help="file holding the store token (default: RONDE_STORE_TOKEN or RONDE_STORE_TOKEN_FILE); never the token "
        "itself on the command line",
    )


def register(sub: Any) -> None:
    audit = sub.add_parser("audit", help="landlord audit reports and their verification")
    cmds = audit.add_subparsers(dest="audit_cmd", required=True)
    rep = cmds.add_parser("report", help="issue a landlord's audit report (CSV or PDF + manifest)")
    rep.add_argument("--landlord", required=True, help="landlord id in the estate file")
    rep.add_argument("--from", dest="first", required=True, type=_date, help="first day (YYYY-MM-DD)")
    rep.add_argument("--to", dest="last", required=True, type=_date, help="last day, inclusive (YYYY-MM-DD)")
    _store_arguments(rep)
    rep.add_argument("--format", choices=[f.value for f in ReportFormat], default="pdf")
    rep.add_argument("--lang", choices=[x.value for x in Lang], default="fr")
    rep.add_argument(
        "--database",
        metavar="URL",
        help="the operational database holding the registry, its revisions and the service calendar "
        "(default: RONDE_DATABASE_URL, else sqlite:///var/ronde/ronde.db)",
    )
    rep.add_argument(
        "--closed",
        action="append",
        type=_date,
        metavar="DATE",
        help="a day the service was closed (repeat), added to the calendar's closed dates",
    )
    rep.add_argument("--out", required=True, help="report file to write; <out>.manifest.json is written beside it")
    rep.add_argument(
        "--key",
        help="audit private key file (default: $RONDE_AUDIT_KEY, else "
        "$XDG_DATA_HOME/ronde/audit-key.pem; created on first use)",
    )
    rep.set_defaults(func=_report)
    add_bilan_command(cmds, _store_arguments)  # issue 15: ronde audit bilan
    ver = cmds.add_parser("verify", help="check a report's signature, document, completeness and store")
    ver.add_argument("report", help="report file (CSV, or PDF with its .manifest.json) or manifest JSON")
    _store_arguments(ver)
    ver.add_argument(
        "--database",
        metavar="URL",
        help="the operational database: the report's registry revision must be one it holds, with the "
        "same content digest (default: RONDE_DATABASE_URL when set; without either, not checked)",
    )
    ver.add_argument(
        "--public-key",
        help="the server's audit public key (base64url, as 'ronde audit key' prints "
        "it) or a file holding it; default: the local server's key",
    )
    ver.add_argument("--estate", help="estate file whose registry revision and content must match the report's")
    ver.add_argument("--landlord", help="the landlord verifying: a report issued for any other landlord fails")
    ver.set_defaults(func=_verify)
    key = cmds.add_parser("key", help="print the audit public key (and fingerprint) landlords verify reports with")
    key.add_argument(
        "--config",
        type=Path,
        default=None,
        help="the TOML settings file (default: $RONDE_CONFIG; docs/configuration.md)",
    )
    key.add_argument(
        "--key", help="audit private key file (default: [audit] key, $RONDE_AUDIT_KEY, else the data directory)"
    )
    key.add_argument("--no-create", action="store_true", help="fail instead of creating a missing key")
    key.set_defaults(func=_key)
