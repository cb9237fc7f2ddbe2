"""``ronde api token`` and ``ronde api serve`` (a real uvicorn process on a free port)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ronde.api.auth import TokenBook
from ronde.cli import main
from ronde.store.sqlite import SqliteStore
from tests.api.support import PH_CP, fill
from tests.support.services import free_port


def test_token_command_prints_the_token_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tokens = tmp_path / "tokens.yaml"
    assert (
        main(
            [
                "api",
                "token",
                "--tokens",
                str(tokens),
                "--name",
                "ph",
                "--role",
                "landlord",
                "--landlord",
                "paris-habitat",
            ]
        )
        == 0
    )
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("rnd_")
    assert secret not in tokens.read_text()
    principal = TokenBook.load(tokens).authenticate(secret)
    assert principal is not None
    assert principal.landlord == "paris-habitat"
    assert main(["api", "token", "--tokens", str(tokens), "--name", "x", "--role", "landlord"]) == 2
    assert "needs 'landlord'" in capsys.readouterr().err


def test_serve_fails_fast_on_bad_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite://{tmp_path / 'r.db'}"
    made = SqliteStore(tmp_path / "r.db")  # ingest creates the store: the API only reads it (StoreAccess.READ)
    made.open()
    made.close()
    assert main(["api", "serve", "--store", db, "--tokens", str(tmp_path / "missing.yaml")]) == 2
    assert "tokens_file" in capsys.readouterr().err
    bad = tmp_path / "tokens.yaml"
    bad.write_text("tokens: [{sha256: nope, name: x, role: admin}]\n")
    assert main(["api", "serve", "--store", db, "--tokens", str(bad)]) == 2
    assert "sha256" in capsys.readouterr().err
    good = tmp_path / "ok.yaml"
    good.write_text("tokens: []\n")
    estate = tmp_path / "estate.yaml"
    estate.write_text("format: ronde-estate\nversion: 1\nrevision: x\nlandlords: []\n")
    assert main(["api", "serve", "--store", db, "--tokens", str(good), "--estate", str(estate)]) == 2
    assert "estate.yaml:4: landlords" in capsys.readouterr().err
    assert main(["api", "serve", "--store", "ftp://nowhere", "--tokens", str(good)]) == 2
    capsys.readouterr()
    missing = tmp_path / "never-made.db"
    assert main(["api", "serve", "--store", f"sqlite://{missing}", "--tokens", str(good)]) == 2
    assert "no such store file" in capsys.readouterr().err
    assert not missing.exists()  # a reader creates nothing


def test_serve_runs_the_api(tmp_path: Path) -> None:
    from ronde.protocol.estate import load_default_estate

    store = SqliteStore(tmp_path / "ronde.db")
    store.open()
    fill(store, load_default_estate())
    store.close()
    tokens = tmp_path / "tokens.yaml"
    port = free_port()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ronde.cli",
            "api",
            "token",
            "--tokens",
            str(tokens),
            "--name",
            "sup",
            "--role",
            "supervisor",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    secret = out.stdout.strip()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ronde.cli",
            "api",
            "serve",
            "--store",
            f"sqlite://{tmp_path / 'ronde.db'}",
            "--tokens",
            str(tokens),
            "--port",
            str(port),
            "--access-log",
            str(tmp_path / "access.jsonl"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    health = json.loads(r.read())
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError("ronde api serve did not come up") from None
                time.sleep(0.2)
        assert health["checkpoints"] == 82
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/coverage/checkpoints?day=2026-11-25",
            headers={"Authorization": f"Bearer {secret}"},
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            rows = {x["checkpoint_id"]: x for x in json.loads(r.read())}
        assert rows[PH_CP]["visits"] == 2
        assert rows[PH_CP]["first_seen"] == "2026-11-25T15:30:00Z"
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/landlords", timeout=5)
        assert denied.value.code == 401
    finally:
        proc.terminate()
        proc.wait(15)


def test_serve_refuses_a_database_older_than_the_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``ronde api serve`` on the operational database (the default): exit 2 and the command to run when its
    schema is older than the code, absent, or when no registry was imported yet."""
    from ronde.opdb.engine import make_engine
    from ronde.opdb.migrate import upgrade

    store = f"sqlite://{tmp_path / 'r.db'}"
    made = SqliteStore(tmp_path / "r.db")
    made.open()
    made.close()
    url = f"sqlite:///{tmp_path / 'opdb.db'}"
    assert main(["api", "serve", "--store", store, "--database", url]) == 2
    assert f"has no schema yet: run `ronde db upgrade --url {url}`" in capsys.readouterr().err
    engine = make_engine(url)
    upgrade(engine, "0001")
    assert main(["api", "serve", "--store", store, "--database", url]) == 2
    err = capsys.readouterr().err
    assert "is at migration 0001, older than this code" in err
    assert f"run `ronde db upgrade --url {url}`" in err
    upgrade(engine)
    engine.dispose()
    assert main(["api", "serve", "--store", store, "--database", url]) == 2
    assert "holds no registry yet: run `ronde registry import --estate FILE`" in capsys.readouterr().err
    # file-mode flags without --tokens are refused with what to do instead
    assert main(["api", "serve", "--store", store, "--database", url, "--gateways", "g.yaml"]) == 2
    assert "`ronde registry import`" in capsys.readouterr().err
