"""The ``ronde`` command. Each area adds its own sub-commands through ``<area>/cli.py:register``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from ronde.protocol.estate import EstateFileError, default_estate_path, load_estate

AREAS = ("gateway", "firmware_sim", "ingest", "api", "dashboards", "audit", "demo")


def _estate_check(args: argparse.Namespace) -> int:
    try:
        registry = load_estate(args.file)
    except EstateFileError as exc:
        print(exc, file=sys.stderr)
        print(f"{len(exc.errors)} error(s) in {exc.source}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{args.file}: cannot read: {exc.strerror}", file=sys.stderr)
        return 1
    print(
        f"{args.file}: ok, revision {registry.revision}: {len(registry.landlords)} landlords "
        f"({registry.total_dwellings} dwellings), {len(registry.estates)} estates, "
        f"{len(registry.buildings)} buildings, {len(registry.checkpoints)} checkpoints"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ronde", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    estate = sub.add_parser("estate", help="the estate file").add_subparsers(dest="estate_cmd", required=True)
    check = estate.add_parser("check", help="validate an estate file and point at the line of any error")
    check.add_argument("file", nargs="?", default=str(default_estate_path()))
    check.set_defaults(func=_estate_check)
    for area in AREAS:
        try:
            module = importlib.import_module(f"ronde.{area}.cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"ronde.{area}.cli" and exc.name != f"ronde.{area}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
