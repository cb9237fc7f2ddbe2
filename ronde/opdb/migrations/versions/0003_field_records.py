"""Field activity (issue 14): team devices and enrolment codes, field records with their status timeline,
photos and optional contacts, requests; API tokens gain ``partner_id`` (the scope of a partner token).

Only new tables and one nullable column: a database of 0002 keeps its data unchanged.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "field_records",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("team", sa.String(length=120), nullable=False),
        sa.Column("device_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checkpoint_id", sa.String(length=63), nullable=True),
        sa.Column("building_id", sa.String(length=63), nullable=True),
        sa.Column("estate_id", sa.String(length=63), nullable=False),
        sa.Column("landlord_id", sa.String(length=63), nullable=False),
        sa.Column("place_name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("urgency", sa.String(length=20), nullable=True),
        sa.Column("origin", sa.String(length=40), nullable=True),
        sa.Column("type", sa.String(length=40), nullable=True),
        sa.Column("response", sa.String(length=40), nullable=True),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.String(length=26), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=True),
        sa.Column("comment", sa.String(length=500), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("in_progress_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_records")),
    )
    with op.batch_alter_table("field_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_field_records_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_field_records_estate_id"), ["estate_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_field_records_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_field_records_landlord_id"), ["landlord_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_field_records_request_id"), ["request_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_field_records_team"), ["team"], unique=False)

    op.create_table(
        "field_requests",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("requester", sa.String(length=80), nullable=False),
        sa.Column("requester_role", sa.String(length=20), nullable=False),
        sa.Column("requester_landlord_id", sa.String(length=63), nullable=True),
        sa.Column("requester_partner_id", sa.Integer(), nullable=True),
        sa.Column("checkpoint_id", sa.String(length=63), nullable=True),
        sa.Column("building_id", sa.String(length=63), nullable=True),
        sa.Column("estate_id", sa.String(length=63), nullable=False),
        sa.Column("landlord_id", sa.String(length=63), nullable=False),
        sa.Column("place_name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("wanted_by", sa.String(length=120), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_team", sa.String(length=120), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer_record_id", sa.String(length=26), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_requests")),
    )
    with op.batch_alter_table("field_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_field_requests_assigned_team"), ["assigned_team"], unique=False)
        batch_op.create_index(batch_op.f("ix_field_requests_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_field_requests_estate_id"), ["estate_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_field_requests_landlord_id"), ["landlord_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_field_requests_requester_landlord_id"), ["requester_landlord_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_field_requests_requester_partner_id"), ["requester_partner_id"], unique=False
        )

    op.create_table(
        "terrain_devices",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("team", sa.String(length=120), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terrain_devices")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_terrain_devices_token_sha256")),
    )
    with op.batch_alter_table("terrain_devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_terrain_devices_team"), ["team"], unique=False)

    op.create_table(
        "terrain_enrolments",
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("team", sa.String(length=120), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("device_id", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("code_sha256", name=op.f("pk_terrain_enrolments")),
    )
    op.create_table(
        "field_contacts",
        sa.Column("record_id", sa.String(length=26), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["field_records.id"],
            name=op.f("fk_field_contacts_record_id_field_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_field_contacts")),
    )
    with op.batch_alter_table("field_contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_field_contacts_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "field_photos",
        sa.Column("record_id", sa.String(length=26), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["field_records.id"],
            name=op.f("fk_field_photos_record_id_field_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_field_photos")),
    )
    with op.batch_alter_table("field_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_field_photos_sha256"), ["sha256"], unique=False)

    op.create_table(
        "field_record_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_id", sa.String(length=26), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["field_records.id"],
            name=op.f("fk_field_record_events_record_id_field_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_record_events")),
    )
    with op.batch_alter_table("field_record_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_field_record_events_record_id"), ["record_id"], unique=False)

    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partner_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("partner_id")

    with op.batch_alter_table("field_record_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_field_record_events_record_id"))

    op.drop_table("field_record_events")
    with op.batch_alter_table("field_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_field_photos_sha256"))

    op.drop_table("field_photos")
    with op.batch_alter_table("field_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_field_contacts_expires_at"))

    op.drop_table("field_contacts")
    op.drop_table("terrain_enrolments")
    with op.batch_alter_table("terrain_devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_terrain_devices_team"))

    op.drop_table("terrain_devices")
    with op.batch_alter_table("field_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_field_requests_requester_partner_id"))
        batch_op.drop_index(batch_op.f("ix_field_requests_requester_landlord_id"))
        batch_op.drop_index(batch_op.f("ix_field_requests_landlord_id"))
        batch_op.drop_index(batch_op.f("ix_field_requests_estate_id"))
        batch_op.drop_index(batch_op.f("ix_field_requests_created_at"))
        batch_op.drop_index(batch_op.f("ix_field_requests_assigned_team"))

    op.drop_table("field_requests")
    with op.batch_alter_table("field_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_field_records_team"))
        batch_op.drop_index(batch_op.f("ix_field_records_request_id"))
        batch_op.drop_index(batch_op.f("ix_field_records_landlord_id"))
        batch_op.drop_index(batch_op.f("ix_field_records_kind"))
        batch_op.drop_index(batch_op.f("ix_field_records_estate_id"))
        batch_op.drop_index(batch_op.f("ix_field_records_created_at"))

    op.drop_table("field_records")
