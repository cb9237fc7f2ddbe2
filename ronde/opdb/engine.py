"""Engines for the operational database: its URL setting, SQLite's pragmas and write lock, psycopg for PostgreSQL.

``RONDE_DATABASE_URL`` names the database for every server role (default ``sqlite:///var/ronde/ronde.db``,
relative to the working directory; ``postgresql://user@host/db`` in production, the password from
``RONDE_DATABASE_PASSWORD`` or a ``~/.pgpass``/``PGPASSFILE``, never the command line).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DATABASE_URL = "sqlite:///var/ronde/ronde.db"
URL_VARIABLE = "RONDE_DATABASE_URL"
PASSWORD_VARIABLE = "RONDE_DATABASE_PASSWORD"  # noqa: S105 - the name of the variable, not a password
READ_ONLY = "ronde_read_only"  # execution option of the engines that only read


def database_url(explicit: str | None = None) -> str:
    """``explicit`` (a ``--url``), else ``RONDE_DATABASE_URL``, else the SQLite default."""
    return explicit or os.environ.get(URL_VARIABLE) or DEFAULT_DATABASE_URL


def normalise_url(url: str | URL) -> URL:
    """``postgresql://`` means psycopg 3 (the driver the server extra brings); the password may come from
    ``RONDE_DATABASE_PASSWORD``."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() == "postgresql" and u.password is None and os.environ.get(PASSWORD_VARIABLE):
        u = u.set(password=os.environ[PASSWORD_VARIABLE])
    return u


def shown(url: str | URL) -> str:
    """The URL for messages and logs: the password masked."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is turned off: SQLAlchemy's "begin" event issues BEGIN IMMEDIATE,
    # so a writer takes the database lock at the start of its transaction (no lost update, no deadlock on upgrade)
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute("PRAGMA busy_timeout = 30000")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.close()


def make_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (default: :func:`database_url`). A SQLite file's folder is created."""
    u = normalise_url(url if url is not None else database_url())
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:" and not u.database.startswith("file:"):
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(u, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # readers (``read_only(engine)``) do not take the write lock: WAL lets them read beside a writer
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(u, **kwargs)


def read_only(engine: Engine) -> Engine:
    """The same engine (same pool) for transactions that only read: one consistent picture across their SELECTs
    (REPEATABLE READ on PostgreSQL; on SQLite a deferred BEGIN, which in WAL mode reads one snapshot)."""
    options: dict[str, Any] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    return engine.execution_options(**options)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (read models are built inside the transaction)."""
    return sessionmaker(engine, expire_on_commit=False)
