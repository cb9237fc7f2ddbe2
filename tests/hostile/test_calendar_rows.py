"""Calendar rows edited outside Ronde (the operational database opened by hand): each is refused with the field
named, never a crash. ``ronde calendar show`` exits 1 naming it; an API process keeps the calendars in force and
logs the refusal; an ingest worker's reference is refused (it keeps the one in force, or does not start)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from ronde.api.calendar_book import DbCalendars
from ronde.cli import main
from ronde.ingest.registry_follow import DbReference, ReferenceRefused
from ronde.opdb.engine import session_factory
from ronde.opdb.service_repo import put_calendar
from ronde.protocol.calendar import CalendarError, ServiceCalendar
from tests.api.support import make_database, opdb_box

BROKEN = [
    ("UPDATE service_calendars SET \"end\" = start WHERE scope = 'mordacs'", "estates.mordacs.end"),
    ("UPDATE service_calendars SET days = 'wed,funday' WHERE scope = 'mordacs'", "estates.mordacs.days"),
    ("UPDATE service_calendars SET start = 'teatime' WHERE scope = 'mordacs'", "estates.mordacs.start"),
    ("UPDATE service_calendars SET timezone = '../../etc/passwd' WHERE scope = 'mordacs'", "estates.mordacs.timezone"),
    ("UPDATE service_closed_dates SET day = 'soon' WHERE scope = 'mordacs'", "estates.mordacs.closed"),
    ("UPDATE service_calendars SET \"end\" = start WHERE scope = '*'", "end"),
]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_database(tmp_path)
    with session_factory(engine).begin() as s:
        put_calendar(s, ServiceCalendar())
        put_calendar(s, ServiceCalendar(end=time(23), closed=frozenset({date(2026, 12, 25)})), estate="mordacs")
    yield engine
    engine.dispose()


def _break(engine: Engine, statement: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement))
        conn.execute(text("UPDATE registry_state SET version = version + 1"))  # what a hand edit would not do


@pytest.mark.parametrize(("statement", "field"), BROKEN, ids=[f for _, f in BROKEN])
def test_a_broken_row_is_refused_by_every_reader(
    engine: Engine,
    statement: str,
    field: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    book = DbCalendars(engine)
    before = book.current()
    assert before.for_estate("mordacs").end == time(23)
    _break(engine, statement)

    code = main(["calendar", "show", "--database", str(engine.url)])
    assert code == 1
    assert f"ronde calendar show: {field}: " in capsys.readouterr().err

    with caplog.at_level(logging.ERROR, logger="ronde.api.calendar_book"):
        assert book.current() == before  # the calendars in force stay
    assert any(field in r.getMessage() and "stays in force" in r.getMessage() for r in caplog.records)
    with pytest.raises(CalendarError, match=f"^{field}: "):
        DbCalendars(engine).current()  # a process starting now: refused (it does not start), not served wrong

    with pytest.raises(ReferenceRefused, match=f"service calendar refused: {field}: "):
        DbReference(engine, opdb_box()).load()
