"""Hostile HTTP bodies against a real ``ronde api serve`` process: too large, declared or streamed,
with and without a token. Each is refused before it is read (413, or 401 for an anonymous write),
the connection is closed rather than drained, and the server's peak memory does not move.

The client is a raw socket so that the test controls exactly what is declared and what is sent
(a ``Content-Length`` with no body behind it; ``Transfer-Encoding: chunked`` with no length at all).
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ronde.api.auth import Role
from ronde.protocol.estate import load_default_estate
from ronde.store.sqlite import SqliteStore
from tests.api.support import OPDB_SECRET_KEY, TOKENS, fill, make_database
from tests.support.services import free_port

MB = 1024 * 1024
HOSTILE = 150 * MB  # the body that used to grow the API by ~240 MB before its 401
MAX_GROWTH = 20 * MB
IMPORT_LIMIT = 3 * MB  # set with --max-import-body-bytes (the default is 2 MiB): the flag reaches the guard
DEFAULT_LIMIT = 64 * 1024  # ApiSettings.max_body_bytes default


@dataclass
class Server:
    port: int
    pid: int
    admin: str


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int  # body bytes the server let the client send before answering


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("hostile-http")
    store = SqliteStore(tmp / "ronde.db")
    store.open()
    fill(store, load_default_estate())
    store.close()
    make_database(tmp).dispose()  # the operational database: sample estate and TOKENS, as `ronde registry import`
    admin = next(token for token, who in TOKENS.items() if who.role is Role.ADMIN)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ronde.cli",
            "api",
            "serve",
            "--store",
            f"sqlite://{tmp / 'ronde.db'}",
            "--database",
            f"sqlite:///{tmp / 'opdb.db'}",
            "--port",
            str(port),
            "--access-log",
            str(tmp / "access.jsonl"),
            "--max-import-body-bytes",
            str(IMPORT_LIMIT),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "serve.log").open("wb"),
        env={**os.environ, "PYTHONUNBUFFERED": "1", "RONDE_OPDB_SECRET_KEY": OPDB_SECRET_KEY},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(
                        "ronde api serve did not come up: " + (tmp / "serve.log").read_text(errors="replace")
                    ) from None
                time.sleep(0.1)
        yield Server(port, proc.pid, admin)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def peak_rss(pid: int) -> int:
    """VmHWM: the highest resident set the process ever had, so a brief spike cannot be missed."""
    return _status_kb(pid, "VmHWM")


def _read_answer(sock: socket.socket, sent: int) -> Answer:
    data = b""
    sock.settimeout(10)
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines, f"no HTTP answer: {data[:200]!r}"
    assert lines[0].startswith("HTTP/1.1 "), f"no HTTP answer: {data[:200]!r}"
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    want = int(headers.get("content-length", "0"))
    while len(rest) < want:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return Answer(int(lines[0].split()[1]), headers, rest, sent)


def send(
    port: int,
    method: str,
    path: str,
    *,
    total: int,
    declare: bool,
    token: str | None = None,
    content_type: str = "application/octet-stream",
    block: int = 256 * 1024,
) -> Answer:
    """Sends ``total`` body bytes (declared with Content-Length, or chunked), stopping as soon as the
    server answers or closes; returns its answer and how much of the body it took."""
    head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Type: {content_type}"]
    if token is not None:
        head.append(f"Authorization: Bearer {token}")
    head.append(f"Content-Length: {total}" if declare else "Transfer-Encoding: chunked")
    payload = b"a" * block
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("ascii"))
        sent = 0
        try:
            while sent < total:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    return _read_answer(sock, sent)
                n = min(block, total - sent)
                sock.sendall(payload[:n] if declare else f"{n:x}\r\n".encode() + payload[:n] + b"\r\n")
                sent += n
            if not declare:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed on us: its answer is already in our receive buffer
        return _read_answer(sock, sent)


def _error(answer: Answer) -> dict[str, str]:
    body: dict[str, str] = json.loads(answer.body)
    return body


def warm_up(server: Server) -> int:
    """Runs each kind of request once (imports, first allocations), then returns the peak so far."""
    send(server.port, "PUT", "/api/v1/estate-file", total=300 * 1024, declare=False, token=server.admin)
    send(server.port, "PUT", "/api/v1/badges/EQUIPE-W", total=100 * 1024, declare=False, token=server.admin)
    send(server.port, "POST", "/login", total=100 * 1024, declare=False)
    send(server.port, "PUT", "/api/v1/estate-file", total=4 * MB, declare=True)
    return peak_rss(server.pid)


def test_declared_oversize_body_without_token_is_413_before_reading_and_memory_stays_flat(server: Server) -> None:
    before = warm_up(server)
    answer = send(server.port, "PUT", "/api/v1/estate-file", total=HOSTILE, declare=True)
    assert answer.status == 413, answer
    assert _error(answer) == {"detail": f"request body larger than {IMPORT_LIMIT} bytes", "code": "too_large"}
    assert answer.headers["connection"] == "close"
    assert answer.sent < 8 * MB, "the server let the client push the body before refusing it"
    assert peak_rss(server.pid) - before < MAX_GROWTH


def test_declared_oversize_body_with_token_is_413(server: Server) -> None:
    answer = send(server.port, "PUT", "/api/v1/estate-file", total=HOSTILE, declare=True, token=server.admin)
    assert answer.status == 413
    assert _error(answer)["code"] == "too_large"
    answer = send(
        server.port,
        "PUT",
        "/api/v1/badges/EQUIPE-Z",
        total=DEFAULT_LIMIT + 1,
        declare=True,
        token=server.admin,
        content_type="application/json",
    )
    assert answer.status == 413
    assert str(DEFAULT_LIMIT) in _error(answer)["detail"]


def test_streamed_oversize_import_with_token_is_413_at_the_limit_and_memory_stays_flat(server: Server) -> None:
    before = warm_up(server)
    answer = send(
        server.port,
        "PUT",
        "/api/v1/estate-file",
        total=HOSTILE,
        declare=False,
        token=server.admin,
        content_type="application/yaml",
    )
    assert answer.status == 413, answer
    assert _error(answer)["detail"] == f"request body larger than {IMPORT_LIMIT} bytes"
    assert answer.headers["connection"] == "close"
    assert answer.sent < 16 * MB
    assert peak_rss(server.pid) - before < MAX_GROWTH


def test_streamed_oversize_json_body_is_413_not_a_parse_error(server: Server) -> None:
    # FastAPI parses JSON bodies itself and would call the aborted read a 400: the guard answers 413
    answer = send(
        server.port,
        "PUT",
        "/api/v1/badges/EQUIPE-Z",
        total=HOSTILE,
        declare=False,
        token=server.admin,
        content_type="application/json",
    )
    assert answer.status == 413
    assert _error(answer)["code"] == "too_large"
    assert answer.sent < 16 * MB


def test_streamed_body_without_token_is_refused_before_it_is_read(server: Server) -> None:
    before = warm_up(server)
    answer = send(server.port, "PUT", "/api/v1/estate-file", total=HOSTILE, declare=False)
    # no length to judge by, but no token either: the 401 comes first, without reading a byte of it
    assert answer.status == 401, answer
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.headers["connection"] == "close"
    assert answer.sent < 16 * MB
    unknown = send(server.port, "POST", "/api/v1/estate-file/check", total=HOSTILE, declare=False, token="rnd_nope")
    assert unknown.status == 401
    assert peak_rss(server.pid) - before < MAX_GROWTH


def test_login_body_is_bounded_declared_or_streamed(server: Server) -> None:
    before = warm_up(server)
    form = "application/x-www-form-urlencoded"
    declared = send(server.port, "POST", "/login", total=HOSTILE, declare=True, content_type=form)
    assert declared.status == 413
    assert declared.sent < 8 * MB
    streamed = send(server.port, "POST", "/login", total=HOSTILE, declare=False, content_type=form)
    assert streamed.status == 413
    assert _error(streamed)["detail"] == f"request body larger than {DEFAULT_LIMIT} bytes"
    assert streamed.sent < 16 * MB
    assert peak_rss(server.pid) - before < MAX_GROWTH


def test_bodies_within_their_route_limit_still_work(server: Server) -> None:
    # 300 KiB of YAML is over the default limit but within the import limit: judged on content (422)
    big_yaml = send(
        server.port,
        "POST",
        "/api/v1/estate-file/check",
        total=300 * 1024,
        declare=True,
        token=server.admin,
        content_type="application/yaml",
    )
    assert big_yaml.status == 422, big_yaml
    with urllib.request.urlopen(
        urllib.request.Request(
            f"http://127.0.0.1:{server.port}/api/v1/estate-file",
            headers={"Authorization": f"Bearer {server.admin}"},
        )
    ) as r:
        estate = r.read()
    assert len(estate) > DEFAULT_LIMIT // 8
    req = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/api/v1/estate-file/check",
        data=estate,
        method="POST",
        headers={"Authorization": f"Bearer {server.admin}", "Content-Type": "application/yaml"},
    )
    with urllib.request.urlopen(req) as r:
        assert json.loads(r.read())["applied"] is False
    req = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/api/v1/badges/EQUIPE-Q",
        data=b'{"team": "Equipe Q"}',
        method="PUT",
        headers={"Authorization": f"Bearer {server.admin}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as r:
        assert r.status == 200
    # the server is still answering normally after all the above
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz") as r:
        assert r.status == 200
