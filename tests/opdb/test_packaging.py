"""The operational database ships with the server role: its dependencies in the server lock (never a scanner's),
its migrations inside the package."""

from __future__ import annotations

import tomllib

from ronde.opdb.migrate import MIGRATIONS, known_revisions
from tests.install.support import REPO, locked


def test_the_server_lock_has_the_database_and_a_scanner_does_not() -> None:
    wanted = {"sqlalchemy", "alembic", "psycopg", "psycopg-binary"}
    assert wanted <= set(locked("server"))
    assert wanted <= set(locked("dev"))
    assert not wanted & set(locked("gateway"))
    extras = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert not any(d.startswith(("sqlalchemy", "alembic", "psycopg")) for d in extras["gateway"])


def test_the_migrations_are_package_files() -> None:
    assert MIGRATIONS.is_relative_to(REPO / "ronde")
    assert (MIGRATIONS / "env.py").exists()
    assert (MIGRATIONS / "script.py.mako").exists()
    assert known_revisions()[:2] == ["0001", "0002"]
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    assert "migrations/*.mako" in data["ronde.opdb"]
