"""``ronde demo``, the README's first command: the URL and a one-click sign-in link before the evening
plays, a whole evening on embedded defaults, pages that open on it, then Ctrl-C (issue 16, point 1)."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ronde.demo.run import last_finished_service_day
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.formats import date_long

pytestmark = pytest.mark.slow


def _get(url: str, token: str) -> object:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def _text(url: str, token: str) -> str:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return str(r.read().decode("utf-8"))


def _browser() -> urllib.request.OpenerDirector:
    """A fresh browser: its own cookie jar, following redirects."""
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def _status(opener: urllib.request.OpenerDirector, url: str) -> tuple[int, str, str]:
    try:
        with opener.open(url, timeout=10) as r:
            return r.status, r.geturl(), r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, url, e.read().decode("utf-8")


def _outward_address() -> str:
    """This machine's address on its way out (no packet is sent: a UDP socket only picks a route);
    a request to it from here reaches the demo from a non-loopback address."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # TEST-NET-1: never answered, only routed
        address: str = s.getsockname()[0]
    assert not address.startswith("127."), "this machine has no non-loopback IPv4 address to test with"
    return address


def _read_until(proc: subprocess.Popen[str], lines: list[str], marker: str, deadline: float) -> str:
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            return line
    raise AssertionError(f"{marker!r} never printed:\n{''.join(lines)}")


def test_demo_evening_one_click_sign_in_then_ctrl_c(tmp_path: Path) -> None:
    # an evening a week before the last finished one: the wall clock is then past evenings that have no
    # data, as it is inside tonight's window when `make demo` runs at 19:00; the pages must open on the
    # replayed evening all the same
    day: date = last_finished_service_day(ServiceCalendar(), datetime.now(UTC)) - timedelta(days=7)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "ronde.cli", "demo", "--speed", "1500", "--port", "0", "--day", day.isoformat()),
            *("--host", "0.0.0.0", "--workdir", str(tmp_path)),  # noqa: S104 - reached from this machine's outward address on purpose
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 240
    try:
        link_line = _read_until(proc, lines, "connexion en un clic", deadline)
        link = link_line.split(" : ", 1)[1].strip()
        assert link.startswith("http://127.0.0.1:")
        assert "Pages et API" in "".join(lines)
        assert not any(line.startswith("[") for line in lines), "the link came after the evening began to play"

        _read_until(proc, lines, "Ctrl-C", deadline)
        # from another address than loopback the link is refused, and stays unspent
        outward = link.replace("127.0.0.1", _outward_address())
        status, _, body = _status(_browser(), outward)
        assert status == 403, body
        assert "que sur la machine de la démonstration" in body
        out = "".join(lines)
        url = re.search(r"Pages et API : (\S+)", out)
        admin = re.search(r"jeton administrateur : (\S+)", out)
        assert url, out
        assert admin, out
        # issue 15: the evening's alerts and Paris Habitat's bilan of the month (tests/demo/test_notify_demo.py)
        assert re.search(r"Alertes de la soirée : \d+", out), out
        assert re.search(r"Bilan mensuel de Paris Habitat : http://\S+/api/v1/notify/bilans/\S+\.pdf", out), out
        # every landlord has non-zero coverage in the printed summary
        table = out[out.index("Bailleur") : out.rindex("Pages et API")]
        rows = [r for r in table.splitlines()[1:] if r.strip()]
        assert len(rows) == 6
        for row in rows:
            visited = int(row[26:].split()[1])
            assert visited > 0, row

        # the newcomer clicks the link: signed in, on the overview of the replayed evening
        browser = _browser()
        status, landed, html = _status(browser, link)
        assert status == 200, html
        assert landed.endswith("/ui")
        assert f"Dernière soirée de service – {date_long(day)}" in html
        overview = html.split('id="overview"')[1].split("</table>", 1)[0]
        landlord_rows = re.findall(r'<tr data-landlord="([^"]+)">(.*?)</tr>', overview)
        assert len(landlord_rows) == 6
        for landlord, row in landlord_rows:
            last_evening = re.findall(r'<td class="num">(.*?)</td>', row)[2]
            share = float(re.sub(r"<svg.*?</svg>", "", last_evening).strip().split("\u202f")[0].replace(",", "."))
            assert share > 0, (landlord, last_evening)
        # the period column starts with the demo's data, not 29 empty evenings before it
        assert f"Période du {day:%d/%m/%Y} au {day:%d/%m/%Y}" in html
        # the same session keeps working; the link does not, a second time, nor from another browser
        status, _, supervision = _status(browser, url.group(1) + "ui/supervision")
        assert status == 200
        # the teams are registered under a pseudonym: their badges never reach a page
        badges = _get(f"{url.group(1)}api/v1/badges", admin.group(1))
        assert isinstance(badges, list)
        assert sorted(b["team"] for b in badges) == ["Équipe 1", "Équipe 2"]
        for b in badges:
            assert b["badge"] not in supervision
        status, _, body = _status(_browser(), link)
        assert status == 403
        assert "déjà servi" in body

        # the API serves the same evening while the demo waits for Ctrl-C
        body_json = _get(f"{url.group(1)}api/v1/coverage/landlords?first={day}&last={day}", admin.group(1))
        assert isinstance(body_json, list)
        assert len(body_json) == 6
        for landlord in body_json:
            assert landlord["period"]["visited"] > 0, landlord
        # the clock ran on after the replay: a report made now says now
        csv = _text(
            f"{url.group(1)}api/v1/audit/landlords/paris-habitat/report.csv?first={day}&last={day}", admin.group(1)
        )
        issued = re.search(r"# [^:\n]+: (\d{4}-\d{2}-\d{2}T[^\s;]+)", csv)
        assert issued, csv[:500]
        assert abs(datetime.fromisoformat(issued.group(1)) - datetime.now(UTC)) < timedelta(minutes=2)
        with urllib.request.urlopen(f"{url.group(1)}healthz", timeout=5) as r:
            assert r.status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
