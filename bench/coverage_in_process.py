"""A landlord's coverage for a year, timed in process on a preset's SQLite data set (``bench/city.py``).

    .venv/bin/python bench/coverage_in_process.py [--scale city] [--years 1] [--now ISO] [--runs 3] [--profile]
        [--days 30 --visited]

Why beside ``bench_api.py`` (which times the path users run, a real ``ronde api serve``): to see where a request's
CPU goes without the HTTP layer, and to compare two trees on the same data. Each run takes a fresh
``CoverageCache`` and prints the CPU ms (``time.process_time``, the cyclic collector off) of its first request
(cold) and of five requests after it (warm); ``--moving`` moves ``now`` by 7 s a request, as a real clock does
during an evening in progress (the data sets' evening has raw visits until 19:00 local: ``--now`` after it, e.g.
``2026-12-06T18:30:00+00:00``, times that evening). ``--profile`` adds a cProfile of one cold request. The SHA-256
of the cold answer's ``repr`` is printed, so two trees can be shown to give the same answer. ``--days 30 --visited``:
the API's month, with the per-day "visited" counts its views ask right after the shares (``visited_days``).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import pstats
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from city import _site_view, add_scale_arguments, dataset

from ronde.coverage.period import PeriodCoverage
from ronde.coverage.query import CoverageCache, landlord_coverage
from ronde.coverage.visited import VisitedCache, visited_days
from ronde.store.sqlite import SqliteStore

LANDLORD = "paris-habitat"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scale_arguments(ap)
    ap.add_argument("--now", help="the requests' now (ISO 8601 with offset; default: the real clock)")
    ap.add_argument("--days", type=int, default=365, help="the period's length, ending on the data set's last day")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--moving", action="store_true", help="now moves 7 s a warm request")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--visited", action="store_true", help="the per-day visited counts too, as the API's views")
    args = ap.parse_args()
    ds = dataset(args.scale, args.years)
    registry, _ = _site_view(ds)
    store = SqliteStore(ds.sqlite_path)
    store.open()
    now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    first = ds.last - timedelta(days=args.days - 1)

    kept = VisitedCache()

    def request(cache: CoverageCache, at: datetime) -> tuple[float, object]:
        t0 = time.process_time()
        value: PeriodCoverage = landlord_coverage(
            store, registry, ds.calendar, first, ds.last, landlord=LANDLORD, now=at, cache=cache
        )
        if args.visited:
            days = visited_days(
                store, registry, ds.calendar, first, ds.last, landlord=LANDLORD, now=at, cache=kept, coverage=cache
            )
            took = (time.process_time() - t0) * 1000  # the answer's canonical form below is not timed
            return took, (value, sorted((d, sorted(c)) for d, c in days.items()))
        return (time.process_time() - t0) * 1000, value

    gc.disable()
    for _ in range(args.runs):
        cache, kept = CoverageCache(), VisitedCache()
        cold, value = request(cache, now)
        step = timedelta(seconds=7 if args.moving else 0)
        warm = [request(cache, now + step * (i + 1))[0] for i in range(5)]
        sha = hashlib.sha256(repr(value).encode()).hexdigest()[:12]
        print(f"cold {cold:.0f} ms, warm {', '.join(f'{w:.0f}' for w in warm)} ms CPU; answer {sha}", flush=True)
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        request(CoverageCache(), now)
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
    print(f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
