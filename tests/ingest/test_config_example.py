"""The shipped example settings of a worker are valid (what the README and docs/ingest.md point at)."""

from pathlib import Path

from ronde.ingest.config import from_settings
from ronde.settings import load_settings

EXAMPLE = Path(__file__).parents[2] / "deploy" / "ingest.example.toml"


def test_example_settings_load() -> None:
    config = from_settings(load_settings(EXAMPLE, environ={}))
    assert config.shared
    assert config.mqtt_version == "5"
    assert config.receive_maximum >= config.batch_size
    assert config.retention.raw_days == 60
    assert config.retention.proof_days == 365
    assert config.database_url is not None
    assert config.database_url.startswith("postgresql://")
    assert config.store_url == "http://influxdb:8086"
