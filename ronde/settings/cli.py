"""``ronde config check``: validate the settings as a role would at start-up and print them, secrets as ``***``.

Exit codes: 0 the settings are valid; 2 they are not (each problem on stderr as
``ronde config: config <file or variable>: <section.field>: <what>``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ronde.settings.errors import ConfigError
from ronde.settings.load import EXIT_CONFIG, check_required, effective_lines, load_with_sources
from ronde.settings.model import ROLES

# what each role cannot start without (the same check its own command makes)
REQUIRED: dict[str, tuple[str, ...]] = {"api": ("store.url",), "audit": ("store.url",), "ingest": ()}


def register(sub: Any) -> None:
    config = sub.add_parser("config", help="the settings every server role reads (docs/configuration.md)")
    cmds = config.add_subparsers(dest="config_cmd", required=True)
    check = cmds.add_parser(
        "check",
        help="validate the settings and print them with their origin, secrets as ***",
        description="Reads the settings file (--config, else RONDE_CONFIG) and the RONDE_* variables.",
    )
    check.add_argument("--config", type=Path, default=None, help="the TOML settings file (default: $RONDE_CONFIG)")
    check.add_argument("--role", choices=sorted(ROLES), default=None, help="only the sections this role reads")
    check.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    try:
        settings, sources = load_with_sources(args.config)
        for name in REQUIRED.get(args.role, ()):
            check_required(settings, name, args.role)
    except ConfigError as exc:
        for line in exc.lines("config"):
            print(line, file=sys.stderr)
        return EXIT_CONFIG
    print("\n".join(effective_lines(settings, sources, args.role)).rstrip())
    return 0
