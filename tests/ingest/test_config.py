from __future__ import annotations

from pathlib import Path

import pytest

from ronde.ingest.config import ConfigError, load_config


def test_defaults_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "ingest.yaml"
    path.write_text("name: w2\nbatch_size: 200\nreceive_maximum: 400\n")
    cfg = load_config(path, {"broker_port": 1884, "username": None})
    assert cfg.client_id == "ingest-w2"
    assert cfg.batch_size == 200
    assert cfg.broker_port == 1884
    assert cfg.retention.to_policy().raw_days == 60


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"batch_size": 500, "receive_maximum": 100}, "receive_maximum"),
        ({"name": "Bad Name"}, "name"),
        ({"broker_port": 0}, "broker_port"),
        ({"allow_unsigned": True}, "gateways[].allow_unsigned"),
        ({"allow_unsigned": False}, "no longer an ingest setting"),
        ({"max_visit_s": 0}, "max_visit_s"),
        ({"tls_ca": "/nonexistent.pem"}, "file not found"),
        ({"gateways_file": "gateways.yaml"}, "gateways_file: no longer ingest settings"),
        ({"estate_file": "estate.yaml"}, "ronde registry import --estate FILE --gateways FILE"),
        ({"calendar": {"days": ["mon"]}}, "service calendar from the operational database"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_fail_fast_with_a_clear_message(overrides: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(None, overrides)
    assert needle in str(err.value)


def test_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_the_old_global_allow_unsigned_in_a_file_names_the_new_setting(tmp_path: Path) -> None:
    path = tmp_path / "ingest.yaml"
    path.write_text("name: w1\nallow_unsigned: true\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "allow_unsigned" in str(err.value)
    assert "gateways file" in str(err.value)


def test_unknown_gateways_alone_is_a_valid_demo_setting() -> None:
    assert load_config(None, {"accept_unknown_gateways": True}).accept_unknown_gateways
    assert load_config(None).max_visit_s == 3900
