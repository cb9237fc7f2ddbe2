"""The supervision page after a flood of refused messages (issue 11, item 19).

    .venv/bin/python bench/bench_supervision.py [--rejections 50000] [--repeat 20] [--readers 4] [--influx-url URL]

Writes ``--rejections`` rejections spread over the last 24 hours (five reasons, eight gateways)
into SQLite and into a real InfluxDB (Debian's influxd started on a free port, or ``--influx-url``),
then times full ``GET /ui/supervision`` requests through the ASGI app with a supervisor token,
alone and with ``--readers`` concurrent readers, printing p50/p95 per engine for:

- ``limited``: what the page does now: the newest 50 rows taken by the store's query
  (``ORDER BY … DESC LIMIT 50``) and the counts per reason by an aggregate (``COUNT … GROUP BY``);
- ``unlimited``: the anchor, the old read: every rejection of the 24 hours loaded, the newest 50
  kept by the page (no counts shown).

Both run the same page code; the anchor only swaps the store's ``rejections`` for the full read.

Two runs, 2026-12-05, this project's 2-vCPU VM shared with other test runs (load average 5 on 2
CPUs: absolute times are inflated, the ratios are the point); Debian influxd 1.6.7; 50,000
rejections, 20 requests alone, 4 concurrent readers; ms:

    engine    read                           p50          p95          concurrent p50   concurrent p95
    SQLite    unlimited (old read, anchor)   1,117 / 368  1,767 / 449  2,241 / 1,524    3,361 / 1,940
    SQLite    limited (LIMIT 50 + COUNT)        20 / 22      23 / 24      78 / 62        115 / 101
    InfluxDB  unlimited (old read, anchor)     967 / 949  1,299 / 1,179  2,372 / 4,274  3,663 / 6,903
    InfluxDB  limited (LIMIT 50 + COUNT)        28 / 28      37 / 53      94 / 207       124 / 319
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ronde.api import ApiSettings, Principal, Role, TokenBook, create_app
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import load_default_estate
from ronde.store.config import open_store
from ronde.store.port import Store
from ronde.store.records import Rejection, RejectReason, WriteBatch

TOKEN = "bench-supervisor"
REASONS = (
    RejectReason.SCHEMA,
    RejectReason.SIGNATURE_INVALID,
    RejectReason.UNKNOWN_BEACON,
    RejectReason.CLOCK_FUTURE,
    RejectReason.EID_REPLAY,
)


class UnlimitedRejections:
    """The anchor: the store as the page used to read it, every rejection of the window at once."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def rejections(
        self, start: datetime, end: datetime, *, limit: int | None = None, newest_first: bool = False
    ) -> list[Rejection]:
        rows = self._inner.rejections(start, end)  # all of them, oldest first, as before
        newest = rows[::-1] if newest_first else rows
        return newest if limit is None else newest[:limit]

    def rejection_counts(self, start: datetime, end: datetime) -> dict[RejectReason, int]:
        return {}  # the old page showed no counts


def flood(n: int, now: datetime) -> list[Rejection]:
    step = timedelta(hours=23) / n
    return [
        Rejection(
            at=now - timedelta(hours=23) + i * step,
            reason=REASONS[i % len(REASONS)],
            detail=f"refused message {i}",
            topic=f"ronde/v1/gw/gw-{i % 8}/visit",
            gateway_id=f"gw-{i % 8}",
            payload_sha256=f"{i:064x}",
        )
        for i in range(n)
    ]


def percentiles(ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    return statistics.median(ms), ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]


def measure(store: Any, now: datetime, repeat: int, readers: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """(p50, p95) ms of one reader alone, then of every request made by ``readers`` at once."""
    tokens = TokenBook.from_tokens({TOKEN: Principal("bench", Role.SUPERVISOR)})
    app = create_app(
        ApiSettings(access_log=None), store, load_default_estate(), ServiceCalendar(), tokens=tokens, clock=lambda: now
    )
    headers = {"Authorization": f"Bearer {TOKEN}"}

    def one(client: TestClient) -> float:
        t0 = time.perf_counter()
        r = client.get("/ui/supervision", headers=headers)
        if r.status_code != 200:
            raise SystemExit(f"/ui/supervision: {r.status_code} {r.text[:300]}")
        return (time.perf_counter() - t0) * 1000

    with TestClient(app) as client:
        one(client)  # warm-up
        alone = [one(client) for _ in range(repeat)]
        together: list[float] = []
        lock = threading.Lock()

        def reader() -> None:
            with TestClient(app) as own:
                times = [one(own) for _ in range(max(2, repeat // 2))]
            with lock:
                together.extend(times)

        threads = [threading.Thread(target=reader) for _ in range(readers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return percentiles(alone), percentiles(together)


@contextlib.contextmanager
def influx_url(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    from tests.support.services import run_influxd

    with run_influxd() as server:
        yield server.url


def run(
    label: str,
    opened: Callable[[], Store],
    rows: list[Rejection],
    now: datetime,
    args: argparse.Namespace,
    out: list[str],
) -> None:
    store = opened()
    try:
        t0 = time.perf_counter()
        for i in range(0, len(rows), 5000):
            store.write(WriteBatch(rejections=tuple(rows[i : i + 5000])))
        written_s = time.perf_counter() - t0
        window = (now - timedelta(hours=24), now + timedelta(seconds=1))
        assert len(store.rejections(*window, limit=50, newest_first=True)) == 50
        assert sum(store.rejection_counts(*window).values()) == len(rows), "not every rejection was stored"
        for name, s in (
            ("unlimited (old read, anchor)", UnlimitedRejections(store)),
            ("limited (LIMIT 50 + COUNT)", store),
        ):
            (a50, a95), (c50, c95) = measure(s, now, args.repeat, args.readers)
            out.append(f"{label:<9} {name:<30} {a50:>9.1f} {a95:>9.1f} {c50:>12.1f} {c95:>12.1f}")
        print(f"{label}: {len(rows):,} rejections written in {written_s:.1f} s", flush=True)
    finally:
        store.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rejections", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--readers", type=int, default=4)
    ap.add_argument("--influx-url")
    args = ap.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    rows = flood(args.rejections, now)
    out: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite", lambda: open_store(f"sqlite://{tmp}/bench.db"), rows, now, args, out)
    with influx_url(args.influx_url) as url:
        run("InfluxDB", lambda: open_store(url, database=f"bench_{uuid.uuid4().hex[:8]}"), rows, now, args, out)
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; GET /ui/supervision, "
        f"{args.rejections:,} rejections in the last 24 h, {args.repeat} requests alone, "
        f"{args.readers} concurrent readers"
    )
    print(f"{'engine':<9} {'read':<30} {'p50 ms':>9} {'p95 ms':>9} {'conc. p50':>12} {'conc. p95':>12}")
    for line in out:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
