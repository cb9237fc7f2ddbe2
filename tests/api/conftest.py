from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ronde.store.sqlite import SqliteStore
from tests.api.support import make_app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    app, store, _ = make_app(tmp_path)
    yield app
    store.close()
    app.state.opdb_engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def store(app: FastAPI) -> SqliteStore:
    s: SqliteStore = app.state.ronde.store
    return s
