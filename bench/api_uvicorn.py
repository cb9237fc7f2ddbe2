"""Landlord coverage through the real ``ronde api serve`` (uvicorn, its own process), on a preset's data set.

Used by ``bench_api.py --scale sample|city``. For each store (SQLite file, influxd 1.6.7) and each history length,
it starts ``python -m ronde.cli api serve`` on the preset's store and operational database (a landlord token made
there for the biggest landlord), then times over HTTP (httpx, keep-alive, gzip accepted as a browser does):

- the first request for a year of that landlord's coverage (the process's caches empty);
- the same year again (warm), p50/p95;
- a month (the last 30 days: rollups and the evening in progress), first, then p50/p95;

and reads the API process's peak RSS (``VmHWM`` in ``/proc/<pid>/status``) when done; the API's CPU per request,
and on influxd the server's own CPU over the same requests. Targets (issue 17, item 3):
year first ≤ 300 ms, year warm p95 ≤ 100 ms, month p95 ≤ 100 ms, peak RSS ≤ 250 MB, and 1, 2, 3 years within 20 %.
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from city import ROOT, SECRET_KEY, Dataset, dataset, influxd_on

from tests.support.services import free_port

TARGETS = {"year first": 300.0, "year warm p95": 100.0, "month p95": 100.0, "peak RSS MB": 250.0}


@dataclass(frozen=True, slots=True)
class ApiRun:
    """One API process's figures (milliseconds, megabytes)."""

    store: str
    years: int
    year_first: float
    year_p50: float
    year_p95: float
    month_first: float
    month_p50: float
    month_p95: float
    year_kib: float
    peak_rss_mb: float
    year_first_cpu: float  # the API process's CPU ms (user + system): what the load average does not inflate
    year_cpu_mean: float
    month_cpu_mean: float
    month_first_cpu: float
    # the store server's own CPU ms over the same requests (influxd's process; nan on SQLite, which is in the API's)
    store_year_first_cpu: float = float("nan")
    store_year_cpu_mean: float = float("nan")
    store_month_first_cpu: float = float("nan")
    store_month_cpu_mean: float = float("nan")


def machine_reference_ms(repeat: int = 5) -> float:
    """The best of ``repeat`` CPU times of a fixed pure-Python workload in this process: tuples, a dict grouped and
    summed, a sort and strings counted, the instruction mix of a cold coverage request. Why: this VM's speed moved
    1.7x between two sessions (the gateway's real path 240,000 -> 135,000 adverts/s, nothing changed), so a figure
    is read against the reference printed beside it, never against one taken on another day."""
    best = math.inf
    for _ in range(repeat):
        t0 = time.process_time()
        rows = [(i % 2_500, f"cp-{i % 2_500:05d}", float(i), "CNX-"[i % 4] * 24) for i in range(100_000)]
        groups: dict[str, list[float]] = {}
        for _, cid, value, _ in rows:
            groups.setdefault(cid, []).append(value)
        totals = sorted((sum(v), k) for k, v in groups.items())
        letters = "".join(r[3] for r in rows[:20_000])
        assert totals
        assert sum(map(letters.count, "CNX-")) == len(letters)
        best = min(best, (time.process_time() - t0) * 1000)
    return best


def landlord_token(ds: Dataset) -> tuple[str, str]:
    """A fresh landlord token for the landlord with the most checkpoints: (landlord, clear token)."""
    from ronde.opdb.engine import make_engine, session_factory
    from ronde.opdb.token_repo import create_token
    from ronde.protocol.access import Role

    landlord = Counter(c.landlord for c in ds.registry.checkpoints.values()).most_common(1)[0][0]
    engine = make_engine(ds.opdb_url)
    try:
        with session_factory(engine).begin() as s:
            secret = create_token(s, f"bench-{os.getpid()}-{time.time_ns() % 10**9}", Role.LANDLORD, landlord)
    finally:
        engine.dispose()
    return landlord, secret


# ``python -c`` text: ``ronde api serve`` with the app's clock fixed at argv[1] (what ``api_process(now=...)`` runs)
_SERVE_AT = (
    "import sys; from datetime import datetime; import ronde.api.app as a; "
    "at = datetime.fromisoformat(sys.argv.pop(1)); a.create_app_on_database.__kwdefaults__['clock'] = lambda: at; "
    "from ronde.cli import main; sys.exit(main(sys.argv[1:]))"
)


@contextlib.contextmanager
def api_process(
    ds: Dataset, store_args: list[str], log: Path, now: datetime | None = None
) -> Iterator[tuple[str, int]]:
    """``ronde api serve`` on the data set; yields (base URL, pid) once ``/healthz`` answers. ``now``: the app's
    clock fixed there (the data sets' evening is in progress from 16:00 local: a daytime figure needs a clock)."""
    port = free_port()
    serve = ["-m", "ronde.cli"] if now is None else ["-c", _SERVE_AT, now.isoformat()]
    cmd = [sys.executable, *serve, "api", "serve", *store_args, "--database", ds.opdb_url]
    env = {**os.environ, "RONDE_OPDB_SECRET_KEY": SECRET_KEY, "PYTHONUNBUFFERED": "1"}
    env.pop("RONDE_CONFIG", None)
    with log.open("ab") as out:
        proc = subprocess.Popen([*cmd, "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"ronde api serve exited {proc.returncode}: see {log}")
            try:
                if httpx.get(f"{base}/healthz", timeout=30).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"ronde api serve did not answer /healthz in 120 s: see {log}")
            time.sleep(0.2)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def cpu_ms(pid: int) -> float:
    """User + system CPU of ``pid`` so far, in ms (clock ticks: 10 ms resolution, so warm figures are means)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def measure(
    ds: Dataset,
    store: str,
    store_args: list[str],
    repeat: int,
    log: Path,
    store_pid: int | None = None,
    now: datetime | None = None,
) -> ApiRun:
    """``store_pid``: the store server's process (influxd), whose CPU is read at the same points as the API's.
    ``now``: the API's clock fixed there (None: the real clock)."""
    landlord, token = landlord_token(ds)
    year = {"first": (ds.last - timedelta(days=364)).isoformat(), "last": ds.last.isoformat()}
    month = {"first": (ds.last - timedelta(days=29)).isoformat(), "last": ds.last.isoformat()}
    path = f"/api/v1/coverage/landlords/{landlord}"
    with (
        api_process(ds, store_args, log, now) as (base, pid),
        httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=600) as http,
    ):
        sizes: list[int] = []

        def get(params: dict[str, str]) -> float:
            t0 = time.perf_counter()
            r = http.get(path, params=params)
            ms = (time.perf_counter() - t0) * 1000
            if r.status_code != 200:
                raise SystemExit(f"{path}: {r.status_code} {r.text[:300]}")
            sizes.append(len(r.content))
            return ms

        def both_cpu() -> tuple[float, float]:
            return cpu_ms(pid), (cpu_ms(store_pid) if store_pid is not None else float("nan"))

        c0, s0 = both_cpu()
        year_first = get(year)
        c1, s1 = both_cpu()
        year_kib = sizes[-1] / 1024
        warm = [get(year) for _ in range(repeat)]
        c2, s2 = both_cpu()
        month_first = get(month)
        c3, s3 = both_cpu()
        months = [get(month) for _ in range(repeat)]
        c4, s4 = both_cpu()
        rss = peak_rss_mb(pid)
    return ApiRun(
        store,
        ds.params.years,
        year_first,
        statistics.median(warm),
        pct(warm, 0.95),
        month_first,
        statistics.median(months),
        pct(months, 0.95),
        year_kib,
        rss,
        c1 - c0,
        (c2 - c1) / repeat,
        (c4 - c3) / repeat,
        c3 - c2,
        s1 - s0,
        (s2 - s1) / repeat,
        s3 - s2,
        (s4 - s3) / repeat,
    )


def check_rollups(ds: Dataset, store: Any) -> None:
    """The verdicts ingest's maintenance leaves (``RollupCheck``, a step of each pass) before the API reads them:
    every checkable day checked (the first pass after the days closed), then one pass with nothing changed (what
    each maintenance interval costs from then on); the bench process's own CPU, printed."""
    from city import _site_view

    from ronde.ingest.rollup_check import RollupCheck

    registry, calendars = _site_view(ds)
    check = RollupCheck(store, registry, calendars, raw_days=ds.params.raw_days, recheck_per_pass=10_000)
    for what in ("every checkable day", "a pass with nothing changed"):
        t0, c0 = time.perf_counter(), time.process_time()
        days = check.run(datetime.now(UTC))
        check.recheck_per_pass = 0
        print(
            f"  maintenance rollup check, {what}: {len(days)} days recomputed, "
            f"{(time.process_time() - c0) * 1000:,.0f} ms CPU, {(time.perf_counter() - t0) * 1000:,.0f} ms wall",
            flush=True,
        )


def run_store(
    scale: str, years: int, raw_days: int, store: str, repeat: int, log: Path, now: datetime | None = None
) -> ApiRun:
    ds = dataset(scale, years, raw_days, stores=(store,))
    if store == "sqlite":
        from ronde.store.sqlite import SqliteStore

        writer = SqliteStore(ds.sqlite_path)
        writer.open()
        try:
            check_rollups(ds, writer)
        finally:
            writer.close()
        return measure(ds, store, ["--store", f"sqlite:///{ds.sqlite_path}"], repeat, log, now=now)
    with influxd_on(ds.influx_dir) as server:
        from ronde.store.influx import InfluxStore

        influx = InfluxStore(server.url, database="ronde", retention=ds.retention(), timeout_s=300.0)
        influx.open()
        try:
            check_rollups(ds, influx)
        finally:
            influx.close()
        influxd_pid = server.process.pid if server.process is not None else None
        store_args = ["--store", server.url, "--store-database", "ronde"]
        return measure(ds, store, store_args, repeat, log, influxd_pid, now=now)


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "MISSED"


def report(runs: list[ApiRun]) -> bool:
    """Print the table and the targets side by side; True when every target is met."""
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    head = (
        "store",
        "years",
        "year 1st",
        "year p50",
        "year p95",
        "month 1st",
        "month p50",
        "month p95",
        "KiB",
        "RSS MB",
    )
    print("{:<7} {:>5} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7}".format(*head))
    ok = True
    for r in runs:
        print(
            f"{r.store:<7} {r.years:>5} {r.year_first:>9.0f} {r.year_p50:>9.0f} {r.year_p95:>9.0f} "
            f"{r.month_first:>9.0f} {r.month_p50:>9.0f} {r.month_p95:>9.0f} {r.year_kib:>7.0f} {r.peak_rss_mb:>7.0f}"
        )
    print("the API process's CPU ms (first requests; mean of the warm ones): waiting for a CPU does not inflate it")
    for r in runs:
        print(
            f"{r.store:<7} {r.years:>5} year 1st {r.year_first_cpu:>7.0f}   year warm {r.year_cpu_mean:>7.1f}   "
            f"month 1st {r.month_first_cpu:>7.0f}   month warm {r.month_cpu_mean:>7.1f}"
        )
    for r in runs:
        if not math.isnan(r.store_year_first_cpu):  # a store server of its own (influxd)
            print(
                f"{r.store:<7} {r.years:>5} store server's own CPU ms: year 1st {r.store_year_first_cpu:>7.0f}   "
                f"year warm {r.store_year_cpu_mean:>7.1f}   month 1st {r.store_month_first_cpu:>7.0f}   "
                f"month warm {r.store_month_cpu_mean:>7.1f}"
            )
    print("targets: year 1st ≤ 300 ms, year p95 ≤ 100 ms, month p95 ≤ 100 ms, RSS ≤ 250 MB, years within 20 %")
    for r in runs:
        checks = {
            "year first": r.year_first,
            "year warm p95": r.year_p95,
            "month p95": r.month_p95,
            "peak RSS MB": r.peak_rss_mb,
        }
        line = ", ".join(f"{k} {v:.0f} {verdict(v, TARGETS[k])}" for k, v in checks.items())
        ok = ok and "MISSED" not in line
        print(f"  {r.store} {r.years} y: {line}")
    for store in sorted({r.store for r in runs}):
        mine = [r for r in runs if r.store == store]
        if len(mine) > 1:
            for label, values in (
                ("year first", [r.year_first for r in mine]),
                ("year p50", [r.year_p50 for r in mine]),
                ("month p50", [r.month_p50 for r in mine]),
            ):
                spread = max(values) / min(values) - 1
                ok = ok and spread <= 0.2
                print(
                    f"  {store} {label} over {len(mine)} history lengths: max/min - 1 = {spread:.0%} ≤ 20 % "
                    f"{verdict(spread, 0.2)}"
                )
    return ok
