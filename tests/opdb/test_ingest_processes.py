"""Two ``ronde ingest run`` processes on one operational database (SQLite and a real PostgreSQL), issue 13.

The workers share nothing but two URLs (the database, the store) and a real Mosquitto (its own: the shared one
holds other tests' durable sessions in the "ingest" share group), on the MQTT v5 shared subscription. A gateway
enrolled through the API (``ronde api serve``, a third process) is followed by both within 5 s, without SIGHUP or
a file; a revoked one is refused by both; a steady stream from an enrolled gateway meanwhile is stored exactly
once, every event id (nothing lost, nothing doubled).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import pytest

from ronde.cli import main
from ronde.opdb.access_repo import revoke_gateway
from ronde.opdb.engine import make_engine, session_factory
from ronde.opdb.registry_repo import RegistryRepository
from ronde.opdb.service_repo import put_calendar
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import default_estate_path
from ronde.protocol.gateways import GatewayRegistry, dump_gateways
from ronde.protocol.signing import public_key_text
from ronde.store.records import RejectReason
from ronde.store.sqlite import SqliteStore
from tests.ingest.broker import Publisher
from tests.ingest.helpers import GATEWAYS, GW, GW2, KEYS, encode, topic, visit, wait_for
from tests.opdb.conftest import SECRET_KEY
from tests.opdb.test_api_processes import write_tokens_file
from tests.support.services import free_port, run_mosquitto

pytestmark = pytest.mark.slow

# Every day from 00:00 to 23:59 UTC (the one calendar rule refuses end == start): visits are dated away from the gap
DAY_LONG = ServiceCalendar(days=frozenset(range(7)), start=clock_time(0, 0), end=clock_time(23, 59), timezone="UTC")
FOLLOW_WITHIN_S = 5.0


def _first_seen() -> datetime:
    t = datetime.now(UTC) - timedelta(seconds=30)
    return t - timedelta(minutes=3) if t.time() >= clock_time(23, 58) else t


def _call(port: int, method: str, path: str, body: Any = None) -> int:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": "Bearer tok-admin", **({"content-type": "application/json"} if data else {})}
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, ConnectionError):
        return 0  # not listening (yet)


class _Proc:
    def __init__(self, name: str, args: list[str], log: Path, env: dict[str, str]) -> None:
        self.name, self.log = name, log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ronde.cli", *args], stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def counters(self) -> dict[str, Any]:
        found = re.findall(r"counters: (\{.*\})", self.text())
        assert found, self.text()[-3000:]
        result: dict[str, Any] = json.loads(found[-1])
        return result


class _Stream(threading.Thread):
    """GW publishes a visit every 20 ms (QoS 1, each acknowledged by the broker) until stopped."""

    def __init__(self, port: int) -> None:
        super().__init__(name="steady-gw", daemon=True)
        self.pub = Publisher(port, GW)
        self.ids: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        seq = 0
        while not self.halt.wait(0.02):
            seq += 1
            v = visit(seq, first_seen=_first_seen())
            self.pub.publish(topic(GW), encode(v))
            self.ids.append(v["id"])
        self.pub.close()


@pytest.fixture
def site(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """The database as a site makes it: `ronde db upgrade`, `ronde registry import` (sample estate with its EID
    keys sealed, GW enrolled, the tokens), a calendar; and an empty store."""
    monkeypatch.setenv("RONDE_OPDB_SECRET_KEY", SECRET_KEY)
    gateways = tmp_path / "gateways.yaml"
    gateways.write_text(dump_gateways(GatewayRegistry.of(GATEWAYS.entries[GW])))
    assert main(["db", "upgrade", "--url", db_url]) == 0
    assert (
        main(
            [
                "registry",
                "import",
                "--url",
                db_url,
                "--estate",
                str(default_estate_path()),
                "--gateways",
                str(gateways),
                "--tokens",
                str(write_tokens_file(tmp_path / "tokens.yaml")),
            ]
        )
        == 0
    )
    gateways.unlink()  # nothing but the URLs from here on
    engine = make_engine(db_url)
    with session_factory(engine).begin() as s:
        put_calendar(s, DAY_LONG)
    engine.dispose()
    store = SqliteStore(tmp_path / "store.db")
    store.open()
    store.close()
    return db_url, tmp_path / "store.db"


def test_two_workers_follow_an_enrolment_and_a_revocation_through_the_api(
    site: tuple[str, Path], tmp_path: Path
) -> None:
    db_url, store_path = site
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "RONDE_OPDB_SECRET_KEY": SECRET_KEY}
    env.pop("RONDE_DATABASE_URL", None)
    store_url = f"sqlite://{store_path}"
    repo = RegistryRepository(make_engine(db_url))
    with run_mosquitto() as broker:
        api_port = free_port()
        api = _Proc(
            "api",
            ["api", "serve", "--store", store_url, "--database", db_url, "--port", str(api_port)],
            tmp_path / "api.log",
            env,
        )
        workers = [
            _Proc(
                name,
                [
                    "ingest",
                    "run",
                    "--name",
                    name,
                    "--broker-port",
                    str(broker.port),
                    "--store",
                    store_url,
                    "--database",
                    db_url,
                    "--batch-window-ms",
                    "20",
                    "--no-maintenance",
                ],
                tmp_path / f"{name}.log",
                env,
            )
            for name in ("wa", "wb")
        ]
        stream = _Stream(broker.port)
        other = Publisher(broker.port, GW2)
        store = SqliteStore(store_path)
        window = (datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1))

        digests: dict[str, str] = {}  # event id -> payload SHA-256 (a refusal before parsing names no event id)

        def gw2_burst(first: int) -> list[str]:
            ids = []
            for seq in range(first, first + 12):
                v = visit(seq, gateway=GW2, first_seen=_first_seen())
                payload = encode(v)
                other.publish(topic(GW2), payload)
                ids.append(v["id"])
                digests[v["id"]] = hashlib.sha256(payload).hexdigest()
            return ids

        def refused(ids: list[str]) -> set[str]:
            wanted = {digests[i]: i for i in ids}
            return {
                wanted[r.payload_sha256]
                for r in store.rejections(*window, limit=100_000)
                if r.reason is RejectReason.UNKNOWN_GATEWAY and r.payload_sha256 in wanted
            }

        def stored(ids: list[str]) -> set[str]:
            return {v.event_id for v in store.visits(*window) if v.event_id in ids}

        def follow(version: int) -> float:
            """Seconds until both workers run with registry ``version`` (their logs say so)."""
            started = time.monotonic()
            line = f"registry version {version} in force"
            assert wait_for(lambda: all(line in w.text() for w in workers), FOLLOW_WITHIN_S, 0.05), [
                w.text()[-2000:] for w in workers
            ]
            return time.monotonic() - started

        try:
            for w in workers:
                assert wait_for(lambda w=w: "subscribed:" in w.text(), 30), w.text()[-3000:]
                assert f"registry version {repo.version()} in force" in w.text()
            assert wait_for(lambda: _call(api_port, "GET", "/api/v1/gateways") == 200, 60), api.text()[-3000:]
            store.open()
            stream.start()

            # not enrolled yet: refused (by whichever worker the broker hands each message to)
            before = gw2_burst(1)
            assert wait_for(lambda: refused(before) == set(before), 20)

            # enrolled through the API: both workers follow within 5 s, by themselves
            assert _call(api_port, "PUT", f"/api/v1/gateways/{GW2}", {"public_key": public_key_text(KEYS[GW2])}) == 200
            enrolled_in = follow(repo.version())
            accepted = gw2_burst(100)
            assert wait_for(lambda: stored(accepted) == set(accepted), 20), (len(stored(accepted)), len(accepted))

            # revoked through the API: both follow, and refuse it
            assert _call(api_port, "DELETE", f"/api/v1/gateways/{GW2}") == 204
            revoked_in = follow(repo.version())
            after = gw2_burst(200)
            assert wait_for(lambda: refused(after) == set(after), 20)
            assert not stored(after)
            assert not stored(before)

            # the steady stream crossed both changes; it goes on until it has carried over 100 visits (it paces on
            # the broker's acks, so a loaded machine may need longer than the changes took: 62 seen at load 7)
            assert wait_for(lambda: len(stream.ids) > 100, 60), len(stream.ids)
            stream.halt.set()
            stream.join(30)
            published = stream.ids
            assert wait_for(lambda: stored(published) == set(published), 30), len(published) - len(stored(published))
        finally:
            stream.halt.set()
            other.close()
            codes = [w.stop() for w in workers]
            api.stop()
            store.close()
            repo.engine.dispose()
        assert codes == [0, 0], [w.text()[-3000:] for w in workers]

    # nothing lost, nothing doubled: every event id of the stream and of the accepted burst stored exactly once
    store.open()
    try:
        ids = Counter(v.event_id for v in store.visits(*window))
    finally:
        store.close()
    assert {i: n for i, n in ids.items() if n > 1} == {}
    assert set(ids) == set(published) | set(accepted)
    # both workers had a share of the traffic (the shared subscription), and each refused some of GW2's
    counters = [w.counters() for w in workers]
    for c in counters:
        assert sum(c["accepted"].values()) > 0, counters
        assert c["rejected"].get("unknown_gateway", 0) > 0, counters
    print(f"followed: enrolment in {enrolled_in:.2f} s, revocation in {revoked_in:.2f} s (poll 2 s)")


def test_sighup_polls_at_once_and_a_worker_without_the_key_or_a_registry_does_not_start(
    site: tuple[str, Path],
    tmp_path: Path,
) -> None:
    """SIGHUP in database mode reads the version row at once (here the poll is 10 minutes apart); start-up
    refusals exit 2 with what to do: EID beacons enrolled but no sealing key, a database without a registry."""
    db_url, store_path = site
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "RONDE_OPDB_SECRET_KEY": SECRET_KEY}
    env.pop("RONDE_DATABASE_URL", None)
    store_url = f"sqlite://{store_path}"
    engine = make_engine(db_url)
    repo = RegistryRepository(engine)
    try:
        with run_mosquitto() as broker:
            worker = _Proc(
                "hup",
                [
                    "ingest",
                    "run",
                    "--name",
                    "hup",
                    "--broker-port",
                    str(broker.port),
                    "--store",
                    store_url,
                    "--database",
                    db_url,
                    "--registry-poll-s",
                    "600",
                    "--no-maintenance",
                ],
                tmp_path / "hup.log",
                env,
            )
            try:
                assert wait_for(lambda: f"registry version {repo.version()} in force" in worker.text(), 30), (
                    worker.text()[-3000:]
                )
                with session_factory(engine).begin() as s:
                    revoke_gateway(s, GW)
                time.sleep(1.0)
                assert f"registry version {repo.version()} in force" not in worker.text()  # 600 s to the next poll
                worker.proc.send_signal(signal.SIGHUP)
                assert wait_for(lambda: f"registry version {repo.version()} in force" in worker.text(), 3), (
                    worker.text()[-3000:]
                )
            finally:
                assert worker.stop() == 0, worker.text()[-3000:]

        args = [sys.executable, "-m", "ronde.cli", "ingest", "run", "--store", store_url, "--broker-port", "1"]
        no_key = {k: v for k, v in env.items() if k != "RONDE_OPDB_SECRET_KEY"}
        done = subprocess.run(
            [*args, "--database", db_url], env=no_key, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 2, done.stderr
        assert "EID beacon(s) are enrolled" in done.stderr, done.stderr
        assert "RONDE_OPDB_SECRET_KEY" in done.stderr
        assert "Traceback" not in done.stderr
        empty = f"sqlite:///{tmp_path / 'empty.db'}"
        assert main(["db", "upgrade", "--url", empty]) == 0
        done = subprocess.run(
            [*args, "--database", empty], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 2, done.stderr
        assert "ronde registry import" in done.stderr, done.stderr
    finally:
        engine.dispose()
