"""Coverage and audit export on one year of simulated service (SQLite store).

    .venv/bin/python bench/bench_coverage.py [--db PATH] [--repeat N]

Builds a registry of about 300 checkpoints from the structure of the sample estate (2 estates,
6 landlords, same kinds, buildings and landlord split), simulates a year of evenings by 10
teams (several hundred thousand visits, with dead beacons and skipped checkpoints), stores the
visits and the daily rollups of every closed day in a SQLite store, and leaves the last evening
in progress (no rollup: read from raw visits). Then it times, for the biggest landlord:

- coverage for a month and for a year (``ronde.coverage.landlord_coverage``), p50/p95;
- the monthly audit report as PDF (``build_report`` + ``render_pdf``), p50/p95.

Targets (issue 6): p95 ≤ 200 ms for coverage; ≤ 2 s for a monthly PDF.

``--scale sample|city [--years N]`` (issue 17) runs the same measures on a preset's SQLite data set instead
(``bench/city.py``: the sample estate, or 50 estates, 5,000 checkpoints, 167 teams), built once and cached.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from math import nan
from pathlib import Path
from typing import Any

from ronde.audit.pdf import render_pdf
from ronde.audit.report import build_report
from ronde.coverage import landlord_coverage
from ronde.coverage.monthly import settled
from ronde.coverage.now import previous_link
from ronde.coverage.query import CoverageCache
from ronde.coverage.settled import fold_settled_month
from ronde.ingest.rollup import build_daily_rollups, rollup_day
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import BeaconSpec, Checkpoint, Registry, load_default_estate
from ronde.store.records import BeaconCheck, GatewayStateRecord, StoredVisit, Verification, WriteBatch
from ronde.store.sqlite import SqliteStore

sys.path.insert(0, str(Path(__file__).resolve().parent))
from city import SCALES, add_scale_arguments, dataset

LANDLORD = "paris-habitat"
TEAMS = 10


def big_registry(target: int = 300) -> Registry:
    """The sample's checkpoints replicated (shifted a few metres) until ``target`` checkpoints."""
    sample = load_default_estate()
    base = sorted(sample.checkpoints.values(), key=lambda c: c.id)
    out: dict[str, Checkpoint] = {}
    k = 0
    while len(out) < target:
        for c in base:
            if len(out) >= target:
                break
            cid = c.id if k == 0 else f"{c.id}-r{k}"
            out[cid] = replace(
                c,
                id=cid,
                name=c.name if k == 0 else f"{c.name} ({k + 1})",
                lat=c.lat + 0.00012 * k,
                lon=c.lon + 0.00009 * k,
                beacon=BeaconSpec(format="ibeacon", key=f"bench:{cid}", tx_power=-59, interval_ms=1000),
            )
        k += 1
    return replace(sample, checkpoints=out, by_beacon_key={f"bench:{cid}": cid for cid in out})


def simulate(
    registry: Registry, calendar: ServiceCalendar, days: list[date], seed: int = 7, teams: int = TEAMS
) -> list[StoredVisit]:
    rnd = random.Random(seed)
    by_estate: dict[str, list[Checkpoint]] = {}
    for c in registry.checkpoints.values():
        by_estate.setdefault(c.estate, []).append(c)
    estates = sorted(by_estate)
    dead: dict[str, tuple[date, date]] = {}  # a few beacons dead for a while
    for cid in rnd.sample(sorted(registry.checkpoints), 12):
        start = rnd.choice(days)
        dead[cid] = (start, start + timedelta(days=rnd.randint(5, 30)))
    out: list[StoredVisit] = []
    seq = 0
    for day in days:
        w_start, w_end = calendar.window(day)
        span = int((w_end - w_start).total_seconds())
        for team in range(teams):
            estate = estates[team % len(estates)]
            cps = by_estate[estate]
            t = rnd.randint(0, 600)
            while True:
                t += rnd.randint(45, 200)  # walking to the next checkpoint
                if t >= span - 60:
                    break
                c = rnd.choice(cps)
                d = dead.get(c.id)
                if d is not None and d[0] <= day <= d[1]:
                    continue
                dwell = rnd.randint(10, 180)
                first = w_start + timedelta(seconds=t)
                seq += 1
                eid = f"{day.isoformat()}-{team}-{seq}"
                out.append(
                    StoredVisit(
                        event_id=eid,
                        gateway_id=f"gw-{team}",
                        seq=seq,
                        badge=f"badge-{team}",
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
                        beacon_check=BeaconCheck.EID_RESOLVED
                        if c.beacon.format == "eddystone_eid"
                        else BeaconCheck.STATIC,
                        received_at=first + timedelta(seconds=dwell + 2),
                        payload_sha256=hashlib.sha256(eid.encode()).hexdigest(),
                    )
                )
                t += dwell
    return out


def build_store(path: Path, registry: Registry, calendar: ServiceCalendar, days: list[date]) -> int:
    t0 = time.perf_counter()
    visits = simulate(registry, calendar, days)
    store = SqliteStore(path)
    store.open()
    for i in range(0, len(visits), 20_000):
        store.write(WriteBatch(visits=tuple(visits[i : i + 20_000])))
    t1 = time.perf_counter()
    by_day: dict[date, list[StoredVisit]] = {}
    for v in visits:
        by_day.setdefault(v.service_day, []).append(v)
    prev = previous_link(store, registry, days[0])
    for day in days[:-1]:  # the last evening is in progress: no rollup yet
        rows = build_daily_rollups(registry, calendar, day, by_day.get(day, []), prev)
        store.write_rollups(rows)
        prev = rows[0].chain_digest
    t2 = time.perf_counter()
    today = days[-1]
    month = days[0].replace(day=1)
    folded = 0
    while settled(month, today):  # what ingest's maintenance folds, one month per pass
        store.write_monthly_rollups(fold_settled_month(store, registry, calendar, month, now=_evening(today)))
        folded += 1
        month = (month + timedelta(days=32)).replace(day=1)
    t3 = time.perf_counter()
    # the teams' gateways heartbeat during the evening in progress
    beat = calendar.window(days[-1])[0] + timedelta(hours=3)
    store.write(
        WriteBatch(
            gateway_states=tuple(
                GatewayStateRecord(at=beat, gateway_id=f"gw-{team}", online=True, scanning=True, in_service=True)
                for team in range(TEAMS)
            )
        )
    )
    store.close()
    print(
        f"store: {len(visits):,} visits over {len(days)} service days written in {t1 - t0:.1f} s; "
        f"rollups of {len(days) - 1} closed days in {t2 - t1:.1f} s; {folded} settled months folded in {t3 - t2:.1f} s"
    )
    return len(visits)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, float, float]:
    """(p50, p95, max) wall-clock ms and p95 CPU ms of this process (the machine may be shared)."""
    fn()  # warm-up (imports, page cache)
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    wall.sort()
    cpu.sort()
    i95 = min(len(wall) - 1, round(0.95 * (len(wall) - 1)))
    return statistics.median(wall), wall[i95], wall[-1], cpu[i95]


def _evening(day: date) -> datetime:
    """20:00 Paris on ``day``: the benchmark's "now" (the evening in progress)."""
    return datetime.combine(day, datetime.min.time(), tzinfo=ServiceCalendar().tz).replace(hour=20).astimezone(UTC)


def maintenance_day(
    registry: Registry, calendar: ServiceCalendar, day: date, teams: int = 167
) -> tuple[int, float, float]:
    """Visits of one city-scale evening (``teams`` teams) and the seconds ``rollup_day`` takes on them: what
    ingest's maintenance does when a day closes (read the day back, compute, chain, write); and its CPU seconds."""
    with tempfile.TemporaryDirectory(prefix="ronde-bench-day-") as tmp:
        store = SqliteStore(Path(tmp) / "day.db")
        store.open()
        visits = simulate(registry, calendar, [day], seed=11, teams=teams)
        store.write(WriteBatch(visits=tuple(visits)))
        c0, t0 = time.process_time(), time.perf_counter()
        rollup_day(store, registry, calendar, day)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        store.close()
    return len(visits), elapsed, cpu


@dataclass
class YearOfService:
    """A year of simulated service in a SQLite file, ending on an evening in progress at 20:00."""

    calendar: ServiceCalendar
    registry: Registry
    last: date
    now: datetime
    path: Path
    tmp: tempfile.TemporaryDirectory[str] | None


def year_of_service(checkpoints: int = 300, db: str | None = None) -> YearOfService:
    """Shared by this benchmark and ``bench_api``: ``db`` is reused when it exists, built otherwise."""
    calendar = ServiceCalendar()
    registry = big_registry(checkpoints)
    last = date(2026, 11, 25)  # a Wednesday: the evening in progress
    days = list(calendar.service_days(last - timedelta(days=364), last))
    now = _evening(last)
    tmp = None
    if db:
        path = Path(db)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="ronde-bench-")
        path = Path(tmp.name) / "ronde.db"
    if not path.exists():
        build_store(path, registry, calendar, days)
    return YearOfService(calendar, registry, last, now, path, tmp)


def preset_year(scale: str, years: int, raw_days: int) -> YearOfService:
    """A preset's data set (bench/city.py) seen at 20:00 on its evening in progress."""
    ds = dataset(scale, years, raw_days)
    now = datetime.combine(ds.last, datetime.min.time(), tzinfo=ds.calendar.tz).replace(hour=20).astimezone(UTC)
    print(f"data set {ds.directory.name}: {ds.stats['sqlite']}")
    return YearOfService(ds.calendar, ds.registry, ds.last, now, ds.sqlite_path, None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", help="SQLite file to reuse (created if missing)")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--checkpoints", type=int, default=300)
    add_scale_arguments(ap, default=None)
    args = ap.parse_args()
    data = (
        preset_year(args.scale, args.years, args.raw_days) if args.scale else year_of_service(args.checkpoints, args.db)
    )
    calendar, registry, last, now, path = data.calendar, data.registry, data.last, data.now, data.path
    mine = len(registry.checkpoints_of(LANDLORD))
    teams = SCALES[args.scale].teams if args.scale else TEAMS
    print(
        f"registry: {len(registry.checkpoints)} checkpoints, {len(registry.estates)} estates, "
        f"{len(registry.landlords)} landlords; {LANDLORD}: {mine} checkpoints; {teams} teams"
    )
    store = SqliteStore(path)
    store.open()
    month_first = last - timedelta(days=29)
    year_first = last - timedelta(days=364)
    results: list[tuple[str, tuple[float, float, float, float], float]] = []

    def cov(first: date, landlord: str | None = LANDLORD, cache: CoverageCache | None = None) -> None:
        landlord_coverage(store, registry, calendar, first, last, landlord=landlord, now=now, cache=cache)

    month = landlord_coverage(store, registry, calendar, month_first, last, landlord=LANDLORD, now=now)
    year = landlord_coverage(store, registry, calendar, year_first, last, landlord=LANDLORD, now=now)
    cache = CoverageCache()
    cached = landlord_coverage(store, registry, calendar, year_first, last, landlord=LANDLORD, now=now, cache=cache)
    assert month.partial_day == last
    assert len(month.checkpoints) == mine
    assert cached.groups == year.groups, "cache changed the answer"
    for x, y in zip(cached.checkpoints, year.checkpoints, strict=True):
        assert (x.checkpoint_id, x.visits, x.covered_days, x.no_data_days) == (
            y.checkpoint_id,
            y.visits,
            y.covered_days,
            y.no_data_days,
        ), "cache changed the answer"
        assert math.isclose(x.idleness.average_idle_s, y.idleness.average_idle_s, rel_tol=1e-9)
    results.append(
        (
            f"coverage, month ({len(month.days)} service days: rollups + live evening)",
            timed(lambda: cov(month_first), args.repeat),
            200.0,
        )
    )
    results.append(
        (
            f"coverage, year ({len(year.days)} days), without the cache (reference)",
            timed(lambda: cov(year_first), max(3, args.repeat // 3)),
            float("nan"),
        )
    )
    detail = CoverageCache()

    def detailed_month() -> None:  # the API's groups of a month: per-day detail, through the process's cache
        landlord_coverage(
            store, registry, calendar, month_first, last, landlord=LANDLORD, now=now, include_days=True, cache=detail
        )

    results.append(
        ("coverage, month with day detail (API groups), cache warm", timed(detailed_month, args.repeat), 100.0)
    )
    results.append(
        (
            "coverage, year, CoverageCache warm (settled months cached)",
            timed(lambda: cov(year_first, cache=cache), args.repeat),
            200.0,
        )
    )
    fresh = [0.0]

    def cold() -> None:
        t0 = time.perf_counter()
        cov(year_first, cache=CoverageCache())
        fresh[0] = time.perf_counter() - t0

    results.append(("coverage, year, CoverageCache cold (first request)", timed(cold, 3), float("nan")))
    results.append(
        (
            "coverage, year, all landlords (supervisor), cache warm",
            timed(lambda: cov(year_first, None, cache), max(3, args.repeat // 3)),
            float("nan"),
        )
    )
    n_day, day_s, day_cpu = maintenance_day(registry, calendar, last - timedelta(days=1))
    results.append(
        (
            f"maintenance: rollup_day of one evening, {n_day:,} visits (167 teams)",
            (day_s * 1000,) * 3 + (day_cpu * 1000,),
            5000.0,
        )
    )
    c0, t0 = time.process_time(), time.perf_counter()
    fold_settled_month(store, registry, calendar, date(2026, 10, 1), now=now)
    fold_ms, fold_cpu = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
    results.append(("maintenance: fold one settled month (all landlords)", (fold_ms, fold_ms, fold_ms, fold_cpu), nan))
    pdf_first, pdf_last = date(2026, 10, 1), date(2026, 10, 31)

    def monthly_pdf() -> int:
        report = build_report(store, registry, calendar, LANDLORD, pdf_first, pdf_last, now=now)
        return len(render_pdf(report))

    size = monthly_pdf()
    pdf_stats = timed(monthly_pdf, max(3, args.repeat // 6))
    results.append((f"audit report, month, PDF ({size // 1024} KiB)", pdf_stats, 2000.0))
    store.close()
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs (wall-clock figures include waiting for a CPU)")
    print(f"{'measure':<66} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p95 CPU':>8} {'target':>7}")
    ok = True
    for label, (p50, p95, worst, cpu95), target in results:
        verdict = "" if math.isnan(target) else ("ok" if p95 <= target else "MISSED")
        ok = ok and verdict != "MISSED"
        tgt = "" if math.isnan(target) else f"≤{target:.0f}"
        print(f"{label:<66} {p50:>8.1f} {p95:>8.1f} {worst:>8.1f} {cpu95:>8.1f} {tgt:>7} {verdict}")
    if data.tmp is not None:
        data.tmp.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
