"""Registry revisions gain their author and parent; the registry state row (current revision, change counter).

Writers lock the state row to serialise changes; workers in other processes poll its ``version``. A database
that already holds revisions (created by 0001) gets a state row pointing at its newest revision, with
``version`` = the number of revisions, and each revision's parent is the one before it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("registry_revisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author", sa.String(length=80), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_registry_revisions_parent_id_registry_revisions"),
            "registry_revisions",
            ["parent_id"],
            ["id"],
        )
    state = op.create_table(
        "registry_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_registry_state_single_row")),
        sa.ForeignKeyConstraint(
            ["revision_id"], ["registry_revisions.id"], name=op.f("fk_registry_state_revision_id_registry_revisions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_state")),
    )
    # data: chain the existing revisions and point the state at the newest
    conn = op.get_bind()
    revisions = sa.table("registry_revisions", sa.column("id", sa.Integer()), sa.column("parent_id", sa.Integer()))
    ids = [row[0] for row in conn.execute(sa.select(revisions.c.id).order_by(revisions.c.id))]
    for parent, child in itertools.pairwise(ids):
        conn.execute(sa.update(revisions).where(revisions.c.id == child).values(parent_id=parent))
    op.bulk_insert(
        state,
        [{"id": 1, "revision_id": ids[-1] if ids else None, "version": len(ids), "updated_at": datetime.now(UTC)}],
    )


def downgrade() -> None:
    op.drop_table("registry_state")
    with op.batch_alter_table("registry_revisions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_registry_revisions_parent_id_registry_revisions"), type_="foreignkey")
        batch_op.drop_column("parent_id")
        batch_op.drop_column("author")
