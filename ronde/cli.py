"""The ``ronde`` command. Each area adds its own sub-commands through ``<area>/cli.py:register``.

The areas are listed in a light table (``AREAS``) and imported only when their command runs: ``ronde gateway
--help`` on a scanner imports the gateway, never FastAPI, uvicorn, amqtt or the stores. A command whose extra
is not installed says which one to install and exits 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

EXIT_MISSING_EXTRA = 2


@dataclass(frozen=True)
class Area:
    """A top-level command: its module (imported on dispatch) and the extra that brings its dependencies."""

    command: str
    module: str
    extra: str
    help: str


AREAS: tuple[Area, ...] = (
    Area("gateway", "ronde.gateway.cli", "gateway", "the scanner a mediator team carries"),
    Area("sim", "ronde.firmware_sim.cli", "gateway", "the simulator: scenarios, scoring, load tests, test beacons"),
    Area("ingest", "ronde.ingest.cli", "server", "MQTT → store ingest workers"),
    Area("api", "ronde.api.cli", "server", "the HTTP API and web pages"),
    Area(
        "dashboards",
        "ronde.dashboards.cli",
        "dashboards",
        "Grafana dashboards: generate the JSON, push to a Grafana server",
    ),
    Area("audit", "ronde.audit.cli", "server", "landlord audit reports and their verification"),
    Area("store", "ronde.store.cli", "server", "the store's layout and retention (maintenance role)"),
    Area("db", "ronde.opdb.cli", "server", "the operational database: migrations (ronde db upgrade)"),
    Area("notify", "ronde.notify.cli", "server", "the bilan mensuel and alerts during service hours: ronde notify run"),
    Area(
        "registry",
        "ronde.opdb.registry_cli",
        "server",
        "import/export the registry's YAML files into/from the operational database",
    ),
    Area("config", "ronde.settings.cli", "server", "the settings every server role reads: ronde config check"),
    Area(
        "calendar", "ronde.opdb.calendar_cli", "server", "the service calendar: days, hours, closed dates, per estate"
    ),
    Area("demo", "ronde.demo.cli", "demo", "one simulated evening end to end, embedded (no server needed)"),
)
_BY_COMMAND = {a.command: a for a in AREAS}


class MissingExtra(Exception):
    """An area's command needs a third-party module its extra brings, and the extra is not installed."""

    def __init__(self, area: Area, module: str) -> None:
        self.area = area
        self.module = module
        super().__init__(
            f"ronde {area.command} needs the '{area.extra}' extra: pip install 'ronde[{area.extra}]'\n"
            f"(no module named '{module}')"
        )


def _missing_third_party(exc: ModuleNotFoundError) -> str | None:
    """The missing module when it is a third-party one (a dependency an extra brings), else None: a module of
    Ronde itself or of the standard library (a Python built without sqlite3) is no extra's to bring."""
    name = exc.name
    if not name or name.partition(".")[0] in ("ronde", *sys.stdlib_module_names):
        return None
    return name


def _estate_check(args: argparse.Namespace) -> int:
    from ronde.protocol.estate import EstateFileError, default_estate_path, load_estate
    from ronde.protocol.labels import duplicate_names
    from ronde.protocol.safe_yaml import YamlLimitError

    path = args.file or str(default_estate_path())
    try:
        registry = load_estate(path)
    except EstateFileError as exc:
        print(exc, file=sys.stderr)
        if isinstance(exc.__cause__, YamlLimitError):  # refused unread (a bomb, too big): not an estate at all
            return 2
        print(f"{len(exc.errors)} error(s) in {exc.source}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{path}: cannot read: {exc.strerror}", file=sys.stderr)
        return 1
    print(
        f"{path}: ok, revision {registry.revision}: {len(registry.landlords)} landlords "
        f"({registry.total_dwellings} dwellings), {len(registry.estates)} estates, "
        f"{len(registry.buildings)} buildings, {len(registry.checkpoints)} checkpoints"
    )
    for name, ids in duplicate_names(registry).items():  # a warning: pages qualify them (ronde.protocol.labels)
        print(f"{path}: warning: {len(ids)} checkpoints are named {name!r}: {', '.join(ids)}", file=sys.stderr)
    return 0


def _command_of(argv: Sequence[str]) -> str | None:
    """The top-level command ``argv`` names (the first word that is not a global option), if any."""
    for word in argv:
        if not word.startswith("-"):
            return word
    return None


def _register(area: Area, sub: Any) -> None:
    try:
        module = importlib.import_module(area.module)
    except ModuleNotFoundError as exc:
        missing = _missing_third_party(exc)
        if missing is None:
            raise
        raise MissingExtra(area, missing) from exc
    module.register(sub)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser. Given ``argv``, only the area it names is imported (the others are listed from ``AREAS``);
    without it every area is imported (the full parser, for tests and tools). Raises MissingExtra when the
    named area's dependencies are not installed."""
    parser = argparse.ArgumentParser(prog="ronde", description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    estate = sub.add_parser("estate", help="the estate file").add_subparsers(dest="estate_cmd", required=True)
    check = estate.add_parser("check", help="validate an estate file and point at the line of any error")
    check.add_argument("file", nargs="?", default=None, help="estate file (default: the bundled sample)")
    check.set_defaults(func=_estate_check)
    wanted = None if argv is None else _command_of(argv)
    for area in AREAS:
        if argv is None or area.command == wanted:
            _register(area, sub)
        else:
            sub.add_parser(area.command, help=area.help)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C while a command's modules load, or once it returned: no traceback
        return 130


# Options taking a base64url Ed25519 key (43 characters): one key in 64 begins with "-", which argparse takes for an
# option ("expected one argument"), so a landlord's verification would fail on that server's key.
_KEY_OPTIONS = frozenset({"--public-key"})
_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


def attach_key_values(argv: Sequence[str]) -> list[str]:
    """``--public-key -Abc…`` as ``--public-key=-Abc…`` when the value is a base64url key beginning with "-"."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        value = argv[i + 1] if i + 1 < len(argv) else ""
        if arg in _KEY_OPTIONS and value.startswith("-") and len(value) in (43, 44) and set(value) <= _KEY_CHARS:
            out.append(f"{arg}={value}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def _main(argv: Sequence[str] | None) -> int:
    argv = attach_key_values(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(argv)
    except MissingExtra as exc:
        print(exc, file=sys.stderr)
        return EXIT_MISSING_EXTRA
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as exc:
        area = _BY_COMMAND.get(args.command)
        missing = _missing_third_party(exc)
        if area is None or missing is None:
            raise
        print(MissingExtra(area, missing), file=sys.stderr)
        return EXIT_MISSING_EXTRA


if __name__ == "__main__":
    sys.exit(main())
