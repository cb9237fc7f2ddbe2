"""``ronde ingest``: run a worker (adding one is a command), check a gateways file, scan gaps."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from ronde.ingest.config import ConfigError, IngestConfig, load_config
from ronde.protocol.gateways import GatewaysFileError, load_gateways
from ronde.redact import redact_url
from ronde.store.credentials import store_token
from ronde.store.errors import StoreCorrupt
from ronde.store.port import Store, StoreAccess, StoreUnavailable

if TYPE_CHECKING:  # the operational database (the server extra) is imported when a worker starts
    from ronde.ingest.consumer import IngestWorker
    from ronde.ingest.registry_follow import Reference, RegistryFollower
    from ronde.opdb.startup import RoleDatabase

log = logging.getLogger(__name__)

_FLAGS: dict[str, tuple[str, dict[str, Any]]] = {
    "name": ("--name", {"help": "worker name; MQTT client id ingest-NAME (stable: it names the durable session)"}),
    "broker_host": ("--broker-host", {}),
    "broker_port": ("--broker-port", {"type": int}),
    "username": ("--username", {}),
    "tls": ("--tls", {"action": "store_true", "default": None}),
    "tls_ca": ("--tls-ca", {"type": Path}),
    "store_url": ("--store", {"help": "sqlite://PATH (sqlite:///var/lib/ronde.db) or an InfluxDB URL"}),
    "influx_org": ("--influx-org", {}),
    "influx_database": ("--influx-database", {}),
    "database_url": (
        "--database",
        {
            "metavar": "URL",
            "help": "the operational database: registry, gateways, calendar, followed while "
            "running (default: RONDE_DATABASE_URL, else sqlite:///var/ronde/ronde.db); EID keys opened with "
            "RONDE_OPDB_SECRET_KEY",
        },
    ),
    "registry_poll_s": ("--registry-poll-s", {"type": float, "help": "read the registry version row this often (2)"}),
    "accept_unknown_gateways": ("--accept-unknown-gateways", {"action": "store_true", "default": None}),
    "batch_size": ("--batch-size", {"type": int}),
    "batch_window_ms": ("--batch-window-ms", {"type": int}),
    "receive_maximum": ("--receive-maximum", {"type": int}),
    "max_future_s": ("--max-future-s", {"type": float}),
}


def _config_from(args: argparse.Namespace) -> IngestConfig:
    overrides: dict[str, Any] = {k: getattr(args, k, None) for k in _FLAGS}
    if args.no_maintenance:
        overrides["maintenance"] = False
    # secrets from the environment, never from the command line (ps shows it)
    if os.environ.get("RONDE_MQTT_PASSWORD"):
        overrides["password"] = os.environ["RONDE_MQTT_PASSWORD"]
    token = store_token()  # RONDE_STORE_TOKEN (RONDE_INFLUX_TOKEN: deprecated alias, warned)
    if token:
        overrides["influx_token"] = token
    return load_config(args.config, overrides)


def build_store(config: IngestConfig) -> Store:
    """The configured store, not opened yet (the worker opens it, retrying while it is down). A
    worker that runs maintenance is the one role that sets the store's retention to its policy
    (``StoreAccess.MAINTAIN``); with ``maintenance: false`` it only creates what is missing."""
    from ronde.store.config import StoreConfig

    r = config.retention
    return StoreConfig(
        url=config.store_url,
        token=config.influx_token,
        org=config.influx_org,
        database=config.influx_database or "ronde",
        raw_days=r.raw_days,
        proof_days=r.proof_days,
        rejections_days=r.rejections_days,
        timeout_s=config.store_timeout_s,
        retry_budget_s=config.store_retry_budget_s,
        access=StoreAccess.MAINTAIN if config.maintenance else StoreAccess.WRITE,
    ).build()


def _open_local(config: IngestConfig, store: Store) -> str | None:
    """A SQLite file answers now or never: opened here, so a corrupted one stops the command with a
    message (exit 2) instead of a retry loop or a traceback in the writer thread. A server engine
    is opened by the worker, which waits for it. Returns the error message, if any."""
    if not config.store_url.lower().startswith("sqlite:"):
        return None
    try:
        store.open()
    except StoreUnavailable as exc:
        store.close()
        return f"store {redact_url(config.store_url)}: {exc}"
    return None


def _run(args: argparse.Namespace) -> int:
    """Start one worker on the operational database (registry, gateways, calendar, followed while running) and
    the store; SIGHUP reads the registry version row at once. A start-up problem is printed, exit 2."""
    from ronde.ingest import paho_tables
    from ronde.ingest.consumer import IngestWorker
    from ronde.ingest.registry_follow import DbReference, RegistryFollower

    paho_tables.install()  # this process is the worker: a third of paho's CPU per message (see paho_tables)

    try:
        config = _config_from(args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    opened = _open_database(config)
    if isinstance(opened, str):
        print(f"ronde ingest {'retire' if getattr(args, 'retire', False) else 'run'}: {opened}", file=sys.stderr)
        return 2
    database, reference = opened
    store = _open_store(config)
    if isinstance(store, str):
        print(store, file=sys.stderr)
        database.dispose()
        return 2
    follower = RegistryFollower(
        DbReference(database.engine, database.box), version=reference.version, poll_s=config.registry_poll_s
    )
    worker = IngestWorker(
        config,
        store,
        reference.registry,
        reference.calendar,
        reference.gateways,
        retire=getattr(args, "retire", False),
        follower=follower,
    )
    _install_signals(worker, follower)
    try:
        worker.run()
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        log.info("counters: %s", json.dumps(worker.counters.snapshot(), sort_keys=True))
        store.close()
        database.dispose()
    return 0


def _open_store(config: IngestConfig) -> Store | str:
    """The configured store (a SQLite file opened now, see ``_open_local``), or the message to print."""
    try:
        store = build_store(config)
    except ValueError as exc:
        return f"store: {exc}"
    problem = _open_local(config, store)
    return store if problem is None else problem


def _install_signals(worker: IngestWorker, follower: RegistryFollower) -> None:
    """SIGTERM/SIGINT: finish the current batch, then disconnect (once). SIGHUP: read the registry version row
    now instead of at the next poll (there is no file to reload: the database is the reference)."""
    stop_once = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001 - a signal handler's signature
        if stop_once.is_set():
            return
        stop_once.set()
        log.info("signal %d: finishing the current batch, then disconnecting", signum)
        threading.Thread(target=worker.stop, name="ingest-stop", daemon=True).start()

    def _poll(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001 - a signal handler's signature
        log.info("SIGHUP: reading the registry version now")
        follower.poll_now()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGHUP, _poll)


def _open_database(config: IngestConfig) -> tuple[RoleDatabase, Reference] | str:
    """The operational database as ``ronde api serve`` opens it (``open_role_database``: schema current, sealing
    key), and the reference data at start-up. A problem is returned as the message to print (exit 2)."""
    from ronde.ingest.registry_follow import DATABASE_ERRORS, DbReference, ReferenceRefused
    from ronde.opdb.startup import DatabaseStartupError, open_role_database

    try:
        database = open_role_database(config.database_url)
    except DatabaseStartupError as exc:
        return str(exc)
    try:
        reference = DbReference(database.engine, database.box).load()
    except ReferenceRefused as exc:
        database.dispose()
        return str(exc)
    except DATABASE_ERRORS as exc:
        database.dispose()
        return f"database {redact_url(database.url)}: {exc}"
    if not len(reference.gateways) and not config.accept_unknown_gateways:
        log.warning(
            "no gateway enrolled in the operational database yet: every message is refused until one is "
            "(PUT /api/v1/gateways/{id} or `ronde registry import --gateways FILE`)"
        )
    log.info("operational database %s: %s", redact_url(database.url), reference.describe())
    return database, reference


def _gateways_check(args: argparse.Namespace) -> int:
    try:
        registry = load_gateways(args.file)
    except GatewaysFileError as exc:
        print(exc, file=sys.stderr)
        return 1
    keyed = sum(1 for e in registry.entries.values() if e.public_key is not None)
    print(f"{args.file}: ok, {len(registry)} gateways, {keyed} with an Ed25519 key")
    return 0


def _gaps(args: argparse.Namespace) -> int:
    from ronde.ingest.gaps import record_gaps

    try:
        config = _config_from(args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        store = build_store(config)
    except ValueError as exc:
        print(f"store: {exc}", file=sys.stderr)
        return 2
    try:
        store.open()
        gaps = record_gaps(
            store,
            datetime.now(UTC),
            window=timedelta(hours=config.gap_window_h),
            grace=timedelta(seconds=config.gap_grace_s),
        )
    except StoreCorrupt as exc:
        print(f"store {redact_url(config.store_url)}: {exc}", file=sys.stderr)
        return 2
    except StoreUnavailable as exc:
        print(f"store unavailable: {exc}", file=sys.stderr)
        return 3
    finally:
        store.close()
    for g in gaps:
        print(f"{g.gateway_id}: events {g.first_missing}..{g.last_missing} missing")
    print(f"{len(gaps)} new gap(s) recorded")
    return 0


def _add_config_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="YAML/JSON settings file (flags override it)")
    for dest, (flag, kw) in _FLAGS.items():
        p.add_argument(flag, dest=dest, **kw)
    p.add_argument("--no-maintenance", action="store_true", help="do not run gaps/rollups/retention here")


def register(sub: Any) -> None:
    parser = sub.add_parser("ingest", help="MQTT → store ingest workers")
    ingest = parser.add_subparsers(dest="ingest_cmd", required=True)
    run = ingest.add_parser(
        "run",
        help="run one ingest worker (start more with other --name values to scale out)",
        description="Secrets come from the environment: RONDE_MQTT_PASSWORD, RONDE_STORE_TOKEN.",
    )
    _add_config_flags(run)
    run.set_defaults(func=_run)
    retire = ingest.add_parser(
        "retire",
        help="take a worker out for good: drain its durable session, then delete it",
        description="Run with the retired worker's --name after stopping it: the broker keeps routing a "
        "share of the group's messages to an offline member's session until this is done.",
    )
    _add_config_flags(retire)
    retire.set_defaults(func=_run, retire=True)
    gw = ingest.add_parser("gateways", help="the gateways file").add_subparsers(dest="gw_cmd", required=True)
    check = gw.add_parser("check", help="validate a gateways file")
    check.add_argument("file", type=Path)
    check.set_defaults(func=_gateways_check)
    gaps = ingest.add_parser("gaps", help="scan the store for sequence gaps once and record new ones")
    _add_config_flags(gaps)
    gaps.set_defaults(func=_gaps)
