from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ronde.cli import main
from ronde.opdb.sealing import KEY_VARIABLE
from ronde.protocol.gateways import GatewayRegistry, dump_gateways
from ronde.store.records import RejectReason
from ronde.store.sqlite import SqliteStore
from tests.ingest.broker import Publisher
from tests.ingest.helpers import GATEWAYS, GW, GW2, encode, topic, visit, wait_for
from tests.support.opdb_site import SECRET_KEY, enrol, site_database, worker_env
from tests.support.services import Mosquitto, run_mosquitto
from tests.support.settings_toml import write_settings


def test_gateways_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "gateways.yaml"
    good.write_text(dump_gateways(GATEWAYS))
    assert main(["ingest", "gateways", "check", str(good)]) == 0
    assert "2 gateways, 2 with an Ed25519 key" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: ronde-gateways\nversion: 1\ngateways:\n  - {id: gw, public_key: nope}\n")
    assert main(["ingest", "gateways", "check", str(bad)]) == 1
    assert "gateways[0].public_key" in capsys.readouterr().err


def test_run_fails_fast_on_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = f"sqlite://{tmp_path / 'store.db'}"
    assert main(["ingest", "run", "--store", store, "--batch-size", "5000", "--receive-maximum", "10"]) == 2
    assert "receive_maximum" in capsys.readouterr().err
    assert main(["ingest", "run", "--store", "ftp://x"]) == 2
    assert (
        "ronde ingest run: config command line: store.url: 'ftp://x': expected sqlite://PATH" in capsys.readouterr().err
    )
    bare = tmp_path / "opdb.db"  # the operational database: one without a schema says what to run
    assert main(["ingest", "run", "--store", store, "--database", f"sqlite:///{bare}"]) == 2
    assert f"run `ronde db upgrade --url sqlite:///{bare}`" in capsys.readouterr().err
    site = site_database(tmp_path / "site.db", GATEWAYS)
    damaged = tmp_path / "damaged.db"  # the database answers, then the store does not: exit 2 too
    damaged.write_bytes(b"not a database" * 100)
    with pytest.MonkeyPatch.context() as env:
        env.setenv(KEY_VARIABLE, SECRET_KEY)
        assert main(["ingest", "run", "--store", f"sqlite://{damaged}", "--database", site]) == 2
    assert "not a readable Ronde store" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--estate", "--gateways"])
def test_the_file_mode_is_gone(tmp_path: Path, flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    """No registry file at run time (issue 13): the old flags are refused, and so is a settings file naming one."""
    gw = tmp_path / "gateways.yaml"
    gw.write_text(dump_gateways(GATEWAYS))
    with pytest.raises(SystemExit) as stop:
        main(["ingest", "run", flag, str(gw)])
    assert stop.value.code == 2
    assert f"unrecognized arguments: {flag}" in capsys.readouterr().err
    cfg = write_settings(tmp_path / "ronde.toml", {"ingest": {"gateways_file": str(gw)}})
    assert main(["ingest", "run", "--config", str(cfg), "--store", f"sqlite://{tmp_path}/s.db"]) == 2
    assert f"config {cfg}: ingest.gateways_file: unknown setting" in capsys.readouterr().err


def test_sighup_reads_the_database_now(tmp_path: Path) -> None:
    """A gateway enrolled in the operational database while the worker runs is accepted after SIGHUP, and
    refused again once revoked (its registry poll is 10 minutes apart: SIGHUP alone reads the version row). Real
    broker, real worker process, embedded store, nothing but URLs. Its own broker: on the shared one, other
    tests' offline durable sessions in the "ingest" share group would be dealt a share of these messages."""
    with run_mosquitto() as broker:
        _sighup_poll(broker, tmp_path)


def _sighup_poll(mosquitto: Mosquitto, tmp_path: Path) -> None:
    url = site_database(tmp_path / "opdb.db", GatewayRegistry.of(GATEWAYS.entries[GW]))
    db = tmp_path / "ronde.db"
    log = tmp_path / "worker.log"
    args = ["--name", "hup", "--broker-port", str(mosquitto.port), "--store", f"sqlite://{db}"]
    args += ["--registry-poll-s", "600", "--batch-window-ms", "20", "--no-maintenance"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ronde.cli", "ingest", "run", *args],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=worker_env(url),  # the database from RONDE_DATABASE_URL
    )
    store = SqliteStore(db)
    pub = Publisher(mosquitto.port, GW2)
    window = (datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1))

    def reasons() -> list[RejectReason]:
        return [r.reason for r in store.rejections(*window)]

    def polled(version: int) -> bool:
        return f"registry version {version} in force" in log.read_text(errors="replace")

    try:
        assert wait_for(lambda: "subscribed:" in log.read_text(errors="replace"), 20), log.read_text()
        store.open()
        pub.publish(topic(GW2), encode(visit(1, gateway=GW2)))
        assert wait_for(lambda: reasons() == [RejectReason.UNKNOWN_GATEWAY], 20)

        version = enrol(url, GATEWAYS)  # GW2 enrolled
        time.sleep(0.5)
        assert not polled(version)  # not before the next poll, ten minutes away
        proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: polled(version), 10), log.read_text()
        pub.publish(topic(GW2), encode(visit(2, gateway=GW2)))
        assert wait_for(lambda: [v.seq for v in store.visits(*window)] == [2], 20)

        version = enrol(url, GatewayRegistry.of(GATEWAYS.entries[GW]))  # GW2 revoked
        proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: polled(version), 10), log.read_text()
        pub.publish(topic(GW2), encode(visit(3, gateway=GW2)))
        assert wait_for(lambda: reasons() == [RejectReason.UNKNOWN_GATEWAY] * 2, 20)
        assert [v.seq for v in store.visits(*window)] == [2]
    finally:
        pub.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()
        store.close()
