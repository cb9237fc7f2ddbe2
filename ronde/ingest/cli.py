"""``ronde ingest``: run a worker (adding one is a command), check a gateways file, scan gaps."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

from ronde.ingest.config import IngestConfig, from_settings
from ronde.protocol.gateways import GatewaysFileError, load_gateways
from ronde.redact import redact_url
from ronde.store.errors import StoreCorrupt
from ronde.store.port import Store, StoreAccess, StoreUnavailable

if TYPE_CHECKING:  # the operational database (the server extra) is imported when a worker starts
    from ronde.ingest.consumer import IngestWorker
    from ronde.ingest.registry_follow import Reference, RegistryFollower
    from ronde.opdb.startup import RoleDatabase

T = TypeVar("T")

log = logging.getLogger(__name__)

# flag (and its former spelling) → setting (``ronde.settings``, docs/configuration.md): a flag given wins over the
# settings file and the environment. Secrets never come from a flag (ps shows them): RONDE_MQTT_PASSWORD,
# RONDE_STORE_TOKEN, RONDE_STORE_PASSWORD, RONDE_OPDB_SECRET_KEY, RONDE_DATABASE_PASSWORD (or each with _FILE).
_FLAGS: tuple[tuple[tuple[str, ...], str, dict[str, Any]], ...] = (
    (("--name",), "ingest.name", {"help": "worker name; MQTT client id ingest-NAME (stable: it names the session)"}),
    (("--broker-host",), "mqtt.host", {"help": "the MQTT broker (127.0.0.1)"}),
    (("--broker-port",), "mqtt.port", {"type": int, "help": "(1883)"}),
    (("--username",), "mqtt.username", {"help": "MQTT user (password: RONDE_MQTT_PASSWORD)"}),
    (("--tls",), "mqtt.tls", {"action": "store_const", "const": True, "help": "TLS to the broker"}),
    (("--tls-ca",), "mqtt.tls_ca", {"type": Path, "help": "CA file of the broker's certificate"}),
    (("--store",), "store.url", {"help": "sqlite://PATH (sqlite:///var/lib/ronde.db) or an InfluxDB URL"}),
    (("--store-database", "--influx-database"), "store.database", {"help": "InfluxDB database/bucket (ronde)"}),
    (("--store-org", "--influx-org"), "store.org", {"help": "InfluxDB 2.x organisation (token: RONDE_STORE_TOKEN)"}),
    (("--store-user",), "store.user", {"help": "InfluxDB 1.x user (password: RONDE_STORE_PASSWORD)"}),
    (
        ("--database",),
        "database.url",
        {
            "metavar": "URL",
            "help": "the operational database: registry, gateways, calendar, followed while running "
            "(RONDE_DATABASE_URL, else sqlite:///var/ronde/ronde.db); EID keys opened with RONDE_OPDB_SECRET_KEY",
        },
    ),
    (("--registry-poll-s",), "ingest.registry_poll_s", {"type": float, "help": "read the registry version this often"}),
    (("--accept-unknown-gateways",), "ingest.accept_unknown_gateways", {"action": "store_const", "const": True}),
    (("--batch-size",), "ingest.batch_size", {"type": int}),
    (("--batch-window-ms",), "ingest.batch_window_ms", {"type": int}),
    (("--receive-maximum",), "ingest.receive_maximum", {"type": int}),
    (("--max-future-s",), "ingest.max_future_s", {"type": float}),
    (
        ("--no-maintenance",),
        "ingest.maintenance",
        {"action": "store_const", "const": False, "help": "do not run gaps/rollups/retention here"},
    ),
)


def _dest(dotted: str) -> str:
    return dotted.replace(".", "__")


def settings_config(
    role: str, config_file: Path | None, flags: dict[str, Any]
) -> tuple[IngestConfig, str | None] | None:
    """The worker's configuration and the sealing key of the EID identity keys (``database.secret_key``) from the
    settings (``ronde.settings``), or None once each problem is printed as ``ronde <role>: config <origin>:
    <section.field>: <what>`` (the command exits 2). ``store.url`` is required: a worker writes somewhere."""
    from ronde.settings import settings_for

    settings = settings_for(role, config_file, flags, require=("store.url",))
    if settings is None:
        return None
    key = settings.database.secret_key
    return from_settings(settings), key.get_secret_value() if key is not None else None


def _settings_from(args: argparse.Namespace) -> tuple[IngestConfig, str | None] | None:
    role = f"ingest {args.ingest_cmd}"
    return settings_config(role, args.config, {dotted: getattr(args, _dest(dotted)) for _, dotted, _ in _FLAGS})


INGEST_SQLITE_CACHE_KIB = 256
"""A worker's SQLite page cache per connection: its writer appends rows and looks up a batch's ids, and SQLite's
default 2,000 KiB filled up during a drain, 2 MB of the worker's peak RSS (bench_ingest 40,000 events: 81.6-82.0 ->
79.7 MB, CPU per event unchanged); the pages it reads again are in the OS's cache."""


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
        username=config.influx_user,
        password=config.influx_password,
        database=config.influx_database or "ronde",
        raw_days=r.raw_days,
        proof_days=r.proof_days,
        rejections_days=r.rejections_days,
        timeout_s=config.store_timeout_s,
        retry_budget_s=config.store_retry_budget_s,
        access=StoreAccess.MAINTAIN if config.maintenance else StoreAccess.WRITE,
        sqlite_cache_kib=INGEST_SQLITE_CACHE_KIB,
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
    from ronde.ingest import heap, paho_tables
    from ronde.ingest.consumer import IngestWorker
    from ronde.ingest.registry_follow import DbReference, RegistryFollower

    heap.one_arena()  # before any thread: every thread then allocates in the one heap the trims give back
    paho_tables.install()  # this process is the worker: a third of paho's CPU per message (see paho_tables)

    started = _settings_and_database(args)
    if started is None:
        return 2
    config, database, reference = started
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
    _freeze_start_up_objects()
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


def _freeze_start_up_objects() -> None:
    """What the worker made before its first message (imported modules, the registry, the primed EID periods: over
    100,000 objects) leaves the garbage collector's generations for good (``gc.freeze``): each full collection
    during a drain walked them all again, about 12 µs per event in process on bench_ingest's events, 3 µs after
    (docs/performance.md). Objects are still freed by reference counting; only their cycles, if any, are kept."""
    import gc

    gc.collect()  # what start-up left as garbage goes first, not frozen with the rest
    gc.freeze()


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


def _settings_and_database(args: argparse.Namespace) -> tuple[IngestConfig, RoleDatabase, Reference] | None:
    """The settings and the operational database with its reference data, or None once the problem is printed
    (the command then exits 2): what every command working under the registry starts with."""
    loaded = _settings_from(args)
    if loaded is None:
        return None
    config, secret_key = loaded
    opened = _open_database(config, secret_key)
    if isinstance(opened, str):
        print(f"ronde ingest {args.ingest_cmd}: {opened}", file=sys.stderr)
        return None
    database, reference = opened
    return config, database, reference


def _open_database(config: IngestConfig, secret_key: str | None) -> tuple[RoleDatabase, Reference] | str:
    """The operational database as ``ronde api serve`` opens it (``open_role_database``: schema current, sealing
    key), and the reference data at start-up. A problem is returned as the message to print (exit 2)."""
    from ronde.ingest.registry_follow import DATABASE_ERRORS, DbReference, ReferenceRefused
    from ronde.opdb.startup import DatabaseStartupError, open_role_database

    try:
        database = open_role_database(config.database_url, secret_key=secret_key)
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

    loaded = _settings_from(args)
    if loaded is None:
        return 2
    config = loaded[0]
    window, grace = timedelta(hours=config.gap_window_h), timedelta(seconds=config.gap_grace_s)
    gaps = _on_store(config, lambda store: record_gaps(store, datetime.now(UTC), window=window, grace=grace))
    if isinstance(gaps, int):
        return gaps
    for g in gaps:
        print(f"{g.gateway_id}: events {g.first_missing}..{g.last_missing} missing")
    print(f"{len(gaps)} new gap(s) recorded")
    return 0


def _on_store(config: IngestConfig, work: Callable[[Store], T]) -> T | int:
    """``work`` on the configured store, opened for it and closed after; a problem is printed and its exit code
    returned instead (2: a bad store setting or a corrupt store, 3: the store unavailable)."""
    try:
        store = build_store(config)
    except ValueError as exc:
        print(f"store: {exc}", file=sys.stderr)
        return 2
    try:
        store.open()
        return work(store)
    except StoreCorrupt as exc:
        print(f"store {redact_url(config.store_url)}: {exc}", file=sys.stderr)
        return 2
    except StoreUnavailable as exc:
        print(f"store unavailable: {exc}", file=sys.stderr)
        return 3
    finally:
        store.close()


def _check_rollups(args: argparse.Namespace) -> int:
    """One pass of maintenance's rollup check (``ronde.ingest.rollup_check``) on the configured store, under
    the operational database's registry and calendar: what a worker with ``maintenance: true`` does each pass."""
    from ronde.ingest.rollup_check import RollupCheck

    started = _settings_and_database(args)
    if started is None:
        return 2
    config, database, reference = started
    database.dispose()
    registry, calendar, raw_days = reference.registry, reference.calendar, config.retention.raw_days
    days = _on_store(
        config, lambda store: RollupCheck(store, registry, calendar, raw_days=raw_days).run(datetime.now(UTC))
    )
    if isinstance(days, int):
        return days
    print(f"{len(days)} day(s) checked against the stored events: {', '.join(map(str, days)) or 'none needed'}")
    return 0


def _add_config_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="the TOML settings file (default: $RONDE_CONFIG; docs/configuration.md)",
    )
    for flags, dotted, kw in _FLAGS:
        p.add_argument(*flags, dest=_dest(dotted), default=None, **kw)


def register(sub: Any) -> None:
    parser = sub.add_parser("ingest", help="MQTT → store ingest workers")
    ingest = parser.add_subparsers(dest="ingest_cmd", required=True)
    run = ingest.add_parser(
        "run",
        help="run one ingest worker (start more with other --name values to scale out)",
        description="Settings: docs/configuration.md ([database], [store], [mqtt], [retention], [ingest]). Secrets "
        "only from the environment: RONDE_MQTT_PASSWORD, RONDE_STORE_TOKEN, RONDE_STORE_PASSWORD, "
        "RONDE_OPDB_SECRET_KEY, RONDE_DATABASE_PASSWORD (or each with _FILE).",
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
    checks = ingest.add_parser(
        "check-rollups",
        help="check the daily rollups against the stored events once and store the verdicts the API shows",
    )
    _add_config_flags(checks)
    checks.set_defaults(func=_check_rollups)
