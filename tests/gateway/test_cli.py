from __future__ import annotations

from pathlib import Path

import pytest

from ronde.cli import main
from ronde.gateway.outbox import Outbox, OutgoingMessage
from ronde.protocol.topics import TopicKind
from tests.gateway.support import config_text, make_config


def test_run_refuses_a_bad_config_with_the_key_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "gw.toml"
    cfg.write_text(config_text(tmp_path, 1883).replace('badge = "team-a7"', 'badge = "Jean Dupont"'))
    assert main(["gateway", "run", "--config", str(cfg)]) == 2
    assert "gateway.badge: String should match pattern" in capsys.readouterr().err


def test_run_without_a_device_key_says_how_to_make_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "gw.toml"
    cfg.write_text(config_text(tmp_path, 1883))
    assert main(["gateway", "run", "--config", str(cfg)]) == 2
    assert "ronde gateway enroll" in capsys.readouterr().err


def test_override_flag_needs_a_reason_and_an_offset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_config(tmp_path, 1883)
    cfg = tmp_path / "gw.toml"
    cfg.write_text(config_text(tmp_path, 1883))
    assert main(["gateway", "run", "--config", str(cfg), "--override-until", "2026-04-01T23:00:00+02:00"]) == 2
    assert "go together" in capsys.readouterr().err
    assert (
        main(
            [
                "gateway",
                "run",
                "--config",
                str(cfg),
                "--override-until",
                "2026-04-01T23:00:00",
                "--override-reason",
                "audit",
            ]
        )
        == 2
    )
    assert "UTC offset" in capsys.readouterr().err


def test_outbox_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "gw.toml"
    cfg.write_text(config_text(tmp_path, 1883))
    box = Outbox(tmp_path / "outbox.db")
    box.enqueue_sequenced(lambda s: OutgoingMessage(TopicKind.VISIT, "x", s, b"{}"), 0)
    box.close()
    assert main(["gateway", "outbox", "--config", str(cfg)]) == 0
    assert "1 waiting, 0 rejected, next seq 2" in capsys.readouterr().out
