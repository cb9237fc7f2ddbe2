"""Two ``ronde api serve`` processes on one operational database (SQLite and a real PostgreSQL), issue 13.

The database is made as a site would: ``ronde db upgrade``, then ``ronde registry import`` of the sample estate
and a tokens file. Then, through the HTTP interface of two separate processes: a checkpoint renamed through one
is seen by the other at once; a page session and the access log are shared; a token revoked through one is
refused by both; twenty registry writes at once
(PUT and DELETE, spread over both processes) leave a consistent registry and one revision per change.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from ronde.cli import main
from ronde.opdb.engine import make_engine
from ronde.opdb.registry_repo import RegistryRepository
from ronde.protocol.access import token_entries
from ronde.protocol.estate import default_estate_path, load_default_estate
from ronde.store.sqlite import SqliteStore
from tests.api.support import PH_CP, TOKENS, fill
from tests.opdb.conftest import SECRET_KEY
from tests.support.services import free_port

pytestmark = pytest.mark.slow


def _call(port: int, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}"}
    if data is not None:
        headers["content-type"] = "application/json"
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _sign_in(port: int, token: str) -> str:
    """POST /login as the form does; returns the session cookie (``name=value``)."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/login",
        data=f"token={token}".encode(),
        method="POST",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    with pytest.raises(urllib.error.HTTPError) as answer:  # the 303 is not followed
        urllib.request.build_opener(_NoRedirect).open(req, timeout=30)
    assert answer.value.code == 303
    return answer.value.headers["set-cookie"].split(";", 1)[0]


def _me_by_cookie(port: int, cookie: str) -> int:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/me", headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def write_tokens_file(path: Path) -> Path:
    path.write_text(
        yaml.safe_dump({"tokens": [e.model_dump(mode="json", exclude_none=True) for e in token_entries(TOKENS)]})
    )
    return path


@pytest.fixture
def two_apis(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, int]]:
    monkeypatch.setenv("RONDE_OPDB_SECRET_KEY", SECRET_KEY)
    assert main(["db", "upgrade", "--url", db_url]) == 0
    assert (
        main(
            [
                "registry",
                "import",
                "--url",
                db_url,
                "--estate",
                str(default_estate_path()),
                "--tokens",
                str(write_tokens_file(tmp_path / "tokens.yaml")),
            ]
        )
        == 0
    )
    store = SqliteStore(tmp_path / "ronde.db")
    store.open()
    fill(store, load_default_estate())
    store.close()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "RONDE_OPDB_SECRET_KEY": SECRET_KEY}
    ports = free_port(), free_port()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ronde.cli",
                "api",
                "serve",
                "--store",
                f"sqlite://{tmp_path / 'ronde.db'}",
                "--database",
                db_url,
                "--port",
                str(port),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
        )
        for port in ports
    ]
    try:
        for port, proc in zip(ports, procs, strict=True):
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                        assert json.loads(r.read())["checkpoints"] == 82
                    break
                except (urllib.error.URLError, ConnectionError):
                    if time.monotonic() > deadline or proc.poll() is not None:
                        proc.kill()
                        out = proc.communicate()[0].decode(errors="replace")
                        raise AssertionError(f"ronde api serve did not come up:\n{out[-3000:]}") from None
                    time.sleep(0.2)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_a_rename_and_a_revocation_through_one_process_hold_in_the_other(two_apis: tuple[int, int]) -> None:
    a, b = two_apis
    status, cp = _call(a, "GET", f"/api/v1/checkpoints/{PH_CP}", "tok-admin")
    assert status == 200
    body = {
        k: cp[k]
        for k in ("kind", "estate", "landlord", "building", "lat", "lon", "level", "expected_visits", "radius_m")
    }
    body["name"] = "Hall A – renommé par le processus A"
    body["beacon"] = {
        "format": "ibeacon",
        **cp["beacon"]["identifiers"],
        "tx_power": cp["beacon"]["tx_power"],
        "interval_ms": cp["beacon"]["interval_ms"],
    }
    status, put = _call(a, "PUT", f"/api/v1/checkpoints/{PH_CP}", "tok-admin", body)
    assert status == 200, put
    # the other process sees it at once: no reload, no file, no signal
    status, seen = _call(b, "GET", f"/api/v1/checkpoints/{PH_CP}", "tok-super")
    assert status == 200
    assert seen["name"] == "Hall A – renommé par le processus A"
    status, mine = _call(b, "GET", f"/api/v1/checkpoints/{PH_CP}", "tok-ph")
    assert status == 200
    assert mine["name"] == seen["name"]

    # a page session opened on A holds on B (sessions are rows of the database, not of a process)
    cookie = _sign_in(a, "tok-ph")
    assert _me_by_cookie(b, cookie) == 200
    # a read of audit data through A is in the access log read through B
    assert _call(a, "GET", f"/api/v1/checkpoints/{PH_CP}/visits", "tok-ph")[0] == 200
    status, log = _call(b, "GET", "/api/v1/audit/access-log", "tok-admin")
    assert status == 200, log
    assert any(e["who"] == "audit-ph" and e["what"] == "events.checkpoint" for e in log), log

    # a token revoked through B is refused by both at once, with the sessions it opened; the others go on
    for port in (a, b):
        assert _call(port, "GET", "/api/v1/me", "tok-ph")[0] == 200
    status, _ = _call(b, "DELETE", "/api/v1/tokens/audit-ph", "tok-admin")
    assert status == 204
    for port in (a, b):
        assert _call(port, "GET", "/api/v1/me", "tok-ph")[0] == 401
        assert _me_by_cookie(port, cookie) == 401
        assert _call(port, "GET", "/api/v1/me", "tok-3f")[0] == 200
    assert _call(a, "DELETE", "/api/v1/tokens/audit-ph", "tok-admin")[0] == 404  # nothing left in force
    assert _call(a, "DELETE", "/api/v1/tokens/audit-3f", "tok-super")[0] == 403


def test_twenty_concurrent_writes_through_two_processes(two_apis: tuple[int, int], db_url: str) -> None:
    a, b = two_apis
    status, rows = _call(a, "GET", "/api/v1/checkpoints", "tok-admin")
    assert status == 200
    assert len(rows) == 82
    engine = make_engine(db_url)
    repo = RegistryRepository(engine)
    revisions_before = repo.revisions()
    version_before = repo.version()
    template = next(r for r in rows if r["id"] == PH_CP)
    gone = sorted(r["id"] for r in rows if r["beacon"]["format"] == "ibeacon" and r["id"] != PH_CP)[-10:]
    new = [f"new-hall-{i:02d}" for i in range(10)]

    def put(i: int) -> int:
        body = {k: template[k] for k in ("kind", "estate", "landlord", "building", "lat", "lon")}
        body["name"] = f"Nouveau hall {i}"
        body["beacon"] = {
            "format": "ibeacon",
            "uuid": template["beacon"]["identifiers"]["uuid"],
            "major": 900,
            "minor": i,
        }
        return _call((a, b)[i % 2], "PUT", f"/api/v1/checkpoints/{new[i]}", "tok-admin", body)[0]

    def delete(i: int) -> int:
        return _call((b, a)[i % 2], "DELETE", f"/api/v1/checkpoints/{gone[i]}", "tok-admin")[0]

    with ThreadPoolExecutor(20) as pool:
        puts = [pool.submit(put, i) for i in range(10)]
        deletes = [pool.submit(delete, i) for i in range(10)]
        assert [f.result() for f in puts] == [200] * 10
        assert [f.result() for f in deletes] == [204] * 10

    # consistent: both processes serve the same registry, with exactly what was asked
    for port in (a, b):
        status, after = _call(port, "GET", "/api/v1/checkpoints", "tok-admin")
        assert status == 200
        ids = {r["id"] for r in after}
        assert len(after) == 82
        assert set(new) <= ids
        assert not ids & set(gone)
    # one revision per change, in one line (each one's parent is the one before)
    revisions = repo.revisions()
    added = revisions[len(revisions_before) :]
    assert len(added) == 20
    chain = [revisions_before[-1], *added]
    assert all(r.parent_id == p.id for p, r in itertools.pairwise(chain))
    assert {r.author for r in added} == {"root"}
    assert repo.version() == version_before + 20
    snapshot = repo.snapshot()
    assert snapshot.revision is not None
    assert snapshot.revision.id == added[-1].id
    engine.dispose()
