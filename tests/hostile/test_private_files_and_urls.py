"""Secrets at rest and in logs (issue 11, item 18).

The SQLite store and the gateway outbox hold where teams were: created 0600 whatever the umask,
and the systemd units set ``UMask=0077`` for anything else the services create. A store or broker
URL's ``user:password@`` or token query never reaches a log line or an error message: every place
that shows one goes through ``ronde.redact.redact_url``.
"""

from __future__ import annotations

import base64
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from configparser import ConfigParser
from pathlib import Path

import pytest

from ronde.gateway.outbox import Outbox, OutgoingMessage
from ronde.protocol.topics import TopicKind
from ronde.redact import redact_url
from ronde.store.config import StoreConfig
from ronde.store.influx import InfluxStore
from ronde.store.sqlite import SqliteStore
from tests.store.standin import Reply, standin

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cret-Pa55"


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The default umask of a shell (022): files would come out 0644 if the code did not choose."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"http://ronde:{SECRET}@influx:8086", "http://ronde:***@influx:8086"),
        (f"https://ronde:{SECRET}@[::1]:8086/prefix", "https://ronde:***@[::1]:8086/prefix"),
        (f"http://{SECRET}@influx:8086", "http://***@influx:8086"),
        (f"http://influx:8086/?db=ronde&token={SECRET}", "http://influx:8086/?db=ronde&token=***"),
        (f"mqtts://gw-1:{SECRET}@mqtt.example.org:8883", "mqtts://gw-1:***@mqtt.example.org:8883"),
        (f"http://ronde:{SECRET}@influx:notaport", "http://***"),
        ("sqlite:///var/lib/ronde/ronde.db", "sqlite:///var/lib/ronde/ronde.db"),
        ("sqlite://ronde.db", "sqlite://ronde.db"),
        ("http://influx:8086", "http://influx:8086"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert SECRET not in redact_url(url)


def test_sqlite_store_and_outbox_are_created_0600(tmp_path: Path, open_umask: None) -> None:
    store = SqliteStore(tmp_path / "store" / "ronde.db")
    store.open()
    store.check()
    outbox = Outbox(tmp_path / "gw" / "outbox.db")
    outbox.enqueue(OutgoingMessage(TopicKind.HEARTBEAT, "m1", None, b"{}"), 1.0)
    try:
        files = [store.path, tmp_path / "gw" / "outbox.db"]
        files += [Path(f"{p}{suffix}") for p in files for suffix in ("-wal", "-shm")]
        modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files if p.exists()}
        assert modes == {p.name: "0o600" for p in files}, modes
    finally:
        outbox.close()
        store.close()


@pytest.mark.parametrize("unit", ["ronde-gateway.service", "ronde-ingest@.service"])
def test_systemd_units_set_a_private_umask(unit: str) -> None:
    parser = ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(ROOT / "deploy" / "systemd" / unit)
    assert parser["Service"]["UMask"] == "0077"


def test_store_url_errors_never_show_credentials() -> None:
    for url in (
        f"ftp://ronde:{SECRET}@influx:8086",
        f"http://ronde:{SECRET}@influx:8086?token={SECRET}",
        f"http://ronde:{SECRET}@influx:99999",
    ):
        with pytest.raises(ValueError, match=r"\*\*\*") as caught:
            StoreConfig(url=url)
        assert SECRET not in str(caught.value), str(caught.value)
        assert "***" in str(caught.value), str(caught.value)


def test_influx_store_logs_its_url_without_credentials(caplog: pytest.LogCaptureFixture) -> None:
    with standin() as s:
        s.on("GET", "/ping", Reply(204, {"X-Influxdb-Version": "1.6.7~rc0"}))
        s.on("POST", "/query", Reply.json({"results": [{"statement_id": 0}, {"statement_id": 1}]}))
        url = s.url.replace("http://", f"http://ronde:{SECRET}@")
        store = InfluxStore(url)
        with caplog.at_level(logging.DEBUG):
            store.open()
        store.close()
        sent = s.sent("GET", "/ping")[0]
    assert f"InfluxDB 1.6.7~rc0 at {s.url}" in caplog.text  # the credentials left the URL (httpx logs URLs)...
    assert SECRET not in caplog.text
    expected = "Basic " + base64.b64encode(f"ronde:{SECRET}".encode()).decode()
    assert sent.headers["Authorization"] == expected  # ...for the Authorization header


def test_commands_never_print_the_store_password(tmp_path: Path) -> None:
    """``ronde api serve`` and ``ronde store init`` against a URL whose credentials are in it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [
        [sys.executable, "-m", "ronde.cli", "api", "serve", "--store", f"ftp://ronde:{SECRET}@influx"],
        [sys.executable, "-m", "ronde.cli", "store", "init", "--store", f"http://ronde:{SECRET}@influx:8086/?x=1"],
    ]
    for argv in runs:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path, check=False)
        assert result.returncode == 2, result.stderr
        assert SECRET not in result.stderr + result.stdout, result.stderr
        assert "ronde:***@influx" in result.stderr, result.stderr
