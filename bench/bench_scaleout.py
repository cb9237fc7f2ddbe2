"""Scale-out (issue 17, item 7): ingest with 1, 2 and 4 workers on one shared subscription, and a city's peak rate.

Ingest: the same kind of signed events as ``bench/bench_ingest.py`` (its builders and helpers, imported), queued
through Mosquitto (shipped configuration, started here) into the durable sessions of N real ``ronde ingest run``
processes sharing ``$share/ingest/...``, then drained into influxd 1.6.7 (started here) — or the embedded SQLite
store with ``--stores sqlite`` (one file, one writer at a time: see docs/scaling.md). The workers read the registry
from PostgreSQL (a private cluster made here, as in production for several workers) or, with ``--database
sqlite``, a SQLite file. Printed per worker count: events/s in total; per worker its CPU µs per event it stored
(user + system from /proc/<pid>/stat over the drain, the count from its own closing counters), its peak RSS; and the
CPU per event of Mosquitto (receiving the publish, then delivering), influxd and PostgreSQL, which share the
machine's cores with the workers. The check: every event stored once (``LOSS DETECTED`` otherwise).

City: the firmware simulator's ``evening`` scenario run for a city of 5,002 checkpoints and 167 teams (61 copies
of the sample estate, 82 checkpoints each, 2 or 3 teams a copy: about 30 checkpoints a team, as 5,000 / 167),
each copy with its own seed, all in the same service window (16:00–22:15 Europe/Paris): the visits' end times
give the city's visit rate second by second (peak over 1 s, 10 s and 60 s); the gateway's own detection is run
on a few teams to compare what it publishes with the true visits; and the backlog a city-wide outage leaves
in the gateways' outboxes, with the time the measured workers need to drain it.

Usage: ``.venv/bin/python bench/bench_scaleout.py [--events 40000] [--workers 1,2,4] [--spacing-s 138]
[--stores influx] [--database postgres|sqlite] [--part ingest,city] [--detect-teams 3]``. Figures: docs/scaling.md.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bench_ingest as bi  # noqa: E402

from ronde.firmware_sim.drivers.inproc import run_pipeline  # noqa: E402
from ronde.firmware_sim.scenarios import Scenario, build_scenario  # noqa: E402
from ronde.gateway.pipeline import TelemetryReading  # noqa: E402
from ronde.protocol.calendar import ServiceCalendar  # noqa: E402
from ronde.protocol.estate import load_default_estate  # noqa: E402
from ronde.store import schema  # noqa: E402
from tests.ingest.broker import shipped_broker  # noqa: E402
from tests.support.postgres import run_postgres  # noqa: E402
from tests.support.services import run_influxd  # noqa: E402

CITY_TEAMS, CITY_COPIES = 167, 61  # 61 x 82 = 5,002 checkpoints
TELEMETRY_PERIOD_S = 600.0  # the gateway's default: at most one TLM relay per beacon per period
QUIET_S, DRAIN_TIMEOUT_S = 1.0, 600.0
HEARTBEAT_S = 60.0  # the gateway's default heartbeat period (QoS 0: never queued in the outbox)


@dataclass(frozen=True)
class WorkerRun:
    cpu_s: float
    stored: int
    rss_mb: float
    batches: int
    store_retries: int


def worker_run(log: Path, cpu_s: float, rss_mb: float) -> WorkerRun:
    """A worker's figures, with what it stored from the counters it logs on its way out (``counters: {...}``)."""
    for line in reversed(log.read_text(errors="replace").splitlines()):
        if "counters: " in line:
            c = json.loads(line.split("counters: ", 1)[1])
            return WorkerRun(cpu_s, int(c["accepted"].get("visit", 0)), rss_mb, c["batches"], c["store_retries"])
    return WorkerRun(cpu_s, 0, rss_mb, 0, 0)


def postgres_pids(workdir: Path) -> list[int]:
    """The postmaster (first line of its pid file) and its children, the backends."""
    pid_file = workdir / "data" / "postmaster.pid"
    if not pid_file.exists():
        return []
    master = int(pid_file.read_text().split()[0])
    pids = [master]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(stat.parent.name))
    return pids


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += bi.cpu_seconds(pid)
    return total


class Sides:
    """The processes beside the workers whose CPU per event the projection needs."""

    def __init__(self, broker_pid: int, influx_pid: int, pg_workdir: Path | None) -> None:
        self.fixed = {"Mosquitto": broker_pid, "influxd": influx_pid}
        self.pg_workdir = pg_workdir

    def snapshot(self) -> dict[str, float]:
        out = {name: bi.cpu_seconds(pid) for name, pid in self.fixed.items()}
        if self.pg_workdir is not None:
            out["PostgreSQL"] = cpu_of(postgres_pids(self.pg_workdir))
        return out


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before.get(k, 0.0) for k in after}


def wait_drained(pids: list[int], count: Callable[[], int], target: int, t0: float) -> tuple[float, int, int]:
    """Seconds from ``t0`` to the workers' last CPU tick once all is stored, the count, and the counts made.

    The store is counted only after the workers' CPU stood still for ``QUIET_S``: a count scans the phase's points,
    and polling it every quarter second was most of influxd's CPU in a slow drain (not the workers' doing)."""
    last = [bi.cpu_seconds(p) for p in pids]
    moved, polls = t0, 0
    while time.monotonic() - t0 < DRAIN_TIMEOUT_S:
        time.sleep(0.05)
        now = [bi.cpu_seconds(p) for p in pids]
        if now != last:
            last, moved = now, time.monotonic()
        elif time.monotonic() - moved >= QUIET_S:
            polls += 1
            got = count()
            if got >= target:
                return moved - t0, got, polls
            moved = time.monotonic()  # not there yet (a write waiting on the store): another quiet spell first
    return time.monotonic() - t0, count(), polls + 1


def scale_step(
    tmp: Path, port: int, store_url: str, count: Callable[[bi.Phase], int], sides: Sides, k: int, n: int, seq0: int
) -> dict[str, Any]:
    """Queue ``n`` events for ``k`` workers' sessions (one share group), then start them and time the drain."""
    phase = bi.make_events(n, seq0)
    before = count(phase)
    tag = f"s{k}-{seq0}-"
    bi.Workers(tmp, port, store_url, k, tag).stop(retire=False)  # the sessions and their $share subscriptions
    cpu0 = sides.snapshot()
    t_pub = time.monotonic()
    bi.publish_all(port, phase.events)
    publish_s = time.monotonic() - t_pub
    inbound = delta(sides.snapshot(), cpu0)
    load = os.getloadavg()[0]
    workers = bi.Workers(tmp, port, store_url, k, tag)
    try:
        t0 = time.monotonic()
        w0 = [bi.cpu_seconds(p.pid) for p in workers.procs]
        s0 = sides.snapshot()
        elapsed, got, polls = wait_drained([p.pid for p in workers.procs], lambda: count(phase), before + n, t0)
        cpus = [bi.cpu_seconds(p.pid) - c for p, c in zip(workers.procs, w0, strict=True)]
        drain = delta(sides.snapshot(), s0)
        rss = [bi.peak_rss_mb(p.pid) for p in workers.procs]
    finally:
        workers.stop(retire=True)  # out of the share group: later steps' messages must not wait in these sessions
    if got - before != n:
        raise SystemExit(f"LOSS DETECTED: {k} worker(s) stored {got - before} of {n}")
    runs = [worker_run(log, c, r) for c, log, r in zip(cpus, workers.logs, rss, strict=True)]
    return report(k, n, elapsed, runs, inbound, drain, (publish_s, polls, load), bi.eid_share(phase))


def report(
    k: int,
    n: int,
    elapsed: float,
    runs: list[WorkerRun],
    inbound: dict[str, float],
    drain: dict[str, float],
    context: tuple[float, int, float],
    eid: float,
) -> dict[str, Any]:
    publish_s, polls, load = context
    worker_cpu = sum(r.cpu_s for r in runs)
    per_worker = ", ".join(
        f"w{i + 1} {r.stored:,} ev, {r.cpu_s / max(r.stored, 1) * 1e6:.0f} µs/ev, {r.rss_mb:.0f} MB, "
        f"{r.batches} batches, {r.store_retries} retries"
        for i, r in enumerate(runs)
    )
    sides_us = {name: (inbound.get(name, 0.0) + c) / n * 1e6 for name, c in drain.items()}
    busy = (worker_cpu + sum(drain.values())) / elapsed
    print(
        f"  {k} worker(s), {n:,} events ({eid:.1%} EID), load {load:.1f}: {n / elapsed:,.0f} events/s "
        f"({elapsed:.2f} s); workers {worker_cpu / n * 1e6:.0f} µs CPU/event in all [{per_worker}]",
        flush=True,
    )
    print(
        "    CPU per event beside them (publish in + drain): "
        + ", ".join(
            f"{name} {us:.0f} µs ({inbound.get(name, 0.0) / n * 1e6:.0f} + {drain[name] / n * 1e6:.0f})"
            for name, us in sides_us.items()
        )
        + f"; {busy:.2f} of {os.cpu_count()} cores busy during the drain; publishing took {publish_s:.1f} s; "
        f"{polls} count(s) of the store",
        flush=True,
    )
    return {
        "workers": k,
        "events": n,
        "events_per_s": round(n / elapsed),
        "worker_cpu_us_per_event": round(worker_cpu / n * 1e6, 1),
        "per_worker": [
            {
                "stored": r.stored,
                "cpu_us_per_event": round(r.cpu_s / max(r.stored, 1) * 1e6, 1),
                "rss_mb": round(r.rss_mb, 1),
            }
            for r in runs
        ],
        "beside_us_per_event": {name: round(us, 1) for name, us in sides_us.items()},
        "cores_busy": round(busy, 2),
        "load_average": load,
    }


def project(rows: list[dict[str, Any]]) -> None:
    """The line beyond this machine's cores, from the measured CPU per event (assumptions in docs/scaling.md)."""
    if not rows:
        return
    worst = max(rows, key=lambda r: r["worker_cpu_us_per_event"])
    w_us = worst["worker_cpu_us_per_event"]
    b_us = max(r["beside_us_per_event"].get("Mosquitto", 0.0) for r in rows)
    i_us = max(r["beside_us_per_event"].get("influxd", 0.0) for r in rows)
    broker_cap = 1e6 / b_us if b_us else math.inf  # Mosquitto runs its work on one thread
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK") / min(r["events"] for r in rows)  # /proc counts CPU in ticks
    print(
        f"  projection (worst measured: worker {w_us:.0f} µs, Mosquitto {b_us:.0f} µs, influxd {i_us:.0f} µs CPU "
        f"per event, each ± {tick_us:.1f} µs from /proc's CPU ticks): one Mosquitto thread caps the whole at "
        f"{broker_cap:,.0f} events/s"
    )
    for k in (1, 2, 4, 8, 16):
        # k workers each on a core of their own, influxd given as many cores as it needs, the broker one thread
        line = min(k * 1e6 / w_us, broker_cap)
        cores = k + line * i_us / 1e6 + line * b_us / 1e6
        print(f"    {k:2d} worker(s) on cores of their own: ≤ {line:,.0f} events/s, {cores:.1f} cores in all")


@contextlib.contextmanager
def operational_database(tmp: Path, kind: str) -> Iterator[tuple[str, Path | None]]:
    """The workers' registry: a private PostgreSQL cluster (the production set-up for several workers), or SQLite."""
    if kind == "sqlite":
        yield bi.make_database(tmp, "sqlite"), None
        return
    with run_postgres() as pg:
        yield bi.make_database(tmp, pg.create_database("ronde")), pg.workdir


def ingest(args: argparse.Namespace) -> list[dict[str, Any]]:
    counts = [int(k) for k in args.workers.split(",")]
    users = ["ingest", *bi.gateway_ids()]
    rows: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="ronde-scaleout-") as tmpdir,
        run_influxd() as influx,
        shipped_broker(users) as broker,
        httpx.Client(base_url=influx.url, timeout=30) as http,
        operational_database(Path(tmpdir), args.database) as (url, pg_workdir),
    ):
        tmp = Path(tmpdir)
        bi.DATABASE.update(url=url, registry_poll_s=2.0)
        assert broker.process is not None
        assert influx.process is not None
        sides = Sides(broker.process.pid, influx.process.pid, pg_workdir)
        print(
            f"  workers' operational database: {url.split('://')[0]}; Mosquitto port {broker.port}, {influx.url}; "
            f"one gateway's visits {bi.VISIT_SPACING_S:g} s apart"
        )
        for store in [s.strip() for s in args.stores.split(",") if s.strip()]:
            if store == "sqlite":
                path = tmp / "store.db"
                store_url, count = f"sqlite://{path}", bi.sqlite_counter(path)
            else:
                store_url, count = influx.url, bi.influx_counter(http, "ronde", "raw", schema.VISIT.name)
            print(f"  store: {store}", flush=True)
            for rep in range(args.reps):
                for i, k in enumerate(counts):
                    seq0 = 40_000_000 + (rep * len(counts) + i) * 200_000 + (500_000_000 if store == "sqlite" else 0)
                    row = scale_step(tmp, broker.port, store_url, count, sides, k, args.events, seq0)
                    rows.append({"store": store, **row})
    return rows


def simulate_city(seed: int, detect_teams: int) -> dict[str, Any]:
    """The city's evening from the simulator: true visits of 167 teams, the gateway's detection on a few."""
    registry = load_default_estate()
    calendar = ServiceCalendar()
    base, extra = divmod(CITY_TEAMS, CITY_COPIES)
    t0 = time.perf_counter()
    ends: list[float] = []
    scenarios: list[Scenario] = []
    for copy in range(CITY_COPIES):
        teams = base + (1 if copy < extra else 0)
        sc = build_scenario("evening", seed + copy, registry, calendar, teams=teams)
        scenarios.append(sc)
        ends += [v.end.timestamp() for v in sc.truth]
    plan_s = time.perf_counter() - t0
    start, end = scenarios[0].start.timestamp(), scenarios[0].end.timestamp()
    per_s = Counter(int(t - start) for t in ends)
    window = end - start
    seconds = range(int(window) + 1)  # the end included: the service gate closes every open visit then
    peaks = {w: max(sum(per_s.get(s + j, 0) for j in range(w)) for s in seconds) / w for w in (1, 10, 60)}
    peak_second = max(seconds, key=lambda s: per_s.get(s, 0))
    peak_minute = max(seconds, key=lambda s: sum(per_s.get(s + j, 0) for j in range(60)))
    print(
        f"  city: {CITY_COPIES} copies of the sample estate = {CITY_COPIES * len(registry.checkpoints):,} checkpoints, "
        f"{CITY_TEAMS} teams, one evening {window / 3600:.2f} h, simulated in {plan_s:.1f} s: "
        f"{len(ends):,} true visits, "
        f"mean {len(ends) / window:.2f}/s; peak {peaks[60]:.2f}/s over 60 s, {peaks[10]:.2f}/s over 10 s, "
        f"{peaks[1]:.0f}/s over 1 s (peak second at +{peak_second / 60:.1f} min, peak minute from "
        f"+{peak_minute / 60:.1f} min); without the closing second: {sorted(per_s.values())[-2]}/s",
        flush=True,
    )
    detected, true_n, tlm = detect_sample(scenarios, detect_teams)
    ratio = detected / true_n if true_n else float("nan")
    heartbeats = CITY_TEAMS / HEARTBEAT_S
    print(
        f"  gateway detection on {detect_teams} team(s): {detected} visits published for {true_n} true ones "
        f"({ratio:.2f}); TLM relays {tlm / max(detect_teams, 1) / (window / 3600):.1f} per team-hour; "
        f"heartbeats {heartbeats:.1f}/s city-wide (QoS 0, never queued)",
        flush=True,
    )
    tlm_per_s = tlm / max(detect_teams, 1) * CITY_TEAMS / window
    return {
        "checkpoints": CITY_COPIES * len(registry.checkpoints),
        "teams": CITY_TEAMS,
        "true_visits": len(ends),
        "mean_visits_per_s": round(len(ends) / window, 3),
        "peak_visits_per_s": {f"{w}s": round(p, 2) for w, p in peaks.items()},
        "detected_to_true": round(ratio, 3),
        "telemetry_per_s": round(tlm_per_s, 3),
        "heartbeats_per_s": round(heartbeats, 2),
        "ends": ends,
        "start": start,
        "window_s": window,
    }


def detect_sample(scenarios: list[Scenario], teams: int) -> tuple[int, int, int]:
    """The gateway's pipeline over a few teams' advertisement streams (about 10 s of CPU per team-evening):
    visits it publishes, the true ones, and the TLM relays at one per beacon per period."""
    detected = true_n = relays = 0
    for sc in scenarios[:teams]:
        team = sc.teams[0].team_id
        readings: list[TelemetryReading] = []
        detected += len(run_pipeline(sc, team, telemetry=readings))
        true_n += sum(1 for v in sc.truth if v.team_id == team)
        last: dict[str, float] = {}
        for r in readings:
            key = repr(r.identity)
            if r.t - last.get(key, -math.inf) >= TELEMETRY_PERIOD_S:
                last[key] = r.t
                relays += 1
    return detected, true_n, relays


def backlog(city: dict[str, Any], drain_rates: dict[int, float]) -> None:
    """What a city-wide outage leaves queued in the gateways' outboxes (visits + TLM relays), from its worst start,
    and the time the measured workers take to drain it once the gateways reconnect."""
    ends = sorted(city["ends"])
    for minutes in (10, 60, 180, city["window_s"] / 60):
        span = minutes * 60
        worst = 0
        j = 0
        for i, t in enumerate(ends):  # windows starting at a visit's end: the worst is one of them
            while j < len(ends) and ends[j] < t + span:
                j += 1
            worst = max(worst, j - i)
        queued = worst + city["telemetry_per_s"] * span
        drains = ", ".join(f"{k} worker(s) {queued / r:.1f} s" for k, r in sorted(drain_rates.items()))
        print(
            f"  city-wide outage of {minutes:.0f} min: ≤ {queued:,.0f} messages queued in 167 outboxes "
            f"({worst:,} visits + TLM); drained in {drains or 'n/a (run the ingest part)'}",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=40000)
    ap.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    ap.add_argument("--stores", default="influx", help="influx, sqlite or both")
    ap.add_argument("--database", default="postgres", choices=["postgres", "sqlite"])
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument(
        "--spacing-s",
        type=float,
        default=bi.VISIT_SPACING_S,
        help="seconds between one gateway's visits (bench_ingest's 60; the simulator's teams average about 140)",
    )
    ap.add_argument("--part", default="ingest,city", help="ingest, city or both")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--detect-teams", type=int, default=3)
    args = ap.parse_args(argv)
    os.environ.setdefault("RONDE_OPDB_SECRET_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    influxd = subprocess.run(["influxd", "version"], capture_output=True, text=True, check=False).stdout.strip()
    print(
        f"scale-out benchmark — {os.cpu_count()} CPU(s), loopback, Mosquitto shipped config, InfluxDB {influxd}, "
        f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, load average {' '.join(map(str, os.getloadavg()))}",
        flush=True,
    )
    parts = {p.strip() for p in args.part.split(",")}
    bi.VISIT_SPACING_S = args.spacing_s  # read by bench_ingest's event builder when it lays out a phase
    rows = ingest(args) if "ingest" in parts else []
    project([r for r in rows if r["store"] == "influx"])
    if "city" in parts:
        city = simulate_city(args.seed, args.detect_teams)
        rates = {r["workers"]: r["events_per_s"] for r in rows if r["store"] == "influx"}
        backlog(city, rates)
        print(json.dumps({k: v for k, v in city.items() if k not in ("ends", "start")}))
    print(json.dumps(rows))
    print(f"load average at the end: {' '.join(map(str, os.getloadavg()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
