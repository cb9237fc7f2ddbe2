"""A worker's SQLite store keeps a small page cache (``INGEST_SQLITE_CACHE_KIB``): SQLite's default 2,000 KiB per
connection filled up while a worker drained a backlog, 2 MB of its peak RSS (docs/performance.md). Other roles keep
SQLite's default; a cache's size changes no answer, only which pages SQLite reads again from the OS."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from ronde.ingest.cli import INGEST_SQLITE_CACHE_KIB, build_store
from ronde.ingest.config import IngestConfig
from ronde.store.config import StoreConfig
from ronde.store.records import WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.store.factories import visit


def _cache_size(store: SqliteStore) -> int:
    value: int = store._run(lambda c: c.execute("PRAGMA cache_size").fetchone()[0])
    return value


def test_a_worker_s_store_keeps_a_small_page_cache_on_every_connection(tmp_path: Path) -> None:
    store = build_store(IngestConfig(store_url=f"sqlite://{tmp_path / 'ronde.db'}"))
    assert isinstance(store, SqliteStore)
    store.open()
    try:
        written = (visit(1), visit(2))
        store.write(WriteBatch(visits=written))
        assert _cache_size(store) == -INGEST_SQLITE_CACHE_KIB
        other: list[int] = []
        thread = threading.Thread(target=lambda: other.append(_cache_size(store)))  # the writer's own connection
        thread.start()
        thread.join()
        assert other == [-INGEST_SQLITE_CACHE_KIB]
        start = min(v.first_seen for v in written) - timedelta(minutes=1)
        end = max(v.first_seen for v in written) + timedelta(minutes=1)
        assert sorted(v.event_id for v in store.visits(start, end)) == sorted(v.event_id for v in written)
    finally:
        store.close()


def test_other_roles_keep_sqlite_s_default(tmp_path: Path) -> None:
    store = StoreConfig(url=f"sqlite://{tmp_path / 'ronde.db'}").build()
    assert isinstance(store, SqliteStore)
    store.open()
    try:
        assert _cache_size(store) == -2000
    finally:
        store.close()


def test_a_cache_below_one_kib_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cache_kib"):
        SqliteStore(tmp_path / "ronde.db", cache_kib=0)
