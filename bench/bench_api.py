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
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_coverage import LANDLORD, timed, year_of_service

from ronde.api import ApiSettings, Principal, Role, TokenBook, create_app
from ronde.store.sqlite import SqliteStore

TOKEN = "bench-landlord"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", help="SQLite file to reuse (created if missing)")
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
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


if __name__ == "__main__":
    sys.exit(main())
