from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from ronde.cli import main
from ronde.protocol.estate import default_estate_path
from ronde.protocol.gateways import GatewayRegistry, dump_gateways
from ronde.store.records import RejectReason
from ronde.store.sqlite import SqliteStore
from tests.ingest.broker import Publisher
from tests.ingest.helpers import GATEWAYS, GW, GW2, encode, topic, visit, wait_for
from tests.support.services import Mosquitto, run_mosquitto


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
    assert main(["ingest", "run", "--batch-size", "5000", "--receive-maximum", "10"]) == 2
    assert "receive_maximum" in capsys.readouterr().err
    bare = tmp_path / "opdb.db"  # the operational database by default: one without a schema says what to run
    assert main(["ingest", "run", "--store", "ftp://x", "--database", f"sqlite:///{bare}"]) == 2
    assert f"run `ronde db upgrade --url sqlite:///{bare}`" in capsys.readouterr().err
    assert main(["ingest", "run", "--store", "ftp://x", "--estate", str(default_estate_path())]) == 2
    assert "no gateways enrolled" in capsys.readouterr().err  # file mode (--estate, --gateways)
    gw = tmp_path / "gateways.yaml"
    gw.write_text(dump_gateways(GATEWAYS))
    assert main(["ingest", "run", "--gateways", str(gw), "--store", "ftp://x"]) == 2
    assert "unknown scheme" in capsys.readouterr().err
    est = tmp_path / "estate.yaml"
    est.write_text("format: ronde-estate\nversion: 1\n")
    assert main(["ingest", "run", "--estate", str(est), "--gateways", str(gw)]) == 2
    assert "estate.yaml" in capsys.readouterr().err


def test_sighup_reloads_the_gateways_file(tmp_path: Path) -> None:
    """A gateway enrolled while the worker runs is accepted after SIGHUP; a broken file is refused
    and the registry in force stays (real broker, real worker process, embedded store). Its own
    broker: on the shared one, other tests' offline durable sessions in the "ingest" share group
    would be dealt a share of these messages."""
    with run_mosquitto() as broker:
        _sighup_reload(broker, tmp_path)


def _sighup_reload(mosquitto: Mosquitto, tmp_path: Path) -> None:
    gw_file = tmp_path / "gateways.yaml"
    gw_file.write_text(dump_gateways(GatewayRegistry.of(GATEWAYS.entries[GW])))
    db = tmp_path / "ronde.db"
    cfg = tmp_path / "ingest.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "name": "hup",
                "broker_port": mosquitto.port,
                "store_url": f"sqlite://{db}",
                "gateways_file": str(gw_file),
                # the whole day (the one calendar rule refuses end == start)
                "calendar": {
                    "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                    "start": "00:00",
                    "end": "23:59:59.999999",
                    "timezone": "UTC",
                },
                "batch_window_ms": 20,
                "maintenance": False,
            }
        )
    )
    log = tmp_path / "worker.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ronde.cli", "ingest", "run", "--config", str(cfg)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    store = SqliteStore(db)
    pub = Publisher(mosquitto.port, GW2)
    window = (datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1))
    try:
        assert wait_for(lambda: "subscribed:" in log.read_text(errors="replace"), 20), log.read_text()
        store.open()
        pub.publish(topic(GW2), encode(visit(1, gateway=GW2)))
        assert wait_for(lambda: [r.reason for r in store.rejections(*window)] == [RejectReason.UNKNOWN_GATEWAY], 20)

        gw_file.write_text(dump_gateways(GATEWAYS))  # GW2 enrolled
        proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "gateways reloaded: 2 enrolled" in log.read_text(errors="replace"), 10)
        pub.publish(topic(GW2), encode(visit(2, gateway=GW2)))
        assert wait_for(lambda: [v.seq for v in store.visits(*window)] == [2], 20)

        gw_file.write_text("format: ronde-gateways\nversion: 1\ngateways: [{id: gw, public_key: nope}]\n")
        proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "previous registry stays in force" in log.read_text(errors="replace"), 10)
        pub.publish(topic(GW2), encode(visit(3, gateway=GW2)))
        assert wait_for(lambda: [v.seq for v in store.visits(*window)] == [2, 3], 20)
    finally:
        pub.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()
        store.close()
