"""A landlord's cold year timed in process on a preset's influxd data set (``bench/city.py``): the API's CPU and
influxd's, per statement.

    .venv/bin/python bench/coverage_influx_in_process.py [--scale district] [--years 1] [--now ISO] [--runs 3]
        [--warm N [--moving]] [--days 30 --visited]

Why beside ``coverage_in_process.py`` (SQLite): on influxd half of a request's cost is in another process. This
starts influxd 1.6.7 on the data set's directory (``city.influxd_on``; not while a build holds it), opens an
``InfluxStore`` (read access) and, for each run, takes a fresh ``CoverageCache`` and prints the first request's
CPU ms in this process (``time.process_time``, the cyclic collector off), influxd's CPU ms over it (utime + stime
of ``/proc/<pid>/stat``: the load average does not inflate it), the wall time and the SHA-256 of the answer's
``repr`` (two trees give the same answer); ``--warm N`` times N more requests on the same cache (``--moving``:
``now`` 7 s later each, as during an evening in progress). The last request's statements follow, grouped by
their first 60 characters: count, API and influxd CPU ms, rows. ``--days 30 --visited``: the API's month instead
(30 days to the set's last), with the per-day "visited" counts it asks right after (``visited_days``).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from city import _site_view, add_scale_arguments, dataset, influxd_on

from ronde.coverage.query import CoverageCache, landlord_coverage
from ronde.coverage.visited import VisitedCache, visited_days
from ronde.store import influx_http
from ronde.store.influx import InfluxStore
from ronde.store.port import StoreAccess

LANDLORD = "paris-habitat"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_ms(pid: int) -> float:
    """A process's user + system CPU so far (ms, at the clock tick's resolution: 10 ms)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / TICKS


def traced(pid: int, seen: list[tuple[str, float, float, int]]) -> None:
    """Every InfluxQL POST timed: (statement, API ms, influxd ms, rows). Through ``InfluxQL.results``, or its
    ``query`` in a tree before it (to time both sides of a change the same way)."""
    name = "results" if hasattr(influx_http.InfluxQL, "results") else "query"
    inner = getattr(influx_http.InfluxQL, name)

    def timed(self: influx_http.InfluxQL, statements: Sequence[str], *, rp: str | None = None) -> list[Any]:
        c0, s0 = time.process_time(), cpu_ms(pid)
        out = inner(self, statements, rp=rp)
        rows = sum(len(r) if name == "query" else sum(len(s["values"]) for s in r.get("series", ())) for r in out)
        key = " ; ".join(_short(x) for x in statements)  # a request's statements, each by its head
        seen.append((key, (time.process_time() - c0) * 1000, cpu_ms(pid) - s0, rows))
        return list(out)

    setattr(influx_http.InfluxQL, name, timed)


def _short(statement: str) -> str:
    """A statement's head: what it selects from which measurement, its bounds left out."""
    head, _, rest = statement.partition(" FROM ")
    return f"{head[:40]} FROM {rest.split(' ', 1)[0]}" if rest else statement[:60]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scale_arguments(ap, default="district")
    ap.add_argument("--now", help="the requests' now (ISO 8601 with offset; default: the real clock)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warm", type=int, default=0, help="requests after each cold one, on the same cache")
    ap.add_argument("--moving", action="store_true", help="now moves 7 s a warm request, as a real clock does")
    ap.add_argument("--days", type=int, default=365, help="the period's length, to the set's last day")
    ap.add_argument("--visited", action="store_true", help="the per-day visited counts too, as the API's views")
    args = ap.parse_args()
    ds = dataset(args.scale, args.years)
    registry, _ = _site_view(ds)
    now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    first = ds.last - timedelta(days=args.days - 1)
    seen: list[tuple[str, float, float, int]] = []
    with influxd_on(ds.influx_dir) as server:
        assert server.process is not None
        pid = server.process.pid
        traced(pid, seen)
        store = InfluxStore(
            server.url, database="ronde", retention=ds.retention(), timeout_s=300.0, access=StoreAccess.READ
        )
        store.open()
        gc.disable()
        step = timedelta(seconds=7 if args.moving else 0)
        for _ in range(args.runs):
            cache, kept = CoverageCache(), VisitedCache()
            for i in range(1 + args.warm):
                seen.clear()
                c0, s0, w0 = time.process_time(), cpu_ms(pid), time.perf_counter()
                at = now + step * i
                value: object = landlord_coverage(
                    store, registry, ds.calendar, first, ds.last, landlord=LANDLORD, now=at, cache=cache
                )
                days = {}
                if args.visited:
                    args_v = (store, registry, ds.calendar, first, ds.last)
                    days = visited_days(*args_v, landlord=LANDLORD, now=at, cache=kept, coverage=cache)
                api, influxd = (time.process_time() - c0) * 1000, cpu_ms(pid) - s0
                wall = (time.perf_counter() - w0) * 1000
                if args.visited:  # its canonical form, not timed
                    value = (value, sorted((d, sorted(c)) for d, c in days.items()))
                sha = hashlib.sha256(repr(value).encode()).hexdigest()[:12]
                print(
                    f"{'warm' if i else 'cold'}: API {api:.0f} ms CPU, influxd {influxd:.0f} ms CPU, "
                    f"wall {wall:.0f} ms, {len(seen)} statements; answer {sha}",
                    flush=True,
                )
            gc.collect()
        store.close()
    groups: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0])
    for statement, api, influxd, rows in seen:
        g = groups[statement[:200]]
        g[0] += 1
        g[1] += api
        g[2] += influxd
        g[3] += rows
    for key, (n, api_ms, influxd_ms, nrows) in sorted(groups.items(), key=lambda kv: -kv[1][2]):
        print(f"{n:3.0f}x API {api_ms:5.0f} ms, influxd {influxd_ms:5.0f} ms, {nrows:6.0f} rows  {key}")
    print(f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
