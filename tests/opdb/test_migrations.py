"""Migrations are real: an empty database and one created by the first migration (with data) reach the head,
on SQLite and PostgreSQL; the schema they produce is the models'; an older database is refused at start-up."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from ronde.opdb.migrate import HEAD, DatabaseNotCurrent, current, head, known_revisions, require_current, upgrade
from ronde.opdb.models import Base


def test_an_empty_database_is_upgraded_to_the_models_schema(bare_engine: Engine) -> None:
    assert current(bare_engine) is None
    assert upgrade(bare_engine) == head()
    with bare_engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    assert upgrade(bare_engine) == head()  # again: nothing to do


def test_a_database_of_the_first_migration_with_data_is_upgraded(bare_engine: Engine) -> None:
    first = known_revisions()[0]
    assert len(known_revisions()) >= 2
    assert first == "0001"
    upgrade(bare_engine, first)
    revisions = sa.table(
        "registry_revisions",
        sa.column("id"),
        sa.column("label"),
        sa.column("digest"),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    landlords = sa.table("landlords", sa.column("id"), sa.column("name"), sa.column("dwellings"))
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    with bare_engine.begin() as conn:
        conn.execute(landlords.insert(), [{"id": "paris-habitat", "name": "Paris Habitat", "dwellings": 1200}])
        conn.execute(
            revisions.insert(),
            [
                {"id": 1, "label": "2026-11-01.1", "digest": "a" * 64, "created_at": t0},
                {"id": 2, "label": "2026-11-02.1", "digest": "b" * 64, "created_at": t0},
            ],
        )
    with pytest.raises(DatabaseNotCurrent, match=r"older than this code .*ronde db upgrade"):
        require_current(bare_engine)
    assert upgrade(bare_engine) == head()
    require_current(bare_engine)
    with bare_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT revision_id, version FROM registry_state WHERE id = 1")).one() == (2, 2)
        rows = conn.execute(sa.text("SELECT id, parent_id, author FROM registry_revisions ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, None, ""), (2, 1, "")]
        assert conn.execute(sa.text("SELECT name, dwellings FROM landlords")).one() == ("Paris Habitat", 1200)
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_require_current_names_the_command(bare_engine: Engine) -> None:
    with pytest.raises(DatabaseNotCurrent, match=r"no schema yet: run `ronde db upgrade --url "):
        require_current(bare_engine)
    upgrade(bare_engine)
    assert require_current(bare_engine) == head()
    with bare_engine.begin() as conn:  # a database migrated by a newer Ronde
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(DatabaseNotCurrent, match="newer than this code"):
        require_current(bare_engine)


def test_head_constant_is_the_scripts_head() -> None:
    """``require_current`` recognises a current database by ``HEAD`` without importing Alembic: a new migration
    must move it too."""
    assert head() == HEAD == known_revisions()[-1]


def test_a_current_database_is_checked_without_alembic(bare_engine: Engine) -> None:
    """A worker's start-up on a current database does not load Alembic, Mako or the scripts (issue 17, item 1);
    a database that is not current still gets Alembic's reading and the command to run."""
    upgrade(bare_engine)
    url = bare_engine.url.render_as_string(hide_password=False)
    probe = (
        "import sys\n"
        "from ronde.opdb.engine import make_engine\n"
        "from ronde.opdb.migrate import require_current\n"
        f"engine = make_engine({url!r})\n"
        "print(require_current(engine), sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'mako'}))\n"
        "engine.dispose()\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == [HEAD, "[]"]
    with bare_engine.begin() as conn:  # two rows: not read as current by the short path, nor by Alembic
        conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES ('0001')"))
    with pytest.raises(DatabaseNotCurrent):
        require_current(bare_engine)


def test_a_password_never_appears_in_the_message() -> None:
    from ronde.opdb.engine import make_engine

    engine = make_engine("postgresql://ronde:s3cret@127.0.0.1:1/none", connect_args={"connect_timeout": 1})
    with pytest.raises(DatabaseNotCurrent) as err:
        require_current(engine)
    assert "s3cret" not in str(err.value)
    assert "***" in str(err.value)


def test_a_database_of_0002_with_data_gains_the_field_tables(bare_engine: Engine) -> None:
    """0003 (issue 14) adds tables and one nullable token column: existing tokens keep their scope."""
    upgrade(bare_engine, "0002")
    tokens = sa.table(
        "api_tokens",
        sa.column("sha256"),
        sa.column("name"),
        sa.column("role"),
        sa.column("landlord_id"),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    with bare_engine.begin() as conn:
        conn.execute(
            tokens.insert(),
            [{"sha256": "c" * 64, "name": "audit-ph", "role": "landlord", "landlord_id": "ph", "created_at": t0}],
        )
    assert upgrade(bare_engine) == head()
    with bare_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT name, landlord_id, partner_id FROM api_tokens")).one() == (
            "audit-ph",
            "ph",
            None,
        )
        for table in ("field_records", "field_requests", "terrain_devices", "terrain_enrolments", "field_photos"):
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() == 0
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
