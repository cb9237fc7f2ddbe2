"""``ronde registry import|export``: today's YAML files ⇄ the operational database (``ronde.opdb.registry_io``).

Exit codes: 0 done; 1 a file is invalid (each problem names file, field and, for the estate, line) or the
estate's revision label is already used for another content; 2 the database cannot be used (not migrated,
unreachable, no sealing key for EID identity keys).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ronde.opdb.cli import add_url


def _open(url_arg: str | None) -> tuple[Any, Any, str]:
    from ronde.opdb.engine import database_url, make_engine, shown
    from ronde.opdb.migrate import require_current
    from ronde.opdb.sealing import SecretBox, SecretKeyError

    url = database_url(url_arg)
    engine = make_engine(url)
    require_current(engine)
    try:
        box = SecretBox.from_env()
    except SecretKeyError:
        box = None  # needed only for EID identity keys: install_document says so when one comes
    return engine, box, shown(url)


def _import(args: argparse.Namespace) -> int:  # noqa: PLR0911 - one exit status per refusal
    from sqlalchemy.exc import SQLAlchemyError

    from ronde.opdb.migrate import DatabaseNotCurrent
    from ronde.opdb.registry_io import ImportRefused, import_files
    from ronde.opdb.sealing import SecretKeyError
    from ronde.protocol.registry_data import RegistryChangeError, RevisionConflict

    if not any((args.estate, args.gateways, args.badges, args.tokens)):
        print("ronde registry import: nothing to import (--estate, --gateways, --badges, --tokens)", file=sys.stderr)
        return 2
    try:
        engine, box, where = _open(args.url)
    except (DatabaseNotCurrent, SecretKeyError) as exc:
        print(f"ronde registry import: {exc}", file=sys.stderr)
        return 2
    if args.if_empty:
        from ronde.opdb.registry_repo import RegistryRepository

        try:
            held = RegistryRepository(engine).snapshot().revision
        except SQLAlchemyError as exc:
            engine.dispose()
            print(f"ronde registry import: {where}: {exc}", file=sys.stderr)
            return 2
        if held is not None:
            engine.dispose()
            print(f"{where} already holds a registry (revision {held.label}): nothing imported (--if-empty)")
            return 0
    try:
        summary = import_files(
            engine,
            box,
            estate=args.estate,
            gateways=args.gateways,
            badges_file=args.badges,
            tokens=args.tokens,
            author=args.author,
        )
    except ImportRefused as exc:
        print(exc, file=sys.stderr)
        return 1
    except (RevisionConflict, RegistryChangeError) as exc:
        print(f"{args.estate}: {exc}", file=sys.stderr)
        return 1
    except (SecretKeyError, SQLAlchemyError) as exc:
        print(f"ronde registry import: {where}: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if summary.estate is not None:
        r = summary.estate
        state = "new revision" if r.created else ("installed again" if r.changed else "unchanged")
        print(f"{args.estate}: revision {r.revision.label} ({state}), content digest {r.revision.digest}")
    for name, path, n in (
        ("gateways", args.gateways, summary.gateways),
        ("badges", args.badges, summary.badges),
        ("tokens", args.tokens, summary.tokens),
    ):
        if path is not None:
            print(f"{path}: {name}: {n} change(s)")
    print(f"imported into {where}")
    return 0


def _write(path: Path | None, text: str) -> None:
    if path is None or str(path) == "-":
        sys.stdout.write(text)
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # may hold EID keys
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _export(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from ronde.opdb.migrate import DatabaseNotCurrent
    from ronde.opdb.registry_io import export_badges, export_estate, export_gateways, export_tokens
    from ronde.opdb.sealing import SecretKeyError

    try:
        engine, box, where = _open(args.url)
    except (DatabaseNotCurrent, SecretKeyError) as exc:
        print(f"ronde registry export: {exc}", file=sys.stderr)
        return 2
    try:
        _write(args.estate, export_estate(engine, box, with_eid_keys=args.with_eid_keys))
        if args.gateways is not None:
            _write(args.gateways, export_gateways(engine))
        if args.badges is not None:
            _write(args.badges, export_badges(engine))
        if args.tokens is not None:
            _write(args.tokens, export_tokens(engine))
    except (ValueError, SQLAlchemyError) as exc:  # SecretKeyError included
        print(f"ronde registry export: {where}: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


def register(sub: Any) -> None:
    reg = sub.add_parser("registry", help="import/export the registry's YAML files into/from the operational database")
    cmds = reg.add_subparsers(dest="registry_cmd", required=True)
    imp = cmds.add_parser(
        "import",
        help="import today's estate, gateways, badges and tokens files (all or nothing)",
        description="EID identity keys are sealed with RONDE_OPDB_SECRET_KEY (or RONDE_OPDB_SECRET_KEY_FILE).",
    )
    add_url(imp)
    imp.add_argument("--estate", type=Path, help="estate file (format: ronde-estate)")
    imp.add_argument("--gateways", type=Path, help="gateways file (format: ronde-gateways); others are revoked")
    imp.add_argument("--badges", type=Path, help="team badges file (format: ronde-badges)")
    imp.add_argument("--tokens", type=Path, help="API tokens file (hashes); tokens not in it are revoked")
    imp.add_argument("--author", default="ronde registry import", help="recorded with the new revision")
    imp.add_argument(
        "--if-empty",
        action="store_true",
        help="import only into a database that holds no registry yet (a deployment's first start: "
        "later changes made through the API are not undone by the files)",
    )
    imp.set_defaults(func=_import)
    exp = cmds.add_parser("export", help="write the registry back in today's file formats")
    add_url(exp)
    exp.add_argument("--estate", type=Path, default=None, help="estate file to write (default: standard output)")
    exp.add_argument("--gateways", type=Path, default=None)
    exp.add_argument("--badges", type=Path, default=None)
    exp.add_argument("--tokens", type=Path, default=None)
    exp.add_argument(
        "--with-eid-keys", action="store_true", help="include EID identity keys (secret; needs RONDE_OPDB_SECRET_KEY)"
    )
    exp.set_defaults(func=_export)
