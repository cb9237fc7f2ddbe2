"""One store of the kind a test is parametrised with ("sqlite" or "influx"): the embedded SQLite file in the
test's folder, or a database of its own on the session's influxd (Debian's 1.6.7), opened by ``open_store`` as
the roles open theirs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ronde.store.config import open_store
from ronde.store.port import Store
from tests.support.services import Influxd


@contextmanager
def store_of_kind(request: pytest.FixtureRequest, tmp_path: Path, *, retry_budget_s: float = 2.0) -> Iterator[Store]:
    """``request.param`` names the kind; the store is closed after the test."""
    if request.param == "sqlite":
        store = open_store(f"sqlite://{tmp_path}/ronde.db")
    else:
        server: Influxd = request.getfixturevalue("influxd")
        store = open_store(server.url, database=f"t_{uuid.uuid4().hex[:12]}", retry_budget_s=retry_budget_s)
    try:
        yield store
    finally:
        store.close()
