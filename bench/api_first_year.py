"""A landlord's first year request through the real ``ronde api serve`` (uvicorn), a fresh process each run.

    .venv/bin/python bench/api_first_year.py [--scale city] [--years 1] [--runs 3] [--now ISO] [--store influx]
        [--period month]

Why beside ``bench_api.py``: that one runs the API on the real clock, so from 16:00 Paris time it measures an
evening in progress, not the daytime first year the target is about (issue 17, item 3: ≤ 300 ms); and it makes one
API process, so one cold figure a run. Here each run starts ``ronde api serve`` on the preset's SQLite set with its
clock fixed at ``--now`` (default 13:00 UTC on the set's last day: daytime), asks a year of the biggest landlord's
coverage (the process's caches empty), then the same year again (warm), and prints the API process's CPU for each
(``/proc/<pid>/stat``, 10 ms ticks) and its peak RSS after four detailed months. ``--store influx``: the same on
the set's influxd 1.6.7 (started once on its directory, ``city.influxd_on``), influxd's CPU printed beside.
``--period month``: the month (the API's default period, 30 days to the set's last day) first, then 20 more
requests of it, their wall time's median and 95th percentile printed (item 3: ≤ 100 ms first and warm).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_uvicorn import api_process, cpu_ms, landlord_token, machine_reference_ms, peak_rss_mb
from city import Dataset, add_scale_arguments, dataset, influxd_on


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scale_arguments(ap)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--now", help="the API's clock (ISO 8601 with offset; default 13:00 UTC on the set's last day)")
    ap.add_argument("--store", choices=("sqlite", "influx"), default="sqlite")
    ap.add_argument("--period", choices=("year", "month"), default="year")
    args = ap.parse_args()
    ds = dataset(args.scale, args.years, stores=(args.store,))
    with contextlib.ExitStack() as stack:
        if args.store == "sqlite":
            store_args, store_pid = ["--store", f"sqlite:///{ds.sqlite_path}"], None
        else:
            server = stack.enter_context(influxd_on(ds.influx_dir))
            assert server.process is not None
            store_args, store_pid = ["--store", server.url, "--store-database", "ronde"], server.process.pid
        runs(ds, args, store_args, store_pid)
    return 0


def runs(ds: Dataset, args: argparse.Namespace, store_args: list[str], store_pid: int | None) -> None:
    """``args.runs`` fresh API processes, each asked the year cold, warm, then four months."""
    now = datetime.fromisoformat(args.now) if args.now else datetime.combine(ds.last, clock_time(13), tzinfo=UTC)
    log = Path(tempfile.gettempdir()) / f"ronde-bench-first-year-{os.getpid()}.log"
    year = {"first": (ds.last - timedelta(days=364)).isoformat(), "last": ds.last.isoformat()}
    month = {"first": (ds.last - timedelta(days=29)).isoformat(), "last": ds.last.isoformat()}
    print(f"machine reference (bench/api_uvicorn.py machine_reference_ms): {machine_reference_ms():.0f} ms CPU")
    for run in range(args.runs):
        landlord, token = landlord_token(ds)
        path = f"/api/v1/coverage/landlords/{landlord}"
        with (
            api_process(ds, store_args, log, now) as (base, pid),
            httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=600) as http,
        ):
            time.sleep(1.0)  # the start-up's last work (uvicorn's lifespan) out of the first figure
            if args.period == "month":
                month_runs(http, path, month, pid, store_pid, run)
                continue
            wall, c0, c1, store_cpu = first_request(http, path, year, pid, store_pid)
            http.get(path, params=year)
            c2 = cpu_ms(pid)
            for _ in range(4):
                http.get(path, params=month)
            print(
                f"run {run}: year first {wall:.0f} ms wall, {c1 - c0:.0f} ms API CPU{store_cpu}; "
                f"again {c2 - c1:.0f} ms API CPU; "
                f"peak RSS {peak_rss_mb(pid):.0f} MB; load {' '.join(Path('/proc/loadavg').read_text().split()[:3])}",
                flush=True,
            )
    print(f"now {now.isoformat()}; API logs: {log}; machine reference {machine_reference_ms():.0f} ms CPU")


def first_request(
    http: httpx.Client, path: str, params: dict[str, str], pid: int, store_pid: int | None
) -> tuple[float, float, float, str]:
    """One request timed: its wall ms, the API's CPU ms before and after, and influxd's CPU over it as text."""
    s0 = cpu_ms(store_pid) if store_pid is not None else 0.0
    c0, t0 = cpu_ms(pid), time.perf_counter()
    if http.get(path, params=params).status_code != 200:
        raise SystemExit(f"{path}: refused (see the API's log)")
    wall, c1 = (time.perf_counter() - t0) * 1000, cpu_ms(pid)
    store_cpu = f", influxd {cpu_ms(store_pid) - s0:.0f} ms CPU" if store_pid is not None else ""
    return wall, c0, c1, store_cpu


def month_runs(http: httpx.Client, path: str, month: dict[str, str], pid: int, store_pid: int | None, run: int) -> None:
    """The month first (the process's caches empty), then 20 more: wall, API CPU, influxd CPU, p50 / p95."""
    wall, c0, c1, store_cpu = first_request(http, path, month, pid, store_pid)
    walls = []
    for _ in range(20):
        t = time.perf_counter()
        http.get(path, params=month)
        walls.append((time.perf_counter() - t) * 1000)
    c2 = cpu_ms(pid)
    walls.sort()
    print(
        f"run {run}: month first {wall:.0f} ms wall, {c1 - c0:.0f} ms API CPU{store_cpu}; then p50 "
        f"{statistics.median(walls):.0f} ms, p95 {walls[18]:.0f} ms wall ({(c2 - c1) / 20:.1f} ms API CPU each); "
        f"peak RSS {peak_rss_mb(pid):.0f} MB; load {' '.join(Path('/proc/loadavg').read_text().split()[:3])}",
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
