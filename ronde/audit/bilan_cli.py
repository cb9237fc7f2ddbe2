"""``ronde audit bilan``: one landlord's bilan mensuel written by hand (PDF, CSV, JSON and their manifests).

What ``ronde notify run`` issues on schedule, for a supervisor who wants it now, or again in English; it reads the
same settings as ``ronde audit report`` (store, operational database, audit key) and the field records of the
operational database. Nothing is kept or sent: the files are written in ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from typing import Any


def _month(text: str) -> date:
    try:
        return date.fromisoformat(text + "-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a month (YYYY-MM): {text!r}") from None


def _bilan(args: argparse.Namespace) -> int:
    from ronde.audit.bilan import build_bilan
    from ronde.audit.bilan_export import write_bilan
    from ronde.audit.cli import SettingsRefused, _registry_and_calendar, _settings, _settings_store
    from ronde.audit.keys import AuditKeyError, load_signing_key
    from ronde.audit.labels import Lang
    from ronde.audit.report import ReportError
    from ronde.opdb.field_facts_db import DatabaseFieldFacts
    from ronde.opdb.startup import open_role_database
    from ronde.store.port import StoreUnavailable

    try:
        run = _settings(args, "audit bilan")
    except SettingsRefused:
        return 2
    args.closed = None  # _registry_and_calendar's option of `report`: a bilan uses the calendar as it is
    try:
        store = _settings_store(run.settings)
    except (StoreUnavailable, OSError, ValueError) as exc:
        print(f"ronde audit bilan: {exc}", file=sys.stderr)
        return 2
    try:
        registry, calendar = _registry_and_calendar(args, run.settings)
        key = load_signing_key(run.settings.audit.key)
        database = open_role_database(run.settings.database.engine_url())
    except (AuditKeyError, OSError, ValueError, RuntimeError) as exc:  # RuntimeError: the database (message says)
        store.close()
        print(f"ronde audit bilan: {exc}", file=sys.stderr)
        return 2
    try:
        field = DatabaseFieldFacts(database.engine)
        bilan = build_bilan(store, registry, calendar, args.landlord, args.month, field=field, now=datetime.now(UTC))
        paths = write_bilan(bilan, args.out, Lang(args.lang), key)
    except (ReportError, StoreUnavailable, OSError) as exc:
        print(f"ronde audit bilan: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
        database.dispose()
    for p in paths:
        print(p)
    print(f"bilan {bilan.bilan_id}: verify a file with 'ronde audit verify <file>' (its .manifest.json beside it)")
    return 0


def add_bilan_command(cmds: Any, store_arguments: Any) -> None:
    """The ``bilan`` sub-command of ``ronde audit`` (``store_arguments``: the store flags every audit command has)."""
    bil = cmds.add_parser("bilan", help="write a landlord's bilan mensuel (PDF, CSV, JSON + manifests) now")
    bil.add_argument("--landlord", required=True, help="landlord id")
    bil.add_argument("--month", required=True, type=_month, help="the month (YYYY-MM)")
    store_arguments(bil)
    bil.add_argument("--lang", choices=["fr", "en"], default="fr")
    bil.add_argument("--database", metavar="URL", help="the operational database (default: RONDE_DATABASE_URL)")
    bil.add_argument("--out", required=True, help="folder to write the six files in")
    bil.add_argument("--key", help="audit private key file (default: $RONDE_AUDIT_KEY or the data directory)")
    bil.set_defaults(func=_bilan)
