"""The estate registry: landlords, estates, buildings, checkpoints, their beacons and paths, and its revisions.

The rows hold *one* registry, the current one; ``registry_revisions`` records every content it has had (label,
content digest of ``ronde.protocol.estate_digest``, when, who) and ``registry_state`` (one row) points at the
current revision with a change counter that writers lock and workers poll. EID identity keys are stored only
sealed (``ronde.opdb.sealing``): ``beacons.eid_key_sealed``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ronde.opdb.models.base import Base, UtcDateTime

ID_LEN = 63


class LandlordRow(Base):
    __tablename__ = "landlords"
    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    dwellings: Mapped[int] = mapped_column(Integer)


class EstateRow(Base):
    __tablename__ = "estates"
    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    city: Mapped[str] = mapped_column(String(120))


class BuildingRow(Base):
    __tablename__ = "buildings"
    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    estate_id: Mapped[str] = mapped_column(ForeignKey("estates.id"), index=True)
    landlord_id: Mapped[str] = mapped_column(ForeignKey("landlords.id"), index=True)
    dwellings: Mapped[int] = mapped_column(Integer, default=0)
    # migration 0004: the outline drawn on the plan, JSON [[lat, lon], ...]; NULL when the file gives none
    footprint_json: Mapped[str | None] = mapped_column(Text)


class CheckpointRow(Base):
    __tablename__ = "checkpoints"
    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    estate_id: Mapped[str] = mapped_column(ForeignKey("estates.id"), index=True)
    landlord_id: Mapped[str] = mapped_column(ForeignKey("landlords.id"), index=True)
    building_id: Mapped[str | None] = mapped_column(ForeignKey("buildings.id"), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    level: Mapped[int] = mapped_column(Integer, default=0)
    expected_visits: Mapped[int] = mapped_column(Integer)
    radius_m: Mapped[float] = mapped_column(Float)


class BeaconRow(Base):
    """One beacon per checkpoint. ``beacon_key`` is the on-air identity (unique) for fixed-identity formats;
    Eddystone-EID beacons have none and carry their sealed identity key instead."""

    __tablename__ = "beacons"
    __table_args__ = (CheckConstraint("(format = 'eddystone_eid') = (eid_key_sealed IS NOT NULL)", name="eid_key"),)
    checkpoint_id: Mapped[str] = mapped_column(ForeignKey("checkpoints.id", ondelete="CASCADE"), primary_key=True)
    format: Mapped[str] = mapped_column(String(20))
    beacon_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    tx_power: Mapped[int] = mapped_column(Integer)
    interval_ms: Mapped[int] = mapped_column(Integer)
    fields_json: Mapped[str] = mapped_column(Text, default="{}")  # identifiers (uuid, major, minor, …)
    eid_key_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    rotation_exponent: Mapped[int | None] = mapped_column(Integer)
    clock_epoch: Mapped[int | None] = mapped_column(BigInteger)


class PathRow(Base):
    __tablename__ = "checkpoint_paths"
    a_id: Mapped[str] = mapped_column(ForeignKey("checkpoints.id", ondelete="CASCADE"), primary_key=True)
    b_id: Mapped[str] = mapped_column(ForeignKey("checkpoints.id", ondelete="CASCADE"), primary_key=True)


class WalkwayRow(Base):
    """A footpath drawn on the plan (migration 0004): points as JSON [[lat, lon], ...]."""

    __tablename__ = "walkways"
    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    estate_id: Mapped[str] = mapped_column(ForeignKey("estates.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    points_json: Mapped[str] = mapped_column(Text)


class RevisionRow(Base):
    """One row per registry content installed: never updated, never deleted."""

    __tablename__ = "registry_revisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    label: Mapped[str] = mapped_column(String(40), unique=True)
    digest: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # migration 0002
    author: Mapped[str] = mapped_column(String(80), default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("registry_revisions.id"))


class RegistryStateRow(Base):
    """The single row (id 1) naming the current revision; ``version`` grows by one per change (migration 0002).

    Writers lock this row first (``SELECT … FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so
    concurrent changes are serialised; readers in other processes poll ``version`` to follow changes.
    """

    __tablename__ = "registry_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("registry_revisions.id"))
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
