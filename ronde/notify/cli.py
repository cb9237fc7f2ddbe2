"""``ronde notify run``: the server role that issues the bilans and sends the alerts (issue 15).

Reads its settings once at start-up (``[notify]``, ``[database]``, ``[store]``, ``[audit]``: a bad value is named
and the command exits 2), then ticks every ``notify.tick_s`` until SIGTERM/SIGINT, when it gives its lease up.
Safe to run twice: see ``ronde.notify.runner``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the role's modules load only when it runs (ronde --help stays light)
    from ronde.notify.runner import Runner
    from ronde.opdb.startup import RoleDatabase
    from ronde.store.port import Store

log = logging.getLogger("ronde.notify")


class _StartError(Exception):
    """The role cannot start; the message says why (printed, exit 2)."""


def _start(args: argparse.Namespace) -> tuple[Runner, Store, RoleDatabase, float]:
    """Settings, database (schema checked), audit key and store, in that order; what was opened is closed again
    when a later step fails."""
    from ronde.audit.cli import open_store
    from ronde.audit.keys import AuditKeyError, load_signing_key
    from ronde.notify.runner import Runner
    from ronde.opdb.field_facts_db import DatabaseFieldFacts
    from ronde.opdb.startup import DatabaseStartupError, open_role_database
    from ronde.settings import settings_for
    from ronde.store.port import StoreUnavailable

    settings = settings_for("notify", args.config, require=("store.url",))
    if settings is None:
        raise _StartError("")  # each problem is printed already, naming its setting
    try:
        database = open_role_database(settings.database.engine_url())
    except DatabaseStartupError as exc:
        raise _StartError(str(exc)) from None
    st = settings.store
    try:
        key = load_signing_key(settings.audit.key)
        store = open_store(
            str(st.url),
            token=st.token.get_secret_value() if st.token else None,
            org=st.org,
            database=st.database,
            username=st.user,
            password=st.password.get_secret_value() if st.password else None,
        )
    except (AuditKeyError, StoreUnavailable, OSError, ValueError) as exc:
        database.dispose()
        raise _StartError(str(exc)) from None
    name = args.name or f"{socket.gethostname()}-{os.getpid()}"
    runner = Runner(database.engine, store, settings.notify, key, name, DatabaseFieldFacts(database.engine))
    return runner, store, database, settings.notify.tick_s


def _loop(runner: Runner, tick_s: float, once: bool, stop: threading.Event) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from ronde.store.port import StoreUnavailable

    while not stop.is_set():
        try:
            result = runner.tick(datetime.now(UTC))
        except (StoreUnavailable, SQLAlchemyError) as exc:  # back at the next tick; nothing is lost meanwhile
            print(
                f"ronde notify: {runner.name}: tick skipped: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True
            )
        else:
            print(
                f"ronde notify: {runner.name}: leader={result.leader} bilans={result.bilans} raised={result.raised} "
                f"resolved={result.resolved} sent={result.delivered.sent} failed={result.delivered.failed}",
                flush=True,
            )
        if once:
            break
        stop.wait(tick_s)


def _run(args: argparse.Namespace) -> int:
    try:
        runner, store, database, tick_s = _start(args)
    except _StartError as exc:
        if str(exc):
            print(f"ronde notify: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping", signum)
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        _loop(runner, tick_s, args.once, stop)
    finally:
        for sig, handler in previous.items():  # an in-process caller (a test) gets its own back
            signal.signal(sig, handler)
        runner.release()
        store.close()
        database.dispose()
    return 0


def register(sub: Any) -> None:
    notify = sub.add_parser("notify", help="the bilan mensuel and alerts during service hours")
    cmds = notify.add_subparsers(dest="notify_cmd", required=True)
    run = cmds.add_parser("run", help="issue due bilans, run the alert rules, send what is queued (every tick)")
    run.add_argument("--config", help="settings file (default: $RONDE_CONFIG)")
    run.add_argument("--once", action="store_true", help="one tick, then exit")
    run.add_argument("--name", help="this runner's name in the lease and the delivery log (default: host-pid)")
    run.set_defaults(func=_run)
