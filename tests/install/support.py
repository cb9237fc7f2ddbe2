"""What the install tests share: the repository, the lock files read as sets of names, the lock script."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).parents[2]
# third-party modules the server, demo and dashboards extras bring (and a scanner must never need)
SERVER_MODULES = ("fastapi", "starlette", "uvicorn", "influxdb_client", "fpdf", "PIL", "fontTools", "httpx", "nacl")
DEMO_MODULES = ("amqtt",)
DASHBOARDS_MODULES = ("grafana_client", "niquests", "urllib3_future")
NOT_ON_A_SCANNER = SERVER_MODULES + DEMO_MODULES + DASHBOARDS_MODULES


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(role: str) -> dict[str, str]:
    """``requirements/<role>.txt`` as {distribution: version}."""
    pins: dict[str, str] = {}
    for line in (REPO / "requirements" / f"{role}.txt").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        if m:
            pins[normalise(m.group(1))] = m.group(2)
    return pins


def lock_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ronde_lock_script", REPO / "scripts" / "lock.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
