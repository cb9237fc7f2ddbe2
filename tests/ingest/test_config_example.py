"""The shipped example configuration is valid (what the README and docs/ingest.md point at)."""

from pathlib import Path

from ronde.ingest.config import load_config

EXAMPLE = Path(__file__).parents[2] / "deploy" / "ingest.example.yaml"


def test_example_config_loads() -> None:
    config = load_config(EXAMPLE)
    assert config.shared
    assert config.mqtt_version == "5"
    assert config.receive_maximum >= config.batch_size
    assert config.retention.raw_days == 60
    assert config.retention.proof_days == 365
