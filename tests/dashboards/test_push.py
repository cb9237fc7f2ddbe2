"""``ronde dashboards push`` against a stand-in HTTP server that records requests.

A stand-in, since no Grafana server runs on this machine: ``grafana_standin`` imitates the
documented Grafana API answers the push relies on. The real grafana-client library makes the
requests; what is checked is what it sends and that a second push sends no write at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ronde.cli import main
from ronde.dashboards.boards import audit_uid
from ronde.dashboards.push import SUPERVISORS_TEAM, connect, landlord_folder_uid, landlord_team, push
from ronde.protocol.estate import default_estate_path, load_default_estate
from tests.dashboards.grafana_standin import GrafanaState, run_grafana_standin

REGISTRY = load_default_estate()
# file mode (the sample estate); the operational database is the way in production (docs/dashboards.md)
ESTATE = ["--estate", str(default_estate_path())]
N_LANDLORDS = len(REGISTRY.landlords)


@pytest.fixture(autouse=True)
def _grafana_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """The token only from the environment (a secret never goes on the command line)."""
    monkeypatch.setenv("RONDE_GRAFANA_TOKEN", "test-token")
    monkeypatch.delenv("RONDE_CONFIG", raising=False)


def _push(url: str, *extra: str) -> int:
    return main(["dashboards", "push", "--url", url, *ESTATE, *extra])


def test_first_push_creates_everything_second_changes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with run_grafana_standin() as (url, state):
        assert _push(url) == 0
        writes = state.writes()
        assert all(r.authorization == "Bearer test-token" for r in state.requests)
        teams = [r.body["name"] for r in writes if r.path == "/api/teams"]
        assert sorted(teams) == sorted([SUPERVISORS_TEAM, *(landlord_team(x) for x in REGISTRY.landlords)])
        folders = [r.body["uid"] for r in writes if r.path == "/api/folders"]
        assert sorted(folders) == sorted(["ronde", *(landlord_folder_uid(x) for x in REGISTRY.landlords)])
        dashboards = [r.body["dashboard"]["uid"] for r in writes if r.path == "/api/dashboards/db"]
        assert len(dashboards) == 4 + N_LANDLORDS
        assert {audit_uid(x) for x in REGISTRY.landlords} <= set(dashboards)
        # each landlord folder: its own team and supervisors, View only; default role grants removed
        team_ids = {name: i for i, name in state.teams.items()}
        for landlord in REGISTRY.landlords:
            folder = landlord_folder_uid(landlord)
            assert sorted(state.permissions[folder], key=lambda p: p["teamId"]) == sorted(
                [
                    {"teamId": team_ids[landlord_team(landlord)], "permission": 1},
                    {"teamId": team_ids[SUPERVISORS_TEAM], "permission": 1},
                ],
                key=lambda p: p["teamId"],
            )
            assert state.dashboards[audit_uid(landlord)]["folderUid"] == folder
        assert state.permissions["ronde"] == [{"teamId": team_ids[SUPERVISORS_TEAM], "permission": 1}]
        first_out = capsys.readouterr().out
        assert f"dashboards written: {4 + N_LANDLORDS}" in first_out

        before = len(state.requests)
        assert _push(url) == 0
        assert [r for r in state.requests[before:] if r.method != "GET"] == []
        assert "dashboards written: 0" in capsys.readouterr().out


def test_push_repairs_only_what_drifted() -> None:
    with run_grafana_standin() as (url, state):
        assert _push(url) == 0
        # someone edits a dashboard by hand and re-opens a landlord folder to every Viewer
        state.dashboards["ronde-maintenance-balises"]["dashboard"]["title"] = "edited"
        folder = landlord_folder_uid("toit-et-joie")
        state.permissions[folder].append({"role": "Viewer", "permission": 1})
        before = len(state.requests)
        assert _push(url) == 0
        writes = [(r.method, r.path) for r in state.requests[before:] if r.method != "GET"]
        assert sorted(writes) == [("POST", "/api/dashboards/db"), ("POST", f"/api/folders/{folder}/permissions")]
        assert state.dashboards["ronde-maintenance-balises"]["dashboard"]["title"] == "Ronde — Maintenance des balises"
        assert all("role" not in p for p in state.permissions[folder])


def test_file_provisioned_dashboards_are_left_alone() -> None:
    """As in docker-compose: the "Ronde" folder and its four dashboards come from the file provider."""
    state = GrafanaState()
    state.folders["ronde"] = {"id": 900, "uid": "ronde", "title": "Ronde", "version": 1}
    state.permissions["ronde"] = [{"role": "Viewer", "permission": 1}, {"role": "Editor", "permission": 2}]
    for uid in (
        "ronde-supervision",
        "ronde-couverture-historique",
        "ronde-audit-bailleur",
        "ronde-maintenance-balises",
    ):
        state.dashboards[uid] = {
            "dashboard": {"uid": uid, "id": 1, "version": 1, "title": "from file"},
            "folderUid": "ronde",
            "provisioned": True,
        }
    with run_grafana_standin(state) as (url, state):
        assert _push(url) == 0
        written = [r.body["dashboard"]["uid"] for r in state.writes() if r.path == "/api/dashboards/db"]
        assert sorted(written) == sorted(audit_uid(x) for x in REGISTRY.landlords)
        assert not any(r.path == "/api/folders" and r.body["uid"] == "ronde" for r in state.writes())
        # the provisioned folder is still closed to plain Viewers: supervisors only
        assert all("role" not in p for p in state.permissions["ronde"])


def test_dry_run_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with run_grafana_standin() as (url, state):
        assert _push(url, "--dry-run") == 0
        assert state.writes() == []
        assert "dry run: would change" in capsys.readouterr().out


def test_missing_datasource_stops_before_writing(capsys: pytest.CaptureFixture[str]) -> None:
    with run_grafana_standin(GrafanaState(datasources=set())) as (url, state):
        assert _push(url) == 1
        assert state.writes() == []
        assert "ronde-influxdb" in capsys.readouterr().err


def test_bad_token_is_a_clear_failure(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RONDE_GRAFANA_TOKEN", "wrong")
    with run_grafana_standin() as (url, state):
        assert main(["dashboards", "push", "--url", url, *ESTATE]) == 1
        assert state.writes() == []
        assert "push failed" in capsys.readouterr().err


def test_estate_file_decides_the_landlord_folders(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "ronde/protocol/estate_sample.yaml").read_text(encoding="utf-8")
    estate = tmp_path / "estate.yaml"
    estate.write_text(text.replace('name: "Toit et Joie"', 'name: "Toit & Joie"'), encoding="utf-8")
    with run_grafana_standin() as (url, state):
        assert _push(url, "--estate", str(estate)) == 0
        assert state.folders[landlord_folder_uid("toit-et-joie")]["title"] == "Audit — Toit & Joie"


def test_push_function_reports() -> None:
    with run_grafana_standin() as (url, _state):
        report = push(connect(url, "test-token"), REGISTRY)
        assert report.changed
        again = push(connect(url, "test-token"), REGISTRY)
        assert not again.changed
        assert len(again.dashboards_unchanged) == 4 + N_LANDLORDS
