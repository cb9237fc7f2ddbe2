"""Hostile settings: the TOML file, the ``*_FILE`` secrets and the variables every server role reads at start-up.

Each case gets one clear line naming the origin and the setting, and exit code 2 from the command; never a
hang (a FIFO or ``/dev/zero`` given as a file), a crash (deep nesting), a huge read, nor a secret echoed back.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ronde.settings import ConfigError, load_settings
from ronde.settings.sources import MAX_CONFIG_BYTES

ROOT = Path(__file__).resolve().parents[2]


def _issue(config: Path | None, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as exc:
        load_settings(config, environ=environ or {})
    return "\n".join(str(i) for i in exc.value.issues)


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    huge = tmp_path / "huge.toml"
    with huge.open("wb") as f:  # sparse: 4 GiB on paper, nothing on disk
        f.truncate(4 * 1024**3)
    started = time.monotonic()
    assert _issue(huge) == f"config {huge}: (file): larger than {MAX_CONFIG_BYTES} bytes: not a settings file"
    assert time.monotonic() - started < 5.0  # a guard against reading it (minutes), not a speed test
    just_over = tmp_path / "over.toml"
    just_over.write_text("# " + "x" * MAX_CONFIG_BYTES + "\n", encoding="utf-8")
    assert "larger than" in _issue(just_over)


def test_a_fifo_or_a_device_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    assert _issue(fifo) == f"config {fifo}: (file): not a regular file"  # opening it would wait for a writer
    assert _issue(Path("/dev/zero")) == "config /dev/zero: (file): not a regular file"
    assert _issue(None, {"RONDE_STORE_TOKEN_FILE": "/dev/zero"}) == (
        "config RONDE_STORE_TOKEN_FILE: store.token: /dev/zero: not a regular file"
    )
    assert _issue(None, {"RONDE_MQTT_PASSWORD_FILE": str(fifo)}).endswith("not a regular file")


def test_deep_nesting_is_an_error_not_a_crash(tmp_path: Path) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    text = _issue(deep)
    assert text in (f"config {deep}: (file): nested too deeply", f"config {deep}: a: unknown setting")


def test_not_toml_not_utf8_and_nul_bytes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[api\nport = 1\n", encoding="utf-8")
    assert _issue(bad).startswith(f"config {bad}: (file): not valid TOML: ")
    bad.write_bytes(b"[api]\ntitle = '\xff\xfe'\n")
    assert _issue(bad) == f"config {bad}: (file): not UTF-8 text (byte 15)"
    bad.write_bytes(b"[api]\ntitle = 'a\x00b'\n")
    assert _issue(bad).startswith(f"config {bad}: (file): not valid TOML: ")  # TOML itself forbids raw controls
    bad.write_text("just some prose, not settings\n", encoding="utf-8")
    assert _issue(bad).startswith(f"config {bad}: (file): not valid TOML: ")


def test_control_characters_are_refused_wherever_they_come_from(tmp_path: Path) -> None:
    escaped = tmp_path / "escaped.toml"
    escaped.write_text('[api]\ntitle = "Ronde\\u001b[2J"\n', encoding="utf-8")  # a valid TOML escape
    assert _issue(escaped) == f"config {escaped}: api.title: the value holds control characters"
    escaped.write_text('[api]\n"sta\\u0007le" = 1\n', encoding="utf-8")
    assert _issue(escaped) == f"config {escaped}: api.'sta\\x07le': a key holds control characters"
    assert _issue(None, {"RONDE_STORE_URL": "http://influx:8086\r\nX-Injected: 1"}) == (
        "config RONDE_STORE_URL: store.url: the value holds control characters"
    )
    secret = tmp_path / "secret"
    secret.write_bytes(b"tok\x1ben\n")
    assert _issue(None, {"RONDE_STORE_TOKEN_FILE": str(secret)}) == (
        f"config RONDE_STORE_TOKEN_FILE: store.token: {secret}: the secret holds control characters"
    )


def test_wrong_types_and_shapes(tmp_path: Path) -> None:
    config = tmp_path / "types.toml"
    config.write_text(
        'api = "not a table"\n[store]\ntimeout_s = "soon"\nurl = 8086\n[mqtt]\nport = 70000\ntls = "maybe"\n',
        encoding="utf-8",
    )
    lines = _issue(config).splitlines()
    assert all(line.startswith(f"config {config}: ") for line in lines)
    wheres = sorted(line.split(": ")[1] for line in lines)
    assert wheres == ["api", "mqtt.port", "mqtt.tls", "store.timeout_s", "store.url"]
    assert _issue(None, {"RONDE_INGEST__NAME": "w1/../x"}).startswith("config RONDE_INGEST__NAME: ingest.name: ")
    assert _issue(None, {"RONDE_API____PORT": "1"}).startswith("config RONDE_API____PORT: RONDE_API____PORT: ")


def test_unknown_keys_are_named_and_secrets_never_echoed(tmp_path: Path) -> None:
    config = tmp_path / "unknown.toml"
    config.write_text('[store]\nurl = "sqlite:///x.db"\ntokn = "s3cr3t-value"\n[nope]\n', encoding="utf-8")
    text = _issue(config)
    assert sorted(text.splitlines()) == [
        f"config {config}: nope: unknown setting (docs/configuration.md lists them)",  # even empty
        f"config {config}: store.tokn: unknown setting (docs/configuration.md lists them)",
    ]
    config.write_text('[store]\ntoken = "s3cr3t-value"\n', encoding="utf-8")
    text = _issue(config)
    assert "s3cr3t" not in text
    assert "store.token" in text


def test_the_command_exits_2_with_one_line_per_problem(tmp_path: Path) -> None:
    config = tmp_path / "ronde.toml"
    config.write_text('[store]\nurl = "http://influx:8086"\npassword = "pw-in-file"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RONDE_")}
    proc = subprocess.run(
        [sys.executable, "-m", "ronde.cli", "config", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"ronde config: config {config}: store.password: a secret is never written")
    assert "pw-in-file" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 1
