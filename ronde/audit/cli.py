"""``ronde audit report``, ``ronde audit verify`` and ``ronde audit key``.

Exit codes: 0 OK; 1 verification failed (bad signature, edited document, missing days, the store
no longer matches, or with ``--landlord`` a report issued for another landlord); 2 bad input
(unreadable report, unknown landlord, no public key, store unavailable…).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

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


def _args_store(args: argparse.Namespace) -> Store:
    """``--store`` with the store credentials every role reads: the token from ``--store-token-file``, else
    ``RONDE_STORE_TOKEN`` (``RONDE_INFLUX_TOKEN``: deprecated alias), the 1.x password from
    ``RONDE_STORE_PASSWORD``."""
    from ronde.store.credentials import read_secret_file, store_password, store_token

    token = read_secret_file(args.store_token_file) if args.store_token_file else store_token()
    return open_store(
        args.store,
        token=token,
        org=args.store_org,
        database=args.store_database,
        username=args.store_user,
        password=store_password(),
    )


def _registry_and_calendar(args: argparse.Namespace) -> tuple[Registry, ServiceCalendar]:
    """File mode (``--estate FILE``: the default calendar), else the operational database (``--database``, else
    RONDE_DATABASE_URL, else the SQLite default): the registry in force, whose revision and content digest come
    from ``registry_revisions``, and the service calendars from ``service_calendars`` (the report uses its
    landlord's estates' own). ``--closed`` days are added to every calendar's closed dates."""
    closed = frozenset(args.closed or ())
    if args.estate:
        if args.database:
            raise ValueError("--estate (file mode) and --database exclude each other")
        return load_estate(args.estate), ServiceCalendar(closed=closed)
    from ronde.opdb.current import load_current

    current = load_current(args.database)
    return current.registry, current.calendar.with_closed(closed)  # every estate's calendar


def _key_path(args: argparse.Namespace) -> Path | None:
    return Path(args.key) if getattr(args, "key", None) else None


def _report(args: argparse.Namespace) -> int:
    try:
        store = _args_store(args)
    except (StoreUnavailable, OSError, ValueError) as exc:
        print(f"ronde audit report: {exc}", file=sys.stderr)
        return 2
    try:
        registry, calendar = _registry_and_calendar(args)
        key = load_signing_key(_key_path(args))
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
        manifest, problems = read_report(args.report)
        estate = load_estate(args.estate) if args.estate else None
        digests = None
        if estate is not None and args.database:
            raise ValueError("--estate and --database exclude each other")  # noqa: TRY301 - reported by the except below like every other argument error
        if estate is None and (args.database or os.environ.get("RONDE_DATABASE_URL")):  # opdb.engine.URL_VARIABLE
            from ronde.opdb.current import load_revision_digests

            digests = load_revision_digests(args.database)
        if args.public_key:
            public_key = parse_public_key(args.public_key)
        else:  # on the server itself: its own key, never created here
            public_key = load_signing_key(None, create=False).public_key()
        store = _args_store(args)
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
    path = _key_path(args) or default_key_path()
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
    parser.add_argument("--store-database", default="ronde", help="InfluxDB database (InfluxQL; 2.x: its DBRP mapping)")
    parser.add_argument("--store-org", default=None, help="InfluxDB 2.x organisation")
    parser.add_argument("--store-user", default=None, help="InfluxDB 1.x user (password: $RONDE_STORE_PASSWORD)")
    parser.add_argument(
        "--store-token-file",
        default=None,
        metavar="FILE",
        help="file holding the store token (default: $RONDE_STORE_TOKEN); never on the command line",
    )


def register(sub: Any) -> None:
    audit = sub.add_parser("audit", help="landlord audit reports and their verification")
    cmds = audit.add_subparsers(dest="audit_cmd", required=True)
    rep = cmds.add_parser("report", help="issue a landlord's audit report (CSV or PDF + manifest)")
    rep.add_argument("--landlord", required=True, help="landlord id in the estate file")
    rep.add_argument("--from", dest="first", required=True, type=_date, help="first day (YYYY-MM-DD)")
    rep.add_argument("--to", dest="last", required=True, type=_date, help="last day, inclusive (YYYY-MM-DD)")
    rep.add_argument("--store", required=True, help="store URL (sqlite://PATH, http://influx:8086) or a SQLite file")
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
        "--estate",
        help="file mode: an estate file instead of the database (default calendar: Wed–Sun 16:00–22:15 Europe/Paris)",
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
    ver = cmds.add_parser("verify", help="check a report's signature, document, completeness and store")
    ver.add_argument("report", help="report file (CSV, or PDF with its .manifest.json) or manifest JSON")
    ver.add_argument("--store", required=True, help="store URL")
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
    key.add_argument("--key", help="audit private key file (default: $RONDE_AUDIT_KEY or the data directory)")
    key.add_argument("--no-create", action="store_true", help="fail instead of creating a missing key")
    key.set_defaults(func=_key)
