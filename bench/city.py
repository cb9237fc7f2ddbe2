"""The benchmarks' shared data sets: ``--scale sample`` (the sample estate) and ``--scale city`` (issue 17, item 6).

    .venv/bin/python bench/city.py --scale city --years 1 [--stores sqlite,influx] [--rebuild]

A preset is a registry, a number of mediator teams and N years of simulated service evenings ending on the evening
in progress (today, or the last service day before it: the API under test reads the real clock):

- ``sample``: the sample estate as shipped (2 estates, 82 checkpoints, 6 landlords, 9 EID beacons), 2 teams;
- ``district``: a fifth of the city (10 estates, 1,000 checkpoints, 33 teams), built here in minutes;
- ``city``: 50 estates, 5,000 checkpoints, the same 6 landlords, 167 teams. Each estate is one of the sample's
  two, moved about a kilometre from the others, its checkpoints replicated (a few metres apart) to 100, every
  beacon its own (iBeacon major/minor; EID copies get their own identity key): a valid estate document, so the
  operational database and a real ``ronde api serve`` take it.

Each team walks its estate every evening (random checkpoints, 45–200 s apart, dwell 10–180 s, so some are skipped),
a few hundred beacons are dead for 5–30 days a year. Every closed day is rolled up by the production code
(``ronde.ingest.rollup.build_daily_rollups``, chained to the previous day) and written through the production
writers (``SqliteStore`` or ``InfluxStore`` on influxd 1.6.7). Raw visits are written for the last ``raw_days``
days only (default 60: the default retention, ``RetentionPolicy.raw_days``), rollups for the whole history (a
deployment keeping N years of proof sets ``proof_days`` to match); ``--raw-days 0`` writes every raw visit.
The evening in progress has raw visits up to 19:00 local time and no rollup, and the teams' gateways heartbeat.

Built once per (preset, years, raw days, end day, code of the writers and rollups) under ``$RONDE_BENCH_CACHE``
(default ``/var/tmp/ronde-bench``), with an operational database (registry, default calendar) beside the store.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ronde.coverage.daily import day_rollups  # noqa: E402
from ronde.coverage.now import previous_link  # noqa: E402
from ronde.ingest.rollup import build_daily_rollups  # noqa: E402
from ronde.protocol.calendar import ServiceCalendar  # noqa: E402
from ronde.protocol.chain import chain_link, event_digest  # noqa: E402
from ronde.protocol.estate import (  # noqa: E402
    Checkpoint,
    EstateDocument,
    Registry,
    load_default_estate,
    registry_from_document,
)
from ronde.protocol.registry_data import registry_to_data  # noqa: E402
from ronde.store.records import (  # noqa: E402
    BeaconCheck,
    DailyRollup,
    GatewayStateRecord,
    RetentionPolicy,
    StoredVisit,
    Verification,
    WriteBatch,
)
from ronde.store.sqlite import SqliteStore  # noqa: E402

CACHE = Path(os.environ.get("RONDE_BENCH_CACHE", "/var/tmp/ronde-bench"))  # noqa: S108 - a cache, not a secret
# what a built data set's content depends on: a change to one of these files (the rollups' figures and records,
# how a store lays them out) builds it again; a change to the engines' code alone does not (``--rebuild`` does)
BUILT_BY = ("ronde/ingest/rollup.py", "ronde/coverage/daily.py", "ronde/store/records.py", "ronde/store/schema.py")
DATASET_VERSION = 2  # bump when the simulation below changes
UUID = "5f1c2a7e0d4b4e6a9c3b8d2f6a1e4b70"
# the sealing key of the EID identity keys in the benchmark's operational databases (a bench value)
SECRET_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


@dataclass(frozen=True, slots=True)
class Scale:
    """A preset: how many estates, checkpoints and teams."""

    name: str
    estates: int
    checkpoints: int
    teams: int


# ``district``: a fifth of the city (10 estates, 1,000 checkpoints, 33 teams), what this 2-core machine builds in
# minutes for three years (the city year takes about an hour): before/after figures when the city cannot be rebuilt.
SCALES = {
    "sample": Scale("sample", 2, 82, 2),
    "district": Scale("district", 10, 1000, 33),
    "city": Scale("city", 50, 5000, 167),
}


def add_scale_arguments(ap: argparse.ArgumentParser, *, default: str | None = "city", many: bool = False) -> None:
    """``--scale sample|city`` and ``--years N`` (``many``: a list, ``1,2,3``), as every benchmark using the presets
    takes them."""
    ap.add_argument("--scale", choices=sorted(SCALES), default=default, help="data set preset (bench/city.py)")
    if many:
        ap.add_argument("--years", type=years_list, default=[1], help="years of history, one data set each: 1,2,3")
    else:
        ap.add_argument("--years", type=int, default=1, help="years of history in the data set")
    ap.add_argument("--raw-days", type=int, default=60, help="days of raw visits kept (0: all; default retention 60)")


def years_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _copy_estate(
    data: dict[str, Any], src: str, i: int, per_estate: int
) -> tuple[dict[str, Any], list[Any], list[Any]]:
    """City estate ``i``: sample estate ``src`` moved ~1 km per step, its checkpoints replicated to ``per_estate``."""
    suffix = f"-c{i:02d}"
    dlat, dlon = 0.01 * (i // 10), 0.015 * (i % 10)
    estate = next(e for e in data["estates"] if e["id"] == src)
    out_estate = {**estate, "id": src + suffix, "name": f"{estate['name']} {i + 1}"}
    buildings = []
    for b in data["buildings"]:
        if b["estate"] != src:
            continue
        moved = [[lat + dlat, lon + dlon] for lat, lon in b.get("footprint") or []]
        buildings.append(
            {**b, "id": b["id"] + suffix, "estate": src + suffix, **({"footprint": moved} if moved else {})}
        )
    base = [c for c in data["checkpoints"] if c["estate"] == src]
    cps: list[Any] = []
    k = 0
    while len(cps) < per_estate:
        for c in base:
            if len(cps) >= per_estate:
                break
            cid = c["id"] + suffix + (f"-r{k}" if k else "")
            beacon = dict(c["beacon"])
            if beacon["format"] == "eddystone_eid":
                beacon["identity_key"] = hashlib.sha256(cid.encode()).hexdigest()[:32]
            else:
                beacon = {"format": "ibeacon", "uuid": UUID, "major": i + 1, "minor": len(cps) + 1}
                beacon.update(tx_power=-59, interval_ms=1000)
            cps.append(
                {
                    **c,
                    "id": cid,
                    "name": c["name"] if k == 0 else f"{c['name']} ({k + 1})",
                    "estate": src + suffix,
                    "building": None if c.get("building") is None else c["building"] + suffix,
                    "lat": round(c["lat"] + dlat + 0.00012 * k, 6),
                    "lon": round(c["lon"] + dlon + 0.00009 * k, 6),
                    "beacon": beacon,
                }
            )
        k += 1
    return out_estate, buildings, cps


def city_registry(estates: int = 50, checkpoints: int = 5000) -> Registry:
    """The city preset's registry, through the estate document (so it is as valid as a site's file)."""
    data = registry_to_data(load_default_estate(), secrets=True)
    sources = [e["id"] for e in data["estates"]]
    out_estates, out_buildings, out_cps = [], [], []
    for i in range(estates):
        per = checkpoints // estates + (1 if i < checkpoints % estates else 0)
        e, bs, cs = _copy_estate(data, sources[i % len(sources)], i, per)
        out_estates.append(e)
        out_buildings.extend(bs)
        out_cps.extend(cs)
    city = {
        **data,
        "revision": f"city-{estates}-{checkpoints}",
        "estates": out_estates,
        "buildings": out_buildings,
        "checkpoints": out_cps,
        "paths": [],
        "walkways": [],
    }
    return registry_from_document(EstateDocument.model_validate(city))


def preset_registry(scale: Scale) -> Registry:
    return load_default_estate() if scale.name == "sample" else city_registry(scale.estates, scale.checkpoints)


@dataclass(frozen=True, slots=True)
class Params:
    """What a built data set depends on (its cache key, with the code in ``BUILT_BY``)."""

    scale: str
    years: int
    raw_days: int
    last: date
    seed: int = 17

    def key(self) -> str:
        code = hashlib.sha256()
        for name in BUILT_BY:
            code.update((ROOT / name).read_bytes())
        text = json.dumps([DATASET_VERSION, self.scale, self.years, self.raw_days, self.last.isoformat(), self.seed])
        return (
            f"{self.scale}-{self.years}y-{self.raw_days}r-{self.last.isoformat()}-{code.hexdigest()[:10]}-"
            + (hashlib.sha256(text.encode()).hexdigest()[:6])
        )


def evening_in_progress(calendar: ServiceCalendar, now: datetime) -> date:
    """Today's service day in the calendar's zone, or the last one before it."""
    day = now.astimezone(calendar.tz).date()
    while not calendar.is_service_day(day):
        day -= timedelta(days=1)
    return day


@dataclass
class Simulation:
    """Teams walking a registry's estates, one evening at a time (same evening, same visits: seeded per day)."""

    registry: Registry
    calendar: ServiceCalendar
    teams: int
    days: list[date]
    seed: int

    def __post_init__(self) -> None:
        by_estate: dict[str, list[Checkpoint]] = {}
        for c in sorted(self.registry.checkpoints.values(), key=lambda c: c.id):
            by_estate.setdefault(c.estate, []).append(c)
        self.by_estate = by_estate
        self.estates = sorted(by_estate)
        # ~4 % of the beacons dead for 5-30 days in each year counted back from the last evening, drawn from that
        # year's own seed: a shorter history is the tail of a longer one, visit for visit
        self.dead: dict[str, list[tuple[date, date]]] = {}
        n_dead = max(1, len(self.registry.checkpoints) // 25)
        last = self.days[-1]
        for year in range(-(-((last - self.days[0]).days + 1) // 365)):
            span = [d for d in self.days if 365 * year <= (last - d).days < 365 * (year + 1)]
            rnd = random.Random(f"{self.seed}-dead-{year}")
            for cid in rnd.sample(sorted(self.registry.checkpoints), n_dead):
                start = rnd.choice(span)
                self.dead.setdefault(cid, []).append((start, start + timedelta(days=rnd.randint(5, 30))))

    def is_dead(self, cid: str, day: date) -> bool:
        return any(a <= day <= b for a, b in self.dead.get(cid, ()))

    def evening(self, day: date, until_s: int | None = None) -> list[StoredVisit]:
        """The visits of ``day``'s evening (up to ``until_s`` seconds after its start when given)."""
        rnd = random.Random(f"{self.seed}-{day.isoformat()}")
        w_start, w_end = self.calendar.window(day)
        span = int((w_end - w_start).total_seconds()) if until_s is None else until_s
        out: list[StoredVisit] = []
        seq = 0
        for team in range(self.teams):
            cps = self.by_estate[self.estates[team % len(self.estates)]]
            t = rnd.randint(0, 600)
            while True:
                t += rnd.randint(45, 200)  # walking to the next checkpoint
                if t >= span - 60:
                    break
                c = rnd.choice(cps)
                if c.id in self.dead and self.is_dead(c.id, day):
                    continue
                dwell = rnd.randint(10, 180)
                seq += 1
                out.append(self._visit(day, team, seq, c, w_start + timedelta(seconds=t), dwell, rnd))
                t += dwell
        return out

    @staticmethod
    def _visit(
        day: date, team: int, seq: int, c: Checkpoint, first: datetime, dwell: int, rnd: random.Random
    ) -> StoredVisit:
        eid = f"{day.isoformat()}-{team}-{seq}"
        return StoredVisit(
            event_id=eid,
            gateway_id=f"gw-{team:03d}",
            seq=day.toordinal() * 10_000 + seq,
            badge=f"badge-{team:03d}",
            checkpoint_id=c.id,
            kind=str(c.kind),
            building=c.building,
            estate=c.estate,
            landlord=c.landlord,
            service_day=day,
            first_seen=first,
            last_seen=first + timedelta(seconds=dwell),
            count=dwell // 2 + 1,
            rssi_max=-55 - rnd.randint(0, 20),
            rssi_mean=-70.0 - rnd.randint(0, 10),
            verification=Verification.SIGNED if rnd.random() < 0.97 else Verification.UNSIGNED,
            beacon_check=BeaconCheck.EID_RESOLVED if c.beacon.format == "eddystone_eid" else BeaconCheck.STATIC,
            received_at=first + timedelta(seconds=dwell + 2),
            payload_sha256=hashlib.sha256(eid.encode()).hexdigest(),
        )


@dataclass
class Dataset:
    """A built data set: where its stores are, and what it was built from."""

    params: Params
    scale: Scale
    registry: Registry
    calendar: ServiceCalendar
    directory: Path
    stats: dict[str, Any]

    @property
    def last(self) -> date:
        return self.params.last

    @property
    def sqlite_path(self) -> Path:
        return self.directory / "ronde.db"

    @property
    def influx_dir(self) -> Path:
        return self.directory / "influx"

    @property
    def opdb_url(self) -> str:
        return f"sqlite:///{self.directory / 'opdb.db'}"

    def retention(self) -> RetentionPolicy:
        """Raw visits as written; proof (rollups) for the whole history."""
        history = self.params.years * 366 + 31
        raw = history if self.params.raw_days == 0 else max(self.params.raw_days, 1) + 31
        return RetentionPolicy(raw_days=raw, proof_days=history, rejections_days=60)


@contextlib.contextmanager
def influxd_on(directory: Path) -> Iterator[Any]:
    """An influxd 1.6.7 on a free port whose data live in ``directory`` (kept between runs), with no query time
    limit, as a deployed influxd's default: the tests' 30 s stopped the rollup check's events fingerprint of a
    district year (16 s wall, 11 s of influxd CPU at load 8) and would stop the city's (5 times the raw visits)."""
    from tests.support.services import Influxd, free_port, influxd_config

    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cfg = directory / "influxdb.conf"
    text = influxd_config(port, directory)
    assert 'query-timeout = "30s"' in text, "the tests' influxd config changed: revisit the bench's query limit"
    cfg.write_text(text.replace('query-timeout = "30s"', 'query-timeout = "0s"'))
    server = Influxd(port, directory, cfg)
    try:
        try:
            server.start()
        except TimeoutError:  # a city year's data directory takes influxd longer than the tests' 30 s to open
            deadline = time.monotonic() + 600
            while not _pings(server.url):
                if time.monotonic() > deadline or server.process is None or server.process.poll() is not None:
                    raise
                time.sleep(1)
        yield server
    finally:
        server.stop()


def _pings(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/ping", timeout=2).status_code == 204  # InfluxDB answers 204 No Content
    except httpx.HTTPError:
        return False


def _make_opdb(ds: Dataset) -> None:
    from ronde.opdb.engine import make_engine, session_factory
    from ronde.opdb.migrate import upgrade
    from ronde.opdb.registry_io import import_records
    from ronde.opdb.sealing import SecretBox
    from ronde.opdb.service_repo import put_calendar

    engine = make_engine(ds.opdb_url)
    try:
        upgrade(engine)
        doc = EstateDocument.model_validate(registry_to_data(ds.registry, secrets=True))
        import_records(engine, SecretBox.from_text(SECRET_KEY), estate=doc, author="bench/city.py")
        with session_factory(engine).begin() as s:
            put_calendar(s, ds.calendar)
    finally:
        engine.dispose()


def _day_rows(ds: Dataset, day: date, visits: list[StoredVisit]) -> tuple[list[str], list[DailyRollup]]:
    """The event digests and the rollup figures of a closed day, computed once for every history length: what
    ``build_daily_rollups`` computes, whose chain link (``chain_link``) is then each history's own."""
    digests = [event_digest(v) for v in visits]
    return digests, day_rollups(ds.registry, ds.calendar, day, visits, chain_digest="")


class Builder:
    """One history's stores being written, and its chain."""

    def __init__(self, ds: Dataset, which: list[str], stack: contextlib.ExitStack) -> None:
        self.ds = ds
        self.which = which
        self.stores = _open_stores(ds, which, stack)
        self.first = ds.last - timedelta(days=365 * ds.params.years - 1)
        self.raw_from = self.first if ds.params.raw_days == 0 else ds.last - timedelta(days=ds.params.raw_days - 1)
        self.prev: str | None = None
        self.checked = False
        self.visits = self.raw = 0
        self.write_s = 0.0

    def day(self, day: date, visits: list[StoredVisit], figures: tuple[list[str], list[DailyRollup]] | None) -> None:
        if day < self.first:
            return
        t0 = time.perf_counter()
        rows: list[DailyRollup] = []
        if figures is not None:
            if self.prev is None:
                self.prev = previous_link(self.stores[0], self.ds.registry, day)
            digests, plain = figures
            link = chain_link(self.prev, day, digests)
            rows = [replace(r, chain_digest=link) for r in plain]
            if not self.checked:  # the shared computation is build_daily_rollups's, exactly
                assert rows == build_daily_rollups(self.ds.registry, self.ds.calendar, day, visits, self.prev)
                self.checked = True
            self.prev = link if rows else self.prev
        for store in self.stores:
            if day >= self.raw_from:
                store.write(WriteBatch(visits=tuple(visits)))
            if rows:
                store.write_rollups(rows)
        self.visits += len(visits)
        self.raw += len(visits) if day >= self.raw_from else 0
        self.write_s += time.perf_counter() - t0

    def heartbeat(self) -> None:
        beat = self.ds.calendar.window(self.ds.last)[0] + timedelta(hours=3)
        states = tuple(
            GatewayStateRecord(at=beat, gateway_id=f"gw-{t:03d}", online=True, scanning=True, in_service=True)
            for t in range(self.ds.scale.teams)
        )
        for store in self.stores:
            store.write(WriteBatch(gateway_states=states))


_WORK: list[Any] = []  # (data set, simulation) for the worker processes (fork inherits it)


def _compute_day(day: date) -> tuple[date, list[StoredVisit], tuple[list[str], list[DailyRollup]] | None]:
    ds, sim = _WORK
    in_progress = day == ds.last
    visits = sim.evening(day, until_s=3 * 3600 if in_progress else None)
    return day, visits, None if in_progress else _day_rows(ds, day, visits)


def _default_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _write_all(builders: list[Builder], workers: int) -> dict[str, float]:
    """Simulate every evening of the longest history once (in ``workers`` processes: the simulation and the
    figures of a day depend on that day only); each history takes its days, chained and written in day order."""
    ds = max((b.ds for b in builders), key=lambda d: d.params.years)
    days = list(ds.calendar.service_days(ds.last - timedelta(days=365 * ds.params.years - 1), ds.last))
    _WORK[:] = [ds, Simulation(ds.registry, ds.calendar, ds.scale.teams, days, ds.params.seed)]
    t0 = time.perf_counter()
    n = 0
    # The workers take SIGTERM's default back (``main``'s handler, inherited by fork, once left one blocked on the
    # pool's queue lock for good when the pool terminated it), and the pool ends with close/join, not terminate.
    with multiprocessing.get_context("fork").Pool(workers, initializer=_default_sigterm) as pool:
        for i, (day, visits, figures) in enumerate(pool.imap(_compute_day, days)):
            for b in builders:
                b.day(day, visits, figures)
            n += len(visits)
            if i % 25 == 0 or day == ds.last:
                writes = ", ".join(f"{b.ds.params.years} y {b.write_s:.0f} s" for b in builders)
                print(
                    f"  {day}: {i + 1}/{len(days)} days, {n:,} visits, {time.perf_counter() - t0:.0f} s; "
                    f"writes {writes}",
                    flush=True,
                )
        pool.close()
        pool.join()
    for b in builders:
        b.heartbeat()
    return {"simulate_and_rollups_s": round(time.perf_counter() - t0, 1), "workers": workers}


def _open_stores(ds: Dataset, which: list[str], stack: contextlib.ExitStack) -> list[Any]:
    stores: list[Any] = []
    if "sqlite" in which:
        sq = SqliteStore(ds.sqlite_path)
        sq.open()
        stack.callback(sq.close)
        stores.append(sq)
    if "influx" in which:
        from ronde.store.influx import InfluxStore

        server = stack.enter_context(influxd_on(ds.influx_dir))
        ix = InfluxStore(server.url, database="ronde", retention=ds.retention(), timeout_s=300.0, retry_budget_s=900.0)
        ix.open()
        stack.callback(ix.close)
        stores.append(ix)
    return stores


def _site_view(ds: Dataset) -> tuple[Registry, Any]:
    """The registry and calendars as the API and the ingest workers read them from the operational database."""
    from ronde.opdb.engine import make_engine, session_factory
    from ronde.opdb.registry_repo import RegistryRepository
    from ronde.opdb.sealing import SecretBox
    from ronde.opdb.service_repo import get_calendars

    engine = make_engine(ds.opdb_url)
    try:
        registry = RegistryRepository(engine, SecretBox.from_text(SECRET_KEY)).registry_with_keys()
        with session_factory(engine).begin() as s:
            calendars = get_calendars(s)
    finally:
        engine.dispose()
    assert registry is not None
    return registry, calendars


def fold_months(ds: Dataset, store: Any) -> int:
    """The monthly rollups ingest's maintenance leaves (``RollupScheduler``: each settled month of the last 12,
    folded by ``fold_settled_month`` under the site's registry and calendars); returns how many months."""
    from ronde.coverage.monthly import settled
    from ronde.coverage.settled import fold_settled_month
    from ronde.coverage.suffix import fold_month_suffixes

    registry, calendars = _site_view(ds)
    now = datetime.combine(ds.last, datetime.min.time(), tzinfo=ds.calendar.tz).replace(hour=20).astimezone(UTC)
    month = (ds.last.replace(day=1) - timedelta(days=31 * 12)).replace(day=1)
    n = 0
    while settled(month, ds.last):
        rows = fold_settled_month(store, registry, calendars, month, now=now)
        store.write_monthly_rollups(rows)
        store.write_monthly_suffixes(month, fold_month_suffixes(store, registry, calendars, rows, now=now))
        n += 1
        month = (month + timedelta(days=32)).replace(day=1)
    return n


def fold_suffixes_of_letters(ds: Dataset, store: Any) -> int:
    """The suffix letters of each settled month already folded (a data set folded before they existed), as
    ``RollupScheduler`` writes them beside the month's letters; returns how many rows."""
    from ronde.coverage.monthly import settled
    from ronde.coverage.suffix import fold_month_suffixes

    registry, calendars = _site_view(ds)
    now = datetime.combine(ds.last, datetime.min.time(), tzinfo=ds.calendar.tz).replace(hour=20).astimezone(UTC)
    month = (ds.last.replace(day=1) - timedelta(days=31 * 12)).replace(day=1)
    n = 0
    while settled(month, ds.last):
        rows = fold_month_suffixes(store, registry, calendars, store.monthly_rollups(month), now=now)
        store.write_monthly_suffixes(month, rows)
        n += len(rows)
        month = (month + timedelta(days=32)).replace(day=1)
    return n


def fold_to_date(ds: Dataset, store: Any) -> date | None:
    """The month-to-date letter and its suffix letters ingest's maintenance leaves (``RollupScheduler``: the month of
    the last settled day, ``today - horizon - 1``, folded through that day by ``fold_month_to_date``); returns that
    day, or None when it ends its month (the month is then settled and folded whole)."""
    from ronde.coverage.monthly import settled
    from ronde.coverage.sensing import DEFAULT_HORIZON_DAYS
    from ronde.coverage.settled import fold_month_to_date
    from ronde.coverage.suffix import default_period_starts, fold_month_suffixes

    registry, calendars = _site_view(ds)
    now = datetime.combine(ds.last, datetime.min.time(), tzinfo=ds.calendar.tz).replace(hour=20).astimezone(UTC)
    through = ds.last - timedelta(days=DEFAULT_HORIZON_DAYS + 1)
    if settled(through.replace(day=1), ds.last):
        return None
    rows = fold_month_to_date(store, registry, calendars, through, now=now)
    store.write_monthly_rollups(rows)
    starts = default_period_starts(calendars, ds.last)
    store.write_monthly_suffixes(
        through.replace(day=1), fold_month_suffixes(store, registry, calendars, rows, now=now, starts=starts)
    )
    return through


def fold_spans(ds: Dataset, store: Any) -> int:
    """The span letters ingest's maintenance leaves (``RollupScheduler``: through the last settled month, from each
    day a year ending before the next month settles starts on, ``ronde.coverage.spans``); returns how many."""
    from ronde.coverage.sensing import DEFAULT_HORIZON_DAYS
    from ronde.coverage.spans import fold_month_spans, latest_settled_month

    registry, calendars = _site_view(ds)
    now = datetime.combine(ds.last, datetime.min.time(), tzinfo=ds.calendar.tz).replace(hour=20).astimezone(UTC)
    through = latest_settled_month(ds.last, DEFAULT_HORIZON_DAYS)
    spans = fold_month_spans(store, registry, calendars, through, now=now, horizon_days=DEFAULT_HORIZON_DAYS)
    store.write_month_spans(through, spans)
    return len(spans)


def fold_tail_letters(ds: Dataset, store: Any) -> int:
    """The tail letters ingest's maintenance leaves on the set's last day before its evening (``TailScheduler``:
    its first pass after midnight, the last evening rolled up); returns how many (0: none could be folded)."""
    from ronde.coverage.sensing import DEFAULT_HORIZON_DAYS
    from ronde.coverage.tail_letters import tail_first
    from ronde.ingest.tail_fold import TailScheduler

    registry, calendars = _site_view(ds)
    now = datetime.combine(ds.last, datetime.min.time(), tzinfo=ds.calendar.tz).replace(minute=30).astimezone(UTC)
    if TailScheduler(store, registry, calendars).run(now) is None:
        return 0
    return len(store.tail_figures(tail_first(ds.last, DEFAULT_HORIZON_DAYS)))


def fold_visited_sets(ds: Dataset, store: Any) -> int:
    """The visited sets ingest's maintenance leaves on the set's last day before its evening
    (``VisitedSetScheduler``'s first pass over the proof's reach); returns how many."""
    from ronde.ingest.visited_fold import VisitedSetScheduler
    from ronde.store.retention import DEFAULT_RETENTION

    now = datetime.combine(ds.last, datetime.min.time(), tzinfo=ds.calendar.tz).replace(minute=30).astimezone(UTC)
    return VisitedSetScheduler(store, ds.calendar, reach_days=DEFAULT_RETENTION.proof_days).run(now)


def _fold_missing(ds: Dataset, stores: tuple[str, ...]) -> None:
    """Fold the months of each of ``stores`` not folded yet (a data set built, or adopted, before), and the month
    in progress to date."""
    done = ds.directory / "built.json"
    built = json.loads(done.read_text())
    folded = built.setdefault("monthly", {})
    to_date = built.setdefault("to_date", {})
    suffixed = built.setdefault("suffixes", {})
    packed = built.setdefault("packed_letters", {})
    days = built.setdefault("packed_days", {})
    estates = built.setdefault("estate_days", {})
    spanned = built.setdefault("spans", {})
    tailed = built.setdefault("tail_letters", {})
    counted = built.setdefault("rollup_counts", {})
    visited = built.setdefault("visited_sets", {})
    todo = [
        s
        for s in stores
        if s not in folded
        or s not in to_date
        or "suffixes" not in to_date[s]
        or s not in suffixed
        or s not in spanned
        or s not in tailed
        or s not in visited
        or (s == "sqlite" and s not in counted)
        or (s == "influx" and (s not in packed or s not in days or s not in estates))
    ]
    if not todo:
        return
    with contextlib.ExitStack() as stack:
        for name, store in zip(todo, _open_stores(ds, todo, stack), strict=True):
            if name == "influx" and name not in packed:  # letters of earlier code: the maintenance role's migration
                t0 = time.perf_counter()
                n = store.migrate_letters()
                packed[name] = {"letters": n, "migrate_s": round(time.perf_counter() - t0, 1)}
                print(
                    f"  {ds.directory.name} {name}: {n} letters migrated to the packed layout "
                    f"in {packed[name]['migrate_s']} s"
                )
            if name == "influx" and name not in days:  # rollups of earlier code: their packed copy (maintenance's)
                t0 = time.perf_counter()
                n = store.pack_days()
                days[name] = {"rollups": n, "pack_s": round(time.perf_counter() - t0, 1)}
                print(f"  {ds.directory.name} {name}: {n} rollups packed in {days[name]['pack_s']} s")
                estates[name] = days[name]  # in the layout of this code
            if name == "influx" and name not in estates:  # the first copy (a point a rollup): by estate and day
                t0 = time.perf_counter()
                n = store.pack_days()
                estates[name] = {"rollups": n, "pack_s": round(time.perf_counter() - t0, 1)}
                print(
                    f"  {ds.directory.name} {name}: {n} rollups packed by estate and day in "
                    f"{estates[name]['pack_s']} s (the first copy dropped)"
                )
            if name not in folded:
                t0 = time.perf_counter()
                months = fold_months(ds, store)
                folded[name] = {"months": months, "fold_s": round(time.perf_counter() - t0, 1)}
                print(f"  {ds.directory.name} {name}: {months} settled months folded in {folded[name]['fold_s']} s")
                suffixed[name] = {"months": months, "fold_s": folded[name]["fold_s"]}  # written with the letters
            if name not in suffixed:  # letters folded by earlier code: their suffix letters now
                t0 = time.perf_counter()
                rows = fold_suffixes_of_letters(ds, store)
                suffixed[name] = {"rows": rows, "fold_s": round(time.perf_counter() - t0, 1)}
                print(f"  {ds.directory.name} {name}: {rows} suffix letters folded in {suffixed[name]['fold_s']} s")
            if name not in spanned:  # after the months: the spans are folded from their letters
                t0 = time.perf_counter()
                n = fold_spans(ds, store)
                spanned[name] = {"spans": n, "fold_s": round(time.perf_counter() - t0, 1)}
                print(f"  {ds.directory.name} {name}: {n} span letters folded in {spanned[name]['fold_s']} s")
            if name == "sqlite" and name not in counted:  # opened for writing above: the file has them now
                counted[name] = True
                print(f"  {ds.directory.name} {name}: rollup counts added (SqliteStore.open)")
            if name not in tailed:  # on the rollups of the last days
                t0 = time.perf_counter()
                n = fold_tail_letters(ds, store)
                tailed[name] = {"letters": n, "fold_s": round(time.perf_counter() - t0, 1)}
                print(f"  {ds.directory.name} {name}: {n} tail letters folded in {tailed[name]['fold_s']} s")
            if name not in visited:  # on every rollup kept
                t0 = time.perf_counter()
                n = fold_visited_sets(ds, store)
                visited[name] = {"sets": n, "fold_s": round(time.perf_counter() - t0, 1)}
                print(f"  {ds.directory.name} {name}: {n} visited sets folded in {visited[name]['fold_s']} s")
            t0 = time.perf_counter()
            through = fold_to_date(ds, store)
            to_date[name] = {"through": str(through), "fold_s": round(time.perf_counter() - t0, 1), "suffixes": True}
            print(
                f"  {ds.directory.name} {name}: month to date folded through {through} in {to_date[name]['fold_s']} s"
            )
    done.write_text(json.dumps(built, indent=1))


def _prepare(ds: Dataset, stores: tuple[str, ...], rebuild: bool) -> tuple[dict[str, Any], list[str]]:
    """What the cache holds of ``ds`` (its built.json) and which of ``stores`` it lacks (their leftovers removed)."""
    done = ds.directory / "built.json"
    built: dict[str, Any] = json.loads(done.read_text()) if done.exists() and not rebuild else {}
    missing = [s for s in stores if s not in built]
    for s in missing:  # a half-built store from an interrupted run
        target = ds.sqlite_path if s == "sqlite" else ds.influx_dir
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    if missing:
        ds.directory.mkdir(parents=True, exist_ok=True)
        if "opdb" not in built:
            (ds.directory / "opdb.db").unlink(missing_ok=True)
            _make_opdb(ds)
            built["opdb"] = True
    return built, missing


@contextlib.contextmanager
def building(directory: Path, keys: list[str]) -> Iterator[None]:
    """One builder per data set key: the exclusive ``flock`` of ``{key}.lock`` beside the sets, held from the look
    at ``built.json`` to the last fold. Why: every benchmark builds the set it lacks, and one started while another
    process was still building the same key found no ``built.json``, took the set for an interrupted one and
    deleted its store and operational database under the builder (December 6). A second process now waits, then
    finds the set built. The lock goes with the process (a killed builder leaves nothing held)."""
    directory.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        for key in sorted(set(keys)):
            lock = stack.enter_context((directory / f"{key}.lock").open("a"))
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                print(f"waiting for another process building {key}", flush=True)
                fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def datasets(
    scale: str,
    years: list[int],
    raw_days: int = 60,
    *,
    stores: tuple[str, ...] = ("sqlite",),
    rebuild: bool = False,
    workers: int = 2,
) -> list[Dataset]:
    """The data sets of this preset for each history length, those the cache lacks built now in one pass."""
    calendar = ServiceCalendar()
    last = evening_in_progress(calendar, datetime.now(UTC))
    preset = SCALES[scale]
    registry = preset_registry(preset)
    out = [
        Dataset(
            Params(scale, y, raw_days, last),
            preset,
            registry,
            calendar,
            CACHE / Params(scale, y, raw_days, last).key(),
            {},
        )
        for y in years
    ]
    with building(CACHE, [ds.params.key() for ds in out]):
        _build_missing(out, stores, rebuild, registry, preset, calendar, workers)
    return out


def _build_missing(
    out: list[Dataset],
    stores: tuple[str, ...],
    rebuild: bool,
    registry: Registry,
    preset: Scale,
    calendar: ServiceCalendar,
    workers: int,
) -> None:
    """What the cache lacks of ``out``, built in one pass, then folded (the caller holds their keys' locks)."""
    todo = [(ds, *_prepare(ds, stores, rebuild)) for ds in out]
    todo = [t for t in todo if t[2]]
    if todo:
        names = "; ".join(f"{ds.params.key()} ({', '.join(missing)})" for ds, _, missing in todo)
        print(f"building {names}: {len(registry.checkpoints):,} checkpoints, {preset.teams} teams", flush=True)
        t0 = time.perf_counter()
        with contextlib.ExitStack() as stack:
            builders = [Builder(ds, missing, stack) for ds, _, missing in todo]
            shared = _write_all(builders, workers)
        for b, (ds, built, missing) in zip(builders, todo, strict=True):
            stats = {
                **shared,
                "service_days": len(list(calendar.service_days(b.first, ds.last))),
                "visits": b.visits,
                "raw_visits_stored": b.raw,
                "write_s": round(b.write_s, 1),
                "pass_s": round(time.perf_counter() - t0, 1),
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "loadavg": Path("/proc/loadavg").read_text().split()[:3],
            }
            for s in missing:
                built[s] = stats
            (ds.directory / "built.json").write_text(json.dumps(built, indent=1))
    for ds in out:
        _fold_missing(ds, stores)
        built = json.loads((ds.directory / "built.json").read_text())
        ds.stats = {k: v for k, v in built.items() if k in stores}


def dataset(
    scale: str, years: int = 1, raw_days: int = 60, *, stores: tuple[str, ...] = ("sqlite",), rebuild: bool = False
) -> Dataset:
    """The data set of this preset with ``years`` of history (built now if the cache lacks it)."""
    return datasets(scale, [years], raw_days, stores=stores, rebuild=rebuild)[0]


def exit_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the influxd and API processes a benchmark started are stopped with it."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def main() -> int:
    exit_on_sigterm()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scale_arguments(ap, many=True)
    ap.add_argument("--stores", default="sqlite", help="sqlite, influx or both (comma-separated)")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--workers", type=int, default=2, help="processes simulating evenings and rolling them up")
    ap.add_argument(
        "--adopt",
        type=Path,
        default=None,
        help="a data set directory built by earlier code with the same parameters (one --years): moved to this "
        "code's key, then completed (monthly rollups folded)",
    )
    args = ap.parse_args()
    if args.adopt is not None:
        calendar = ServiceCalendar()
        params = Params(args.scale, args.years[0], args.raw_days, evening_in_progress(calendar, datetime.now(UTC)))
        target = CACHE / params.key()
        # neither the set moved nor its new place under a build (released before ``datasets`` locks it again)
        with building(args.adopt.parent, [args.adopt.name]), building(CACHE, [target.name]):
            if not (target / "built.json").exists():
                shutil.rmtree(target, ignore_errors=True)
                shutil.move(args.adopt, target)
                print(f"{args.adopt} adopted as {target.name}")
    stores = tuple(args.stores.split(","))
    for ds in datasets(
        args.scale, args.years, args.raw_days, stores=stores, rebuild=args.rebuild, workers=args.workers
    ):
        print(f"{ds.directory}: {json.dumps(ds.stats)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
