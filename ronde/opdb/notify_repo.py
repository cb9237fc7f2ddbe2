"""The notify tables: the leader lease, bilans and their files, deliveries (claimed before sending), alerts.

Read by ``ronde notify run`` and by the API (preview, resend, delivery log, alert state on the supervision page),
which is why it lives here and not in ``ronde.notify``: the API never imports the runner.

Why claims and not only the lease: a lease can expire while its holder is stuck in a slow SMTP call, and a second
runner then leads. Each delivery is therefore claimed by one conditional UPDATE (``status`` pending/failed →
sending) whose row count says who won; a message goes out only after its claim was won, so two runners never send
it twice, whatever the lease says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ronde.opdb.models import AlertRow, BilanFileRow, BilanRow, DeliveryLogRow, DeliveryRow, LeaseRow
from ronde.opdb.models.notify import ERROR_LEN

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


# ---- the leader lease ---------------------------------------------------------------------------------------


def acquire_lease(session: Session, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease ``name`` for ``holder`` until ``now + ttl``; False when another holds it.

    One conditional UPDATE (held by us, or expired), else one INSERT whose primary key refuses a second
    holder: the same on SQLite and PostgreSQL, no SELECT … FOR UPDATE needed."""
    until = now + ttl
    renewed = session.execute(
        update(LeaseRow)
        .where(LeaseRow.name == name, or_(LeaseRow.holder == holder, LeaseRow.expires_at < now))
        .values(holder=holder, expires_at=until)
        .execution_options(synchronize_session=False)
    )
    if renewed.rowcount == 1:  # type: ignore[attr-defined]
        session.flush()
        return True
    if session.get(LeaseRow, name) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(LeaseRow(name=name, holder=holder, expires_at=until, acquired_at=now))
    except IntegrityError:
        return False
    return True


def release_lease(session: Session, name: str, holder: str) -> None:
    session.execute(
        update(LeaseRow)
        .where(LeaseRow.name == name, LeaseRow.holder == holder)
        .values(expires_at=datetime.fromtimestamp(0).astimezone())
        .execution_options(synchronize_session=False)
    )


# ---- bilans -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredBilan:
    id: int
    bilan_id: str
    landlord: str
    month: date
    lang: str
    created_at: datetime
    files: tuple[str, ...]


def _bilan(session: Session, row: BilanRow) -> StoredBilan:
    names = session.scalars(select(BilanFileRow.name).where(BilanFileRow.bilan == row.id).order_by(BilanFileRow.name))
    return StoredBilan(row.id, row.bilan_id, row.landlord, row.month, row.lang, row.created_at, tuple(names))


def find_bilan(session: Session, landlord: str, month: date, lang: str) -> StoredBilan | None:
    row = session.scalars(
        select(BilanRow).where(BilanRow.landlord == landlord, BilanRow.month == month, BilanRow.lang == lang)
    ).first()
    return None if row is None else _bilan(session, row)


def put_bilan(
    session: Session,
    *,
    bilan_id: str,
    landlord: str,
    month: date,
    lang: str,
    files: dict[str, tuple[str, bytes]],
    now: datetime,
) -> StoredBilan:
    """Keep an issued bilan and its files (name → (sha256, bytes)); the one already kept for that landlord, month
    and language when there is one (a bilan, once issued, is never silently replaced)."""
    found = find_bilan(session, landlord, month, lang)
    if found is not None:
        return found
    row = BilanRow(bilan_id=bilan_id, landlord=landlord, month=month, lang=lang, created_at=now)
    session.add(row)
    session.flush()
    for name, (sha, data) in files.items():
        session.add(BilanFileRow(bilan=row.id, name=name, sha256=sha, data=data))
    session.flush()
    return _bilan(session, row)


def bilans(session: Session, *, landlord: str | None = None, limit: int = 100) -> list[StoredBilan]:
    q = select(BilanRow).order_by(BilanRow.month.desc(), BilanRow.landlord).limit(limit)
    if landlord is not None:
        q = q.where(BilanRow.landlord == landlord)
    return [_bilan(session, r) for r in session.scalars(q)]


def bilan_by_id(session: Session, bilan_id: str) -> StoredBilan | None:
    row = session.scalars(select(BilanRow).where(BilanRow.bilan_id == bilan_id)).first()
    return None if row is None else _bilan(session, row)


def bilan_file(session: Session, bilan_pk: int, name: str) -> bytes | None:
    row = session.get(BilanFileRow, (bilan_pk, name))
    return None if row is None else row.data


def bilan_files(session: Session, bilan_pk: int) -> dict[str, bytes]:
    rows = session.scalars(select(BilanFileRow).where(BilanFileRow.bilan == bilan_pk).order_by(BilanFileRow.name))
    return {r.name: r.data for r in rows}


# ---- deliveries ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    key: str
    kind: str
    channel: str
    target: str
    landlord: str | None
    subject: str
    body: str
    bilan: int | None
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None


def _delivery(r: DeliveryRow) -> Delivery:
    return Delivery(
        r.id,
        r.key,
        r.kind,
        r.channel,
        r.target,
        r.landlord,
        r.subject,
        r.body,
        r.bilan,
        r.status,
        r.attempts,
        r.created_at,
        r.next_attempt_at,
        r.sent_at,
        r.last_error,
    )


def enqueue(
    session: Session,
    *,
    key: str,
    kind: str,
    channel: str,
    target: str,
    subject: str,
    body: str,
    now: datetime,
    landlord: str | None = None,
    bilan: int | None = None,
) -> bool:
    """Add a delivery unless one with ``key`` exists (then nothing changes); True when it was added."""
    if session.scalars(select(DeliveryRow.id).where(DeliveryRow.key == key)).first() is not None:
        return False
    try:
        with session.begin_nested():
            session.add(
                DeliveryRow(
                    key=key,
                    kind=kind,
                    channel=channel,
                    target=target,
                    landlord=landlord,
                    subject=subject[:300],
                    body=body,
                    bilan=bilan,
                    status=PENDING,
                    attempts=0,
                    created_at=now,
                    next_attempt_at=now,
                )
            )
    except IntegrityError:  # another runner enqueued it meanwhile
        return False
    return True


def due(session: Session, now: datetime, limit: int = 50) -> list[int]:
    """Ids of deliveries to attempt now: pending or failed whose time has come, or a claim left expired (a runner
    that died while sending)."""
    q = (
        select(DeliveryRow.id)
        .where(
            or_(
                and_(DeliveryRow.status.in_((PENDING, FAILED)), DeliveryRow.next_attempt_at <= now),
                and_(DeliveryRow.status == SENDING, DeliveryRow.claimed_until < now),
            )
        )
        .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id)
        .limit(limit)
    )
    return list(session.scalars(q))


def claim(session: Session, delivery_id: int, runner: str, now: datetime, hold: timedelta) -> Delivery | None:
    """Claim one delivery for ``runner``; None when another runner has it or it was sent meanwhile."""
    won = session.execute(
        update(DeliveryRow)
        .where(
            DeliveryRow.id == delivery_id,
            or_(
                and_(DeliveryRow.status.in_((PENDING, FAILED)), DeliveryRow.next_attempt_at <= now),
                and_(DeliveryRow.status == SENDING, DeliveryRow.claimed_until < now),
            ),
        )
        .values(status=SENDING, claimed_by=runner, claimed_until=now + hold, attempts=DeliveryRow.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        return None
    row = session.get(DeliveryRow, delivery_id, populate_existing=True)
    return None if row is None else _delivery(row)


def _log(
    session: Session, delivery_id: int, at: datetime, outcome: str, detail: str | None, runner: str | None
) -> None:
    session.add(
        DeliveryLogRow(
            delivery=delivery_id,
            at=at,
            outcome=outcome,
            detail=None if detail is None else detail[:ERROR_LEN],
            runner=runner,
        )
    )


def mark_sent(session: Session, delivery_id: int, runner: str, now: datetime, detail: str | None = None) -> None:
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id, DeliveryRow.claimed_by == runner)
        .values(status=SENT, sent_at=now, claimed_until=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    _log(session, delivery_id, now, SENT, detail, runner)


def mark_failed(session: Session, delivery_id: int, runner: str, now: datetime, error: str, retry_at: datetime) -> None:
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id, DeliveryRow.claimed_by == runner)
        .values(status=FAILED, next_attempt_at=retry_at, claimed_until=None, last_error=error[:ERROR_LEN])
        .execution_options(synchronize_session=False)
    )
    _log(session, delivery_id, now, FAILED, error, runner)


def resend(session: Session, delivery_id: int, now: datetime, by: str) -> bool:
    """A supervisor asks for a delivery to go out again (sent or failed): it is due at once."""
    done = session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id, DeliveryRow.status != SENDING)
        .values(status=PENDING, next_attempt_at=now, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return False
    _log(session, delivery_id, now, "resend", f"asked by {by}", None)
    return True


def deliveries(
    session: Session, *, status: str | None = None, kind: str | None = None, limit: int = 200
) -> list[Delivery]:
    q = select(DeliveryRow).order_by(DeliveryRow.created_at.desc(), DeliveryRow.id.desc()).limit(limit)
    if status is not None:
        q = q.where(DeliveryRow.status == status)
    if kind is not None:
        q = q.where(DeliveryRow.kind == kind)
    return [_delivery(r) for r in session.scalars(q)]


def get_delivery(session: Session, delivery_id: int) -> Delivery | None:
    row = session.get(DeliveryRow, delivery_id)
    return None if row is None else _delivery(row)


@dataclass(frozen=True, slots=True)
class LogEntry:
    at: datetime
    outcome: str
    detail: str | None
    runner: str | None


def delivery_log(session: Session, delivery_id: int) -> list[LogEntry]:
    q = select(DeliveryLogRow).where(DeliveryLogRow.delivery == delivery_id).order_by(DeliveryLogRow.id)
    return [LogEntry(r.at, r.outcome, r.detail, r.runner) for r in session.scalars(q)]


def failed_count(session: Session) -> int:
    """Deliveries waiting for a retry after a failure: what the supervision page shows in red."""
    return int(session.scalar(select(func.count()).select_from(DeliveryRow).where(DeliveryRow.status == FAILED)) or 0)


# ---- alerts -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    cause: str
    rule: str
    title: str
    estate: str | None
    landlord: str | None
    raised_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None


def _alert(r: AlertRow) -> Alert:
    return Alert(r.id, r.cause, r.rule, r.title, r.estate, r.landlord, r.raised_at, r.last_seen_at, r.resolved_at)


def open_alerts(session: Session) -> list[Alert]:
    """The alerts in progress, oldest first (what the supervision page lists)."""
    q = select(AlertRow).where(AlertRow.resolved_at.is_(None)).order_by(AlertRow.raised_at, AlertRow.id)
    return [_alert(r) for r in session.scalars(q)]


def recent_alerts(session: Session, since: datetime) -> list[Alert]:
    q = (
        select(AlertRow)
        .where(or_(AlertRow.resolved_at.is_(None), AlertRow.resolved_at >= since))
        .order_by(AlertRow.raised_at.desc(), AlertRow.id.desc())
    )
    return [_alert(r) for r in session.scalars(q)]


def raise_alert(
    session: Session,
    *,
    cause: str,
    rule: str,
    title: str,
    now: datetime,
    estate: str | None = None,
    landlord: str | None = None,
) -> Alert | None:
    """Open ``cause`` unless it is open already (then only ``last_seen_at`` moves); the new alert, else None."""
    row = session.scalars(select(AlertRow).where(AlertRow.open_cause == cause)).first()
    if row is not None:
        row.last_seen_at = now
        session.flush()
        return None
    try:
        with session.begin_nested():
            row = AlertRow(
                cause=cause,
                open_cause=cause,
                rule=rule,
                title=title[:300],
                estate=estate,
                landlord=landlord,
                raised_at=now,
                last_seen_at=now,
            )
            session.add(row)
    except IntegrityError:
        return None
    return _alert(row)


def resolve_alerts(session: Session, still: Sequence[str], now: datetime) -> list[Alert]:
    """Resolve every open alert whose cause is not in ``still``; the alerts resolved."""
    keep = set(still)
    out = []
    for row in session.scalars(select(AlertRow).where(AlertRow.resolved_at.is_(None))):
        if row.cause in keep:
            continue
        row.resolved_at = now
        row.open_cause = None
        out.append(_alert(row))
    session.flush()
    return out
