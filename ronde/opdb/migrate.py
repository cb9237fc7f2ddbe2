"""Migrations (Alembic, shipped in ``ronde/opdb/migrations``): upgrade, current revision, and the start-up check.

``ronde db upgrade`` runs :func:`upgrade` at deploy time; every server role calls :func:`require_current` at
start-up and refuses to run on a database older (or newer) than its code, naming the command to run.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from ronde.opdb.engine import shown

MIGRATIONS = Path(__file__).with_name("migrations")


class DatabaseNotCurrent(RuntimeError):
    """The database's schema is not the one this code was written for; the message says what to run."""


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def head() -> str:
    """The newest migration this code ships."""
    heads = ScriptDirectory(str(MIGRATIONS)).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {heads}")
    return heads[0]


def known_revisions() -> list[str]:
    """Every migration, oldest first."""
    return [s.revision for s in reversed(list(ScriptDirectory(str(MIGRATIONS)).walk_revisions()))]


def current(engine: Engine) -> str | None:
    """The migration the database is at (None: never migrated, an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, target: str = "head") -> str | None:
    """Upgrade the database to ``target`` (default: the newest); returns the revision it is then at."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)
    return current(engine)


def require_current(engine: Engine) -> str:
    """Raise DatabaseNotCurrent unless the database is at this code's newest migration; returns it."""
    want = head()
    try:
        got = current(engine)
    except Exception as exc:  # unreachable server, bad credentials: say which database
        raise DatabaseNotCurrent(f"cannot open the operational database {shown(engine.url)}: {exc}") from exc
    if got == want:
        return got
    where = f"--url {shown(engine.url)}" if engine.url.get_backend_name() != "sqlite" else f"--url {engine.url}"
    if got is None:
        raise DatabaseNotCurrent(
            f"the operational database {shown(engine.url)} has no schema yet: run `ronde db upgrade {where}`"
        )
    if got not in known_revisions():
        raise DatabaseNotCurrent(
            f"the operational database {shown(engine.url)} is at migration {got}, newer than this code "
            f"(which knows up to {want}): upgrade Ronde on this machine"
        )
    raise DatabaseNotCurrent(
        f"the operational database {shown(engine.url)} is at migration {got}, older than this code ({want}): "
        f"run `ronde db upgrade {where}`"
    )
