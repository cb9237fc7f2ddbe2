"""The landlord endpoints over HTTP, on one year of simulated service (SQLite store).

    .venv/bin/python bench/bench_api.py [--db PATH] [--repeat N]

Reuses ``bench_coverage``'s data (about 300 checkpoints on 2 estates, 10 teams, several hundred
thousand visits, rollups of every closed day, the last evening in progress) and times full HTTP
requests through the ASGI app (routing, token check, scope, JSON/PDF encoding) with a landlord
token for Paris Habitat:

- ``GET /api/v1/coverage/landlords/paris-habitat`` for a month and for a year (p50/p95);
- ``GET /api/v1/audit/landlords/paris-habitat/report.pdf`` for a calendar month.

Targets (issue 6): p95 ≤ 200 ms for coverage; ≤ 2 s for a monthly PDF. The first request for a
year fills the API's coverage cache (settled months): it is reported separately ("cold").

With ``--scale sample|city`` (issue 17), the path users run instead: a real ``ronde api serve`` (uvicorn, its own
process) on that preset's data set (``bench/city.py``), on SQLite and on influxd 1.6.7, for each of ``--years``
(e.g. ``1,2,3``): first and warm landlord coverage for a year and a month over HTTP, and the process's peak RSS
(``bench/api_uvicorn.py``)::

    .venv/bin/python bench/bench_api.py --scale city --years 1,2,3 --stores sqlite,influx [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_coverage import LANDLORD, timed, year_of_service
from city import add_scale_arguments

from ronde.api import ApiSettings, Principal, Role, TokenBook, create_app
from ronde.store.sqlite import SqliteStore

TOKEN = "bench-landlord"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", help="SQLite file to reuse (created if missing)")
    ap.add_argument("--repeat", type=int, default=30)
    add_scale_arguments(ap, default=None, many=True)
    ap.add_argument("--stores", default="sqlite,influx", help="with --scale: sqlite, influx or both")
    ap.add_argument(
        "--now",
        help="with --scale: the API's clock fixed there (ISO 8601 with offset; default the real clock). The data "
        "set's maintenance state is its last day's (month-to-date letter through 8 days before it): a real clock a "
        "day or more later reads a store whose maintenance has not run since",
    )
    args = ap.parse_args()
    if args.scale is not None:
        return served(args)
    data = year_of_service(300, args.db)
    calendar, registry, last, now, path = data.calendar, data.registry, data.last, data.now, data.path
    store = SqliteStore(path)
    store.open()
    tokens = TokenBook.from_tokens({TOKEN: Principal("bench", Role.LANDLORD, LANDLORD)})
    app = create_app(ApiSettings(), store, registry, calendar, tokens=tokens, clock=lambda: now)
    client = TestClient(app)
    headers = {"Authorization": f"Bearer {TOKEN}"}

    def get(path: str, params: dict[str, str]) -> None:
        r = client.get(path, params=params, headers=headers)
        if r.status_code != 200:
            raise SystemExit(f"{path}: {r.status_code} {r.text[:300]}")

    coverage = f"/api/v1/coverage/landlords/{LANDLORD}"
    month = {"first": (last - timedelta(days=29)).isoformat(), "last": last.isoformat()}
    year = {"first": (last - timedelta(days=364)).isoformat(), "last": last.isoformat()}
    pdf = {"first": "2026-10-01", "last": "2026-10-31"}
    results: list[tuple[str, tuple[float, float, float, float], float]] = []
    t0 = time.perf_counter()
    get(coverage, year)
    cold_ms = (time.perf_counter() - t0) * 1000
    results.append(
        (
            "GET coverage/landlords/{id}, month (with per-day detail)",
            timed(lambda: get(coverage, month), args.repeat),
            200.0,
        )
    )
    results.append(
        ("GET coverage/landlords/{id}, year (cache warm)", timed(lambda: get(coverage, year), args.repeat), 200.0)
    )
    results.append(
        (
            "GET audit/landlords/{id}/report.pdf, month",
            timed(lambda: get(f"/api/v1/audit/landlords/{LANDLORD}/report.pdf", pdf), max(3, args.repeat // 6)),
            2000.0,
        )
    )
    store.close()
    print(f"registry: {len(registry.checkpoints)} checkpoints; {LANDLORD}: {len(registry.checkpoints_of(LANDLORD))}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall-clock includes waiting for a CPU)")
    print(f"first year request (cache cold): {cold_ms:.0f} ms")
    print(f"{'measure':<60} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p95 CPU':>8} {'target':>7}")
    ok = True
    for label, (p50, p95, worst, cpu95), target in results:
        verdict = "ok" if p95 <= target else "MISSED"
        ok = ok and verdict == "ok"
        print(f"{label:<60} {p50:>8.1f} {p95:>8.1f} {worst:>8.1f} {cpu95:>8.1f} {'≤' + str(int(target)):>7} {verdict}")
    if data.tmp is not None:
        data.tmp.cleanup()
    return 0 if ok else 1


def served(args: argparse.Namespace) -> int:
    """The ``--scale`` benchmark: ``ronde api serve`` under uvicorn, per store and history length."""
    from api_uvicorn import report, run_store
    from city import exit_on_sigterm

    exit_on_sigterm()

    log = Path(tempfile.gettempdir()) / f"ronde-bench-api-{os.getpid()}.log"
    print(f"start {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC, load average {Path('/proc/loadavg').read_text().strip()}")
    runs = []
    for store in args.stores.split(","):
        for years in args.years:
            now = datetime.fromisoformat(args.now) if args.now else None
            runs.append(run_store(args.scale, years, args.raw_days, store, args.repeat, log, now))
            print(f"  {runs[-1]}", flush=True)
    print(f"end {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC; API logs: {log}")
    return 0 if report(runs) else 1


if __name__ == "__main__":
    sys.exit(main())
