"""``ronde gateway run | check-config | enroll | outbox``.

Only the standard library at import: a command imports what it uses, so ``ronde gateway --help`` on a scanner
costs the parser and nothing else (no pydantic models, no cryptography, no asyncio).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ronde.gateway.config import GatewayConfig
    from ronde.gateway.service_gate import Override

log = logging.getLogger("ronde.gateway")


def _load(path: str) -> GatewayConfig | None:
    from ronde.gateway.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        print(f"{len(exc.errors)} error(s) in {exc.source}", file=sys.stderr)
        return None


def _override(args: argparse.Namespace) -> Override | None:
    from datetime import UTC, datetime

    from ronde.gateway.service_gate import Override

    if args.override_until is None and args.override_reason is None:
        return None
    if args.override_until is None or not args.override_reason:
        raise ValueError("--override-until and --override-reason go together")
    until = datetime.fromisoformat(args.override_until)
    if until.tzinfo is None:
        raise ValueError("--override-until needs a UTC offset, e.g. 2026-04-01T23:00:00+02:00")
    return Override(until.astimezone(UTC), args.override_reason)


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from ronde.gateway.config import ConfigError, read_password
    from ronde.gateway.keys import KeyFileError, load_key

    config = _load(args.config)
    if config is None:
        return 2
    try:
        override = _override(args)
        key = load_key(config.gateway.key_file)
        password = read_password(config)
    except (ValueError, KeyFileError) as exc:
        print(f"ronde gateway run: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if override is not None:
        log.warning("service-hours override until %s: %s", override.until.isoformat(), override.reason)
    return asyncio.run(_serve(config, key, password, override))


async def _serve(config: GatewayConfig, key: Any, password: str | None, override: Override | None) -> int:
    import asyncio
    import signal

    from ronde.gateway.app import GatewayApp
    from ronde.gateway.clock import SystemClock
    from ronde.gateway.indicator import ConsoleIndicator, Indicator, Indicators, SysfsLedIndicator
    from ronde.gateway.outbox import OutboxError
    from ronde.gateway.scanner import BleakSource
    from ronde.gateway.status import SysfsBattery

    clock = SystemClock()
    indicator: Indicator = ConsoleIndicator()
    if config.indicator.led is not None:
        indicator = Indicators(indicator, SysfsLedIndicator(config.indicator.led))
    source = BleakSource(
        config.scanner.adapter, config.scanner.active, clock=clock, watchdog_s=config.scanner.watchdog_s
    )
    try:
        app = GatewayApp(
            config,
            source,
            clock,
            key=key,
            password=password,
            battery=SysfsBattery(),
            indicator=indicator,
            override=override,
        )
    except OutboxError as exc:
        print(f"ronde gateway run: {exc}", file=sys.stderr)
        return 1
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, app.stop)
    await app.run()
    return 0


def _check_config(args: argparse.Namespace) -> int:
    config = _load(args.file)
    if config is None:
        return 2
    s = config.service
    warnings = []
    if not config.gateway.key_file.exists():
        warnings.append(f"gateway.key_file {config.gateway.key_file} does not exist yet (run `ronde gateway enroll`)")
    if config.mqtt.password_file is not None and not config.mqtt.password_file.exists():
        warnings.append(f"mqtt.password_file {config.mqtt.password_file} does not exist")
    print(
        f"{args.file}: ok: gateway {config.gateway.id} (badge {config.gateway.badge}) → "
        f"{'mqtts' if config.mqtt.tls else 'mqtt'}://{config.mqtt.host}:{config.mqtt.port}; "
        f"service {','.join(s.days)} {s.start:%H:%M}-{s.end:%H:%M} {s.timezone}"
        + (f"; OVERRIDE until {s.override_until.isoformat()} ({s.override_reason})" if s.override_until else "")
    )
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0


def _enroll(args: argparse.Namespace) -> int:
    from ronde.gateway.keys import KeyFileError, create_key, load_key
    from ronde.protocol.signing import public_key_text
    from ronde.protocol.topics import is_valid_gateway_id

    if not is_valid_gateway_id(args.gateway_id):
        print(f"invalid gateway id {args.gateway_id!r}: lowercase letters, digits, '-' and '_'", file=sys.stderr)
        return 2
    path = Path(args.key_file)
    try:
        key = create_key(path, force=args.force) if not args.show else load_key(path)
    except KeyFileError as exc:
        print(exc, file=sys.stderr)
        return 1
    public = public_key_text(key)
    print(f"gateway_id: {args.gateway_id}")
    print(f"public_key: {public}")
    print(
        f"Register this public key for gateway {args.gateway_id} on the server; "
        f"the private key stays in {path} (mode 0600).",
        file=sys.stderr,
    )
    return 0


def _outbox(args: argparse.Namespace) -> int:
    from ronde.gateway.outbox import Outbox, OutboxError

    config = _load(args.config)
    if config is None:
        return 2
    try:
        outbox = Outbox(config.outbox.path)
    except OutboxError as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        print(
            f"{config.outbox.path}: {outbox.depth()} waiting, {outbox.rejected_count()} rejected, "
            f"next seq {outbox.next_seq()}"
        )
    finally:
        outbox.close()
    return 0


def register(sub: Any) -> None:
    gateway = sub.add_parser("gateway", help="the scanner a mediator team carries").add_subparsers(
        dest="gateway_cmd", required=True
    )
    run = gateway.add_parser("run", help="scan, detect visits, publish them (until SIGTERM)")
    run.add_argument("--config", required=True, help="gateway TOML file")
    run.add_argument("--override-until", help="scan outside service hours until this ISO instant (with offset)")
    run.add_argument("--override-reason", help="why (logged, and shown in the gateway's status)")
    run.set_defaults(func=_run)
    check = gateway.add_parser("check-config", help="validate a gateway TOML file")
    check.add_argument("file")
    check.set_defaults(func=_check_config)
    enroll = gateway.add_parser("enroll", help="create the device key and print the public key to register")
    enroll.add_argument("--gateway-id", required=True)
    enroll.add_argument("--key-file", required=True)
    enroll.add_argument("--force", action="store_true", help="replace an existing key (the server must re-register)")
    enroll.add_argument("--show", action="store_true", help="print the public key of an existing key file")
    enroll.set_defaults(func=_enroll)
    outbox = gateway.add_parser("outbox", help="events waiting on this device")
    outbox.add_argument("--config", required=True)
    outbox.set_defaults(func=_outbox)
