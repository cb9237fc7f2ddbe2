"""``ronde dashboards generate|push``: dashboards as code, written to files or pushed to Grafana."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ronde.protocol.estate import EstateFileError, Registry, load_default_estate, load_estate

if TYPE_CHECKING:
    from ronde.settings import RondeSettings

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

    push = cmds.add_parser(
        "push",
        help="create/update folders, teams, permissions and dashboards in Grafana",
        description="The service account token (Admin role) comes only from the environment: RONDE_GRAFANA_TOKEN, "
        "or RONDE_GRAFANA_TOKEN_FILE naming a file holding it (GRAFANA_TOKEN: deprecated).",
    )
    push.add_argument(
        "--url", default=None, help="Grafana base URL (default: [dashboards] grafana_url, RONDE_GRAFANA_URL)"
    )
    _registry_arguments(
        push, "(default: RONDE_DATABASE_URL, else sqlite:///var/ronde/ronde.db); one audit folder per landlord"
    )
    push.add_argument("--dry-run", action="store_true", help="report what would change, write nothing")
    push.add_argument("--timeout", type=float, default=None, help="seconds per Grafana request (10)")
    push.set_defaults(func=_push)


def _registry_arguments(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="the TOML settings file (default: $RONDE_CONFIG; docs/configuration.md)",
    )
    parser.add_argument(
        "--database", metavar="URL", help=f"the operational database whose registry labels the dashboards {default}"
    )
    parser.add_argument("--estate", help="file mode: an estate file instead of the database")


@dataclass(frozen=True, slots=True)
class Target:
    """Where the registry comes from: the database the settings name (``database_url``, None: none named)."""

    database_url: str | None
    settings: RondeSettings | None


def _target(args: argparse.Namespace, role: str, flags: dict[str, Any], require: tuple[str, ...] = ()) -> Target | None:
    """The settings (``--config``/``RONDE_CONFIG``, ``RONDE_*``, flags) and the database they name, if any. Without
    the settings package (a venv holding the ``dashboards`` extra only), ``--database`` or ``RONDE_DATABASE_URL``.
    None once a problem is printed."""
    try:
        from ronde.settings import ConfigError, check_required, load_with_sources
    except ModuleNotFoundError:  # pydantic-settings comes with the server extra
        return Target(args.database or os.environ.get("RONDE_DATABASE_URL"), None)
    try:
        settings, sources = load_with_sources(args.config, {**flags, "database.url": args.database})
        for name in require:
            check_required(settings, name, role)
    except ConfigError as exc:
        for line in exc.lines(role):
            print(line, file=sys.stderr)
        return None
    named = sources.origin_of(("database", "url")) is not None
    return Target(settings.database.engine_url() if named else None, settings)


def _registry(args: argparse.Namespace, target: Target, *, sample_default: bool = False) -> Registry | None:
    """File mode (``--estate``), else the operational database the settings name (else the SQLite default;
    ``require_current`` first, so an old database names ``ronde db upgrade``). With ``sample_default``
    (``generate``) and no database named, the sample estate."""
    path, url = args.estate, target.database_url
    if path and args.database:
        print("--estate (file mode) and --database exclude each other", file=sys.stderr)
        return None
    if path or (sample_default and not url):
        try:
            return load_estate(path) if path else load_default_estate()
        except EstateFileError as exc:
            print(exc, file=sys.stderr)
        except OSError as exc:
            print(f"{path}: cannot read: {exc.strerror}", file=sys.stderr)
        return None
    from ronde.opdb.current import load_current

    try:
        return load_current(url or (target.settings.database.engine_url() if target.settings else None)).registry
    except (RuntimeError, ValueError) as exc:  # DatabaseStartupError, NoRegistry; CalendarError
        print(exc, file=sys.stderr)
    return None


def _grafana(args: argparse.Namespace) -> tuple[str, str, float, Target] | None:
    """Grafana's URL, token and request timeout, and the registry's target, from the one settings model (the
    token only from ``RONDE_GRAFANA_TOKEN`` or ``RONDE_GRAFANA_TOKEN_FILE``). The push's own environment (the
    ``dashboards`` extra alone, no pydantic-settings: README) reads those variables directly and takes
    ``--estate``. None once a problem is printed."""
    try:
        importlib.import_module("ronde.settings")
    except ModuleNotFoundError:  # pydantic-settings comes with the server extra
        env = os.environ
        url = args.url or env.get("RONDE_GRAFANA_URL") or env.get("GRAFANA_URL")
        token = env.get("RONDE_GRAFANA_TOKEN") or env.get("GRAFANA_TOKEN")
        if not token and env.get("RONDE_GRAFANA_TOKEN_FILE"):
            try:
                token = Path(env["RONDE_GRAFANA_TOKEN_FILE"]).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                print(f"ronde dashboards push: config RONDE_GRAFANA_TOKEN_FILE: {exc}", file=sys.stderr)
                return None
        if not url or not token:
            print(
                "ronde dashboards push: config RONDE_GRAFANA_URL, RONDE_GRAFANA_TOKEN: dashboards.grafana_url and "
                "dashboards.grafana_token are required (--url, RONDE_GRAFANA_TOKEN or RONDE_GRAFANA_TOKEN_FILE)",
                file=sys.stderr,
            )
            return None
        return url, token, args.timeout or 10.0, Target(args.database or env.get("RONDE_DATABASE_URL"), None)
    flags = {"dashboards.grafana_url": args.url, "dashboards.timeout_s": args.timeout}
    target = _target(args, "dashboards push", flags, ("dashboards.grafana_url", "dashboards.grafana_token"))
    if target is None or target.settings is None:
        return None
    section = target.settings.dashboards
    token = section.grafana_token.get_secret_value() if section.grafana_token else ""
    return section.grafana_url or "", token, section.timeout_s, target


def _generate(args: argparse.Namespace) -> int:
    from ronde.dashboards.render import check, generated_files, write

    target = Target(None, None) if args.estate else _target(args, "dashboards generate", {})
    registry = None if target is None else _registry(args, target, sample_default=True)
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

    importlib.import_module("grafana_client")  # the extra first: without it, `ronde` names it before any settings
    grafana = _grafana(args)
    if grafana is None:
        return 2
    url, token, timeout_s, target = grafana
    registry = _registry(args, target)
    if registry is None:
        return 2
    try:
        report = push(connect(url, token, timeout_s), registry, dry_run=args.dry_run)
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
