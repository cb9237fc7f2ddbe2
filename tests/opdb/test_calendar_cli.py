"""``ronde calendar show|set|close|reopen|unset`` on SQLite and PostgreSQL: what it writes is what every role reads."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import Engine

from ronde.cli import main
from ronde.opdb.engine import session_factory
from ronde.opdb.models import RegistryStateRow
from ronde.opdb.sealing import SecretBox
from ronde.opdb.service_repo import get_calendars
from ronde.protocol.calendar import Calendars, ServiceCalendar
from ronde.protocol.estate import default_estate_path

CHRISTMAS = date(2026, 12, 25)
FRIDAY = date(2026, 12, 4)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def site(engine: Engine, db_url: str, box: SecretBox, capsys: pytest.CaptureFixture[str]) -> str:
    """The sample estate (mordacs, bois-labbe) imported; no calendar stored yet."""
    assert box is not None
    code, _, err = run(capsys, "registry", "import", "--url", db_url, "--estate", str(default_estate_path()))
    assert code == 0, err
    return db_url


def stored(engine: Engine) -> Calendars:
    with session_factory(engine)() as s:
        return get_calendars(s)


def version(engine: Engine) -> int:
    with session_factory(engine)() as s:
        state = s.get(RegistryStateRow, 1)
        return 0 if state is None else state.version


def test_show_set_close_reopen_unset(engine: Engine, site: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "calendar", "show", "--database", site)
    assert code == 0
    assert "default: wed,thu,fri,sat,sun 16:00-22:15 Europe/Paris; closed: none" in out
    assert "estates on the default: bois-labbe, mordacs" in out

    before = version(engine)
    code, out, err = run(
        capsys, "calendar", "set", "--database", site, "--days", "tue,wed,thu,fri,sat", "--start", "17:00",
        "--end", "23:30",
    )  # fmt: skip
    assert code == 0, err
    assert "default calendar: tue,wed,thu,fri,sat 17:00-23:30 Europe/Paris" in out
    assert version(engine) > before  # workers and API processes follow the version row
    assert stored(engine) == ServiceCalendar(days=frozenset({1, 2, 3, 4, 5}), start=time(17), end=time(23, 30))

    code, out, err = run(capsys, "calendar", "close", CHRISTMAS.isoformat(), "--database", site)
    assert code == 0, err
    assert "2026-12-25: closed (default calendar" in out
    code, out, _ = run(capsys, "calendar", "close", CHRISTMAS.isoformat(), "--database", site)
    assert code == 0
    assert "already closed" in out

    code, out, err = run(capsys, "calendar", "close", FRIDAY.isoformat(), "--estate", "mordacs", "--database", site)
    assert code == 0, err
    cals = stored(engine)
    assert cals.for_estate("mordacs").closed == {CHRISTMAS, FRIDAY}  # a copy of the default, plus its own date
    assert cals.for_estate("bois-labbe").closed == {CHRISTMAS}
    assert cals.for_estate("mordacs").start == time(17)
    code, out, _ = run(capsys, "calendar", "show", "--database", site)
    assert (
        "estate mordacs (its own): tue,wed,thu,fri,sat 17:00-23:30 Europe/Paris; closed: 2026-12-04, 2026-12-25" in out
    )
    assert "estates on the default: bois-labbe" in out

    code, out, err = run(capsys, "calendar", "set", "--estate", "bois-labbe", "--end", "01:00", "--database", site)
    assert code == 0, err
    assert "(past midnight)" in out
    assert stored(engine).for_estate("bois-labbe").crosses_midnight

    code, out, err = run(capsys, "calendar", "reopen", FRIDAY.isoformat(), "--estate", "mordacs", "--database", site)
    assert code == 0, err
    assert FRIDAY not in stored(engine).for_estate("mordacs").closed
    code, out, _ = run(capsys, "calendar", "show", "--estate", "bois-labbe", "--database", site)
    assert out.startswith("estate bois-labbe (its own): tue,wed,thu,fri,sat 17:00-01:00 (past midnight)")

    code, out, err = run(capsys, "calendar", "unset", "--estate", "mordacs", "--database", site)
    assert code == 0, err
    assert "now follows the default calendar" in out
    assert dict(stored(engine).estates).keys() == {"bois-labbe"}


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["set", "--start", "18:00", "--end", "18:00"], "end: equals start (18:00)"),
        (["set", "--days", "wed,funday"], "days: unknown weekday(s) ['funday']"),
        (["set", "--days", ","], "days: no weekday"),
        (["set", "--start", "25:00"], "start: '25:00' is not a time of day"),
        (["set", "--end", "22:15:30"], "end: '22:15:30': give hours and minutes only"),
        (["set", "--timezone", "Mars/Olympus"], "timezone: unknown time zone 'Mars/Olympus'"),
        (["set"], "days: nothing to set"),
        (["set", "--estate", "atlantis", "--start", "17:00"], "estate: unknown estate 'atlantis'"),
        (["close", "2026-02-30"], "date: '2026-02-30' is not a date"),
        (["close", "2026-12-25", "--estate", "atlantis"], "estate: unknown estate 'atlantis'"),
        (["show", "--estate", "atlantis"], "estate: unknown estate 'atlantis'"),
        (["unset", "--estate", "atlantis"], "estate: unknown estate 'atlantis'"),
    ],
)
def test_refusals_name_the_field(
    engine: Engine, site: str, capsys: pytest.CaptureFixture[str], argv: list[str], field: str
) -> None:
    before = version(engine)
    code, _, err = run(capsys, "calendar", *argv, "--database", site)
    assert code == 1
    assert field in err
    assert version(engine) == before  # nothing written
    assert stored(engine) == ServiceCalendar()


def test_a_database_not_migrated_exits_2(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "calendar", "show", "--database", db_url)
    assert code == 2
    assert "ronde db upgrade" in err
