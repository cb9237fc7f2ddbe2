"""Hostile settings given to a real ``ronde ingest run`` process: its one configuration input at start-up.

The loader's own cases are in tests/hostile/test_settings_files.py; here the worker's command, in a child whose
address space is capped and whose run is timed, must stop with exit 2 and one line naming the origin (the file
or the variable) and the setting: never a hang (a FIFO, ``/dev/zero``), a crash (deep nesting), a huge read, a
traceback, nor a secret written back. A YAML bomb, yesterday's configuration format, is not TOML: refused unread.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ronde.settings.sources import MAX_CONFIG_BYTES

MEMORY_CAP = 1024 * 1024 * 1024  # 1 GiB of address space: a file read whole or expanded would die here
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _ingest(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("RONDE_")}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "ronde.cli", "ingest", "run", "--store", "sqlite:///never-opened.db", *args],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_memory,
        env={**base, **(env or {})},
        check=False,
    )
    return done, time.monotonic() - started


def _bomb(tmp: Path) -> Path:
    path = tmp / "ingest.yaml"
    path.write_text(BOMB)
    return path


def _deep(tmp: Path) -> Path:
    path = tmp / "deep.toml"
    path.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    return path


def _huge(tmp: Path) -> Path:
    path = tmp / "huge.toml"
    with path.open("wb") as f:  # sparse: 4 GiB on paper
        f.truncate(4 * 1024**3)
    return path


def _fifo(tmp: Path) -> Path:
    path = tmp / "fifo.toml"
    os.mkfifo(path)  # opening it would wait for a writer
    return path


CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "yaml-bomb": (_bomb, "(file): not valid TOML"),
    "deep-nesting": (_deep, ""),  # "nested too deeply", or "a: unknown setting" where the parser copes
    "huge": (_huge, f"(file): larger than {MAX_CONFIG_BYTES} bytes"),
    "fifo": (_fifo, "(file): not a regular file"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_hostile_settings_file_stops_the_worker_with_exit_2(tmp_path: Path, case: str) -> None:
    make, what = CASES[case]
    path = make(tmp_path)
    done, took = _ingest("--config", str(path))
    assert done.returncode == 2, done.stdout + done.stderr[-2000:]
    assert done.stderr.startswith(f"ronde ingest run: config {path}: "), done.stderr[-2000:]
    assert what in done.stderr
    assert "Traceback" not in done.stderr
    assert took < 30, took


def test_hostile_variables_are_named_and_secrets_not_echoed(tmp_path: Path) -> None:
    """``RONDE_CONFIG`` naming a device, a secret file that is a device, a control character in a secret."""
    done, _ = _ingest(env={"RONDE_CONFIG": "/dev/zero"})
    assert done.returncode == 2
    assert "ronde ingest run: config /dev/zero: (file): not a regular file" in done.stderr
    done, _ = _ingest(env={"RONDE_MQTT_PASSWORD_FILE": "/dev/zero"})
    assert done.returncode == 2
    assert "config RONDE_MQTT_PASSWORD_FILE: mqtt.password: /dev/zero: not a regular file" in done.stderr
    done, _ = _ingest(env={"RONDE_STORE_TOKEN": "tok\x1b[2Jen-secret"})
    assert done.returncode == 2
    assert "config RONDE_STORE_TOKEN: store.token: " in done.stderr
    assert "en-secret" not in done.stderr
    done, _ = _ingest("--name", "w1\n--accept-unknown-gateways")
    assert done.returncode == 2
    assert "config command line: ingest.name: " in done.stderr
    assert "Traceback" not in done.stderr


def test_credentials_in_urls_are_never_printed() -> None:
    """A store or database URL carrying its password (which belongs in RONDE_STORE_TOKEN/PASSWORD or
    RONDE_DATABASE_PASSWORD) is refused or fails without the password reaching the terminal or the logs."""
    secret = "pw-8c1f0e"  # a test value: the one that must not be printed
    done, _ = _ingest("--store", f"ftp://ronde:{secret}@influx")
    assert done.returncode == 2
    assert "ronde:***@influx" in done.stderr
    unreachable = f"postgresql://ronde:{secret}@127.0.0.1:1/ronde"  # nothing listens on port 1
    done, _ = _ingest("--database", unreachable, "--broker-port", "1")
    assert done.returncode == 2, done.stderr[-2000:]
    for out in (done.stdout, done.stderr):
        assert secret not in out
    assert "Traceback" not in done.stderr
