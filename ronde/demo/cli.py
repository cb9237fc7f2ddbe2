"""``ronde demo``: the all-in-one run on embedded defaults (or real servers with flags)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from ronde.demo.options import DEFAULT_SPEED, DemoOptions, last_finished_service_day
from ronde.demo.streams import StreamJobs
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import EstateFileError, load_estate

_MAX_PORT = 65535


def _hostport(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) <= _MAX_PORT:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="one simulated evening end to end, embedded (no server needed)")
    p.add_argument("--seed", type=int, default=2026, help="simulation seed (same seed, same evening)")
    p.add_argument(
        "--speed", type=float, default=DEFAULT_SPEED, help="simulated seconds per real second (default %(default)g)"
    )
    p.add_argument(
        "--day", type=date.fromisoformat, default=None, help="service day to simulate (default: the last finished one)"
    )
    p.add_argument("--teams", type=int, default=2)
    p.add_argument(
        "--broker", type=_hostport, default=None, help="HOST:PORT of a real MQTT v5 broker (default: embedded amqtt)"
    )
    p.add_argument(
        "--store", default=None, help="store URL: http://host:8086 for InfluxDB (default: SQLite in --workdir)"
    )
    p.add_argument("--store-token", default=None, help="InfluxDB 2.x/3.x token")
    p.add_argument("--store-org", default=None, help="InfluxDB 2.x organisation")
    p.add_argument("--workdir", type=Path, default=Path("var/demo"))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080, help="API port (0: any free port)")
    p.add_argument("--no-serve", action="store_true", help="exit after the summary instead of serving pages")
    p.add_argument("--estate", type=Path, default=None, help="estate file (default: the bundled sample)")
    p.set_defaults(func=_run)


def _take_ctrl_c() -> None:
    """Ctrl-C (SIGINT) raises KeyboardInterrupt from here on, even when this process was started with SIGINT
    ignored, as a shell without job control starts a background job (``ronde demo &`` in a script, a CI
    runner): Python then installs no handler and the kernel drops SIGINT, so a Ctrl-C while the server's
    modules load was lost and the demo went on to serve, although its loop takes SIGINT over later
    (``run_until_interrupted``) whatever it inherited. The demo ends on Ctrl-C at every phase."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _run(args: argparse.Namespace) -> int:
    _take_ctrl_c()
    if not args.verbose:
        for name in ("ronde", "amqtt", "transitions", "uvicorn", "alembic"):
            logging.getLogger(name).setLevel(logging.WARNING)
        logging.getLogger("ronde.gateway.mqtt_link").setLevel(logging.ERROR)
    opts = DemoOptions(
        seed=args.seed,
        speed=args.speed,
        day=args.day,
        teams=args.teams,
        broker=args.broker,
        store_url=args.store,
        store_token=args.store_token,
        store_org=args.store_org,
        workdir=args.workdir,
        host=args.host,
        port=args.port,
        serve=not args.no_serve,
        **({"estate": args.estate} if args.estate else {}),
    )
    try:  # checked before anything starts: the children would only fail on it later
        load_estate(opts.estate)
    except (EstateFileError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 1
    # the teams' streams start computing now, in child processes, while the server's modules load (seconds)
    day = opts.day or last_finished_service_day(ServiceCalendar(), datetime.now(UTC))
    opts = dataclasses.replace(opts, day=day)
    jobs = StreamJobs.start(opts.seed, opts.estate, day, opts.teams)
    try:
        from ronde.demo.run import run_until_interrupted  # the server's modules: after the streams started

        return asyncio.run(run_until_interrupted(opts, jobs=jobs))
    except EstateFileError as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # before the loop took Ctrl-C over (run_until_interrupted)
        return 130
    finally:
        jobs.kill()
