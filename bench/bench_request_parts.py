"""Two parts of a landlord's cold year on a preset's SQLite set, each beside the way it was done before, in one process.

    .venv/bin/python bench/bench_request_parts.py [--scale city] [--years 1] [--now ISO] [--rounds 15]

Why: this VM's speed moves by a third from one minute to the next (``api_uvicorn.machine_reference_ms``), more than
either change saves on a whole request, so a request timed before and after cannot show it. Here each part is
timed against its anchor alternately, ``--rounds`` times, on the same data and in the same process:

- **marks**: the three mark reads of a request (``Store.rollup_marks`` over its open tail, its answer's stamp and
  the rollup checks: 15, 43 and 60 days back from the set's last day) counted by SQLite each time (the anchor,
  ``rollup_fingerprints``), then through a reader's kept marks (``ronde.store.sqlite_marks``) on a fresh
  connection (a cold request's), then again on it (a warm one's, nothing committed since);
- **tail join**: the open tail of a cold year folded from figures then joined to the settled part by
  ``combine_periods`` (the anchor), then in one pass (``figures_period_coverage(before=...)``), with the arguments
  the request made; the two answers compared (``==``) each round;
- **group days**: a cold year (a fresh ``CoverageCache``) with its landlord's per-day shares read, as its response
  reads them, then every group's (``shares.LazyDays``: what each cold year made before).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_uvicorn import machine_reference_ms
from city import _site_view, add_scale_arguments, dataset

from ronde.coverage import compute, figures_period, query
from ronde.coverage.period import PeriodCoverage, combine_periods
from ronde.coverage.shares import Level, days_tuple
from ronde.store.port import StoreAccess
from ronde.store.sqlite import SqliteStore

LANDLORD = "paris-habitat"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scale_arguments(ap)
    ap.add_argument("--now", help="the request's clock (ISO 8601 with offset; default 13:00 UTC on the set's last day)")
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    ds = dataset(args.scale, args.years, stores=("sqlite",))
    now = datetime.fromisoformat(args.now) if args.now else datetime.combine(ds.last, clock_time(13), tzinfo=UTC)
    print(f"machine reference {machine_reference_ms():.0f} ms CPU; load {_load()}")
    gc.disable()
    marks(ds.sqlite_path, ds.last, args.rounds)
    tail_join(ds, now, args.rounds)
    group_days(ds, now, args.rounds)
    print(f"machine reference {machine_reference_ms():.0f} ms CPU; load {_load()}")
    return 0


def marks(path: Path, last: Any, rounds: int) -> None:
    calls = [(last - timedelta(days=14), last), (last - timedelta(days=28), last + timedelta(days=14))]
    calls.append((last - timedelta(days=59), last))
    counted: list[float] = []
    first: list[float] = []
    again: list[float] = []
    for _ in range(rounds):
        store = SqliteStore(path, access=StoreAccess.READ)
        store.open()
        try:
            t = time.process_time()
            anchor = [store.rollup_fingerprints(a, b, landlord=LANDLORD) for a, b in calls]
            counted.append(time.process_time() - t)
            t = time.process_time()
            got = [store.rollup_marks(a, b, landlord=LANDLORD) for a, b in calls]
            first.append(time.process_time() - t)
            t = time.process_time()
            kept = [store.rollup_marks(a, b, landlord=LANDLORD) for a, b in calls]
            again.append(time.process_time() - t)
            if not anchor == got == kept:
                raise SystemExit("marks: kept marks differ from counted ones")
        finally:
            store.close()
    print(
        f"marks, a request's three reads (15, 43 and 60 days, {LANDLORD}), {rounds} rounds: counted each time "
        f"{_ms(counted)}; kept per connection: first request {_ms(first)}, next ones {_ms(again)}"
    )


def _opened(ds: Any) -> tuple[Any, Any, SqliteStore]:
    """The set's registry, calendars and a reader of its SQLite store, as the API opens it."""
    registry, calendar = _site_view(ds)
    store = SqliteStore(ds.sqlite_path, access=StoreAccess.READ)
    store.open()
    return registry, calendar, store


def tail_join(ds: Any, now: datetime, rounds: int) -> None:
    registry, calendar, store = _opened(ds)
    made: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    real = figures_period.figures_period_coverage

    def recording(*a: Any, **k: Any) -> PeriodCoverage:
        made.append((a, dict(k)))
        return real(*a, **k)

    setattr(compute, "figures_period_coverage", recording)  # noqa: B010 - the request's own call, recorded
    try:
        first = ds.last - timedelta(days=364)
        query.landlord_coverage(
            store, registry, calendar, first, ds.last, landlord=LANDLORD, now=now, cache=query.CoverageCache()
        )
    finally:
        setattr(compute, "figures_period_coverage", real)  # noqa: B010
    a, k = made[-1]
    before = k.pop("before")
    if before is None:
        raise SystemExit("tail join: the request made no settled part (a year ending on a month's first days?)")
    anchor: list[float] = []
    joined: list[float] = []
    for _ in range(rounds):
        t = time.process_time()
        whole = combine_periods([before, real(*a, **k)])
        anchor.append(time.process_time() - t)
        t = time.process_time()
        one = real(*a, **k, before=before)
        joined.append(time.process_time() - t)
        if one != whole:
            raise SystemExit("tail join: the one-pass answer differs from combine_periods'")
    store.close()
    print(
        f"tail join, {len(before.checkpoints):,} checkpoints, {len(k['figures']):,} figures, {rounds} rounds: "
        f"folded then combine_periods {_ms(anchor)}; in one pass {_ms(joined)}"
    )


def group_days(ds: Any, now: datetime, rounds: int) -> None:
    registry, calendar, store = _opened(ds)
    first = ds.last - timedelta(days=364)
    own: list[float] = []
    every: list[float] = []
    groups = 0
    for _ in range(rounds):
        t = time.process_time()
        cov = query.landlord_coverage(
            store, registry, calendar, first, ds.last, landlord=LANDLORD, now=now, cache=query.CoverageCache()
        )
        for g in cov.groups:
            if g.level is Level.LANDLORD:
                days_tuple(g.days)
        own.append(time.process_time() - t)
        groups = sum(len(days_tuple(g.days)) for g in cov.groups)
        every.append(time.process_time() - t)
    store.close()
    print(
        f"group days, a cold year, {rounds} rounds: with its landlord's days read {_ms(own)}; then every group's "
        f"({groups:,} days in all) {_ms(every)}"
    )


def _ms(seconds: list[float]) -> str:
    return f"median {statistics.median(seconds) * 1000:.1f} ms (min {min(seconds) * 1000:.1f})"


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    raise SystemExit(main())
