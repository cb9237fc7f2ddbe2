"""``ronde demo``, the README's first command: a whole evening on embedded defaults, then Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ronde.demo.run import last_finished_service_day
from ronde.protocol.calendar import ServiceCalendar

pytestmark = pytest.mark.slow


def _get(url: str, token: str) -> object:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def test_demo_evening_then_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ronde.cli", "demo", "--speed", "1500", "--port", "0", "--workdir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C" in line:
                break
        out = "".join(lines)
        assert "Ctrl-C" in out, out
        url = re.search(r"Pages et API : (\S+)", out)
        admin = re.search(r"jeton administrateur : (\S+)", out)
        assert url, out
        assert admin, out
        # every landlord has non-zero coverage in the printed summary
        table = out[out.index("Bailleur") : out.index("Pages et API")]
        rows = [r for r in table.splitlines()[1:] if r.strip()]
        assert len(rows) == 6
        for row in rows:
            visited = int(row[26:].split()[1])
            assert visited > 0, row
        # the API serves the same evening while the demo waits for Ctrl-C
        day = last_finished_service_day(ServiceCalendar(), datetime.now(UTC))
        body = _get(f"{url.group(1)}api/v1/coverage/landlords?first={day}&last={day}", admin.group(1))
        assert isinstance(body, list)
        assert len(body) == 6
        for landlord in body:
            assert landlord["period"]["visited"] > 0, landlord
        with urllib.request.urlopen(f"{url.group(1)}healthz", timeout=5) as r:
            assert r.status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
