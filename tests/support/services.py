"""Real servers for tests: mosquitto and influxd, each on a free port with a temporary config.

No mocks: these start the Debian binaries (``mosquitto``, ``influxd``) that ``.ci/run`` installs.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def ephemeral_ports() -> range:
    """The kernel's range for the local ports of outgoing connections (Linux's default when unreadable)."""
    try:
        low, high = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(low, high + 1)


def free_port() -> int:
    """A free port outside the ephemeral range, so a server stopped and restarted in a test gets it back.

    A port the kernel hands out for ``bind(0)`` is one it also hands to outgoing connections: while a test's influxd
    or broker is down, a client retrying against it (or any other connection on the machine) can take that very port
    as its local end, a TCP self-connect included, and the restarted server can no longer listen on it. CI saw
    exactly that once under four workers (influxd restarted after 60 s never answered /ping). Ports below the
    ephemeral range are only ever taken by listeners that ask for them.
    """
    ephemeral = ephemeral_ports()
    low, high = 20000, min(ephemeral.start, 65536)
    if high - low < 1000:
        low, high = 1024, 65536
    rng = random.SystemRandom()
    for _ in range(500):
        port = rng.randrange(low, high)
        if port in ephemeral:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port found in {low}-{high - 1} outside the ephemeral range {ephemeral}")


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


@dataclass
class Mosquitto:
    """A private mosquitto broker. ``restart()`` keeps its persistence directory."""

    port: int
    workdir: Path
    config_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.workdir / "mosquitto.log", "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(self.config_path)], stdout=log, stderr=subprocess.STDOUT
        )
        wait_port(self.port)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        path = self.workdir / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


def mosquitto_config(port: int, workdir: Path, extra: str = "") -> str:
    return (
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "user root\n"
        "persistence true\n"
        f"persistence_location {workdir}/\n"
        "autosave_interval 1\n"
        "max_queued_messages 100000\n"
        "max_inflight_messages 0\n"
        "log_dest stdout\n"
        f"{extra}"
    )


@contextlib.contextmanager
def run_mosquitto(config: str | None = None, *, port: int | None = None) -> Iterator[Mosquitto]:
    """Start mosquitto with ``config`` (``{port}`` and ``{workdir}`` are substituted)."""
    if shutil.which("mosquitto") is None:
        raise RuntimeError("the mosquitto binary is not installed (apt-get install mosquitto)")
    port = port or free_port()
    with tempfile.TemporaryDirectory(prefix="ronde-mosq-") as tmp:
        workdir = Path(tmp)
        text = config.format(port=port, workdir=workdir) if config else mosquitto_config(port, workdir)
        cfg = workdir / "mosquitto.conf"
        cfg.write_text(text)
        broker = Mosquitto(port, workdir, cfg)
        broker.start()
        try:
            yield broker
        finally:
            broker.stop()


@dataclass
class Influxd:
    """A private InfluxDB 1.x (Debian's 1.6.7) with its data in a temporary directory."""

    port: int
    workdir: Path
    config_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.workdir / "influxd.log", "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            ["influxd", "-config", str(self.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "INFLUXDB_REPORTING_DISABLED": "true"},
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=1) as r:
                    if r.status == 204:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        code = self.process.poll()
        state = "still running" if code is None else f"exited with code {code}"
        tail = (self.workdir / "influxd.log").read_text(errors="replace")[-3000:]
        raise TimeoutError(f"influxd did not answer /ping on {self.url} within 60 s ({state}); its log ends:\n{tail}")

    def drop_database(self, name: str) -> None:
        """Best effort (a test may have stopped this server): a test's database gone when the test is."""
        body = urllib.parse.urlencode({"q": f'DROP DATABASE "{name}"'}).encode()
        with contextlib.suppress(urllib.error.URLError, OSError):
            urllib.request.urlopen(f"{self.url}/query", data=body, timeout=10).close()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


def influxd_config(port: int, workdir: Path) -> str:
    return f"""
reporting-disabled = true
bind-address = "127.0.0.1:{free_port()}"
[meta]
  dir = "{workdir}/meta"
[data]
  dir = "{workdir}/data"
  wal-dir = "{workdir}/wal"
  query-log-enabled = false
  wal-fsync-delay = "0s"
[coordinator]
  query-timeout = "30s"
[retention]
  enabled = true
  check-interval = "30m"
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:{port}"
  log-enabled = false
  max-body-size = 0
[continuous_queries]
  enabled = false
[subscriber]
  enabled = false
"""


@contextlib.contextmanager
def run_influxd() -> Iterator[Influxd]:
    if shutil.which("influxd") is None:
        raise RuntimeError("influxd is not installed (apt-get install influxdb)")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="ronde-influx-") as tmp:
        workdir = Path(tmp)
        cfg = workdir / "influxdb.conf"
        cfg.write_text(influxd_config(port, workdir))
        server = Influxd(port, workdir, cfg)
        server.start()
        try:
            yield server
        finally:
            server.stop()
