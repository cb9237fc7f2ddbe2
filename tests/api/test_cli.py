"""``ronde api token`` and ``ronde api serve`` (a real uvicorn process on a free port), on the operational database.

Both read the one settings model (``ronde.settings``): a TOML file, ``RONDE_*`` variables and flags; neither reads a
registry or tokens file.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import uvicorn

from ronde.api.cli import GC_THRESHOLD
from ronde.cli import main
from ronde.opdb.access_repo import DbTokens
from ronde.opdb.engine import make_engine
from ronde.protocol.estate import default_estate_path, load_default_estate
from ronde.store.sqlite import SqliteStore
from tests.api.support import PH_CP, fill
from tests.opdb.conftest import SECRET_KEY
from tests.support.services import free_port


def _site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An operational database as a site makes it: ``ronde db upgrade``, then the sample estate imported."""
    monkeypatch.setenv("RONDE_OPDB_SECRET_KEY", SECRET_KEY)
    url = f"sqlite:///{tmp_path / 'opdb.db'}"
    assert main(["db", "upgrade", "--url", url]) == 0
    assert main(["registry", "import", "--url", url, "--estate", str(default_estate_path())]) == 0
    return url


def test_token_command_creates_the_token_in_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = _site(tmp_path, monkeypatch)
    capsys.readouterr()
    argv = ["api", "token", "--database", url, "--name", "ph", "--role", "landlord", "--landlord", "paris-habitat"]
    assert main(argv) == 0
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("rnd_")
    engine = make_engine(url)
    try:
        principal = DbTokens(engine).authenticate(secret)
        assert principal is not None
        assert principal.landlord == "paris-habitat"
        assert secret.encode() not in (tmp_path / "opdb.db").read_bytes()  # only its SHA-256 is kept
    finally:
        engine.dispose()
    assert main(argv) == 2  # the same name twice
    assert "a token named 'ph' is already in force" in capsys.readouterr().err
    assert main(["api", "token", "--database", url, "--name", "x", "--role", "landlord"]) == 2
    assert "needs 'landlord'" in capsys.readouterr().err
    assert main(["api", "token", "--database", url, "--name", "y", "--role", "landlord", "--landlord", "nobody"]) == 2
    assert "landlord 'nobody' is not in the registry in force" in capsys.readouterr().err
    # the database from the settings file when no flag names it
    config = tmp_path / "ronde.toml"
    config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    monkeypatch.delenv("RONDE_DATABASE_URL", raising=False)
    assert main(["api", "token", "--config", str(config), "--name", "sup", "--role", "supervisor"]) == 0
    assert capsys.readouterr().out.startswith("rnd_")
    # the file mode is gone
    with pytest.raises(SystemExit):
        main(["api", "token", "--tokens", str(tmp_path / "t.yaml"), "--name", "z", "--role", "admin"])


def test_serve_fails_fast_on_bad_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for var in ("RONDE_STORE_URL", "RONDE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    url = _site(tmp_path, monkeypatch)
    db = f"sqlite://{tmp_path / 'r.db'}"
    made = SqliteStore(tmp_path / "r.db")  # ingest creates the store: the API only reads it (StoreAccess.READ)
    made.open()
    made.close()
    capsys.readouterr()
    assert main(["api", "serve", "--database", url]) == 2
    assert capsys.readouterr().err.startswith("ronde api: config RONDE_STORE_URL: store.url: required by ronde api")
    assert main(["api", "serve", "--store", "ftp://nowhere", "--database", url]) == 2
    assert (
        "ronde api: config command line: store.url: 'ftp://nowhere': expected sqlite://PATH" in capsys.readouterr().err
    )
    assert main(["api", "serve", "--store", db, "--database", url, "--stale-after-min", "0"]) == 2
    assert "ronde api: config command line: api.stale_after_min: " in capsys.readouterr().err
    config = tmp_path / "ronde.toml"
    config.write_text('[store]\nurl = "sqlite:///x.db"\ntoken = "in-the-file"\n', encoding="utf-8")
    assert main(["api", "serve", "--config", str(config), "--database", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ronde api: config {config}: store.token: a secret is never written in the settings file")
    assert "in-the-file" not in err
    monkeypatch.setenv("RONDE_API__SESSION_IDLE_MIN", "never")
    assert main(["api", "serve", "--store", db, "--database", url]) == 2
    assert "ronde api: config RONDE_API__SESSION_IDLE_MIN: api.session_idle_min: " in capsys.readouterr().err
    monkeypatch.delenv("RONDE_API__SESSION_IDLE_MIN")
    missing = tmp_path / "never-made.db"
    assert main(["api", "serve", "--store", f"sqlite://{missing}", "--database", url]) == 2
    assert "no such store file" in capsys.readouterr().err
    assert not missing.exists()  # a reader creates nothing
    for gone in ("--tokens", "--estate", "--registry-file", "--gateways", "--badges"):
        with pytest.raises(SystemExit):
            main(["api", "serve", "--store", db, gone, "x.yaml"])
        assert f"unrecognized arguments: {gone}" in capsys.readouterr().err


def test_serve_runs_the_api_from_the_settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = _site(tmp_path, monkeypatch)
    store = SqliteStore(tmp_path / "ronde.db")
    store.open()
    fill(store, load_default_estate())
    store.close()
    out = subprocess.run(
        [sys.executable, "-m", "ronde.cli", "api", "token", "--database", url, "--name", "sup", "--role", "supervisor"],
        capture_output=True,
        text=True,
        check=True,
    )
    secret = out.stdout.strip()
    port = free_port()
    config = tmp_path / "ronde.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n[store]\nurl = "sqlite://{tmp_path / "ronde.db"}"\n'
        f'[api]\nport = {port}\naccess_log = "{tmp_path / "access.jsonl"}"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RONDE_")}
    key_file = tmp_path / "opdb-key"
    key_file.write_text(SECRET_KEY + "\n", encoding="utf-8")
    env |= {"PYTHONUNBUFFERED": "1", "RONDE_CONFIG": str(config), "RONDE_OPDB_SECRET_KEY_FILE": str(key_file)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ronde.cli", "api", "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
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
                    proc.kill()
                    log = proc.communicate()[0].decode(errors="replace")
                    raise AssertionError(f"ronde api serve did not come up:\n{log[-3000:]}") from None
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
    """``ronde api serve`` on the operational database: exit 2 and the command to run when its schema is older than
    the code, absent, or when no registry was imported yet."""
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


def test_serve_hides_its_startup_objects_from_the_cyclic_collector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``ronde api serve`` built before serving (modules, routes, registry) is frozen out of the cyclic
    collector (``gc.freeze``), so no user request pays a full collection scanning it (~100 ms of CPU at the
    district benchmark's size, docs/performance.md)."""
    for var in ("RONDE_STORE_URL", "RONDE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    url = _site(tmp_path, monkeypatch)
    made = SqliteStore(tmp_path / "r.db")
    made.open()
    made.close()
    frozen_when_serving: list[int] = []
    threshold_when_serving: list[tuple[int, int, int]] = []

    def serve(app: object, **kwargs: object) -> None:
        frozen_when_serving.append(gc.get_freeze_count())
        threshold_when_serving.append(gc.get_threshold())

    monkeypatch.setattr(uvicorn, "run", serve)
    before = gc.get_freeze_count()
    threshold = gc.get_threshold()
    try:
        assert main(["api", "serve", "--store", f"sqlite://{tmp_path / 'r.db'}", "--database", url]) == 0
    finally:
        gc.unfreeze()  # this test process's objects back under the collector
        gc.set_threshold(*threshold)
    assert before == 0
    assert len(frozen_when_serving) == 1
    assert frozen_when_serving[0] > 10_000
    # and a request's own young objects are collected every 50,000 allocations, not every 700
    assert threshold_when_serving == [GC_THRESHOLD]
