"""What ``ronde notify run`` keeps (issue 15): bilans issued, deliveries and their log, alerts, the leader lease.

Why deliveries are rows with a unique key: a rerun, a second runner or a restart after a crash must never send
a bilan or an alert twice, and a delivery that failed (SMTP down at 02:00) must stay visible and be retried. The
key says what is sent to whom (``bilan:<landlord>:<month>:email:<address>``); a row is claimed by one runner at a
time (``status`` sending, ``claimed_until``) before it is sent.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ronde.opdb.models.base import Base, UtcDateTime
from ronde.opdb.models.registry import ID_LEN

KEY_LEN = 300
ERROR_LEN = 500


class BilanRow(Base):
    """One issued bilan (a landlord, a month, a language): its six files are in ``notify_bilan_files``."""

    __tablename__ = "notify_bilans"
    __table_args__ = (UniqueConstraint("landlord", "month", "lang", name="uq_notify_bilans_landlord"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bilan_id: Mapped[str] = mapped_column(String(36), unique=True)
    landlord: Mapped[str] = mapped_column(String(ID_LEN), index=True)
    month: Mapped[date] = mapped_column(Date)
    lang: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BilanFileRow(Base):
    __tablename__ = "notify_bilan_files"
    bilan: Mapped[int] = mapped_column(ForeignKey("notify_bilans.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class DeliveryRow(Base):
    """One message to one recipient on one channel; ``status``: pending, sending, sent, failed (retried)."""

    __tablename__ = "notify_deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(KEY_LEN), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # bilan, alert
    channel: Mapped[str] = mapped_column(String(20))  # email, webhook
    target: Mapped[str] = mapped_column(String(KEY_LEN))  # an address or a URL
    landlord: Mapped[str | None] = mapped_column(String(ID_LEN), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)  # the French text body, or the webhook's JSON
    bilan: Mapped[int | None] = mapped_column(ForeignKey("notify_bilans.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(ERROR_LEN))


class DeliveryLogRow(Base):
    """Every attempt of a delivery and its outcome: appended, never updated."""

    __tablename__ = "notify_delivery_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery: Mapped[int] = mapped_column(ForeignKey("notify_deliveries.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    outcome: Mapped[str] = mapped_column(String(20))  # sent, failed, resend
    detail: Mapped[str | None] = mapped_column(String(ERROR_LEN))
    runner: Mapped[str | None] = mapped_column(String(80))


class AlertRow(Base):
    """One occurrence of an alert's cause, from raised to resolved. ``open_cause`` is the cause while it is
    open and NULL once resolved: its unique constraint lets one cause be open once, on every engine."""

    __tablename__ = "notify_alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cause: Mapped[str] = mapped_column(String(KEY_LEN), index=True)
    open_cause: Mapped[str | None] = mapped_column(String(KEY_LEN), unique=True)
    rule: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))  # French, places only
    estate: Mapped[str | None] = mapped_column(String(ID_LEN))
    landlord: Mapped[str | None] = mapped_column(String(ID_LEN))
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class LeaseRow(Base):
    """A leader lease: the runner ``holder`` leads until ``expires_at`` unless it renews."""

    __tablename__ = "notify_leases"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime())
