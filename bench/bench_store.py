"""Store write throughput, the way ingest uses it: per batch, a dedupe lookup
(``known_event_ids``) then one durable ``write``. Prints events/s for SQLite and for a real
InfluxDB (Debian's influxd started on a free port, or ``--influx-url``), plus the raw
line-protocol ``/write`` speed of the same InfluxDB as the ceiling, and the ratio.

    .venv/bin/python bench/bench_store.py [--events 50000] [--batch 500] [--influx-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ronde.store.config import open_store
from ronde.store.lineprotocol import join_lines
from ronde.store.port import Store
from ronde.store.records import BeaconCheck, StoredVisit, Verification, WriteBatch
from ronde.store.schema import visit_line


def make_visits(n: int) -> list[StoredVisit]:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    out = []
    for i in range(n):
        first = base + timedelta(milliseconds=37 * i)
        cp = (i * 7) % 82  # a checkpoint fixes its building, estate and landlord (the series stay realistic)
        out.append(
            StoredVisit(
                event_id=f"{uuid.UUID(int=i).hex[-26:].upper()}",
                gateway_id=f"gw-{i % 8}",
                seq=i // 8 + 1,
                badge=f"team-{i % 8}",
                checkpoint_id=f"cp-{cp}",
                kind="stairwell_hall",
                building=f"b-{cp % 20}",
                estate="mordacs",
                landlord=f"ll-{cp % 6}",
                service_day=first.date(),
                first_seen=first,
                last_seen=first + timedelta(seconds=30),
                count=12,
                rssi_max=-60,
                rssi_mean=-70.5,
                verification=Verification.SIGNED,
                beacon_check=BeaconCheck.STATIC,
                received_at=first + timedelta(seconds=31),
                payload_sha256=hashlib.sha256(str(i).encode()).hexdigest(),
            )
        )
    return out


def run_ingest_pattern(store: Store, visits: list[StoredVisit], batch: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(visits), batch):
        chunk = visits[i : i + batch]
        known = store.known_event_ids([v.key for v in chunk])
        store.write(WriteBatch(visits=tuple(v for v in chunk if v.event_id not in known)))
    return len(visits) / (time.perf_counter() - start)


def raw_ceiling(url: str, visits: list[StoredVisit], batch: int) -> float:
    db = f"ceiling_{uuid.uuid4().hex[:8]}"
    bodies = [join_lines(visit_line(v) for v in visits[i : i + batch]) for i in range(0, len(visits), batch)]
    with httpx.Client(base_url=url, timeout=30) as http:
        http.post("/query", data={"q": f'CREATE DATABASE "{db}"'})
        start = time.perf_counter()
        for body in bodies:
            http.post("/write", params={"db": db, "precision": "ns"}, content=body).raise_for_status()
        rate = len(visits) / (time.perf_counter() - start)
        http.post("/query", data={"q": f'DROP DATABASE "{db}"'})
    return rate


@contextlib.contextmanager
def influx_url(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    from tests.support.services import run_influxd

    with run_influxd() as server:
        yield server.url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--influx-url")
    args = parser.parse_args()
    visits = make_visits(args.events)
    t0 = time.perf_counter()
    for v in visits[:5000]:
        visit_line(v)
    print(f"line-protocol encoding: {5000 / (time.perf_counter() - t0):,.0f} visits/s (one core)")
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite://{tmp}/bench.db")
        print(
            f"SQLite   (dedupe + write, batch {args.batch}): {run_ingest_pattern(store, visits, args.batch):,.0f}"
            " events/s"
        )
        store.close()
    with influx_url(args.influx_url) as url:
        store = open_store(url, database=f"bench_{uuid.uuid4().hex[:8]}")
        rate = run_ingest_pattern(store, visits, args.batch)
        replay = run_ingest_pattern(store, visits[: args.events // 5], args.batch)
        server = getattr(store, "server", None)
        store.close()
        ceiling = raw_ceiling(url, visits, args.batch)
        print(
            f"InfluxDB {server.version if server else '?'} (dedupe + write, batch {args.batch}): {rate:,.0f} events/s"
            f"; replay of already stored events: {replay:,.0f} events/s"
        )
        print(
            f"InfluxDB raw line-protocol /write ceiling: {ceiling:,.0f} points/s; store/ceiling = {rate / ceiling:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
