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
    assert main(["dashboards", "generate", "--out", str(REPO / "dashboards"), "--check"]) == 0
    with run_grafana_standin() as (url, state):
        assert main(["dashboards", "push", "--url", url, "--token", "test-token"]) == 0
        assert state.writes()  # teams, folders, dashboards of the database's landlords


def test_push_on_a_database_without_schema_names_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = f"sqlite:///{tmp_path / 'bare.db'}"
    with run_grafana_standin() as (url, state):
        assert main(["dashboards", "push", "--url", url, "--token", "test-token", "--database", bare]) == 2
        assert state.writes() == []
    assert "ronde db upgrade" in capsys.readouterr().err
