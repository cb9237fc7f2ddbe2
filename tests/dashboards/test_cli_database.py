"""``ronde dashboards generate|push`` label the dashboards from the operational database's registry (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ronde.cli import main
from tests.audit.test_cli_database import box, opdb  # noqa: F401 - the sample estate in a SQLite database
from tests.dashboards.grafana_standin import run_grafana_standin

REPO = Path(__file__).parents[2]


def test_generate_from_the_database_gives_the_committed_dashboards(opdb: str) -> None:  # noqa: F811
    """The database holds the sample estate: its dashboards are the committed ones."""
    assert main(["dashboards", "generate", "--database", opdb, "--out", str(REPO / "dashboards"), "--check"]) == 0


def test_generate_and_push_read_ronde_database_url(
    opdb: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RONDE_DATABASE_URL", opdb)
    monkeypatch.setenv("RONDE_GRAFANA_TOKEN", "test-token")
    assert main(["dashboards", "generate", "--out", str(REPO / "dashboards"), "--check"]) == 0
    with run_grafana_standin() as (url, state):
        assert main(["dashboards", "push", "--url", url]) == 0
        assert state.writes()  # teams, folders, dashboards of the database's landlords
        assert all(r.authorization == "Bearer test-token" for r in state.requests)


def test_push_reads_grafana_and_the_database_from_the_settings(
    opdb: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No flag: Grafana's URL and the database from the settings file, the token from a file a variable names."""
    for var in ("RONDE_DATABASE_URL", "RONDE_GRAFANA_TOKEN", "GRAFANA_TOKEN", "GRAFANA_URL", "RONDE_GRAFANA_URL"):
        monkeypatch.delenv(var, raising=False)
    token = tmp_path / "grafana-token"
    token.write_text("test-token\n", encoding="utf-8")  # the token the stand-in accepts
    config = tmp_path / "ronde.toml"
    with run_grafana_standin() as (url, state):
        config.write_text(f'[database]\nurl = "{opdb}"\n[dashboards]\ngrafana_url = "{url}"\n', encoding="utf-8")
        assert main(["dashboards", "push", "--config", str(config)]) == 2  # no token anywhere
        assert capsys.readouterr().err.startswith(
            "ronde dashboards push: config RONDE_GRAFANA_TOKEN: dashboards.grafana_token: required"
        )
        monkeypatch.setenv("RONDE_GRAFANA_TOKEN_FILE", str(token))
        assert main(["dashboards", "push", "--config", str(config)]) == 0
        assert state.writes()
        assert all(r.authorization == "Bearer test-token" for r in state.requests)
    config.write_text('[dashboards]\ngrafana_token = "in-the-file"\n', encoding="utf-8")
    assert main(["dashboards", "push", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ronde dashboards push: config {config}: dashboards.grafana_token: a secret is never")
    assert "in-the-file" not in err


def test_push_on_a_database_without_schema_names_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RONDE_GRAFANA_TOKEN", "test-token")
    bare = f"sqlite:///{tmp_path / 'bare.db'}"
    with run_grafana_standin() as (url, state):
        assert main(["dashboards", "push", "--url", url, "--database", bare]) == 2
        assert state.writes() == []
    assert "ronde db upgrade" in capsys.readouterr().err
