"""The committed dashboards/ files are exactly what the code generates; --check says when not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from ronde.cli import main
from ronde.dashboards.model import DATASOURCE_UID
from ronde.dashboards.render import check, generated_files
from ronde.protocol.estate import load_default_estate

REPO = Path(__file__).parents[2]
COMMITTED = REPO / "dashboards"


def test_committed_files_equal_generated() -> None:
    files = generated_files(load_default_estate())
    drift = check(COMMITTED, files)
    assert not drift, f"run `ronde dashboards generate`: {drift}"


def test_generate_check_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "dashboards"
    assert main(["dashboards", "generate", "--out", str(out), "--check"]) == 1  # nothing there yet
    assert main(["dashboards", "generate", "--out", str(out)]) == 0
    assert main(["dashboards", "generate", "--out", str(out), "--check"]) == 0
    target = out / "json/ronde/ronde-supervision.json"
    target.write_text(target.read_text(encoding="utf-8").replace("Supervision", "Supervisio"), encoding="utf-8")
    (out / "json/ronde/old-board.json").write_text("{}", encoding="utf-8")
    capsys.readouterr()
    assert main(["dashboards", "generate", "--out", str(out), "--check"]) == 1
    err = capsys.readouterr().err
    assert "ronde-supervision.json: differs" in err
    assert "old-board.json: stale" in err
    assert main(["dashboards", "generate", "--out", str(out)]) == 0
    assert not (out / "json/ronde/old-board.json").exists()
    assert main(["dashboards", "generate", "--out", str(out), "--check"]) == 0


def test_check_of_the_committed_tree_via_cli(tmp_path: Path) -> None:
    copy = tmp_path / "dashboards"
    shutil.copytree(COMMITTED, copy)
    assert main(["dashboards", "generate", "--out", str(copy), "--check"]) == 0


def test_dashboards_are_valid_grafana_json() -> None:
    uids = set()
    for path in sorted((COMMITTED / "json/ronde").glob("*.json")):
        board = json.loads(path.read_text(encoding="utf-8"))
        assert path.stem == board["uid"]
        assert len(board["uid"]) <= 40
        uids.add(board["uid"])
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids))
        for panel in board["panels"]:
            assert panel["gridPos"]["x"] >= 0
            assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
            for target in panel.get("targets", []):
                assert target["datasource"] == {"type": "influxdb", "uid": DATASOURCE_UID}
                assert target["rawQuery"] is True
                assert target["query"].startswith("SELECT ")
    assert uids == {
        "ronde-supervision",
        "ronde-couverture-historique",
        "ronde-audit-bailleur",
        "ronde-maintenance-balises",
    }


def test_provisioning_files() -> None:
    ds = yaml.safe_load((COMMITTED / "provisioning/datasources/ronde-influxdb.yaml").read_text(encoding="utf-8"))
    source = ds["datasources"][0]
    assert source["uid"] == DATASOURCE_UID
    assert source["type"] == "influxdb"
    assert source["jsonData"]["version"] == "InfluxQL"
    assert source["jsonData"]["httpHeaderName1"] == "Authorization"
    assert source["secureJsonData"]["httpHeaderValue1"] == "Token ${INFLUX_TOKEN}"
    provider = yaml.safe_load((COMMITTED / "provisioning/dashboards/ronde.yaml").read_text(encoding="utf-8"))
    assert provider["providers"][0]["options"]["path"].endswith("/ronde")
