"""Initial schema: the registry, gateways, badges, tokens, sessions, calendar, partners, access log.

The revision columns (author, parent) and the registry state row come with 0002.

Revision ID: 0001
Revises: (none)
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("landlord_id", sa.String(length=63), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_api_tokens")),
    )
    op.create_table(
        "audit_access_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("who", sa.String(length=80), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("landlord_id", sa.String(length=63), nullable=True),
        sa.Column("what", sa.String(length=80), nullable=False),
        sa.Column("target", sa.String(length=400), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("denied", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_access_log")),
    )
    with op.batch_alter_table("audit_access_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_access_log_at"), ["at"], unique=False)

    op.create_table(
        "estates",
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("city", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_estates")),
    )
    op.create_table(
        "gateways",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.String(length=43), nullable=True),
        sa.Column("badges_json", sa.Text(), nullable=True),
        sa.Column("allow_unsigned", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateways")),
        sa.UniqueConstraint("public_key", name=op.f("uq_gateways_public_key")),
    )
    op.create_table(
        "landlords",
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("dwellings", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_landlords")),
    )
    op.create_table(
        "partners",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
        sa.UniqueConstraint("name", name="uq_partners_name"),
    )
    op.create_table(
        "registry_revisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_revisions")),
        sa.UniqueConstraint("label", name=op.f("uq_registry_revisions_label")),
    )
    with op.batch_alter_table("registry_revisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registry_revisions_digest"), ["digest"], unique=False)

    op.create_table(
        "service_calendars",
        sa.Column("scope", sa.String(length=63), nullable=False),
        sa.Column("days", sa.String(length=40), nullable=False),
        sa.Column("start", sa.String(length=5), nullable=False),
        sa.Column("end", sa.String(length=5), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_service_calendars")),
    )
    op.create_table(
        "team_badges",
        sa.Column("badge", sa.String(length=32), nullable=False),
        sa.Column("team", sa.String(length=120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("badge", name=op.f("pk_team_badges")),
    )
    op.create_table(
        "api_sessions",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["token_sha256"],
            ["api_tokens.sha256"],
            name=op.f("fk_api_sessions_token_sha256_api_tokens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_api_sessions")),
    )
    with op.batch_alter_table("api_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_sessions_token_sha256"), ["token_sha256"], unique=False)

    op.create_table(
        "buildings",
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("estate_id", sa.String(length=63), nullable=False),
        sa.Column("landlord_id", sa.String(length=63), nullable=False),
        sa.Column("dwellings", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["estate_id"], ["estates.id"], name=op.f("fk_buildings_estate_id_estates")),
        sa.ForeignKeyConstraint(["landlord_id"], ["landlords.id"], name=op.f("fk_buildings_landlord_id_landlords")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buildings")),
    )
    with op.batch_alter_table("buildings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_buildings_estate_id"), ["estate_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_buildings_landlord_id"), ["landlord_id"], unique=False)

    op.create_table(
        "partner_estates",
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("estate_id", sa.String(length=63), nullable=False),
        sa.ForeignKeyConstraint(
            ["estate_id"], ["estates.id"], name=op.f("fk_partner_estates_estate_id_estates"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_partner_estates_partner_id_partners"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("partner_id", "estate_id", name=op.f("pk_partner_estates")),
    )
    op.create_table(
        "service_closed_dates",
        sa.Column("scope", sa.String(length=63), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scope"],
            ["service_calendars.scope"],
            name=op.f("fk_service_closed_dates_scope_service_calendars"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("scope", "day", name=op.f("pk_service_closed_dates")),
    )
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("estate_id", sa.String(length=63), nullable=False),
        sa.Column("landlord_id", sa.String(length=63), nullable=False),
        sa.Column("building_id", sa.String(length=63), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("expected_visits", sa.Integer(), nullable=False),
        sa.Column("radius_m", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["building_id"], ["buildings.id"], name=op.f("fk_checkpoints_building_id_buildings")),
        sa.ForeignKeyConstraint(["estate_id"], ["estates.id"], name=op.f("fk_checkpoints_estate_id_estates")),
        sa.ForeignKeyConstraint(["landlord_id"], ["landlords.id"], name=op.f("fk_checkpoints_landlord_id_landlords")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoints")),
    )
    with op.batch_alter_table("checkpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkpoints_building_id"), ["building_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_checkpoints_estate_id"), ["estate_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_checkpoints_landlord_id"), ["landlord_id"], unique=False)

    op.create_table(
        "beacons",
        sa.Column("checkpoint_id", sa.String(length=63), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("beacon_key", sa.String(length=120), nullable=True),
        sa.Column("tx_power", sa.Integer(), nullable=False),
        sa.Column("interval_ms", sa.Integer(), nullable=False),
        sa.Column("fields_json", sa.Text(), nullable=False),
        sa.Column("eid_key_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("rotation_exponent", sa.Integer(), nullable=True),
        sa.Column("clock_epoch", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "(format = 'eddystone_eid') = (eid_key_sealed IS NOT NULL)", name=op.f("ck_beacons_eid_key")
        ),
        sa.ForeignKeyConstraint(
            ["checkpoint_id"], ["checkpoints.id"], name=op.f("fk_beacons_checkpoint_id_checkpoints"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("checkpoint_id", name=op.f("pk_beacons")),
        sa.UniqueConstraint("beacon_key", name=op.f("uq_beacons_beacon_key")),
    )
    op.create_table(
        "checkpoint_paths",
        sa.Column("a_id", sa.String(length=63), nullable=False),
        sa.Column("b_id", sa.String(length=63), nullable=False),
        sa.ForeignKeyConstraint(
            ["a_id"], ["checkpoints.id"], name=op.f("fk_checkpoint_paths_a_id_checkpoints"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["b_id"], ["checkpoints.id"], name=op.f("fk_checkpoint_paths_b_id_checkpoints"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("a_id", "b_id", name=op.f("pk_checkpoint_paths")),
    )


def downgrade() -> None:
    op.drop_table("checkpoint_paths")
    op.drop_table("beacons")
    with op.batch_alter_table("checkpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkpoints_landlord_id"))
        batch_op.drop_index(batch_op.f("ix_checkpoints_estate_id"))
        batch_op.drop_index(batch_op.f("ix_checkpoints_building_id"))

    op.drop_table("checkpoints")
    op.drop_table("service_closed_dates")
    op.drop_table("partner_estates")
    with op.batch_alter_table("buildings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_buildings_landlord_id"))
        batch_op.drop_index(batch_op.f("ix_buildings_estate_id"))

    op.drop_table("buildings")
    with op.batch_alter_table("api_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_sessions_token_sha256"))

    op.drop_table("api_sessions")
    op.drop_table("team_badges")
    op.drop_table("service_calendars")
    with op.batch_alter_table("registry_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_revisions_digest"))

    op.drop_table("registry_revisions")
    op.drop_table("partners")
    op.drop_table("landlords")
    op.drop_table("gateways")
    op.drop_table("estates")
    with op.batch_alter_table("audit_access_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_access_log_at"))

    op.drop_table("audit_access_log")
    op.drop_table("api_tokens")
