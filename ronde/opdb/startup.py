"""A server role's start-up on the operational database: the URL, the schema check, the sealing key.

``ronde api serve`` and ``ronde ingest run`` (and any role after them) call :func:`open_role_database`: the URL is
``--database`` if given, else ``RONDE_DATABASE_URL``, else the SQLite default (``engine.database_url``); the
database must be at this code's migration (``migrate.require_current``: the message names ``ronde db upgrade``);
the sealing key of the EID identity keys is read when ``RONDE_OPDB_SECRET_KEY`` (or ``…_FILE``) is set. Any
problem is a :class:`DatabaseStartupError` whose message the role prints before exiting with code 2.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from ronde.opdb.engine import database_url, make_engine, shown
from ronde.opdb.migrate import DatabaseNotCurrent, require_current
from ronde.opdb.sealing import KEY_FILE_VARIABLE, KEY_VARIABLE, SecretBox, SecretKeyError

__all__ = ["DatabaseStartupError", "RoleDatabase", "open_role_database"]


class DatabaseStartupError(RuntimeError):
    """The role cannot start on this database; the message says why and what to run."""


@dataclass(frozen=True, slots=True)
class RoleDatabase:
    url: str  # as given (``shown(url)`` for messages)
    engine: Engine
    box: SecretBox | None  # None: no sealing key in the environment

    def dispose(self) -> None:
        self.engine.dispose()


def open_role_database(
    explicit_url: str | None = None, *, need_key: bool = False, secret_key: str | None = None
) -> RoleDatabase:
    """The engine (schema checked) and the sealing key, if any (``need_key``: a missing key is an error too).
    ``secret_key``: the key as the role's settings read it (``ronde.settings``: ``database.secret_key``), which
    then takes the place of the environment's."""
    url = database_url(explicit_url)
    try:
        engine = make_engine(url)
    except (SQLAlchemyError, ValueError, OSError) as exc:
        raise DatabaseStartupError(f"database {shown(url)}: {exc}") from None
    try:
        require_current(engine)
    except DatabaseNotCurrent as exc:
        engine.dispose()
        raise DatabaseStartupError(str(exc)) from None
    box = None
    if secret_key:
        try:
            return RoleDatabase(url, engine, SecretBox.from_text(secret_key))
        except SecretKeyError as exc:
            engine.dispose()
            raise DatabaseStartupError(str(exc)) from None
    if need_key or os.environ.get(KEY_VARIABLE) or os.environ.get(KEY_FILE_VARIABLE):
        try:
            box = SecretBox.from_env()
        except SecretKeyError as exc:
            engine.dispose()
            raise DatabaseStartupError(str(exc)) from None
    return RoleDatabase(url, engine, box)
