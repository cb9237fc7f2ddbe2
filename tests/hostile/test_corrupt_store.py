"""A corrupted or truncated SQLite store: a clear message and exit 2, never a traceback; 503, not 200.

Issue 11, item 17. The commands run as real subprocesses (what an operator sees on the terminal);
``/healthz`` is asked through the real application with a store whose file is damaged under it.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient

from ronde.protocol.estate import load_default_estate
from ronde.protocol.gateways import GatewayRegistry, gateway_entry
from ronde.store.errors import StoreCorrupt
from ronde.store.sqlite import SqliteStore
from tests.api.support import auth, fill, make_app
from tests.support.opdb_site import site_database, worker_env


def _ronde(*argv: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ronde.cli", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**(env or os.environ), "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        check=False,
    )


def _garbage(path: Path) -> Path:
    path.write_bytes(b"this is not a database, only some bytes a disk full or a bad copy left behind\n" * 64)
    return path


def _truncated(path: Path) -> Path:
    """A real store cut in the middle, as an interrupted copy or a full disk leaves it."""
    store = SqliteStore(path)
    store.open()
    fill(store, load_default_estate())
    store.close()
    size = path.stat().st_size
    assert size > 8192
    with path.open("r+b") as fh:
        fh.truncate(size // 2)
    return path


def _site(tmp_path: Path) -> str:
    """An operational database enrolling one gateway: what a worker needs besides its store."""
    key = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    entry = gateway_entry("gw-1", base64.urlsafe_b64encode(key).rstrip(b"=").decode())
    return site_database(tmp_path / "opdb.db", GatewayRegistry.of(entry))


def _assert_exit_2_with_message(result: subprocess.CompletedProcess[str], db: Path) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout
    assert str(db) in result.stderr, result.stderr
    assert "not a readable Ronde store" in result.stderr, result.stderr
    assert "restore it from a backup" in result.stderr


@pytest.mark.parametrize("damage", [_garbage, _truncated], ids=["garbage", "truncated"])
def test_api_serve_on_a_damaged_file_exits_2_with_a_message(tmp_path: Path, damage: object) -> None:
    db = damage(tmp_path / "ronde.db")  # type: ignore[operator]
    env = worker_env(_site(tmp_path))  # the API reads the operational database, as a worker does
    result = _ronde("api", "serve", "--store", f"sqlite://{db}", "--port", "1", cwd=tmp_path, env=env)
    _assert_exit_2_with_message(result, db)


@pytest.mark.parametrize("damage", [_garbage, _truncated], ids=["garbage", "truncated"])
def test_ingest_run_on_a_damaged_file_exits_2_with_a_message(tmp_path: Path, damage: object) -> None:
    db = damage(tmp_path / "ronde.db")  # type: ignore[operator]
    before = db.read_bytes()
    url = _site(tmp_path)
    result = _ronde(
        "ingest", "run", "--store", f"sqlite://{db}", "--broker-port", "1", cwd=tmp_path, env=worker_env(url)
    )
    _assert_exit_2_with_message(result, db)
    assert db.read_bytes() == before  # nothing written over what a recovery tool could still read


def test_ingest_gaps_and_audit_report_on_a_damaged_file_exit_2(tmp_path: Path) -> None:
    db = _garbage(tmp_path / "ronde.db")
    gaps = _ronde("ingest", "gaps", "--store", f"sqlite://{db}", cwd=tmp_path)
    _assert_exit_2_with_message(gaps, db)
    report = _ronde(
        "audit",
        "report",
        "--store",
        str(db),
        "--landlord",
        "paris-habitat",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--format",
        "csv",
        "--out",
        str(tmp_path / "r.csv"),
        cwd=tmp_path,
    )
    _assert_exit_2_with_message(report, db)


def test_healthz_answers_503_when_the_store_cannot_be_read(tmp_path: Path) -> None:
    app, store, _ = make_app(tmp_path)
    try:
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            store.close()  # drop the connections that cached the good pages
            store._closed = False  # as if the process had just started on the file below
            _garbage(store.path)
            for suffix in ("-wal", "-shm"):
                Path(f"{store.path}{suffix}").unlink(missing_ok=True)
            with pytest.raises(StoreCorrupt):
                store.check()
            health = client.get("/healthz")
            assert health.status_code == 503, health.text
            assert health.json()["code"] == "unavailable"
            assert "not a readable Ronde store" in health.json()["detail"]
            data = client.get("/api/v1/coverage/checkpoints?day=2026-11-25", headers=auth("tok-super"))
            assert data.status_code == 503  # the same answer as the data routes, not 200 beside 500s
    finally:
        store.close()
