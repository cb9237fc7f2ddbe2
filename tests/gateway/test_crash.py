"""``kill -9`` of a real gateway process between queueing and PUBACK: nothing lost, repeats identical."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ronde.gateway.keys import load_key
from ronde.protocol.signing import verify
from tests.gateway.support import PERSISTENT_BROKER, Collector, config_text, make_config
from tests.support.services import run_mosquitto

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]
ROOT = Path(__file__).parents[2]


def wait(predicate: Callable[[], bool], timeout: float, what: str, detail: Callable[[], str] = str) -> None:
    """Until ``predicate`` holds; on timeout the error says ``detail()`` (what was found instead)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}; {detail()}")
        time.sleep(0.05)


def found(db: Path, log: Path) -> str:
    """The outbox's sequence numbers and the gateway log's last lines (one CI run timed out here under load)."""
    tail = log.read_text(errors="replace").splitlines()[-15:] if log.exists() else []
    return f"outbox seq {[s for s, _, _ in outbox_rows(db)]}; gateway log:\n" + "\n".join(tail)


def outbox_rows(db: Path) -> list[tuple[int, str, bytes]]:
    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=10) as conn:
        return [(s, i, bytes(p)) for s, i, p in conn.execute("SELECT seq, msg_id, payload FROM outbox ORDER BY pos")]


def start_gateway(config: Path, trigger: Path, minors: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.gateway.crash_gateway", str(config), str(trigger), minors],
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def test_kill_9_between_queueing_and_puback(tmp_path: Path) -> None:
    with run_mosquitto(PERSISTENT_BROKER) as broker:
        collector = Collector(broker.port, "crash-collector")
        gw: subprocess.Popen[bytes] | None = None
        try:
            make_config(tmp_path, broker.port)  # creates the device key
            cfg = tmp_path / "gw.toml"
            cfg.write_text(config_text(tmp_path, broker.port, extra="", heartbeat_s=600))
            db = tmp_path / "outbox.db"
            trigger = tmp_path / "walk"
            log = tmp_path / "gateway.log"
            gw = start_gateway(cfg, trigger, "1,2,3,4,5", log)
            collector.wait(lambda: any(s["state"] == "online" for s in collector.of_kind("status")), 20)

            assert broker.process is not None
            broker.process.send_signal(signal.SIGSTOP)  # no PUBACK can come back now
            trigger.touch()
            wait(lambda: len(outbox_rows(db)) == 5, 30, "five visits queued", lambda: found(db, log))
            time.sleep(0.5)  # the gateway has written its PUBLISH packets to the socket by now
            queued = outbox_rows(db)
            assert [s for s, _, _ in queued] == [1, 2, 3, 4, 5]
            gw.send_signal(signal.SIGKILL)
            gw.wait(10)
            broker.process.send_signal(signal.SIGCONT)

            # Restart: the same outbox, a longer patrol (the first five minors again, then two more).
            trigger.unlink()
            gw = start_gateway(cfg, trigger, "6,7", log)
            trigger.touch()
            wait(
                lambda: len({v["id"] for v in collector.of_kind("visit")}) == 7 and not outbox_rows(db),
                60,
                "all seven visits delivered and acknowledged",
            )
            gw.send_signal(signal.SIGTERM)
            assert gw.wait(20) == 0

            public = load_key(tmp_path / "device.key").public_key_raw
            # the broker published the will for the killed process: signed beforehand, without a time
            wills = [s for s in collector.of_kind("status") if s["state"] == "offline" and s["at"] is None]
            assert wills
            assert all(verify(s, public) for s in wills)
            assert all(verify(s, public) for s in collector.of_kind("status"))
            first: dict[str, dict[str, object]] = {}
            for v in collector.of_kind("visit"):
                assert verify(v, public)
                if v["id"] in first:
                    assert first[str(v["id"])] == v, "a repeat carries the same id, seq and content"
                first.setdefault(str(v["id"]), v)
            by_seq = sorted(first.values(), key=lambda v: int(str(v["seq"])))
            assert [v["seq"] for v in by_seq] == [1, 2, 3, 4, 5, 6, 7]
            assert [v["beacon"]["minor"] for v in by_seq] == [1, 2, 3, 4, 5, 6, 7]  # type: ignore[index]
            queued_ids = {i for _, i, _ in queued}
            assert queued_ids <= set(first), "every event queued before the kill arrived"
            assert "visit" in log.read_text()
        finally:
            if gw is not None and gw.poll() is None:
                gw.kill()
                gw.wait(5)
            if broker.process is not None:
                os.kill(broker.process.pid, signal.SIGCONT)
            collector.close()
