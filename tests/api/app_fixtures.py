"""The sample API of ``make_app`` opened for a test module and closed after it: served by uvicorn for the browser
tests, or behind a ``TestClient`` for the HTTP ones (one place for the set-up and the clean-up they all need)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient

from ronde.store.sqlite import SqliteStore
from tests.api.support import make_app
from tests.support.chromium import serve


@contextmanager
def served_sample_app(tmp: Path) -> Iterator[tuple[str, SqliteStore]]:
    """The base URL of the sample API under uvicorn, and its store (some tests write to it)."""
    app, store, _ = make_app(tmp)
    try:
        with serve(app) as url:
            yield url, store
    finally:
        store.close()
        app.state.opdb_engine.dispose()


@contextmanager
def sample_app_client(tmp: Path) -> Iterator[TestClient]:
    """A ``TestClient`` of the sample API (its lifespan run)."""
    app, store, _ = make_app(tmp)
    try:
        with TestClient(app) as client:
            yield client
    finally:
        store.close()
        app.state.opdb_engine.dispose()
