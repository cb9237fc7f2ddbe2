"""The registry read cost of an ingest worker on the operational database, per ingest batch (issue 13).

A worker in database mode reads the ``registry_state.version`` row every ``registry_poll_s`` (2 s) and reads the
whole reference (registry with EID keys opened, gateways, calendar) only when it moved. This prints, for SQLite
(a WAL file, as the demo and small sites) and PostgreSQL (a private cluster started here, on loopback):

- one poll (``DbReference.version()``): wall time and this process's CPU, mean / p50 / p99;
- one reload after a change (``DbReference.load()``: the 82-checkpoint sample estate with its EID keys opened,
  40 gateways, the calendar) and the context rebuild;
- side by side, the anchor: one batch of 1,000 signed visits through the worker's own steps in this process
  (validation, duplicate look-up, durable write to a SQLite store), and the benchmark's batch rate
  (``bench/bench_ingest.py``: 1 worker, 5,629 events/s at batch 1,000, docs/ingest.md);
- the poll's share: polls per batch at that rate, its cost per batch and its share of the worker's time
  (poll CPU / poll interval), and the worst case of one poll per batch.

Usage: ``.venv/bin/python bench/bench_registry_follow.py [--polls 3000] [--poll-s 2] [--events-per-s 5629]``.
Target (issue 13): the version poll must not lower the ingest benchmark by more than 5 %.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from ronde.ingest.config import IngestConfig  # noqa: E402
from ronde.ingest.consumer import build_context, build_processor  # noqa: E402
from ronde.ingest.pipeline import Incoming  # noqa: E402
from ronde.ingest.registry_follow import DbReference  # noqa: E402
from ronde.opdb.engine import make_engine, session_factory  # noqa: E402
from ronde.opdb.migrate import upgrade  # noqa: E402
from ronde.opdb.registry_io import import_records  # noqa: E402
from ronde.opdb.sealing import SecretBox  # noqa: E402
from ronde.opdb.service_repo import put_calendar  # noqa: E402
from ronde.protocol.calendar import ServiceCalendar  # noqa: E402
from ronde.protocol.estate import EstateDocument, load_default_estate  # noqa: E402
from ronde.protocol.gateways import GatewayRegistry, gateway_entry  # noqa: E402
from ronde.protocol.registry_data import registry_to_data  # noqa: E402
from ronde.protocol.signing import public_key_text  # noqa: E402
from ronde.store.sqlite import SqliteStore  # noqa: E402
from tests.ingest.helpers import encode, topic, visit  # noqa: E402
from tests.support.postgres import run_postgres  # noqa: E402

GATEWAYS = 40
DAY_LONG = ServiceCalendar(days=frozenset(range(7)), start=clock_time(0, 0), end=clock_time(23, 59), timezone="UTC")
REGISTRY = load_default_estate()
KEYS = {f"gw-bench-{i:02d}": Ed25519PrivateKey.generate() for i in range(GATEWAYS)}
ENROLLED = GatewayRegistry.of(*(gateway_entry(g, public_key_text(k)) for g, k in KEYS.items()))


def _fill(url: str, box: SecretBox) -> None:
    engine = make_engine(url)
    upgrade(engine)
    import_records(
        engine,
        box,
        estate=EstateDocument.model_validate(registry_to_data(REGISTRY, secrets=True)),
        gateways=ENROLLED,
        author="bench",
    )
    with session_factory(engine).begin() as s:
        put_calendar(s, DAY_LONG)
    engine.dispose()


def _timed(fn: Callable[[], object], n: int) -> tuple[list[float], float]:
    """Wall time of each call (s) and this process's CPU per call (s)."""
    walls = []
    cpu0 = time.process_time()
    for _ in range(n):
        t = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t)
    return walls, (time.process_time() - cpu0) / n


def _pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def measure_engine(url: str, box: SecretBox, polls: int) -> dict[str, float]:
    engine = make_engine(url)
    ref = DbReference(engine, box)
    config = IngestConfig()
    try:
        _timed(ref.version, 100)  # warm the pool and the statement cache
        walls, cpu = _timed(ref.version, polls)
        loads, load_cpu = _timed(ref.load, 20)
        reference = ref.load()
        rebuilds, _ = _timed(
            lambda: build_context(config, reference.registry, reference.calendar, reference.gateways), 20
        )
    finally:
        engine.dispose()
    return {
        "poll_mean": statistics.fmean(walls),
        "poll_p50": _pct(walls, 0.5),
        "poll_p99": _pct(walls, 0.99),
        "poll_cpu": cpu,
        "load_mean": statistics.fmean(loads),
        "load_cpu": load_cpu,
        "rebuild_mean": statistics.fmean(rebuilds),
    }


def _first_seen() -> datetime:
    t = datetime.now(UTC) - timedelta(seconds=60)
    return t - timedelta(minutes=3) if t.time() >= clock_time(23, 58) else t


def measure_batch(tmp: Path, batch: int, rounds: int) -> tuple[float, float]:
    """One batch of ``batch`` signed visits through validation, duplicate look-up and a durable SQLite write:
    mean wall and CPU seconds per batch."""
    store = SqliteStore(tmp / "store.db")
    store.open()
    processor = build_processor(IngestConfig(), store, REGISTRY, DAY_LONG, ENROLLED)
    gateways = list(KEYS)
    seq = 0
    walls, cpus = [], []
    try:
        for r in range(rounds + 1):
            messages = []
            for i in range(batch):
                seq += 1
                gw = gateways[i % GATEWAYS]
                payload = encode(visit(seq, gateway=gw, key=KEYS[gw], first_seen=_first_seen()))
                messages.append(Incoming(topic(gw), payload, datetime.now(UTC), i, 1, 1))
            t, c = time.perf_counter(), time.process_time()
            outcome = processor.process(messages)
            store.write(outcome.batch)
            if r:  # the first round warms caches
                walls.append(time.perf_counter() - t)
                cpus.append(time.process_time() - c)
            assert len(outcome.batch.visits) == batch, outcome.batch.rejections[:3]
    finally:
        store.close()
    return statistics.fmean(walls), statistics.fmean(cpus)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--polls", type=int, default=3000)
    p.add_argument("--poll-s", type=float, default=2.0, help="registry_poll_s (default 2)")
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument(
        "--events-per-s",
        type=float,
        default=5629.0,
        help="the ingest benchmark's rate for one worker (docs/ingest.md, 2026-11-26: 5,629)",
    )
    p.add_argument("--rounds", type=int, default=5, help="batches timed for the anchor")
    args = p.parse_args(argv)
    box = SecretBox(os.urandom(32))
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="ronde-bench-follow-") as tmp_name:
        tmp = Path(tmp_name)
        sqlite_url = f"sqlite:///{tmp / 'opdb.db'}"
        _fill(sqlite_url, box)
        results["SQLite (WAL file)"] = measure_engine(sqlite_url, box, args.polls)
        with run_postgres() as cluster:
            pg_url = cluster.create_database("bench")
            _fill(pg_url, box)
            results["PostgreSQL (loopback)"] = measure_engine(pg_url, box, args.polls)
        batch_wall, batch_cpu = measure_batch(tmp, args.batch, args.rounds)
    load = os.getloadavg()
    interval = args.batch / args.events_per_s  # seconds between batches at the benchmark's rate
    per_batch = interval / args.poll_s  # polls per batch
    print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} · {os.cpu_count()} CPUs · "
        f"{args.polls} polls per engine · poll every {args.poll_s:g} s"
    )
    print(
        f"anchor: one batch of {args.batch} signed visits (validate, dedupe, durable SQLite write) in this process: "
        f"{batch_wall * 1e3:.1f} ms wall, {batch_cpu * 1e3:.1f} ms CPU"
    )
    print(
        f"        the ingest benchmark's rate: {args.events_per_s:,.0f} events/s = one batch every "
        f"{interval * 1e3:.0f} ms, i.e. {per_batch:.3f} polls per batch"
    )
    print()
    head = (
        f"{'engine':<24}{'poll µs mean':>13}{'p50':>8}{'p99':>8}{'CPU µs':>8}{'reload ms':>11}{'rebuild µs':>12}"
        f"{'µs/batch':>10}{'share':>10}{'1 poll/batch':>14}"
    )
    print(head)
    for name, r in results.items():
        cost_per_batch = r["poll_mean"] * per_batch
        share = r["poll_mean"] / args.poll_s  # of the worker's time, whatever the rate
        worst = r["poll_mean"] / batch_wall  # one poll per batch, against the measured batch
        print(
            f"{name:<24}{r['poll_mean'] * 1e6:>13.0f}{r['poll_p50'] * 1e6:>8.0f}{r['poll_p99'] * 1e6:>8.0f}"
            f"{r['poll_cpu'] * 1e6:>8.0f}{r['load_mean'] * 1e3:>11.1f}{r['rebuild_mean'] * 1e6:>12.0f}"
            f"{cost_per_batch * 1e6:>10.1f}{share:>10.4%}{worst:>14.3%}"
        )
    print()
    print(
        "µs/batch: the poll's wall time spread over the batches between two polls at the benchmark's rate; share: "
        "poll time / poll interval (the fraction of a worker's time, the most it can lower the benchmark); "
        "1 poll/batch: a poll per batch against the measured batch (a bound far above the real cost). A reload "
        "happens only when the registry changed."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
