"""Choosing a store from a URL; clear errors for bad ones."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ronde.store.config import StoreConfig, StoreConfigError, open_store
from ronde.store.influx import InfluxStore
from ronde.store.port import StoreUnavailable
from ronde.store.records import RetentionPolicy
from ronde.store.sqlite import SqliteStore
from tests.support.services import free_port


def test_sqlite_url_gives_an_opened_sqlite_store(tmp_path: Path) -> None:
    store = open_store(f"sqlite://{tmp_path}/sub/ronde.db")
    assert isinstance(store, SqliteStore)
    assert store.path == tmp_path / "sub" / "ronde.db"
    assert (tmp_path / "sub" / "ronde.db").exists()
    store.close()


def test_http_url_gives_an_influx_store_with_credentials_from_the_url() -> None:
    store = StoreConfig(url="http://ronde:p%40ss@influx.example:8086/prefix", database="prod").build()
    assert isinstance(store, InfluxStore)
    assert store.url == "http://influx.example:8086/prefix"
    assert store.database == "prod"
    assert store._client_token() == "ronde:p@ss"
    store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgres://db/ronde", "unknown scheme 'postgres'"),
        ("ronde.db", "no scheme; use sqlite://PATH"),
        ("sqlite://", "no file path"),
        ("http://", "no host"),
        ("http://influx:8086?db=x", "options go in the configuration"),
        ("http://influx:99999", "Port out of range"),
    ],
)
def test_bad_urls_are_explained(url: str, message: str) -> None:
    with pytest.raises(StoreConfigError, match=re.escape(message)):
        open_store(url)


def test_bad_options_are_explained() -> None:
    with pytest.raises(StoreConfigError, match="database"):
        open_store("http://localhost:8086", database="no spaces")
    with pytest.raises(StoreConfigError, match="can only shorten"):
        open_store("sqlite:///tmp/x.db", retention=RetentionPolicy(extra={"visit": 400}))


def test_nothing_listening_raises_store_unavailable() -> None:
    with pytest.raises(StoreUnavailable):
        open_store(f"http://127.0.0.1:{free_port()}", retry_budget_s=0.3)


def test_sqlite_needs_a_file() -> None:
    for bad in (":memory:", "file::memory:?cache=shared"):
        with pytest.raises(ValueError, match="file path"):
            SqliteStore(bad)


def test_factory_is_reachable_from_the_package(tmp_path: Path) -> None:
    import importlib

    import ronde.store

    assert importlib.import_module("ronde.store").open_store is open_store
    assert ronde.store.StoreConfig is StoreConfig
    store = ronde.store.open_store(f"sqlite:///{tmp_path}/abs.db")  # SQLAlchemy's four slashes work too
    assert isinstance(store, SqliteStore)
    assert (tmp_path / "abs.db").exists()
    store.close()
    with pytest.raises(AttributeError):
        _ = ronde.store.nothing_here
