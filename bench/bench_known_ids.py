"""InfluxStore's duplicate look-up at a real team's pace (issue 17): ways of cutting it into statements, A/B.

``known_event_ids`` reads, per gateway, the points around each key's times (its first_seen and its ULID's time)
and filters the ids here. How those times are grouped into InfluxQL statements decides influxd's cost: one
statement per cluster of times less than ``KNOWN_IDS_GAP_MS`` apart means one statement per visit once a team's
visits are more than that apart (a real team's pace: 138 s in the simulator; a shared subscription hands each of
k workers every k-th visit). This bench stores visits of 40 gateways at ``--spacing-s`` (every other one, as the
other worker of two would), then looks up batches of the missing ones (as a worker does before it writes: fresh ids,
absent, whose neighbours are stored), each way in turn within the same run (A/B alternating, ``--rounds``), and
prints per looked-up key the CPU of this process (the worker's side: building statements, parsing answers) and
of influxd (from /proc/<pid>/stat), with the number of statements. Every way must give the same answer as the
first (``MISMATCH`` otherwise), on batches that also hold stored ids.

Also printed: the SQLite store's look-up of the same batches (worker side only: it runs in the process).

Ways: ``gap=<s>``: one statement per gateway and cluster of times cut where two are more than <s> seconds apart
(60 was the store's value before issue 17's fix); ``regex=<s>``: one statement per cluster over all the batch's
gateways (``gateway =~ /^(a|b|…)$/``), clusters cut as for ``gap``.

Usage: ``.venv/bin/python bench/bench_known_ids.py [--spacing-s 138] [--per-gateway 500] [--batch 1000]
[--rounds 3] [--ways gap=60,gap=1800,regex=1800] [--stride 2]``. Figures: docs/scaling.md, docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ronde.gateway.ulid import encode_ulid  # noqa: E402
from ronde.store import influx, schema  # noqa: E402
from ronde.store.influx import InfluxStore  # noqa: E402
from ronde.store.influx_http import quote_ident  # noqa: E402
from ronde.store.records import EventKey, StoredVisit, WriteBatch  # noqa: E402
from ronde.store.sqlite import SqliteStore  # noqa: E402
from tests.store import factories  # noqa: E402
from tests.support.services import Influxd, run_influxd  # noqa: E402

GATEWAYS = [f"gw-bench-{i:02d}" for i in range(40)]


def influxd_cpu_s(server: Influxd) -> float:
    assert server.process is not None
    fields = Path(f"/proc/{server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_visits(per_gateway: int, spacing_s: float, end: datetime) -> list[StoredVisit]:
    """Round-robin over the gateways, in time order: a gateway's visits ``spacing_s`` apart, its id's ULID time
    40 s after its first_seen (the visit closes), as a gateway makes it."""
    out = []
    base = factories.visit(0)
    for k in range(per_gateway):
        for g, gw in enumerate(GATEWAYS):
            first = end - timedelta(seconds=spacing_s * (per_gateway - k) - g * 0.7)
            ms = schema.to_ms(first) + 40_000
            eid = encode_ulid((ms << 80) | (g << 40) | k)
            out.append(replace(base, event_id=eid, gateway_id=gw, seq=k + 1, first_seen=first))
    return out


def regex_known_ids(store: InfluxStore, keys: Collection[EventKey], *, by_id: bool) -> set[str]:
    """One statement per cluster of the batch's times, over all its gateways by a regex; filtered here."""
    wanted = {k.event_id for k in keys}
    gateways = {k.gateway_id for k in keys}
    seen: list[int] = []
    for k in keys:
        seen.append(schema.to_ms(k.first_seen))
        ns = schema.visit_id_ns(k.event_id) if by_id else None
        if ns is not None:
            seen.append(ns // schema.NS_PER_MS)
    pattern = "|".join(re.escape(g) for g in sorted(gateways))
    sources = quote_ident(schema.VISIT.name) + f",{quote_ident(schema.VISIT_ID.name)}"
    statements = [
        f"SELECT {quote_ident('event_id')} FROM {sources} WHERE {quote_ident('gateway')} =~ /^({pattern})$/ "
        f"AND time >= {lo * schema.NS_PER_MS} AND time < {(hi + 1) * schema.NS_PER_MS}"
        for lo, hi in influx._ms_clusters(seen)
    ]
    found: set[str] = set()
    for i in range(0, len(statements), 50):
        for rows in store._ql.query(statements[i : i + 50], rp=schema.VISIT.retention.value):
            found.update(e for r in rows if (e := str(r["event_id"])) in wanted)
    return found


def statements_of(way: str, keys: Collection[EventKey]) -> int:
    kind, gap_s = way.split("=")
    influx.KNOWN_IDS_GAP_MS = int(float(gap_s) * 1000)
    times: dict[str, list[int]] = {}
    for k in keys:
        bucket = times.setdefault(k.gateway_id if kind == "gap" else "*", [])
        bucket.append(schema.to_ms(k.first_seen))
        ns = schema.visit_id_ns(k.event_id)
        if ns is not None:
            bucket.append(ns // schema.NS_PER_MS)
    return sum(len(influx._ms_clusters(t)) for t in times.values())


def look_up(store: InfluxStore, way: str, keys: list[EventKey]) -> set[str]:
    kind, gap_s = way.split("=")
    influx.KNOWN_IDS_GAP_MS = int(float(gap_s) * 1000)
    if kind == "regex":
        return regex_known_ids(store, keys, by_id=True)
    return store.known_event_ids(keys)


def sqlite_us_per_key(others: list[StoredVisit], batches: list[list[StoredVisit]], rounds: int) -> float:
    """The embedded store's look-up of the same batches: ``event_id IN (…)`` on its primary key, 500 ids a
    statement, whatever the visits' pace (docs/scaling.md, "SQLite as the store")."""
    with tempfile.TemporaryDirectory(prefix="ronde-known-ids-") as tmp:
        store = SqliteStore(Path(tmp) / "ronde.db")
        store.open()
        store.write(WriteBatch(visits=tuple(others)))
        cpu, looked = 0.0, 0
        for _ in range(rounds):
            for batch in batches:
                keys = [v.key for v in batch]
                c0 = time.process_time()
                if store.known_event_ids(keys):
                    print("MISMATCH: sqlite found ids that were never stored")
                cpu += time.process_time() - c0
                looked += len(keys)
        store.close()
    return cpu / looked * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spacing-s", type=float, default=138.0)
    p.add_argument("--per-gateway", type=int, default=500)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--stride", type=int, default=2, help="the worker's share: every stride-th visit of each gateway")
    p.add_argument("--ways", default="gap=60,gap=1800,regex=1800")
    a = p.parse_args()
    ways = a.ways.split(",")
    original_gap = influx.KNOWN_IDS_GAP_MS
    visits = make_visits(a.per_gateway, a.spacing_s, factories.BASE)
    n = len(GATEWAYS)  # visits[i] is gateway i % n's (i // n)-th: a worker gets every stride-th of each gateway
    others = [v for i, v in enumerate(visits) if (i // n + i % n) % a.stride != 0]  # what the other workers stored
    mine = [v for i, v in enumerate(visits) if (i // n + i % n) % a.stride == 0]
    batches = [mine[i : i + a.batch] for i in range(0, len(mine), a.batch)]
    print(
        f"{len(visits)} visits of {len(GATEWAYS)} gateways {a.spacing_s:g} s apart, {len(others)} stored; "
        f"{len(batches)} batches of {a.batch} keys (every {a.stride}th visit of each gateway), {a.rounds} rounds, "
        f"load {Path('/proc/loadavg').read_text().split()[:3]}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    totals = {w: [0.0, 0.0, 0, 0] for w in ways}  # worker s, influxd s, keys, statements
    with run_influxd() as server:
        store = InfluxStore(server.url, database="known_ids", timeout_s=60, retry_budget_s=60)
        store.open()
        influx.KNOWN_IDS_GAP_MS = original_gap
        for i in range(0, len(others), 5000):
            store.write(WriteBatch(visits=tuple(others[i : i + 5000])))
        # a batch also holding stored ids (a redelivery), to check every way's answer
        check = [v.key for v in batches[0][: a.batch // 2]] + [v.key for v in others[: a.batch // 2]]
        answers = {w: look_up(store, w, check) for w in ways}
        for w in ways:
            if answers[w] != {v.event_id for v in others[: a.batch // 2]}:
                print(f"MISMATCH: {w} found {len(answers[w])} ids, {a.batch // 2} expected")
        for _ in range(a.rounds):
            for w in ways:
                for batch in batches:
                    keys = [v.key for v in batch]
                    c0, i0 = time.process_time(), influxd_cpu_s(server)
                    found = look_up(store, w, keys)
                    totals[w][0] += time.process_time() - c0
                    totals[w][1] += influxd_cpu_s(server) - i0
                    totals[w][2] += len(keys)
                    totals[w][3] += statements_of(w, keys)
                    if found:
                        print(f"MISMATCH: {w} found {len(found)} ids that were never stored")
        store.close()
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
    print(f"way            statements/batch   worker µs/key   influxd µs/key   (resolution {tick_us:.0f} µs/batch)")
    for w, (cpu, icpu, looked, st) in totals.items():
        per_batch = st / (looked / a.batch)
        print(f"{w:<14} {per_batch:>16.0f} {cpu / looked * 1e6:>15.1f} {icpu / looked * 1e6:>16.1f}")
    print(f"sqlite         {-(-a.batch // 500):>16} {sqlite_us_per_key(others, batches, a.rounds):>15.1f}")
    print(f"load {Path('/proc/loadavg').read_text().split()[:3]}, {datetime.now(UTC):%H:%M} UTC")


if __name__ == "__main__":
    main()
