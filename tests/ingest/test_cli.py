from __future__ import annotations

from pathlib import Path

import pytest

from ronde.cli import main
from ronde.ingest.gateways import dump_gateways
from tests.ingest.helpers import GATEWAYS


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
    assert main(["ingest", "run", "--store", "ftp://x"]) == 2
    assert "no gateways enrolled" in capsys.readouterr().err
    gw = tmp_path / "gateways.yaml"
    gw.write_text(dump_gateways(GATEWAYS))
    assert main(["ingest", "run", "--gateways", str(gw), "--store", "ftp://x"]) == 2
    assert "unknown scheme" in capsys.readouterr().err
    est = tmp_path / "estate.yaml"
    est.write_text("format: ronde-estate\nversion: 1\n")
    assert main(["ingest", "run", "--estate", str(est), "--gateways", str(gw)]) == 2
    assert "estate.yaml" in capsys.readouterr().err
