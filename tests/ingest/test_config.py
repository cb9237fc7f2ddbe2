"""The worker's configuration comes from the one settings model (issue 13): a TOML file, ``RONDE_*`` variables and
``ronde ingest`` flags, flags winning; a bad value stops the command with exit 2 and a line naming its origin and
the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ronde.cli import main
from ronde.ingest.config import IngestConfig, from_settings
from ronde.settings import load_settings

TOML = """
[database]
url = "postgresql://ronde@pg.example.org/ronde"

[store]
url = "http://influx:8086"
database = "ronde_w"
user = "writer"

[mqtt]
host = "mqtt.example.org"
port = 8883
tls = true
username = "ingest"

[retention]
raw_days = 45

[ingest]
name = "w2"
batch_size = 200
receive_maximum = 400
registry_poll_s = 5
"""


def test_the_worker_configuration_is_read_from_the_settings(tmp_path: Path) -> None:
    path = tmp_path / "ronde.toml"
    path.write_text(TOML)
    environ = {
        "RONDE_MQTT_PASSWORD": "mqtt-secret",
        "RONDE_STORE_PASSWORD": "store-secret",
        "RONDE_DATABASE_PASSWORD": "db-secret",
        "RONDE_INGEST__MAX_FUTURE_S": "60",
    }
    cfg = from_settings(load_settings(path, {"mqtt.port": 1884, "mqtt.username": None}, environ=environ))
    assert cfg.client_id == "ingest-w2"
    assert (cfg.batch_size, cfg.receive_maximum, cfg.registry_poll_s, cfg.max_future_s) == (200, 400, 5.0, 60.0)
    assert (cfg.broker_host, cfg.broker_port, cfg.tls, cfg.username) == ("mqtt.example.org", 1884, True, "ingest")
    assert cfg.password is not None
    assert cfg.password.get_secret_value() == "mqtt-secret"
    assert (cfg.store_url, cfg.influx_database, cfg.influx_user) == ("http://influx:8086", "ronde_w", "writer")
    assert cfg.influx_password is not None
    assert cfg.influx_password.get_secret_value() == "store-secret"
    assert cfg.database_url == "postgresql://ronde:db-secret@pg.example.org/ronde"  # the password from the environment
    assert cfg.retention.to_policy().raw_days == 45
    assert cfg.retention.to_policy().proof_days == 365  # the one default


def test_every_ingest_setting_reaches_the_worker() -> None:
    """A field added to the settings' [ingest] section and not to the worker's configuration fails here."""
    settings = load_settings(environ={"RONDE_STORE_URL": "sqlite://x.db"})
    cfg = from_settings(settings)
    assert set(settings.ingest.model_dump()) <= set(IngestConfig.model_fields)
    assert {k: getattr(cfg, k) for k in settings.ingest.model_dump()} == settings.ingest.model_dump()
    assert cfg == IngestConfig(store_url="sqlite://x.db", database_url=settings.database.url, influx_database="ronde")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--batch-size", "500", "--receive-maximum", "100"], "ronde ingest run: config command line: ingest: "),
        (["--name", "Bad Name"], "config command line: ingest.name: "),
        (["--broker-port", "0"], "config command line: mqtt.port: "),
        (["--store", "ftp://x"], "config command line: store.url: "),
        ([], "store.url: required by ronde ingest run: set url in [store] of the settings file, or RONDE_STORE_URL"),
    ],
)
def test_a_bad_setting_exits_2_naming_it(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.MonkeyPatch.context() as env:
        env.delenv("RONDE_STORE_URL", raising=False)
        env.delenv("RONDE_CONFIG", raising=False)
        args = argv if "--store" in argv or not argv else [*argv, "--store", "sqlite://x.db"]
        assert main(["ingest", "run", *args]) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ("[ingest]\nallow_unsigned = true\n", "ingest.allow_unsigned: unknown setting"),
        ("[ingest]\ngateways_file = 'gateways.yaml'\n", "ingest.gateways_file: unknown setting"),
        ("[ingest]\ncalendar = {days = ['mon']}\n", "ingest.calendar"),
        ("[ingest]\nmax_visit_s = 0\n", "ingest.max_visit_s: "),
        ("[mqtt]\npassword = 'in-the-file'\n", "a secret is never written in the settings file"),
        ("[store]\ntoken = 'in-the-file'\n", "RONDE_STORE_TOKEN"),
        ("name = 'w1'\n", "name: unknown setting"),
        ("[ingest\n", "not valid TOML"),
    ],
)
def test_a_bad_settings_file_exits_2_naming_the_file_and_field(
    tmp_path: Path, toml: str, needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ronde.toml"
    path.write_text(toml)
    for command in ("run", "retire", "gaps"):
        assert main(["ingest", command, "--config", str(path), "--store", f"sqlite://{tmp_path}/s.db"]) == 2
        err = capsys.readouterr().err
        assert f"ronde ingest {command}: config {path}" in err
        assert needle in err


def test_the_worker_configuration_keeps_the_settings_bounds() -> None:
    """Built directly (the demo, tests), the worker's configuration refuses what the settings refuse."""
    with pytest.raises(ValidationError, match="receive_maximum"):
        IngestConfig(batch_size=500, receive_maximum=100)
    with pytest.raises(ValidationError, match="reconnect_max_s"):
        IngestConfig(reconnect_min_s=5, reconnect_max_s=1)
    assert IngestConfig(accept_unknown_gateways=True).accept_unknown_gateways
    assert IngestConfig().max_visit_s == 3900
