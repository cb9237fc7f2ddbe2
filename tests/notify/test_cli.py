"""``ronde notify run`` in-process: one tick with ``--once``; settings errors named, exit 2, before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ronde.cli import main
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.gateways import GatewayRegistry
from ronde.store.sqlite import SqliteStore
from tests.notify.conftest import SmtpSink
from tests.support.opdb_site import site_database


def _config(tmp_path: Path, notify: str) -> Path:
    url = site_database(tmp_path / "ronde.db", GatewayRegistry(), calendar=ServiceCalendar())
    store = SqliteStore(tmp_path / "store.db")
    store.open()
    store.close()
    path = tmp_path / "ronde.toml"
    path.write_text(
        f'[database]\nurl = "{url}"\n[store]\nurl = "sqlite://{tmp_path / "store.db"}"\n[notify]\n{notify}\n',
        encoding="utf-8",
    )
    return path


def test_one_tick_issues_the_due_bilans(
    tmp_path: Path, smtp_sink: SmtpSink, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(
        tmp_path,
        f'smtp_host = "{smtp_sink.host}"\nsmtp_port = {smtp_sink.port}\nsmtp_security = "none"\nbilan_hour = 0\n'
        '[notify.landlords.toit-et-joie]\nemails = ["direction@toit-et-joie.example"]',
    )
    assert main(["notify", "run", "--once", "--config", str(config), "--name", "t1"]) == 0
    out = capsys.readouterr().out
    assert "ronde notify: t1: leader=True bilans=6" in out
    assert "sent=1 failed=0" in out
    assert [r.rcpt_tos for r in smtp_sink.received] == [["direction@toit-et-joie.example"]]
    assert main(["notify", "run", "--once", "--config", str(config), "--name", "t1"]) == 0
    assert "bilans=0" in capsys.readouterr().out
    assert len(smtp_sink.received) == 1


def test_a_bad_setting_is_named_and_nothing_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, 'smtp_security = "ssl"')
    assert main(["notify", "run", "--once", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "notify.smtp_security" in err
    assert "ronde notify" in err


def test_a_database_not_upgraded_names_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store.db"
    SqliteStore(store).open()
    config = tmp_path / "ronde.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "empty.db"}"\n[store]\nurl = "sqlite://{store}"\n', encoding="utf-8"
    )
    assert main(["notify", "run", "--once", "--config", str(config)]) == 2
    assert "ronde db upgrade" in capsys.readouterr().err
