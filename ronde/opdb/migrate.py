"""Migrations (Alembic, shipped in ``ronde/opdb/migrations``): upgrade, current revision, and the start-up check.

``ronde db upgrade`` runs :func:`upgrade` at deploy time; every server role calls :func:`require_current` at
start-up and refuses to run on a database older (or newer) than its code, naming the command to run.

Alembic (with Mako and the migration scripts, about 11 MB in a process) is imported only to migrate or to explain a
database that is not current: the start-up check of a database at the newest migration reads ``alembic_version``
with SQLAlchemy Core and compares it with :data:`HEAD`, which ``tests/opdb/test_migrations.py`` keeps equal to the
head of the shipped scripts. That is what keeps it out of a long-running worker (issue 17, item 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from ronde.opdb.engine import shown

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")

# The newest migration in ``migrations/versions`` (what :func:`head` answers): change it with each new migration
# (a test fails until it is).
HEAD = "0005"


class DatabaseNotCurrent(RuntimeError):
    """The database's schema is not the one this code was written for; the message says what to run."""


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def head() -> str:
    """The newest migration this code ships."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory(str(MIGRATIONS)).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {heads}")
    return heads[0]


def known_revisions() -> list[str]:
    """Every migration, oldest first."""
    from alembic.script import ScriptDirectory

    return [s.revision for s in reversed(list(ScriptDirectory(str(MIGRATIONS)).walk_revisions()))]


def current(engine: Engine) -> str | None:
    """The migration the database is at (None: never migrated, an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, target: str = "head") -> str | None:
    """Upgrade the database to ``target`` (default: the newest); returns the revision it is then at."""
    from alembic import command

    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)
    return current(engine)


def require_current(engine: Engine) -> str:
    """Raise DatabaseNotCurrent unless the database is at this code's newest migration; returns it.

    A database at :data:`HEAD` is recognised by one Core query, without Alembic; any other answer (no version
    table, another revision, several rows) is read again through Alembic to say what to run."""
    try:
        with engine.connect() as conn:
            if _stored_revisions(conn) == [HEAD]:
                return HEAD
        got = current(engine)
    except Exception as exc:  # unreachable server, bad credentials: say which database
        raise DatabaseNotCurrent(f"cannot open the operational database {shown(engine.url)}: {exc}") from exc
    want = head()
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


def _stored_revisions(conn: Connection) -> list[str] | None:
    """The rows of Alembic's version table (None: no such table, or not readable as such)."""
    try:
        return [str(r) for r in conn.execute(text("SELECT version_num FROM alembic_version")).scalars()]
    except SQLAlchemyError:
        return None
