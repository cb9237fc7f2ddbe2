"""The operational database under test: every repository test runs on SQLite *and* on a real PostgreSQL.

PostgreSQL is a private cluster (``tests.support.postgres``: Debian's ``initdb``/``pg_ctl`` in a temporary folder,
on a free port) started once per session; each test gets a fresh database in it.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ronde.opdb.engine import make_engine
from ronde.opdb.migrate import upgrade
from ronde.opdb.sealing import SecretBox
from tests.support.postgres import Postgres, run_postgres

ENGINES = ["sqlite", "postgresql"]
_names = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    with run_postgres() as cluster:
        yield cluster


@pytest.fixture(params=ENGINES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (no schema) on each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ronde.db'}"
    cluster: Postgres = request.getfixturevalue("postgres")
    return cluster.create_database(f"t{next(_names)}")


@pytest.fixture
def bare_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(bare_engine: Engine) -> Engine:
    """A database upgraded to this code's schema."""
    upgrade(bare_engine)
    return bare_engine


SECRET_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()


@pytest.fixture
def box(monkeypatch: pytest.MonkeyPatch) -> SecretBox:
    monkeypatch.setenv("RONDE_OPDB_SECRET_KEY", SECRET_KEY)
    return SecretBox.from_env()
