"""The per-role extras as resolved in the lock, and the lock's agreement with pyproject.toml."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

from tests.install.support import REPO, lock_script, locked, normalise

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
EXTRAS = PYPROJECT["project"]["optional-dependencies"]
HEAVY = {
    "fastapi",
    "starlette",
    "uvicorn",
    "amqtt",
    "influxdb-client",
    "fpdf2",
    "fonttools",
    "pillow",
    "grafana-client",
    "niquests",
    "urllib3-future",
    "httpx",
}


def test_the_lock_agrees_with_pyproject() -> None:
    assert lock_script().check(REPO) == []


def test_a_dependency_change_without_a_lock_refresh_is_caught(tmp_path: Path) -> None:
    shutil.copytree(REPO / "requirements", tmp_path / "requirements")
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(text.replace('"bleak>=1.0"', '"bleak>=1.1"', 1), encoding="utf-8")
    script = lock_script()
    problems = script.check(tmp_path)
    assert len(problems) == len(script.LOCKS)
    assert all("other dependencies" in p for p in problems)
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts/lock.py"), "--check", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 1
    assert "make lock" in proc.stderr
    # the version or the description do not decide the lock
    (tmp_path / "pyproject.toml").write_text(text.replace('version = "0.1.0"', 'version = "9.9.9"'), encoding="utf-8")
    assert script.check(tmp_path) == []


def test_core_is_the_protocol_only() -> None:
    core = {normalise(d.split(">")[0].split("=")[0].split("<")[0]) for d in PYPROJECT["project"]["dependencies"]}
    assert core == {"pydantic", "pyyaml", "tzdata", "cryptography", "rfc8785"}


def test_only_the_server_roles_get_libsodium() -> None:
    """A scanner signs with cryptography; verifying and vetting keys (PyNaCl) is the server's."""
    assert "pynacl" not in set(locked("gateway"))
    assert "pynacl" in set(locked("server"))


def test_a_scanner_gets_nothing_of_the_server() -> None:
    gateway = locked("gateway")
    assert {"paho-mqtt", "bleak", "dbus-fast", "pydantic", "cryptography"} <= set(gateway)
    assert not HEAVY & set(gateway), HEAVY & set(gateway)


def test_the_server_runs_influxdb_client_on_the_real_urllib3() -> None:
    server = locked("server")
    assert {"influxdb-client", "urllib3", "fastapi", "uvicorn", "httpx", "fpdf2", "paho-mqtt"} <= set(server)
    assert not {"grafana-client", "niquests", "urllib3-future", "amqtt", "bleak"} & set(server)
    assert not any("dashboards" in d or "demo" in d for d in EXTRAS["server"])


def test_demo_and_all_are_the_roles_together() -> None:
    assert {"amqtt", "fastapi", "bleak", "influxdb-client"} <= set(locked("demo"))
    assert "grafana-client" not in locked("demo")
    assert {"amqtt", "grafana-client", "bleak", "influxdb-client"} <= set(locked("all"))


def test_every_role_runs_the_versions_the_tests_ran() -> None:
    dev = locked("dev")
    for role in ("gateway", "server", "dashboards", "demo", "all"):
        pins = locked(role)
        assert {name: dev.get(name) for name in pins} == pins, role


def test_this_environment_has_the_real_urllib3() -> None:
    """urllib3-future (under grafana-client's niquests) must not have replaced urllib3: the tests then run
    influxdb-client on the urllib3 the server image has (scripts/setup-venv.sh builds it with
    URLLIB3_NO_OVERRIDE=1)."""
    from urllib3._version import __version__ as module_version  # urllib3 does not re-export __version__

    assert module_version == importlib.metadata.version("urllib3")
    site = Path(sysconfig.get_paths()["purelib"])
    assert not (site / "urllib3_future.pth").exists()
