"""Who may change the store's layout (``StoreAccess``): only the maintenance role sets retention.

Issue 11, item 4: every process that opened the InfluxDB store used to ALTER the retention policies
to its own (default) settings, so ``ronde api serve`` started after ingest reset ingest's configured
400/800 days to 60/365 (data loss). Here the stores are built exactly as the commands build them
(``ronde.ingest.cli.build_store``, ``ronde.api.cli.open_reader_store`` from the settings the command reads,
``ronde.audit.cli.open_store``) and the retention policies are read back from a real influxd.
"""

from __future__ import annotations

import stat
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from ronde.api.cli import open_reader_store
from ronde.audit.cli import open_store as audit_open_store
from ronde.ingest.cli import build_store
from ronde.ingest.config import IngestConfig, from_settings
from ronde.settings import StoreSection, load_settings
from ronde.store.config import StoreConfig, open_store
from ronde.store.errors import StoreRejected
from ronde.store.influx import InfluxStore
from ronde.store.port import StoreAccess, StoreUnavailable
from ronde.store.records import RetentionPolicy, WriteBatch
from ronde.store.retention import DEFAULT_RETENTION
from ronde.store.sqlite import SqliteStore
from tests.store import factories as f
from tests.store.standin import Reply, standin
from tests.support.services import Influxd
from tests.support.settings_toml import write_settings

WINDOW = (f.BASE - timedelta(hours=1), f.BASE + timedelta(days=1))


def _policies(influxd: Influxd, db: str) -> dict[str, str]:
    with httpx.Client(base_url=influxd.url) as http:
        body = http.get("/query", params={"q": f'SHOW RETENTION POLICIES ON "{db}"'}).json()
    result = body["results"][0]
    if "series" not in result:
        return {}
    return {row[0]: row[1] for row in result["series"][0]["values"] if row[0] != "autogen"}


def _databases(influxd: Influxd) -> set[str]:
    with httpx.Client(base_url=influxd.url) as http:
        body = http.get("/query", params={"q": "SHOW DATABASES"}).json()
    return {row[0] for row in body["results"][0]["series"][0].get("values", [])}


def _ingest(url: str, db: str = "ronde", flags: dict[str, object] | None = None) -> IngestConfig:
    """A worker's configuration as ``ronde ingest run`` reads it (the settings: none from this environment)."""
    return from_settings(load_settings(None, {"store.url": url, "store.database": db, **(flags or {})}, environ={}))


def _api_store(url: str, db: str) -> StoreSection:
    """The store section ``ronde api serve --store URL --store-database DB`` reads (``ronde.settings``)."""
    return load_settings(flags={"store.url": url, "store.database": db}, environ={}).store


@pytest.mark.influx
def test_api_serve_started_after_ingest_leaves_ingest_retention(influxd: Influxd, tmp_path: Path) -> None:
    """The reproduction of the issue: ingest with 400/800 days, then the API's open → still 9600h/19200h."""
    db = f"acc_{uuid.uuid4().hex[:10]}"
    config = _ingest(influxd.url, db, {"retention.raw_days": 400, "retention.proof_days": 800})
    ingest = build_store(config)
    ingest.open()
    expected = {
        "raw": "9600h0m0s",
        "rejections": f"{DEFAULT_RETENTION.rejections_days * 24}h0m0s",
        "proof": "19200h0m0s",
    }
    assert _policies(influxd, db) == expected
    ingest.write(WriteBatch(visits=(f.visit(1),)))

    api = open_reader_store(_api_store(influxd.url, db))
    try:
        assert _policies(influxd, db) == expected
        assert [v.event_id for v in api.visits(*WINDOW)] == [f.visit(1).event_id]
        with pytest.raises(StoreRejected, match="read-only"):
            api.write(WriteBatch(visits=(f.visit(2),)))
        with pytest.raises(StoreRejected, match="read-only"):
            api.apply_retention(DEFAULT_RETENTION, f.BASE)
    finally:
        api.close()
    # a second writer without maintenance (ingest --no-maintenance, the default access) changes nothing either
    other = open_store(influxd.url, database=db)
    other.close()
    assert _policies(influxd, db) == expected
    # while the maintenance role's own open applies its (new) policy
    shorter = build_store(_ingest(influxd.url, db, {"retention.raw_days": 300, "retention.proof_days": 800}))
    shorter.open()
    shorter.close()
    assert _policies(influxd, db)["raw"] == "7200h0m0s"
    ingest.close()


@pytest.mark.influx
def test_a_reader_before_any_layout_creates_nothing_and_reads_empty(influxd: Influxd, tmp_path: Path) -> None:
    db = f"acc_{uuid.uuid4().hex[:10]}"
    api = open_reader_store(_api_store(influxd.url, db))
    try:
        assert api.visits(*WINDOW) == []
        assert api.rejections(*WINDOW) == []
        assert api.gaps(*WINDOW) == []
        assert api.rollups(f.DAY, f.DAY) == []
        assert api.latest_gateway_states() == {}
        api.check()
    finally:
        api.close()
    assert db not in _databases(influxd)


def test_ingest_access_follows_its_maintenance_setting(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/r.db"
    maintaining = build_store(_ingest(url))
    writing = build_store(_ingest(url, flags={"ingest.maintenance": False}))
    assert isinstance(maintaining, SqliteStore)
    assert maintaining.access is StoreAccess.MAINTAIN
    assert isinstance(writing, SqliteStore)
    assert writing.access is StoreAccess.WRITE


def test_retention_defaults_have_one_source() -> None:
    """Store configuration, ingest configuration and the policy read the same definition."""
    ingest = _ingest("sqlite://x.db").retention
    store = StoreConfig(url="sqlite://x.db").retention()
    assert (ingest.raw_days, ingest.proof_days, ingest.rejections_days) == (
        DEFAULT_RETENTION.raw_days,
        DEFAULT_RETENTION.proof_days,
        DEFAULT_RETENTION.rejections_days,
    )
    assert store == RetentionPolicy() == DEFAULT_RETENTION
    assert (DEFAULT_RETENTION.raw_days, DEFAULT_RETENTION.proof_days) == (60, 365)  # docs/retention.md, CNIL


def test_sqlite_reader_never_creates_nor_writes(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    with pytest.raises(StoreUnavailable, match="no such store file"):
        SqliteStore(missing, access=StoreAccess.READ).open()
    assert not missing.exists()
    path = tmp_path / "r.db"
    writer = SqliteStore(path)
    writer.open()
    writer.write(WriteBatch(visits=(f.visit(1),)))
    reader = audit_open_store(f"sqlite://{path}")
    try:
        assert [v.event_id for v in reader.visits(*WINDOW)] == [f.visit(1).event_id]
        with pytest.raises(StoreUnavailable, match="readonly"):
            reader.write(WriteBatch(visits=(f.visit(2),)))
    finally:
        reader.close()
        writer.close()
    assert [v.event_id for v in SqliteStore(path).visits(*WINDOW)] == [f.visit(1).event_id]


def test_sqlite_files_are_created_private(tmp_path: Path) -> None:
    """The database (and SQLite's -wal/-shm beside it) hold employees' whereabouts: 0600, whatever the umask."""
    path = tmp_path / "sub" / "ronde.db"
    store = SqliteStore(path)
    store.open()
    store.write(WriteBatch(visits=(f.visit(1),)))
    try:
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            assert p.exists(), p
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    finally:
        store.close()


def _bucket(name: str, days: int) -> dict[str, object]:
    return {
        "id": f"id-{name.replace('/', '-')}",
        "name": name,
        "orgID": "0123456789abcdef",
        "type": "user",
        "retentionRules": [{"type": "expire", "everySeconds": days * 86_400}],
    }


@pytest.mark.parametrize(
    ("access", "patched"), [(StoreAccess.READ, False), (StoreAccess.WRITE, False), (StoreAccess.MAINTAIN, True)]
)
def test_influxdb_2_bucket_rules_are_changed_by_the_maintenance_role_only(access: StoreAccess, patched: bool) -> None:
    """On 2.x the same rule through the buckets API: existing buckets at 400 days, opened with the defaults."""
    existing = {n: _bucket(n, 400) for n in ("ronde/raw", "ronde/rejections", "ronde/proof")}
    with standin() as s:
        s.on("GET", "/ping", Reply(204, {"X-Influxdb-Version": "v2.7.10", "X-Influxdb-Build": "OSS"}))
        s.on("POST", "/query", Reply.json({"results": [{"statement_id": 0}]}))
        s.on("GET", "/api/v2/buckets", lambda r: Reply.json({"buckets": [existing[r.query["name"][0]]]}))
        for body in existing.values():
            s.on("PATCH", f"/api/v2/buckets/{body['id']}", Reply.json(body))
        s.on("POST", "/api/v2/write", Reply(204))  # the maintenance role's sweep of the rollups' packed copy
        store = InfluxStore(s.url, token="t", org="mediation", access=access)
        store.open()
        assert store.visits(*WINDOW) == []
        store.close()
        changes = [r for r in s.requests if r.method in ("PATCH", "POST") and r.path.startswith("/api/v2/buckets")]
        assert bool(changes) is patched
        if access is StoreAccess.READ:
            assert s.sent("GET", "/api/v2/buckets") == []  # a reader does not even look


@pytest.mark.influx
def test_store_init_applies_the_ingest_configuration_retention(influxd: Influxd, tmp_path: Path) -> None:
    """``ronde store init --config ronde.toml``: the maintenance role's open, from the same settings as the workers."""
    from ronde.cli import main

    db = f"acc_{uuid.uuid4().hex[:10]}"
    config = write_settings(
        tmp_path / "ronde.toml",
        {"store": {"url": influxd.url, "database": db}, "retention": {"raw_days": 400, "proof_days": 800}},
    )
    assert main(["store", "init", "--config", str(config)]) == 0
    assert _policies(influxd, db) == {"raw": "9600h0m0s", "rejections": "1440h0m0s", "proof": "19200h0m0s"}
    write_settings(config, {"store": {"url": influxd.url, "database": db}})  # back to the defaults
    assert main(["store", "init", "--config", str(config)]) == 0
    assert _policies(influxd, db) == {"raw": "1440h0m0s", "rejections": "1440h0m0s", "proof": "8760h0m0s"}
