"""One simulated evening through the real parts, in one process.

Simulator → gateway apps (one per team, real outbox, real signatures) → MQTT (embedded amqtt, or a
real broker) → ingest worker → store (embedded SQLite, or InfluxDB) → API and pages on localhost, on an
operational database (a SQLite file in the work folder, upgraded and imported at start).
Only the gateways' clock is simulated (accelerated); MQTT, SQLite and HTTP run in real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

import uvicorn
from sqlalchemy import Engine

from ronde.api.app import create_app_on_database
from ronde.api.auth import Principal, Role, new_token
from ronde.api.settings import ApiSettings
from ronde.coverage.query import landlord_coverage
from ronde.coverage.shares import fair_share
from ronde.demo.broker import EmbeddedBroker, free_port
from ronde.demo.field_records import add_demo_field_records
from ronde.demo.notify_demo import demo_notify, print_notify
from ronde.demo.options import DemoOptions, last_finished_service_day
from ronde.demo.scanners import TeamScanners
from ronde.demo.signin import PATH as SIGNIN_PATH
from ronde.demo.signin import OneTimeCode, signin_router
from ronde.demo.streams import StreamJobs
from ronde.firmware_sim.scenarios import Scenario, build_scenario
from ronde.ingest.config import IngestConfig
from ronde.ingest.consumer import IngestWorker
from ronde.ingest.registry_follow import DbReference, RegistryFollower
from ronde.ingest.rollup import rollup_day
from ronde.ingest.rollup_check import RollupCheck
from ronde.opdb.engine import make_engine
from ronde.opdb.migrate import upgrade
from ronde.opdb.registry_io import import_records
from ronde.opdb.sealing import SecretBox
from ronde.protocol.access import token_entries
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import EstateDocument, Registry, load_estate
from ronde.protocol.formats import date_long, percent, time_hm
from ronde.protocol.gateways import GatewayRegistry
from ronde.protocol.registry_data import BadgeEntry, registry_to_data
from ronde.redact import redact_url
from ronde.store.config import open_store
from ronde.store.port import Store

log = logging.getLogger("ronde.demo")
EXIT_INTERRUPTED = 130  # a shell's code for a command ended by Ctrl-C (128 + SIGINT)


@dataclass(frozen=True, slots=True)
class LandlordLine:
    landlord: str
    name: str
    checkpoints: int
    visited: int
    visits: int
    presence_s: float
    dwellings_share: float
    presence_share: float

    @property
    def share_visited(self) -> float:
        return self.visited / self.checkpoints if self.checkpoints else 0.0


@dataclass(frozen=True, slots=True)
class DemoResult:
    day: date
    visits_recorded: int
    visits_stored: int
    rejected: dict[str, int]
    landlords: tuple[LandlordLine, ...]
    url: str
    admin_token: str
    landlord_token: str
    signin_url: str = ""


class _Progress:
    """One status line, redrawn in place on a terminal, every tenth of the evening otherwise."""

    def __init__(self, stream: TextIO, start: float, end: float) -> None:
        self.stream = stream
        self.start = start
        self.end = end
        self.tty = stream.isatty()
        self._last_decile = -1

    def show(self, now: float, recorded: int, stored: int, calendar: ServiceCalendar) -> None:
        frac = min(1.0, max(0.0, (now - self.start) / (self.end - self.start)))
        local = time_hm(datetime.fromtimestamp(now, UTC).astimezone(calendar.tz))
        bar = "#" * int(frac * 30)
        line = f"[{bar:<30}] {frac:4.0%}  {local}  visites détectées {recorded:4d}  enregistrées {stored:4d}"
        if self.tty:
            self.stream.write("\r" + line)
            self.stream.flush()
        elif int(frac * 10) != self._last_decile:
            self._last_decile = int(frac * 10)
            self.stream.write(line + "\n")

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")


def _stored_visits(store: Store, scenario: Scenario) -> int:
    return len(store.visits(scenario.start - timedelta(hours=1), scenario.end + timedelta(hours=1)))


def summarise(
    store: Store, registry: Registry, calendar: ServiceCalendar, day: date, now: datetime
) -> tuple[LandlordLine, ...]:
    coverage = landlord_coverage(store, registry, calendar, day, day, landlord=None, now=now)
    presence = coverage.presence_by_landlord()
    shares = {f.landlord: f for f in fair_share(registry, presence)}
    lines = []
    for lid, landlord in registry.landlords.items():
        cps = [c for c in coverage.checkpoints if c.landlord == lid]
        share = shares.get(lid)
        lines.append(
            LandlordLine(
                landlord=lid,
                name=landlord.name,
                checkpoints=len(cps),
                visited=sum(1 for c in cps if c.visits > 0),
                visits=sum(c.visits for c in cps),
                presence_s=presence.get(lid, 0.0),
                dwellings_share=share.dwelling_share if share else 0.0,
                presence_share=(share.presence_share or 0.0) if share else 0.0,
            )
        )
    return tuple(lines)


def print_summary(result: DemoResult, out: TextIO) -> None:
    out.write(f"\nSoirée de service du {date_long(result.day)} (16 h – 22 h 15, heure de Paris)\n")
    out.write(
        f"Visites détectées par les boîtiers : {result.visits_recorded}, enregistrées : "
        f"{result.visits_stored}, rejets : {sum(result.rejected.values())} {result.rejected or ''}\n\n"
    )
    out.write(
        f"{'Bailleur':<26}{'points':>7}{'visités':>9}{'part':>7}{'passages':>10}{'présence':>10}{'logements':>11}\n"
    )
    for line in result.landlords:
        out.write(
            f"{line.name:<26}{line.checkpoints:>7}{line.visited:>9}{percent(line.share_visited, 'fr', 0):>7}"
            f"{line.visits:>10}{percent(line.presence_share):>10}{percent(line.dwellings_share):>11}\n"
        )
    print_access(result.url, result.signin_url, result.admin_token, result.landlord_token, out)


def print_access(url: str, signin_url: str, admin_token: str, landlord_token: str, out: TextIO) -> None:
    """Where to look, printed as soon as the API listens (before the evening plays) and again at the end."""
    out.write(f"\nPages et API : {url}\n")
    out.write(f"  connexion en un clic (une seule fois, sur cette machine) : {signin_url}\n")
    out.write(f"  jeton administrateur : {admin_token}\n")
    out.write(f"  jeton bailleur (Paris Habitat) : {landlord_token}\n")
    out.flush()


async def run_demo(  # noqa: PLR0915 - the demo's script, one step after the other
    opts: DemoOptions,
    out: TextIO = sys.stdout,
    stop: asyncio.Event | None = None,
    serving: asyncio.Event | None = None,
    jobs: StreamJobs | None = None,
) -> DemoResult:
    """The evening is computed, replayed and stored first; then the URL and the summary are printed, and the
    pages served until ``stop`` (Ctrl-C). ``serving`` is set once only Ctrl-C is awaited: an interruption
    before it cancels the run (``run_until_interrupted``). Every resource is released on the way out,
    each within a bound."""
    registry = load_estate(opts.estate)
    calendar = ServiceCalendar()
    day = opts.day or last_finished_service_day(calendar, datetime.now(UTC))
    scenario = build_scenario("evening", opts.seed, registry, calendar, day=day, teams=opts.teams)
    workdir = opts.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    if opts.store_url is None:  # the demo's own embedded store: each run replays its evening afresh
        for name in ("ronde.sqlite", "ronde.sqlite-wal", "ronde.sqlite-shm"):
            (workdir / name).unlink(missing_ok=True)
    store_url = opts.store_url or f"sqlite://{workdir / 'ronde.sqlite'}"
    async with contextlib.AsyncExitStack() as stack:
        # seconds of CPU per team, in child processes while the rest starts (`ronde demo` starts them earlier)
        jobs = jobs or StreamJobs.start(opts.seed, opts.estate, day, opts.teams)
        stack.callback(jobs.kill)  # before the loop's executor waits for the threads reading them
        streams = asyncio.create_task(jobs.result())
        stack.push_async_callback(_cancelled, streams)
        store = open_store(store_url, token=opts.store_token, org=opts.store_org)
        stack.callback(store.close)
        embedded = EmbeddedBroker() if opts.broker is None else None
        host, port = (embedded.host, embedded.port) if embedded else opts.broker  # type: ignore[misc]
        v311 = embedded is not None
        if embedded:
            await embedded.start()
            stack.push_async_callback(_bounded, embedded.stop(), 5.0)
        out.write(
            f"Ronde — démonstration : soirée du {date_long(day)}, {len(scenario.teams)} équipes, "
            f"{len(registry.checkpoints)} points de passage, horloge ×{opts.speed:g}\n"
        )
        out.write(f"  MQTT {'embarqué (amqtt) ' if embedded else ''}{host}:{port} · stockage {redact_url(store_url)}\n")
        out.flush()
        scanners = TeamScanners.build(scenario, workdir, host, port, estate=opts.estate, speed=opts.speed, v311=v311)
        admin, landlord = new_token(), new_token()
        tokens = {
            admin: Principal("demo-admin", Role.ADMIN),
            landlord: Principal("demo-paris-habitat", Role.LANDLORD, "paris-habitat"),
        }
        # the teams by a pseudonym, as a site registers them: pages never show a raw badge
        badges = {t.badge: BadgeEntry(t.badge, f"Équipe {i}") for i, t in enumerate(scenario.teams, start=1)}
        engine, box = open_demo_database(workdir, registry, scanners.gateway_registry(), tokens, badges)
        stack.callback(engine.dispose)
        ingest = _start_ingest(engine, box, store, store_url, host, port, v311=v311)
        stack.push_async_callback(asyncio.to_thread, ingest.stop, 5.0)
        await _wait_until(lambda: ingest.connected or ingest.failure is not None, 20)
        if not ingest.connected:
            raise RuntimeError(f"ingest could not connect to MQTT at {host}:{port}")

        clock = scanners.clock
        replayed: list[bool] = []

        def api_now() -> datetime:
            """The accelerated evening while it plays, then the wall clock (reports say the real time)."""
            return datetime.now(UTC) if replayed else datetime.fromtimestamp(clock.now(), UTC)

        app = create_app_on_database(ApiSettings(), store, engine, box=box, clock=api_now, calendar=calendar)
        # the pages open on the replayed evening even when the wall clock is inside tonight's (empty) one
        app.state.ronde = dataclasses.replace(app.state.ronde, shown_day=day)
        code = OneTimeCode()
        app.include_router(signin_router(code, admin))
        api_port = opts.port if opts.port and _port_free(opts.host, opts.port) else free_port()
        if opts.port and api_port != opts.port:
            out.write(f"  le port {opts.port} est occupé : l'API écoute sur {api_port}\n")
        # no proxy headers: the one-click link's loopback check reads the socket's address, never a header
        server = uvicorn.Server(
            uvicorn.Config(app, host=opts.host, port=api_port, log_level="warning", proxy_headers=False)
        )
        shown_host = "127.0.0.1" if opts.host in ("0.0.0.0", "", "::") else opts.host  # noqa: S104 - compared, not bound
        url = f"http://{shown_host}:{api_port}/"
        signin_url = f"{url.rstrip('/')}{SIGNIN_PATH}?code={code.value}"

        # the API in a thread of its own: the evening's simulated radio keeps this loop busy
        api_thread = threading.Thread(target=server.run, name="demo-api", daemon=True)
        api_thread.start()
        stack.push_async_callback(_stop_server, server, api_thread)
        if not streams.done():
            out.write("Préparation de la soirée simulée (ce que chaque équipe entend, calculé à part)…\n")
            out.flush()
        scanners.preload(dict(zip((t.team_id for t in scenario.teams), await streams, strict=True)))
        await _wait_until(lambda: server.started or not api_thread.is_alive(), 20)
        out.write(f"La soirée se rejoue ({time_hm(calendar.start)} → {time_hm(calendar.end)}), avant l'ouverture :\n")
        progress = _Progress(out, scenario.start.timestamp(), scenario.end.timestamp())
        stored = _StoredCounter(store, scenario)

        def show(now: float, recorded: int) -> None:
            progress.show(now, recorded, stored.count(), calendar)

        recorded = await scanners.play(show, lambda: ingest.failure)
        progress.done()
        await _wait_until(
            lambda: ingest.pending == 0 and _stored_visits(store, scenario) >= recorded - _rejected_visits(ingest),
            30,
        )
        replayed.append(True)  # the evening is over: the API goes back to the wall clock
        await asyncio.to_thread(rollup_day, store, registry, calendar, day)
        # and checked, as ingest's maintenance does right after (the pages read its verdict: issue 17)
        await asyncio.to_thread(RollupCheck(store, registry, calendar).run, api_now())
        await asyncio.to_thread(add_demo_field_records, engine, store, registry, day, opts.seed)
        notified = await asyncio.to_thread(demo_notify, engine, store, day, api_now())  # issue 15
        now = api_now()
        result = DemoResult(
            day=day,
            visits_recorded=recorded,
            visits_stored=_stored_visits(store, scenario),
            rejected={k: int(v) for k, v in dict(ingest.counters.rejected).items()},
            landlords=summarise(store, registry, calendar, day, now),
            url=url,
            admin_token=admin,
            landlord_token=landlord,
            signin_url=signin_url,
        )
        print_summary(result, out)
        print_notify(notified, url, out)
        if opts.serve:
            out.write("Ctrl-C pour arrêter.\n")
            out.flush()
            if serving is not None:
                serving.set()
            await (stop or _interrupted()).wait()
    return result


async def run_until_interrupted(opts: DemoOptions, out: TextIO = sys.stdout, jobs: StreamJobs | None = None) -> int:
    """``ronde demo``'s main: 0 when stopped by Ctrl-C (or SIGTERM) while it serves its pages, 130 when
    interrupted before (the run is cancelled and everything it started released, within bounds). A second
    Ctrl-C leaves at once, without waiting for that clean-up."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    stop, serving = asyncio.Event(), asyncio.Event()
    signals: list[int] = []

    def on_signal(sig: int) -> None:
        if signals:
            os._exit(EXIT_INTERRUPTED)
        signals.append(sig)
        stop.set()
        if not serving.is_set():
            task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        await run_demo(opts, out, stop=stop, serving=serving, jobs=jobs)
    except asyncio.CancelledError:
        if not signals:
            raise
        out.write("\nDémonstration interrompue.\n")
        out.flush()
        return EXIT_INTERRUPTED
    return 0


def _start_ingest(
    engine: Engine, box: SecretBox, store: Store, store_url: str, host: str, port: int, *, v311: bool
) -> IngestWorker:
    """The worker reads its registry, gateways and calendar from the database, and follows it (as on a site)."""
    config = IngestConfig(
        name="demo",
        broker_host=host,
        broker_port=port,
        mqtt_version="3.1.1" if v311 else "5",
        shared=not v311,
        maintenance=False,
        store_url=store_url,
    )
    reference = DbReference(engine, box)
    start = reference.load()
    ingest = IngestWorker(
        config,
        store,
        start.registry,
        start.calendar,
        start.gateways,
        follower=RegistryFollower(reference, version=start.version, poll_s=config.registry_poll_s),
    )
    ingest.start()
    return ingest


async def _cancelled(task: asyncio.Task[object]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _bounded(step: Coroutine[object, object, object], limit_s: float) -> None:
    """A clean-up step that may not hold the exit longer than ``limit_s``."""
    try:
        async with asyncio.timeout(limit_s):
            await step
    except TimeoutError:
        log.warning("demo: a clean-up step gave up after %.0fs", limit_s)


async def _stop_server(server: uvicorn.Server, thread: threading.Thread) -> None:
    server.should_exit = True
    await _wait_until(lambda: not thread.is_alive(), 10)


def open_demo_database(
    workdir: Path,
    registry: Registry,
    gateways: GatewayRegistry,
    tokens: Mapping[str, Principal],
    badges: Mapping[str, BadgeEntry] | None = None,
) -> tuple[Engine, SecretBox]:
    """The demo's operational database: a SQLite file in ``workdir``, made afresh each run, upgraded, and
    holding the estate, the scanners' gateways, the teams' badges with their pseudonyms and this run's
    tokens (what `ronde db upgrade` and `ronde registry import` do on a site). Its EID keys are sealed
    with a key of this run only."""
    for name in ("ronde-opdb.sqlite", "ronde-opdb.sqlite-wal", "ronde-opdb.sqlite-shm"):
        (workdir / name).unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{workdir / 'ronde-opdb.sqlite'}")
    upgrade(engine)
    box = SecretBox(os.urandom(32))
    import_records(
        engine,
        box,
        estate=EstateDocument.model_validate(registry_to_data(registry, secrets=True)),
        gateways=gateways,
        badges_map=badges,
        tokens=token_entries(tokens),
        author="ronde demo",
    )
    return engine, box


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _rejected_visits(ingest: IngestWorker) -> int:
    return sum(int(v) for v in ingest.counters.rejected.values())


class _StoredCounter:
    """Visits stored so far, read at most once a second (for the progress line)."""

    def __init__(self, store: Store, scenario: Scenario) -> None:
        self.store, self.scenario = store, scenario
        self._value, self._at = 0, 0.0

    def count(self) -> int:
        if time.monotonic() - self._at > 1.0:
            self._value, self._at = _stored_visits(self.store, self.scenario), time.monotonic()
        return self._value


async def _wait_until(cond: Callable[[], bool], limit_s: float) -> None:
    """Polls: the condition is set by ingest's threads, which have no asyncio event to offer."""
    try:
        async with asyncio.timeout(limit_s):
            while not cond():  # noqa: ASYNC110 - cross-thread state, see docstring
                await asyncio.sleep(0.1)
    except TimeoutError:
        log.warning("demo: gave up waiting after %.0fs", limit_s)


def _interrupted() -> asyncio.Event:
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, event.set)
    return event
