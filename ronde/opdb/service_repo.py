"""The service calendar (one default, per-estate overrides) and the partner directory in the operational database.

An estate's own calendar is whole (days, hours, time zone, closed dates): it is created as a copy of the default
when first set or when a date is first closed for that estate only, and no longer follows the default's later
changes until it is dropped (``drop_calendar``). Every change bumps the registry version, which ingest workers
and API processes follow (``get_calendars`` is what they read)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ronde.opdb.models import CalendarRow, ClosedDateRow, EstateRow, PartnerEstateRow, PartnerRow
from ronde.opdb.models.service import DEFAULT_SCOPE
from ronde.opdb.registry_repo import bump_version
from ronde.protocol.calendar import (
    WEEKDAYS,
    CalendarError,
    Calendars,
    ServiceCalendar,
    check_calendar,
    weekday_problem,
)


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
    if isinstance(calendar, Calendars):
        calendar = calendar.default
    scope = DEFAULT_SCOPE if estate is None else known_estate(session, estate)
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
    return _row_calendar(session, row)  # a row written by hand is held to the same rule


def known_estate(session: Session, estate: str) -> str:
    if session.get(EstateRow, estate) is None:
        raise CalendarError("estate", f"unknown estate {estate!r}: not in the registry in force")
    return estate


def _row_time(field: str, text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise CalendarError(field, f"{text[:20]!r} is not a time of day (HH:MM)") from None


def _row_calendar(session: Session, row: CalendarRow) -> ServiceCalendar:
    """A stored row as a calendar, held to the one rule (a row edited by hand raises CalendarError, never more)."""
    days = [d for d in row.days.split(",") if d]
    problem = weekday_problem(days)
    if problem is not None:
        raise CalendarError("days", problem)
    try:
        closed = frozenset(session.scalars(select(ClosedDateRow.day).where(ClosedDateRow.scope == row.scope)))
    except ValueError:  # SQLite stores dates as text: one edited by hand does not parse
        raise CalendarError("closed", "a closed date is not a date (YYYY-MM-DD)") from None
    return check_calendar(
        ServiceCalendar(
            days=frozenset(WEEKDAYS.index(d) for d in days),
            start=_row_time("start", row.start),
            end=_row_time("end", row.end),
            timezone=row.timezone,
            closed=closed,
        )
    )


def get_calendars(session: Session) -> Calendars:
    """The default calendar and every estate's own, as one ``Calendars`` (what ingest, coverage, audit and the
    API judge service time by); a row that breaks the calendar rule raises CalendarError naming its estate."""
    rows = {r.scope: r for r in session.scalars(select(CalendarRow))}
    default_row = rows.pop(DEFAULT_SCOPE, None)
    default = ServiceCalendar() if default_row is None else _row_calendar(session, default_row)
    estates: dict[str, ServiceCalendar] = {}
    for scope, row in sorted(rows.items()):
        try:
            estates[scope] = _row_calendar(session, row)
        except CalendarError as exc:
            raise CalendarError(f"estates.{scope}.{exc.field}", exc.message) from None
    return Calendars.of(default, estates)


def set_closed(session: Session, day: date, *, closed: bool, estate: str | None = None) -> bool:
    """Close (``closed``) or reopen ``day`` for the default calendar or one estate's; True when it changed.
    Closing a date for an estate that has no calendar of its own gives it one, a copy of the default."""
    scope = DEFAULT_SCOPE if estate is None else known_estate(session, estate)
    if session.get(CalendarRow, scope) is None:
        if not closed:
            return False
        put_calendar(session, get_calendar(session, estate=estate), estate=estate)
    held = session.get(ClosedDateRow, (scope, day))
    if (held is not None) == closed:
        return False
    if closed:
        session.add(ClosedDateRow(scope=scope, day=day))
    else:
        session.delete(held)
    session.flush()
    bump_version(session)
    return True


def drop_calendar(session: Session, estate: str) -> bool:
    """The estate follows the default calendar again; True when it had one of its own."""
    row = session.get(CalendarRow, estate)
    if row is None:
        return False
    session.execute(delete(ClosedDateRow).where(ClosedDateRow.scope == estate))
    session.delete(row)
    session.flush()
    bump_version(session)
    return True


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


def partner_kind(session: Session, partner_id: int) -> str | None:
    """The directory kind of one partner (``agence_bailleur``, ``ccas``…), None when it left the directory."""
    row = session.get(PartnerRow, partner_id)
    return None if row is None else row.kind
