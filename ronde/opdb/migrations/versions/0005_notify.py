"""Notify (issue 15): issued bilans and their files, deliveries and their log, alerts, the runners' leader lease.

New tables only: a database of the previous revision keeps its data unchanged.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notify_bilans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bilan_id", sa.String(length=36), nullable=False),
        sa.Column("landlord", sa.String(length=63), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_bilans")),
        sa.UniqueConstraint("bilan_id", name=op.f("uq_notify_bilans_bilan_id")),
        sa.UniqueConstraint("landlord", "month", "lang", name="uq_notify_bilans_landlord"),
    )
    with op.batch_alter_table("notify_bilans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_bilans_landlord"), ["landlord"], unique=False)
    op.create_table(
        "notify_bilan_files",
        sa.Column("bilan", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bilan"], ["notify_bilans.id"], name=op.f("fk_notify_bilan_files_bilan_notify_bilans"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("bilan", "name", name=op.f("pk_notify_bilan_files")),
    )
    op.create_table(
        "notify_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("landlord", sa.String(length=63), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("bilan", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("claimed_until", _TS, nullable=True),
        sa.Column("sent_at", _TS, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["bilan"], ["notify_bilans.id"], name=op.f("fk_notify_deliveries_bilan_notify_bilans"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_deliveries")),
        sa.UniqueConstraint("key", name=op.f("uq_notify_deliveries_key")),
    )
    with op.batch_alter_table("notify_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_deliveries_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_notify_deliveries_landlord"), ["landlord"], unique=False)
        batch_op.create_index(batch_op.f("ix_notify_deliveries_next_attempt_at"), ["next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_notify_deliveries_status"), ["status"], unique=False)
    op.create_table(
        "notify_delivery_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery", sa.Integer(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("runner", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery"],
            ["notify_deliveries.id"],
            name=op.f("fk_notify_delivery_log_delivery_notify_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_delivery_log")),
    )
    with op.batch_alter_table("notify_delivery_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_delivery_log_delivery"), ["delivery"], unique=False)
    op.create_table(
        "notify_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cause", sa.String(length=300), nullable=False),
        sa.Column("open_cause", sa.String(length=300), nullable=True),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("estate", sa.String(length=63), nullable=True),
        sa.Column("landlord", sa.String(length=63), nullable=True),
        sa.Column("raised_at", _TS, nullable=False),
        sa.Column("last_seen_at", _TS, nullable=False),
        sa.Column("resolved_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_alerts")),
        sa.UniqueConstraint("open_cause", name=op.f("uq_notify_alerts_open_cause")),
    )
    with op.batch_alter_table("notify_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_alerts_cause"), ["cause"], unique=False)
        batch_op.create_index(batch_op.f("ix_notify_alerts_raised_at"), ["raised_at"], unique=False)
    op.create_table(
        "notify_leases",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=80), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("acquired_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_notify_leases")),
    )


def downgrade() -> None:
    op.drop_table("notify_leases")
    with op.batch_alter_table("notify_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notify_alerts_raised_at"))
        batch_op.drop_index(batch_op.f("ix_notify_alerts_cause"))
    op.drop_table("notify_alerts")
    with op.batch_alter_table("notify_delivery_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notify_delivery_log_delivery"))
    op.drop_table("notify_delivery_log")
    with op.batch_alter_table("notify_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notify_deliveries_status"))
        batch_op.drop_index(batch_op.f("ix_notify_deliveries_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_notify_deliveries_landlord"))
        batch_op.drop_index(batch_op.f("ix_notify_deliveries_kind"))
    op.drop_table("notify_deliveries")
    op.drop_table("notify_bilan_files")
    with op.batch_alter_table("notify_bilans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notify_bilans_landlord"))
    op.drop_table("notify_bilans")
