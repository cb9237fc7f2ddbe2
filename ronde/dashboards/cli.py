"""``ronde dashboards generate|push``: dashboards as code, written to files or pushed to Grafana."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Any

from ronde.protocol.estate import EstateFileError, Registry, load_default_estate, load_estate

DEFAULT_OUT = "dashboards"


def register(sub: Any) -> None:
    parser = sub.add_parser("dashboards", help="Grafana dashboards: generate the JSON, push to a Grafana server")
    cmds = parser.add_subparsers(dest="dashboards_cmd", required=True)

    gen = cmds.add_parser("generate", help="write the dashboard JSON and provisioning files")
    gen.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default: ./{DEFAULT_OUT})")
    _registry_arguments(
        gen,
        "(without --estate, --database or RONDE_DATABASE_URL: the sample estate shipped with "
        "ronde, whose dashboards are committed in dashboards/)",
    )
    gen.add_argument("--check", action="store_true", help="write nothing; exit 1 if the files on disk differ")
    gen.set_defaults(func=_generate)

    push = cmds.add_parser("push", help="create/update folders, teams, permissions and dashboards in Grafana")
    push.add_argument("--url", default=os.environ.get("GRAFANA_URL"), help="Grafana base URL (env GRAFANA_URL)")
    push.add_argument(
        "--token",
        default=os.environ.get("GRAFANA_TOKEN"),
        help="service account token with Admin role (env GRAFANA_TOKEN, preferred over the command line)",
    )
    _registry_arguments(
        push, "(default: RONDE_DATABASE_URL, else sqlite:///var/ronde/ronde.db); one audit folder per landlord"
    )
    push.add_argument("--dry-run", action="store_true", help="report what would change, write nothing")
    push.add_argument("--timeout", type=float, default=10.0)
    push.set_defaults(func=_push)


def _registry_arguments(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--database", metavar="URL", help=f"the operational database whose registry labels the dashboards {default}"
    )
    parser.add_argument("--estate", help="file mode: an estate file instead of the database")


def _registry(args: argparse.Namespace, *, sample_default: bool = False) -> Registry | None:
    """File mode (``--estate``), else the operational database (``--database``, else RONDE_DATABASE_URL, else the
    SQLite default; ``require_current`` first, so an old database names ``ronde db upgrade``). With
    ``sample_default`` (``generate``) and none of them, the sample estate."""
    path, url = args.estate, args.database
    if path and url:
        print("--estate (file mode) and --database exclude each other", file=sys.stderr)
        return None
    if path or (sample_default and not url and not os.environ.get("RONDE_DATABASE_URL")):
        try:
            return load_estate(path) if path else load_default_estate()
        except EstateFileError as exc:
            print(exc, file=sys.stderr)
        except OSError as exc:
            print(f"{path}: cannot read: {exc.strerror}", file=sys.stderr)
        return None
    from ronde.opdb.current import load_current

    try:
        return load_current(url).registry
    except (RuntimeError, ValueError) as exc:  # DatabaseStartupError, NoRegistry; CalendarError
        print(exc, file=sys.stderr)
    return None


def _generate(args: argparse.Namespace) -> int:
    from ronde.dashboards.render import check, generated_files, write

    registry = _registry(args, sample_default=True)
    if registry is None:
        return 2
    out = Path(args.out)
    files = generated_files(registry)
    if args.check:
        drift = check(out, files)
        if drift:
            for label, paths in (("differs", drift.changed), ("missing", drift.missing), ("stale", drift.stale)):
                for rel in paths:
                    print(f"{out / rel}: {label}", file=sys.stderr)
            print("dashboards are out of date: run `ronde dashboards generate`", file=sys.stderr)
            return 1
        print(f"{out}: {len(files)} generated files up to date")
        return 0
    touched = write(out, files)
    for rel in touched:
        print(f"wrote {out / rel}")
    print(f"{out}: {len(files)} files, {len(touched)} changed")
    return 0


def _push(args: argparse.Namespace) -> int:
    from ronde.dashboards.push import PushError, connect, push

    if not args.url or not args.token:
        print("push needs --url and --token (or GRAFANA_URL and GRAFANA_TOKEN)", file=sys.stderr)
        return 2
    importlib.import_module("grafana_client")  # the extra first: without it, `ronde` names it before any registry read
    registry = _registry(args)
    if registry is None:
        return 2
    try:
        report = push(connect(args.url, args.token, args.timeout), registry, dry_run=args.dry_run)
    except PushError as exc:
        print(f"push failed: {exc}", file=sys.stderr)
        return 1
    except ModuleNotFoundError:
        raise  # grafana-client not installed: `ronde` names the extra to install
    except Exception as exc:  # noqa: BLE001 - grafana-client raises its own errors and niquests' connection errors
        print(f"push failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(("dry run: would change " if args.dry_run else "") + report.summary())
    return 0
