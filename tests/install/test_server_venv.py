"""A real ``pip install -c requirements/server.txt '.[server]'`` into a fresh venv, as the server image does."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.install.support import DASHBOARDS_MODULES, DEMO_MODULES, REPO


def test_the_image_installs_the_server_role_from_the_lock() -> None:
    text = (REPO / "deploy/docker/Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^ARG RONDE_EXTRA=server$", text, re.M)
    assert 'pip install -c "requirements/${RONDE_EXTRA}.txt" ".[${RONDE_EXTRA}]"' in text
    assert "!requirements/*.txt" in (REPO / "deploy/docker/Dockerfile.dockerignore").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_server_install_has_the_real_urllib3_and_names_the_other_extras(tmp_path: Path) -> None:
    src = tmp_path / "src"  # a copy: pip builds in the source tree, which others share
    shutil.copytree(REPO / "ronde", src / "ronde", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "requirements", src / "requirements")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python, ronde = str(venv / "bin/python"), str(venv / "bin/ronde")
    subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-c",
            str(src / "requirements/server.txt"),
            f"{src}[server]",
        ],
        check=True,
        capture_output=True,
        timeout=540,
    )

    real = subprocess.run(
        [
            python,
            "-c",
            "import importlib.metadata as m, urllib3, influxdb_client; "
            "print(urllib3.__version__, m.version('urllib3'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    imported, installed = real.stdout.split()
    assert imported == installed
    site = next((venv / "lib").glob("python3*/site-packages"))
    assert not list(site.glob("urllib3_future*"))
    assert not (site / "urllib3_future.pth").exists()
    for module in (*DASHBOARDS_MODULES, *DEMO_MODULES, "bleak"):
        proc = subprocess.run([python, "-c", f"import {module}"], capture_output=True, check=False)
        assert proc.returncode != 0, module

    assert subprocess.run([ronde, "api", "serve", "--help"], capture_output=True, check=False).returncode == 0
    assert subprocess.run([ronde, "ingest", "run", "--help"], capture_output=True, check=False).returncode == 0
    demo = subprocess.run([ronde, "demo", "--no-serve"], capture_output=True, text=True, timeout=60, check=False)
    assert demo.returncode == 2
    assert "ronde demo needs the 'demo' extra: pip install 'ronde[demo]'" in demo.stderr
    push = subprocess.run(
        [ronde, "dashboards", "push", "--url", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert push.returncode == 2
    assert "pip install 'ronde[dashboards]'" in push.stderr
