"""The service calendar: days, hours, closed dates, the default one and each estate's own.

Every signed-in role reads it, a landlord only for its own estates (``Scope.estates``: another estate is a 404, as
if it did not exist); admins and supervisors change it. The bodies are checked here, at the edge, by the one
calendar rule (``ronde.protocol.calendar``: ``end`` never equal to ``start``, a known time zone, known weekdays),
each error naming its field. On the operational database a change is in force at once in every API process and
within a poll delay in every ingest worker (the registry version moves).
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from starlette.exceptions import HTTPException

from ronde.api.calendar_book import CalendarsReadOnly
from ronde.api.deps import MAX_DAY, MIN_DAY, Ctx, ScopeDep, StaffScope
from ronde.api.models import ERROR_RESPONSES, ErrorBody, ValidationErrorBody
from ronde.api.scope import Scope
from ronde.protocol.calendar import WEEKDAYS, CalendarError, Calendars, ServiceCalendar, end_problem, timezone_problem

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"], responses=ERROR_RESPONSES)

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
MAX_CLOSED = 1000  # closed dates in one calendar: years of public holidays, a bound on a hostile body
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "this API holds a fixed calendar: change it in the database"},
    422: {"model": ValidationErrorBody, "description": "a calendar the rule refuses; each error names its field"},
}
EstateId = Annotated[str, Path(max_length=63, description="an estate id of the registry")]


class CalendarIn(BaseModel):
    """A whole calendar: it replaces the one in force (closed dates included)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: list[Weekday] = Field(min_length=1, max_length=7, description="service weekdays, e.g. wed … sun")
    start: str = Field(pattern=HHMM, description="local start, HH:MM", examples=["16:00"])
    end: str = Field(
        pattern=HHMM, description="local end, HH:MM; before start for service past midnight", examples=["22:15"]
    )
    timezone: str = Field(default="Europe/Paris", max_length=64, description="IANA time zone")
    closed: list[date] = Field(default_factory=list, max_length=MAX_CLOSED, description="closed dates")

    @field_validator("days")
    @classmethod
    def _distinct(cls, days: list[str]) -> list[str]:
        if len(set(days)) != len(days):
            raise ValueError("a weekday is given twice")
        return days

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, name: str) -> str:
        problem = timezone_problem(name)  # the one calendar rule
        if problem is not None:
            raise ValueError(problem)
        return name

    @field_validator("closed")
    @classmethod
    def _closed_in_range(cls, days: list[date]) -> list[date]:
        outside = [d for d in days if not MIN_DAY <= d <= MAX_DAY]
        if outside:
            raise ValueError(f"dates must be between {MIN_DAY} and {MAX_DAY}")
        return days

    @field_validator("end")
    @classmethod
    def _end(cls, end: str, info: ValidationInfo) -> str:
        start = info.data.get("start")  # absent when start itself was refused
        problem = None if start is None else end_problem(time.fromisoformat(start), time.fromisoformat(end))
        if problem is not None:
            raise ValueError(problem)
        return end

    def to_calendar(self) -> ServiceCalendar:
        return ServiceCalendar(
            days=frozenset(WEEKDAYS.index(d) for d in self.days),
            start=time.fromisoformat(self.start),
            end=time.fromisoformat(self.end),
            timezone=self.timezone,
            closed=frozenset(self.closed),
        )


class CalendarOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    days: list[Weekday]
    start: str
    end: str
    timezone: str
    past_midnight: bool
    closed: list[date]


class EstateCalendarOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    estate: str
    own: bool = Field(description="the estate has a calendar of its own (else it follows the default)")
    calendar: CalendarOut


class CalendarsOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    default: CalendarOut | None = Field(description="the default calendar (admins and supervisors only)")
    estates: list[EstateCalendarOut] = Field(description="the calendar each estate in reach is judged by")


def calendar_out(cal: ServiceCalendar) -> CalendarOut:
    return CalendarOut(
        days=[cast("Weekday", WEEKDAYS[d]) for d in sorted(cal.days)],
        start=cal.start.strftime("%H:%M"),
        end=cal.end.strftime("%H:%M"),
        timezone=cal.timezone,
        past_midnight=cal.crosses_midnight,
        closed=sorted(cal.closed),
    )


def _estate_out(cals: Calendars, estate: str) -> EstateCalendarOut:
    own = estate in dict(cals.estates)
    return EstateCalendarOut(estate=estate, own=own, calendar=calendar_out(cals.for_estate(estate)))


def _out(scope: Scope, cals: Calendars) -> CalendarsOut:
    return CalendarsOut(
        default=calendar_out(cals.default) if scope.landlord is None else None,
        estates=[_estate_out(cals, e.id) for e in sorted(scope.estates(), key=lambda e: e.id)],
    )


def _write(action: Any) -> Calendars:
    """Run a change; a fixed calendar is a 409, the rule's refusal (already checked at the edge) a 422."""
    try:
        result: Calendars = action()
    except CalendarsReadOnly as exc:
        raise HTTPException(409, str(exc)) from None
    except CalendarError as exc:  # the edge checks the rule: a row or estate that changed meanwhile
        raise _invalid(("body", exc.field), exc.message) from None
    return result


def _invalid(loc: tuple[str, ...], message: str) -> RequestValidationError:
    """A 422 as FastAPI's own (``ValidationErrorBody``: each error names its field)."""
    return RequestValidationError([{"loc": loc, "msg": message, "type": "value_error"}])


Day = Annotated[date, Path(description="YYYY-MM-DD")]


def _in_range(day: date) -> date:
    if not MIN_DAY <= day <= MAX_DAY:
        raise _invalid(("path", "day"), f"must be between {MIN_DAY} and {MAX_DAY}")
    return day


@router.get("", summary="The service calendars: the default and each estate's (a landlord: its estates')")
def get_calendars(scope: ScopeDep, ctx: Ctx) -> CalendarsOut:
    return _out(scope, ctx.calendar)


@router.get("/estates/{estate_id}", summary="The calendar an estate is judged by (its own, else the default)")
def get_estate_calendar(estate_id: EstateId, scope: ScopeDep, ctx: Ctx) -> EstateCalendarOut:
    estate = scope.estate_of(estate_id).id  # out of reach: 404
    return _estate_out(ctx.calendar, estate)


@router.put("", summary="Replace the default calendar (admin, supervisor)", responses=WRITE_ERRORS)
def put_default(body: CalendarIn, scope: StaffScope, ctx: Ctx) -> CalendarsOut:
    cals = _write(lambda: ctx.calendar_book.put(body.to_calendar(), estate=None))
    return _out(scope, cals)


@router.put(
    "/estates/{estate_id}", summary="Give an estate its own calendar (admin, supervisor)", responses=WRITE_ERRORS
)
def put_estate(estate_id: EstateId, body: CalendarIn, scope: StaffScope, ctx: Ctx) -> EstateCalendarOut:
    estate = scope.estate_of(estate_id).id
    cals = _write(lambda: ctx.calendar_book.put(body.to_calendar(), estate=estate))
    return _estate_out(cals, estate)


@router.delete(
    "/estates/{estate_id}",
    summary="The estate follows the default calendar again (admin, supervisor)",
    responses=WRITE_ERRORS,
)
def drop_estate(estate_id: EstateId, scope: StaffScope, ctx: Ctx) -> EstateCalendarOut:
    estate = scope.estate_of(estate_id).id
    cals = _write(lambda: ctx.calendar_book.drop(estate))
    return _estate_out(cals, estate)


def _closing(scope: Scope, ctx: Ctx, day: date, *, closed: bool, estate: str | None) -> Calendars:
    if estate is not None:
        scope.estate_of(estate)
    day = _in_range(day)
    return _write(lambda: ctx.calendar_book.set_closed(day, closed=closed, estate=estate))


EstateQuery = Annotated[
    str | None,
    Query(max_length=63, description="this estate only (it gets a calendar of its own, copied from the default)"),
]


@router.put(
    "/closed/{day}",
    summary="Close a date: the default calendar, or ?estate= one estate (admin, supervisor)",
    responses=WRITE_ERRORS,
)
def close_day(day: Day, scope: StaffScope, ctx: Ctx, estate: EstateQuery = None) -> CalendarsOut:
    return _out(scope, _closing(scope, ctx, day, closed=True, estate=estate))


@router.delete(
    "/closed/{day}",
    summary="Reopen a closed date: the default calendar, or ?estate= one estate (admin, supervisor)",
    responses=WRITE_ERRORS,
)
def reopen_day(day: Day, scope: StaffScope, ctx: Ctx, estate: EstateQuery = None) -> CalendarsOut:
    return _out(scope, _closing(scope, ctx, day, closed=False, estate=estate))


__all__ = ["CalendarIn", "CalendarOut", "CalendarsOut", "EstateCalendarOut", "router"]
