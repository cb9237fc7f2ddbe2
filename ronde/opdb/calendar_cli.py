"""``ronde calendar show|set|close|reopen|unset``: the service calendar in the operational database.

The default calendar serves every estate that has none of its own; ``--estate ID`` sets or closes one estate's
own (``ronde.opdb.service_repo``: created as a copy of the default, whole from then on, until ``unset``). Every
change bumps the registry version: running ingest workers and API processes follow it within their poll delay.

Exit codes: 0 done (``close``/``reopen`` of a date already so is done, and says so); 1 a value the calendar rule
refuses, named by its field (``days``, ``start``, ``end``, ``timezone``, ``estate``, ``date``); 2 the database
cannot be used (not migrated, unreachable).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date, time
from typing import Any

from ronde.protocol.calendar import WEEKDAYS, CalendarError, Calendars, ServiceCalendar, weekday_problem


def _days(text: str) -> frozenset[int]:
    names = [d.strip().lower() for d in text.split(",") if d.strip()]
    problem = weekday_problem(names) if names else f"no weekday in {text!r}: e.g. wed,thu,fri,sat,sun"
    if problem is not None:
        raise CalendarError("days", problem)
    return frozenset(WEEKDAYS.index(d) for d in names)


def _hhmm(field: str, text: str) -> time:
    try:
        value = time.fromisoformat(text)
    except ValueError:
        raise CalendarError(field, f"{text[:20]!r} is not a time of day: HH:MM, e.g. 16:00") from None
    if value.second or value.microsecond or value.tzinfo is not None:
        raise CalendarError(field, f"{text[:20]!r}: give hours and minutes only (HH:MM)")
    return value


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CalendarError("date", f"{text[:20]!r} is not a date: YYYY-MM-DD, e.g. 2026-12-25") from None


def describe(calendar: ServiceCalendar) -> str:
    """One line: days, hours, time zone, closed dates."""
    days = ",".join(WEEKDAYS[d] for d in sorted(calendar.days)) or "(no day)"
    closed = ", ".join(d.isoformat() for d in sorted(calendar.closed)) or "none"
    hours = f"{calendar.start.strftime('%H:%M')}-{calendar.end.strftime('%H:%M')}"
    past = " (past midnight)" if calendar.crosses_midnight else ""
    return f"{days} {hours}{past} {calendar.timezone}; closed: {closed}"


def _open(url_arg: str | None) -> tuple[Any, Any, str]:
    from ronde.opdb.engine import database_url, make_engine, session_factory, shown
    from ronde.opdb.migrate import require_current

    url = database_url(url_arg)
    engine = make_engine(url)
    try:
        require_current(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine, session_factory(engine), shown(url)


def _run(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from ronde.opdb.migrate import DatabaseNotCurrent

    name = f"ronde calendar {args.calendar_cmd}"
    try:
        engine, sessions, where = _open(args.url)
    except (DatabaseNotCurrent, SQLAlchemyError, OSError) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    try:
        with sessions.begin() as s:
            print(args.action(s, args))
    except CalendarError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    except (SQLAlchemyError, OSError) as exc:
        print(f"{name}: {where}: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


def _show(session: Any, args: argparse.Namespace) -> str:
    from sqlalchemy import select

    from ronde.opdb.models import EstateRow
    from ronde.opdb.service_repo import get_calendars

    cals: Calendars = get_calendars(session)
    estates = list(session.scalars(select(EstateRow.id).order_by(EstateRow.id)))
    own = dict(cals.estates)
    if args.estate is not None:
        if args.estate not in estates:
            raise CalendarError("estate", f"unknown estate {args.estate!r}: not in the registry in force")
        source = "its own" if args.estate in own else "the default"
        return f"estate {args.estate} ({source}): {describe(cals.for_estate(args.estate))}"
    lines = [f"default: {describe(cals.default)}"]
    lines += [f"estate {e} (its own): {describe(c)}" for e, c in cals.estates]
    following = [e for e in estates if e not in own]
    if following:
        lines.append(f"estates on the default: {', '.join(following)}")
    strays = [e for e in own if e not in estates]
    if strays:
        lines.append(f"calendars of estates no longer in the registry: {', '.join(strays)}")
    return "\n".join(lines)


def _set(session: Any, args: argparse.Namespace) -> str:
    from ronde.opdb.service_repo import get_calendar, put_calendar

    if args.days is None and args.start is None and args.end is None and args.timezone is None:
        raise CalendarError("days", "nothing to set: give --days, --start, --end or --timezone")
    current = get_calendar(session, estate=args.estate)
    calendar = ServiceCalendar(
        days=current.days if args.days is None else _days(args.days),
        start=current.start if args.start is None else _hhmm("start", args.start),
        end=current.end if args.end is None else _hhmm("end", args.end),
        timezone=current.timezone if args.timezone is None else args.timezone,
        closed=current.closed,
    )
    put_calendar(session, calendar, estate=args.estate)
    return f"{_whose(args.estate)}: {describe(calendar)}"


def _closing(closed: bool) -> Callable[[Any, argparse.Namespace], str]:
    def action(session: Any, args: argparse.Namespace) -> str:
        from ronde.opdb.service_repo import get_calendar, set_closed

        day = _date(args.date)
        changed = set_closed(session, day, closed=closed, estate=args.estate)
        state = "closed" if closed else "open"
        done = state if changed else f"already {state}"
        return (
            f"{day.isoformat()}: {done} ({_whose(args.estate)}: {describe(get_calendar(session, estate=args.estate))})"
        )

    return action


def _unset(session: Any, args: argparse.Namespace) -> str:
    from ronde.opdb.service_repo import drop_calendar, get_calendar, known_estate

    known_estate(session, args.estate)
    dropped = drop_calendar(session, args.estate)
    head = "now follows the default calendar" if dropped else "had no calendar of its own"
    return f"estate {args.estate} {head}: {describe(get_calendar(session, estate=args.estate))}"


def _whose(estate: str | None) -> str:
    return "default calendar" if estate is None else f"estate {estate}'s own calendar"


def _add_database(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        "--url",
        dest="url",
        default=None,
        help="database URL (default: RONDE_DATABASE_URL, else sqlite:///var/ronde/ronde.db); a PostgreSQL "
        "password comes from RONDE_DATABASE_PASSWORD or ~/.pgpass, never from here",
    )


def register(sub: Any) -> None:
    cal = sub.add_parser(
        "calendar",
        help="the service calendar: days, hours, closed dates, per estate if it differs",
        description="The default calendar serves every estate without one of its own. Changes are followed by "
        "running ingest workers and API processes (no restart).",
    )
    cmds = cal.add_subparsers(dest="calendar_cmd", required=True)
    show = cmds.add_parser("show", help="the default calendar and the estates' own")
    _add_database(show)
    show.add_argument("--estate", default=None, help="only the calendar this estate is judged by")
    show.set_defaults(func=_run, action=_show)
    put = cmds.add_parser("set", help="set days, hours or time zone (of the default, or of --estate's own)")
    _add_database(put)
    put.add_argument("--estate", default=None, help="an estate's own calendar (created from the default)")
    put.add_argument("--days", default=None, help="weekdays, e.g. wed,thu,fri,sat,sun")
    put.add_argument("--start", default=None, help="local start, HH:MM (e.g. 16:00)")
    put.add_argument("--end", default=None, help="local end, HH:MM; before --start for service past midnight")
    put.add_argument("--timezone", default=None, help="IANA time zone (e.g. Europe/Paris)")
    put.set_defaults(func=_run, action=_set)
    for verb, closed, text in (("close", True, "close a date"), ("reopen", False, "reopen a closed date")):
        p = cmds.add_parser(verb, help=f"{text} (of the default calendar, or of --estate's own)")
        _add_database(p)
        p.add_argument("date", help="YYYY-MM-DD")
        p.add_argument("--estate", default=None, help="this estate only")
        p.set_defaults(func=_run, action=_closing(closed))
    unset = cmds.add_parser("unset", help="an estate follows the default calendar again")
    _add_database(unset)
    unset.add_argument("--estate", required=True)
    unset.set_defaults(func=_run, action=_unset)
