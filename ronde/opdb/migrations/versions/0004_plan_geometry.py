"""Plan geometry (issue 16): a building's outline and the walkways drawn on the estate plan.

One nullable column (``buildings.footprint_json``) and one new table (``walkways``): a database of the
previous revision keeps its data unchanged; its buildings simply have no outline until an estate file with
footprints is imported.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("buildings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("footprint_json", sa.Text(), nullable=True))
    op.create_table(
        "walkways",
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("estate_id", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("points_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["estate_id"], ["estates.id"], name=op.f("fk_walkways_estate_id_estates")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_walkways")),
    )
    with op.batch_alter_table("walkways", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_walkways_estate_id"), ["estate_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("walkways", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_walkways_estate_id"))
    op.drop_table("walkways")
    with op.batch_alter_table("buildings", schema=None) as batch_op:
        batch_op.drop_column("footprint_json")
