"""The service calendar (one default, optionally one per estate) and the partner directory."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ronde.opdb.models.base import Base
from ronde.opdb.models.registry import ID_LEN

DEFAULT_SCOPE = "*"  # the calendar row every estate without its own follows


class CalendarRow(Base):
    """Service days and hours; ``scope`` is ``*`` (the default) or an estate id (an override)."""

    __tablename__ = "service_calendars"
    scope: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    days: Mapped[str] = mapped_column(String(40))  # e.g. "wed,thu,fri,sat,sun"
    start: Mapped[str] = mapped_column(String(5))  # "16:00", local wall-clock time
    end: Mapped[str] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64))


class ClosedDateRow(Base):
    __tablename__ = "service_closed_dates"
    scope: Mapped[str] = mapped_column(ForeignKey("service_calendars.scope", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class PartnerRow(Base):
    """A partner of the mediation service (a landlord's agency, a social centre, the police municipale…)."""

    __tablename__ = "partners"
    __table_args__ = (UniqueConstraint("name", name="uq_partners_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))


class PartnerEstateRow(Base):
    __tablename__ = "partner_estates"
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True)
    estate_id: Mapped[str] = mapped_column(ForeignKey("estates.id", ondelete="CASCADE"), primary_key=True)
