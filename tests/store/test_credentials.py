"""One store-credential setting for every role: ``RONDE_STORE_TOKEN`` (``RONDE_INFLUX_TOKEN`` deprecated)."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import pytest

from ronde.store.credentials import StoreTokenDeprecation, read_secret_file, store_password, store_token


def test_store_token_precedence_and_deprecated_alias() -> None:
    assert store_token({}) is None
    assert store_token({"RONDE_STORE_TOKEN": "new"}) == "new"
    assert store_token({"RONDE_STORE_TOKEN": "new", "RONDE_INFLUX_TOKEN": "old"}) == "new"  # no warning
    with pytest.warns(StoreTokenDeprecation, match="RONDE_INFLUX_TOKEN is deprecated: set RONDE_STORE_TOKEN"):
        assert store_token({"RONDE_INFLUX_TOKEN": "old"}) == "old"
    assert store_password({"RONDE_STORE_PASSWORD": "pw"}) == "pw"
    assert store_password({}) is None


def test_secret_file(tmp_path: Path) -> None:
    f = tmp_path / "t"
    f.write_text("  tok\n", encoding="utf-8")
    assert read_secret_file(f) == "tok"
    f.write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty"):
        read_secret_file(f)


@pytest.mark.parametrize("variable", ["RONDE_STORE_TOKEN", "RONDE_INFLUX_TOKEN"])
def test_ingest_and_store_init_read_the_same_variable(variable: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ronde ingest run` and `ronde store init` build their store from the one settings model
    (``ingest.cli.settings_config``): the token is the one variable, the old name still read with a warning."""
    from ronde.ingest.cli import settings_config

    monkeypatch.delenv("RONDE_STORE_TOKEN", raising=False)
    monkeypatch.delenv("RONDE_INFLUX_TOKEN", raising=False)
    monkeypatch.delenv("RONDE_CONFIG", raising=False)
    monkeypatch.setenv("RONDE_STORE_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv(variable, "tok")
    with pytest.warns(StoreTokenDeprecation) if variable == "RONDE_INFLUX_TOKEN" else nullcontext():
        made = settings_config("ingest run", None, {})
    assert made is not None
    config, _ = made
    assert config.influx_token is not None
    assert config.influx_token.get_secret_value() == "tok"
