"""``ronde sim``: run, score and list scenarios; load-test the server; advertise from a real adapter."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import EstateFileError, Registry, default_estate_path, load_estate


def _registry(path: str) -> Registry | None:
    try:
        return load_estate(path)
    except EstateFileError as exc:
        print(exc, file=sys.stderr)
        return None
    except OSError as exc:
        print(f"{path}: cannot read: {exc.strerror}", file=sys.stderr)
        return None


def _run(args: argparse.Namespace) -> int:
    from ronde.firmware_sim.runner import parse_day, run_scenario, write_run
    from ronde.firmware_sim.scenarios import build_scenario
    from ronde.firmware_sim.score import format_report

    registry = _registry(args.estate)
    if registry is None:
        return 1
    try:
        day = parse_day(args.day)
        sc = build_scenario(args.scenario, args.seed, registry, ServiceCalendar(), day, args.teams)
    except ValueError as exc:
        print(f"ronde sim run: {exc}", file=sys.stderr)
        return 2
    result = run_scenario(sc)
    out = Path(args.out)
    write_run(result, out)
    print(
        f"scenario {sc.name} seed {sc.seed}: {len(sc.teams)} team(s), "
        f"{sc.start:%Y-%m-%d %H:%M}–{sc.end:%Y-%m-%d %H:%M} UTC, "
        f"{len(sc.truth)} true visits, {len(result.visits)} detected; wrote {out}/"
    )
    for team_id, outages in sc.outages.items():
        for a, b in outages:
            print(f"  {team_id}: network outage {a:%H:%M:%S}–{b:%H:%M:%S} UTC")
    for cid in sc.skipped:
        print(f"  never visited: {cid}")
    for cid, when in sc.dead_beacons.items():
        print(f"  battery dies: {cid} at {when:%Y-%m-%d %H:%M} UTC")
    for r in sc.replays:
        print(
            f"  clone of {r.checkpoint_id} ({r.beacon_format}) replayed near {r.team_id} "
            f"{r.replayed[0]:%Y-%m-%d %H:%M}–{r.replayed[1]:%H:%M} UTC"
        )
    print(format_report(result.score))
    return 0


def _score(args: argparse.Namespace) -> int:
    from ronde.firmware_sim.runner import TRUTH_FILE, VISITS_FILE
    from ronde.firmware_sim.score import KeyResolver, format_report, read_visits, score
    from ronde.firmware_sim.truth import read_truth

    if args.dir is None and (args.truth is None or args.visits is None):
        print("ronde sim score: give a run directory, or both --truth and --visits", file=sys.stderr)
        return 2
    truth_path = Path(args.truth) if args.truth else Path(args.dir) / TRUTH_FILE
    visits_path = Path(args.visits) if args.visits else Path(args.dir) / VISITS_FILE
    try:
        truth = read_truth(truth_path)
        visits = read_visits(visits_path)
    except (OSError, ValueError, KeyError) as exc:
        print(f"ronde sim score: {exc}", file=sys.stderr)
        return 1
    if any(v.checkpoint_id is None and not v.key.startswith("ibeacon:") for v in visits) or args.resolve:
        registry = _registry(args.estate)
        if registry is None:
            return 1
        resolver = KeyResolver(registry)
        visits = [
            v
            if v.checkpoint_id is not None
            else type(v)(
                v.team_id,
                v.key,
                resolver.resolve(v.key, v.first_seen.timestamp()),
                v.first_seen,
                v.last_seen,
                v.count,
                v.rssi_max,
                v.rssi_mean,
            )
            for v in visits
        ]
    result = score(truth, visits)
    if args.json:
        print(json.dumps(result.summary(), indent=1, ensure_ascii=False))
    else:
        print(format_report(result))
    return 0


def _list(args: argparse.Namespace) -> int:  # noqa: ARG001 - every subcommand handler takes the parsed arguments
    from ronde.firmware_sim.scenarios import SCENARIOS

    for name, text in SCENARIOS.items():
        print(f"{name:18} {text}")
    return 0


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


def _load(args: argparse.Namespace) -> int:
    from ronde.firmware_sim.drivers.mqtt_load import KEYS_FILE, run_load

    registry = _registry(args.estate)
    if registry is None:
        return 1
    host, port = args.broker
    password = Path(args.password_file).read_text().strip() if args.password_file else None
    try:
        stats = run_load(
            registry,
            gateways=args.gateways,
            rate=args.rate,
            duration_s=args.duration,
            host=host,
            port=port,
            keys_dir=Path(args.keys_dir),
            password=password,
            seed=args.seed,
        )
    except (ConnectionError, ValueError, OSError) as exc:
        print(f"ronde sim load: {exc}", file=sys.stderr)
        return 1
    summary: dict[str, Any] = stats.summary()
    summary["public_keys"] = str(Path(args.keys_dir) / KEYS_FILE)
    print(json.dumps(summary, indent=1))
    return 0 if stats.failed == 0 and stats.acked == stats.published else 1


def _advertise(args: argparse.Namespace) -> int:
    import time

    from ronde.firmware_sim.beacons import make_beacon
    from ronde.firmware_sim.drivers.bluez_advertiser import advertise

    registry = _registry(args.estate)
    if registry is None:
        return 1
    cp = registry.checkpoints.get(args.checkpoint)
    if cp is None:
        print(f"ronde sim advertise: no checkpoint {args.checkpoint!r} in {args.estate}", file=sys.stderr)
        return 2
    beacon = make_beacon(cp, args.seed, time.time())
    try:
        updates = asyncio.run(advertise(beacon, args.adapter, args.duration, reregister=args.reregister))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - D-Bus errors: no BlueZ, no adapter, permission denied
        print(f"ronde sim advertise: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"advertised {cp.id} ({cp.beacon.format}); {updates} frame update(s)")
    return 0


def register(sub: Any) -> None:
    sim = sub.add_parser("sim", help="the simulator: scenarios, scoring, load tests, test beacons")
    cmds = sim.add_subparsers(dest="sim_cmd", required=True)
    estate = str(default_estate_path())

    run = cmds.add_parser("run", help="run a scenario through the gateway's detection; write truth, visits, summary")
    run.add_argument("scenario")
    run.add_argument("--seed", type=int, default=1)
    run.add_argument("--out", required=True, help="output directory")
    run.add_argument("--teams", type=int, default=2)
    run.add_argument("--day", help="first evening, YYYY-MM-DD (default: a fixed Wednesday)")
    run.add_argument("--estate", default=estate)
    run.set_defaults(func=_run)

    sc = cmds.add_parser("score", help="precision, recall and timing error of visits against the truth")
    sc.add_argument("dir", nargs="?", help="a directory written by 'ronde sim run'")
    sc.add_argument("--truth")
    sc.add_argument("--visits")
    sc.add_argument("--estate", default=estate, help="to resolve beacon keys the visits file left unresolved")
    sc.add_argument("--resolve", action="store_true", help="re-resolve unresolved keys against --estate")
    sc.add_argument("--json", action="store_true")
    sc.set_defaults(func=_score)

    ls = cmds.add_parser("list", help="the named scenarios")
    ls.set_defaults(func=_list)

    load = cmds.add_parser("load", help="many virtual gateways publishing signed visits straight to MQTT")
    load.add_argument("--gateways", type=int, required=True)
    load.add_argument("--rate", type=float, required=True, help="events per second, all gateways together")
    load.add_argument("--duration", type=float, required=True, help="seconds")
    load.add_argument("--broker", type=_host_port, default=("127.0.0.1", 1883), help="HOST:PORT")
    load.add_argument("--keys-dir", required=True, help="keys per virtual gateway; gateways.json for the server")
    load.add_argument("--password-file", help="MQTT password shared by the virtual gateways")
    load.add_argument("--seed", type=int, default=0)
    load.add_argument("--estate", default=estate)
    load.set_defaults(func=_load)

    adv = cmds.add_parser("advertise", help="advertise a checkpoint's beacon from a BlueZ adapter (D-Bus)")
    adv.add_argument("checkpoint")
    adv.add_argument("--adapter", default="hci0")
    adv.add_argument("--duration", type=float, help="seconds (default: until interrupted)")
    adv.add_argument("--reregister", action="store_true", help="re-register on each change (older BlueZ)")
    adv.add_argument("--seed", type=int, default=1)
    adv.add_argument("--estate", default=estate)
    adv.set_defaults(func=_advertise)
