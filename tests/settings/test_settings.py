"""The one settings model: TOML < nested variables < flat variables < flags; secrets only from the environment."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from ronde.cli import main
from ronde.opdb.engine import DEFAULT_DATABASE_URL as OPDB_DEFAULT_URL
from ronde.settings import ConfigError, load_settings, load_with_sources
from ronde.settings.model import DEFAULT_DATABASE_URL, RondeSettings, secret_fields
from ronde.settings.sources import FLAT, env_name
from ronde.store.credentials import StoreTokenDeprecation
from ronde.store.retention import DEFAULT_RETENTION

TOML = """
[database]
url = "sqlite:///srv/ronde/op.db"

[store]
url = "http://influx:8086"
org = "ronde"
database = "from_file"

[api]
stale_after_min = 30
port = 8081
title = "Ronde (fichier)"

[ingest]
name = "w7"
batch_size = 500
receive_maximum = 1500

[retention]
raw_days = 30
"""


def _write(tmp_path: Path, text: str, name: str = "ronde.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _one_issue(exc: pytest.ExceptionInfo[ConfigError]) -> str:
    assert len(exc.value.issues) == 1, exc.value.issues
    return str(exc.value.issues[0])


def test_defaults_are_the_one_definitions() -> None:
    s = load_settings(environ={})
    assert s.database.url == DEFAULT_DATABASE_URL == OPDB_DEFAULT_URL
    assert s.retention.policy() == DEFAULT_RETENTION
    assert s.store.url is None
    assert s.store.token is None
    assert s.api.port == 8080


def test_file_then_nested_then_flat_then_flags(tmp_path: Path) -> None:
    config = _write(tmp_path, TOML)
    s = load_settings(config, environ={})
    assert (s.database.url, s.store.url, s.store.database, s.api.stale_after_min) == (
        "sqlite:///srv/ronde/op.db",
        "http://influx:8086",
        "from_file",
        30,
    )
    assert (s.ingest.name, s.ingest.batch_size, s.retention.raw_days, s.retention.proof_days) == ("w7", 500, 30, 365)
    env = {
        "RONDE_STORE__URL": "http://nested:8086",
        "RONDE_STORE__DATABASE": "from_env",
        "RONDE_API__STALE_AFTER_MIN": "20",
        "RONDE_api__cookie_secure": "true",  # case does not matter
    }
    s = load_settings(config, environ=env)
    assert (s.store.url, s.store.database, s.api.stale_after_min, s.api.cookie_secure) == (
        "http://nested:8086",
        "from_env",
        20,
        True,
    )
    assert s.api.port == 8081  # still the file's
    s = load_settings(config, environ={**env, "RONDE_STORE_URL": "http://flat:8086"})
    assert s.store.url == "http://flat:8086"  # the flat spelling wins over the nested one
    s = load_settings(
        config,
        {"store.url": "sqlite:///tmp/x.db", "api.stale_after_min": 10, "api.port": None},
        environ={**env, "RONDE_STORE_URL": "http://flat:8086"},
    )
    assert (s.store.url, s.api.stale_after_min, s.api.port) == ("sqlite:///tmp/x.db", 10, 8081)


def test_ronde_config_names_the_file(tmp_path: Path) -> None:
    config = _write(tmp_path, TOML)
    assert load_settings(environ={"RONDE_CONFIG": str(config)}).api.port == 8081
    other = _write(tmp_path, "[api]\nport = 9000\n", "other.toml")
    assert load_settings(other, environ={"RONDE_CONFIG": str(config)}).api.port == 9000  # --config wins


def test_plain_constructor_reads_the_process_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RONDE_CONFIG", str(_write(tmp_path, TOML)))
    monkeypatch.setenv("RONDE_STORE_TOKEN", "tok-en")
    s = RondeSettings()
    assert s.api.port == 8081
    assert s.store.token is not None
    assert s.store.token.get_secret_value() == "tok-en"


@pytest.mark.parametrize("dotted", sorted(secret_fields()))
def test_a_secret_in_the_file_is_refused_naming_the_field(tmp_path: Path, dotted: str) -> None:
    section, field = dotted.split(".")
    config = _write(tmp_path, f'[{section}]\n{field} = "hunter2"\n')
    with pytest.raises(ConfigError) as exc:
        load_settings(config, environ={})
    text = _one_issue(exc)
    assert text.startswith(f"config {config}: {dotted}: a secret is never written in the settings file")
    assert env_name(dotted) in text
    assert "hunter2" not in str(exc.value)


def test_every_secret_has_its_flat_variable() -> None:
    flat_secrets = {dotted for dotted in FLAT.values() if dotted in secret_fields()}
    assert flat_secrets == secret_fields()
    assert {"store.token", "store.password", "mqtt.password", "database.secret_key", "dashboards.grafana_token"} <= (
        secret_fields()
    )


def test_secrets_from_the_environment_and_from_files(tmp_path: Path) -> None:
    token_file = tmp_path / "store-token"
    token_file.write_text("  from-a-file\n", encoding="utf-8")
    s = load_settings(
        environ={
            "RONDE_STORE_TOKEN_FILE": str(token_file),
            "RONDE_MQTT_PASSWORD": "mqtt-pw",
            "RONDE_OPDB_SECRET_KEY": "k" * 43,
        }
    )
    assert s.store.token is not None
    assert s.store.token.get_secret_value() == "from-a-file"
    assert s.mqtt.password is not None
    assert s.mqtt.password.get_secret_value() == "mqtt-pw"
    assert s.database.secret_key is not None
    assert s.database.secret_key.get_secret_value() == "k" * 43
    nested = load_settings(environ={"RONDE_DASHBOARDS__GRAFANA_TOKEN_FILE": str(token_file)})
    assert nested.dashboards.grafana_token is not None
    assert nested.dashboards.grafana_token.get_secret_value() == "from-a-file"
    assert "from-a-file" not in repr(s)


def test_a_secret_and_its_file_both_set_is_refused(tmp_path: Path) -> None:
    token_file = tmp_path / "t"
    token_file.write_text("a", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_settings(environ={"RONDE_STORE_TOKEN": "b", "RONDE_STORE_TOKEN_FILE": str(token_file)})
    assert _one_issue(exc) == (
        "config RONDE_STORE_TOKEN: store.token: set RONDE_STORE_TOKEN or RONDE_STORE_TOKEN_FILE, not both"
    )


def test_an_empty_secret_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_settings(environ={"RONDE_MQTT_PASSWORD_FILE": str(empty)})
    assert _one_issue(exc) == f"config RONDE_MQTT_PASSWORD_FILE: mqtt.password: {empty}: the file is empty"


def test_the_deprecated_token_name_still_works_with_a_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = load_settings(environ={"RONDE_INFLUX_TOKEN": "old"})
    assert s.store.token is not None
    assert s.store.token.get_secret_value() == "old"
    assert any(issubclass(w.category, StoreTokenDeprecation) for w in caught)
    s = load_settings(environ={"RONDE_INFLUX_TOKEN": "old", "RONDE_STORE_TOKEN": "new"})
    assert s.store.token is not None
    assert s.store.token.get_secret_value() == "new"


def test_bad_values_name_their_origin_and_field(tmp_path: Path) -> None:
    config = _write(tmp_path, '[api]\nstale_after_min = 0\ndefault_lang = "de"\n[store]\nurl = "ftp://x"\n')
    with pytest.raises(ConfigError) as exc:
        load_settings(config, environ={"RONDE_INGEST__BATCH_SIZE": "many"})
    lines = {str(i) for i in exc.value.issues}
    assert f"config {config}: store.url: 'ftp://x': expected sqlite://PATH or http(s)://host:port" in lines
    assert f"config {config}: api.default_lang: Input should be 'fr' or 'en'" in lines
    assert any(line.startswith(f"config {config}: api.stale_after_min: ") for line in lines)
    assert any(line.startswith("config RONDE_INGEST__BATCH_SIZE: ingest.batch_size: ") for line in lines)
    assert len(lines) == 4


def test_a_cross_field_rule_names_its_section(tmp_path: Path) -> None:
    config = _write(tmp_path, "[ingest]\nbatch_size = 2000\nreceive_maximum = 1000\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(config, environ={})
    assert _one_issue(exc).startswith(f"config {config}: ingest: receive_maximum (1000) must be >= batch_size (2000)")
    with pytest.raises(ConfigError) as exc:
        load_settings(environ={"RONDE_RETENTION__RAW_DAYS": "0"})
    assert _one_issue(exc).startswith("config RONDE_RETENTION__RAW_DAYS: retention.raw_days: ")


def test_unknown_settings_are_refused(tmp_path: Path) -> None:
    config = _write(tmp_path, "[api]\nstale_after = 3\n[calendar]\ndays = []\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(config, environ={"RONDE_STORE__TOKN": "x"})
    lines = sorted(str(i) for i in exc.value.issues)
    assert lines == [
        f"config {config}: api.stale_after: unknown setting (docs/configuration.md lists them)",
        f"config {config}: calendar: unknown setting (docs/configuration.md lists them)",
        "config RONDE_STORE__TOKN: store.tokn: unknown setting (docs/configuration.md lists them)",
    ]


def test_effective_settings_keep_their_origin(tmp_path: Path) -> None:
    config = _write(tmp_path, TOML)
    _, sources = load_with_sources(config, {"api.port": 9999}, environ={"RONDE_STORE_TOKEN": "t"})
    assert sources.origin_of(("api", "port")) == "command line"
    assert sources.origin_of(("store", "token")) == "RONDE_STORE_TOKEN"
    assert sources.origin_of(("store", "url")) == str(config)
    assert sources.origin_of(("api", "host")) is None


def test_config_check_prints_the_settings_with_secrets_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _write(tmp_path, TOML)
    monkeypatch.setenv("RONDE_STORE_TOKEN", "very-secret-token")
    monkeypatch.setenv("RONDE_OPDB_SECRET_KEY", "very-secret-key")
    monkeypatch.delenv("RONDE_MQTT_PASSWORD", raising=False)
    assert main(["config", "check", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "very-secret" not in out
    assert "token = ***  # RONDE_STORE_TOKEN" in out
    assert "secret_key = ***  # RONDE_OPDB_SECRET_KEY" in out
    assert f'url = "http://influx:8086"  # {config}' in out
    assert "password = (unset)  # default" in out
    assert "[mqtt]" in out
    assert "[ingest]" in out
    assert main(["config", "check", "--config", str(config), "--role", "audit"]) == 0
    out = capsys.readouterr().out
    assert "[store]" in out
    assert "[audit]" in out
    assert "[ingest]" not in out
    assert "[api]" not in out


def test_config_check_fails_with_the_role_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RONDE_STORE_URL", raising=False)
    monkeypatch.delenv("RONDE_STORE__URL", raising=False)
    monkeypatch.delenv("RONDE_CONFIG", raising=False)
    config = _write(tmp_path, '[mqtt]\npassword = "pw"\n')
    assert main(["config", "check", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ronde config: config {config}: mqtt.password: a secret is never written")
    assert "pw\n" not in err
    assert main(["config", "check", "--role", "api"]) == 2
    assert capsys.readouterr().err.startswith("ronde config: config RONDE_STORE_URL: store.url: required by ronde api")


def test_the_example_settings_file_is_valid_and_holds_no_secret() -> None:
    example = Path(__file__).resolve().parents[2] / "deploy" / "ronde.example.toml"
    settings = load_settings(example, environ={})
    assert settings.database.url == "postgresql://ronde@postgres:5432/ronde"
    assert settings.store.url == "http://influxdb:8086"
    assert settings.api.cookie_secure is True
    assert settings.store.token is None


def test_the_configuration_doc_lists_every_setting() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = []
    for name, field in RondeSettings.model_fields.items():
        section = field.annotation
        assert isinstance(section, type)
        assert f"### `[{name}]`" in doc, name
        for key in section.model_fields:
            dotted = f"{name}.{key}"
            shown = f"`{env_name(dotted)}`"
            if shown not in doc or (dotted not in secret_fields() and f"| `{key}` |" not in doc):
                missing.append(dotted)
    assert not missing, f"add these to docs/configuration.md: {missing}"


def test_a_list_in_one_variable_is_json() -> None:
    s = load_settings(environ={"RONDE_NOTIFY__SUPERVISORS": '["chef@example.org"]'})
    assert s.notify.supervisors == ("chef@example.org",)
    with pytest.raises(ConfigError) as exc:
        load_settings(environ={"RONDE_NOTIFY__SUPERVISORS": "[chef@example.org"})
    assert _one_issue(exc) == (
        "config RONDE_NOTIFY__SUPERVISORS: notify.supervisors: starts like JSON but is not valid JSON"
    )


def test_config_check_masks_a_password_written_in_a_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RONDE_CONFIG", raising=False)
    monkeypatch.setenv("RONDE_DATABASE_URL", "postgresql://ronde:pw-in-url@db-host/ronde")
    monkeypatch.setenv("RONDE_STORE_URL", "http://admin:pw-in-url@influx:8086")
    assert main(["config", "check", "--role", "api"]) == 0
    out = capsys.readouterr().out
    assert "pw-in-url" not in out
    assert 'url = "postgresql://ronde:***@db-host/ronde"  # RONDE_DATABASE_URL' in out
    assert 'url = "http://admin:***@influx:8086"  # RONDE_STORE_URL' in out
