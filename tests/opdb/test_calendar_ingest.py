"""End to end through a real ``ronde ingest run`` process (real Mosquitto, SQLite and PostgreSQL operational
databases): ``ronde calendar close DATE --estate mordacs`` while the worker runs makes that estate's visits out of
service (refused, with their reason recorded) while the other estate's keep being stored; ``reopen`` undoes it.
The worker follows the change by itself (the registry version row), without SIGHUP nor restart."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ronde.cli import main
from ronde.opdb.engine import make_engine
from ronde.opdb.registry_repo import RegistryRepository
from ronde.store.records import RejectReason
from ronde.store.sqlite import SqliteStore
from tests.ingest.broker import Publisher
from tests.ingest.helpers import GW, encode, static_checkpoints, topic, visit, wait_for
from tests.opdb.conftest import SECRET_KEY
from tests.opdb.test_ingest_processes import _first_seen, _Proc, site  # noqa: F401 - ``site`` is a fixture
from tests.support.services import run_mosquitto

pytestmark = pytest.mark.slow

FOLLOW_WITHIN_S = 5.0


def test_an_estate_closed_day_is_followed_by_a_running_worker(
    site: tuple[str, Path],  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db_url, store_path = site
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "RONDE_OPDB_SECRET_KEY": SECRET_KEY}
    env.pop("RONDE_DATABASE_URL", None)
    repo = RegistryRepository(make_engine(db_url))
    mordacs = next(c for c in static_checkpoints() if c.estate == "mordacs")
    bois = next(c for c in static_checkpoints() if c.estate == "bois-labbe")
    window = (datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1))
    store = SqliteStore(store_path)
    seq = iter(range(1, 10_000))
    sent: dict[str, str] = {}  # event id -> payload SHA-256

    with run_mosquitto() as broker:
        worker = _Proc(
            "cal",
            [
                "ingest", "run", "--name", "cal", "--broker-port", str(broker.port), "--store", f"sqlite://{store_path}",
                "--database", db_url, "--batch-window-ms", "20", "--registry-poll-s", "0.5", "--no-maintenance",
            ],
            tmp_path / "cal.log",
            env,
        )  # fmt: skip
        pub = Publisher(broker.port, GW)

        def send(checkpoint_estate: str) -> str:
            cp = mordacs if checkpoint_estate == "mordacs" else bois
            v = visit(next(seq), checkpoint=cp, first_seen=_first_seen())
            payload = encode(v)
            pub.publish(topic(GW), payload)
            sent[v["id"]] = hashlib.sha256(payload).hexdigest()
            return str(v["id"])

        def stored(event_id: str) -> bool:
            return any(v.event_id == event_id for v in store.visits(*window))

        def out_of_service(event_id: str) -> bool:
            return any(
                r.payload_sha256 == sent[event_id] and r.reason is RejectReason.OUT_OF_SERVICE
                for r in store.rejections(*window, limit=100_000)
            )

        def calendar(*argv: str) -> str:
            code = main(["calendar", *argv, "--database", db_url])
            out, err = capsys.readouterr()
            assert code == 0, err
            return out

        try:
            assert wait_for(lambda: "subscribed:" in worker.text(), 30), worker.text()[-3000:]
            store.open()
            first = [send("mordacs"), send("bois-labbe")]
            assert wait_for(lambda: all(stored(i) for i in first), 20), worker.text()[-3000:]

            today = _first_seen().date().isoformat()  # DAY_LONG is a UTC calendar
            assert "closed" in calendar("close", today, "--estate", "mordacs")
            line = f"registry version {repo.version()} in force"
            assert wait_for(lambda: line in worker.text(), FOLLOW_WITHIN_S, 0.05), worker.text()[-3000:]
            closed, still_open = send("mordacs"), send("bois-labbe")
            assert wait_for(lambda: out_of_service(closed) and stored(still_open), 20), worker.text()[-3000:]
            assert not stored(closed)
            detail = next(
                r.detail for r in store.rejections(*window, limit=100_000) if r.payload_sha256 == sent[closed]
            )
            assert "mordacs" in detail

            calendar("reopen", today, "--estate", "mordacs")
            line = f"registry version {repo.version()} in force"
            assert wait_for(lambda: line in worker.text(), FOLLOW_WITHIN_S, 0.05), worker.text()[-3000:]
            again = send("mordacs")
            assert wait_for(lambda: stored(again), 20), worker.text()[-3000:]
        finally:
            pub.close()
            code = worker.stop()
            store.close()
            repo.engine.dispose()
        assert code == 0, worker.text()[-3000:]
