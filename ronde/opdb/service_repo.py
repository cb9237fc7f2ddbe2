"""The service calendar (one default, per-estate overrides) and the partner directory in the operational database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ronde.opdb.models import CalendarRow, ClosedDateRow, PartnerEstateRow, PartnerRow
from ronde.opdb.models.service import DEFAULT_SCOPE
from ronde.opdb.registry_repo import bump_version
from ronde.protocol.calendar import WEEKDAYS, ServiceCalendar, check_calendar


@dataclass(frozen=True, slots=True)
class Partner:
    id: int
    name: str
    kind: str
    estates: frozenset[str]


def _hhmm(t: time) -> str:
    return t.strftime("%H:%M")


def put_calendar(session: Session, calendar: ServiceCalendar, *, estate: str | None = None) -> None:
    """Set the default calendar (``estate`` None) or one estate's own; a calendar the one rule refuses
    (``ronde.protocol.calendar.check_calendar``: ``end`` equal to ``start``…) raises CalendarError."""
    check_calendar(calendar)
    scope = DEFAULT_SCOPE if estate is None else estate
    row = session.get(CalendarRow, scope)
    days = ",".join(WEEKDAYS[d] for d in sorted(calendar.days))
    if row is None:
        row = CalendarRow(
            scope=scope, days=days, start=_hhmm(calendar.start), end=_hhmm(calendar.end), timezone=calendar.timezone
        )
        session.add(row)
    else:
        row.days, row.start, row.end, row.timezone = days, _hhmm(calendar.start), _hhmm(calendar.end), calendar.timezone
    session.flush()
    session.execute(delete(ClosedDateRow).where(ClosedDateRow.scope == scope))
    for day in sorted(calendar.closed):
        session.add(ClosedDateRow(scope=scope, day=day))
    session.flush()
    bump_version(session)  # ingest workers follow the calendar as they follow the registry


def get_calendar(session: Session, *, estate: str | None = None) -> ServiceCalendar:
    """An estate's calendar if it has its own, else the default one, else ``ServiceCalendar()``'s defaults."""
    row = None
    if estate is not None:
        row = session.get(CalendarRow, estate)
    if row is None:
        row = session.get(CalendarRow, DEFAULT_SCOPE)
    if row is None:
        return ServiceCalendar()
    closed = frozenset(session.scalars(select(ClosedDateRow.day).where(ClosedDateRow.scope == row.scope)))
    return check_calendar(
        ServiceCalendar(  # a row written by hand is held to the same rule
            days=frozenset(WEEKDAYS.index(d) for d in row.days.split(",") if d),
            start=time.fromisoformat(row.start),
            end=time.fromisoformat(row.end),
            timezone=row.timezone,
            closed=closed,
        )
    )


def put_partner(session: Session, name: str, kind: str, estates: frozenset[str]) -> Partner:
    row = session.execute(select(PartnerRow).where(PartnerRow.name == name)).scalar()
    if row is None:
        row = PartnerRow(name=name, kind=kind)
        session.add(row)
    row.kind = kind
    session.flush()
    session.execute(delete(PartnerEstateRow).where(PartnerEstateRow.partner_id == row.id))
    for estate in sorted(estates):
        session.add(PartnerEstateRow(partner_id=row.id, estate_id=estate))
    session.flush()
    return Partner(row.id, row.name, row.kind, estates)


def partners(session: Session) -> list[Partner]:
    links: dict[int, set[str]] = {}
    for link in session.scalars(select(PartnerEstateRow)):
        links.setdefault(link.partner_id, set()).add(link.estate_id)
    return [
        Partner(r.id, r.name, r.kind, frozenset(links.get(r.id, ())))
        for r in session.scalars(select(PartnerRow).order_by(PartnerRow.name))
    ]
