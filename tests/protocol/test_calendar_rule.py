"""One service-calendar rule (``ronde.protocol.calendar``), applied by every edge a calendar comes in through:
the gateway's configuration, ingest's configuration, the operational database's calendar repository (and so the
API, which reads its calendar there). ``end`` equal to ``start`` is refused by all of them, with the same message
naming the field (it used to be an empty window to the gateway and a 24-hour one to ingest)."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
from sqlalchemy import update

from ronde.gateway.config import ConfigError as GatewayConfigError
from ronde.gateway.config import parse_config
from ronde.opdb import service_repo
from ronde.opdb.engine import make_engine, session_factory
from ronde.opdb.migrate import upgrade
from ronde.opdb.models import CalendarRow
from ronde.protocol.calendar import CalendarError, ServiceCalendar, check_calendar, end_problem
from ronde.settings import ConfigError as SettingsError
from ronde.settings import load_settings

MESSAGE = end_problem(time(18), time(18))
GATEWAY = """
[gateway]
id = "gw-mordacs-1"
badge = "team-a7"
key_file = "/var/lib/ronde/device.key"

[mqtt]
host = "broker.example.org"

[service]
start = "18:00"
end = "18:00"
"""


def test_the_rule() -> None:
    assert MESSAGE is not None
    assert MESSAGE.startswith("equals start (18:00)")
    assert end_problem(time(16), time(22, 15)) is None
    assert end_problem(time(20), time(2)) is None  # past midnight
    with pytest.raises(CalendarError) as info:
        check_calendar(ServiceCalendar(start=time(18), end=time(18)))
    assert info.value.field == "end"
    assert str(info.value) == f"end: {MESSAGE}"
    with pytest.raises(CalendarError, match=r"^timezone: unknown time zone 'Mars/Olympus'"):
        check_calendar(ServiceCalendar(timezone="Mars/Olympus"))
    assert check_calendar(ServiceCalendar()) == ServiceCalendar()


def test_gateway_config_refuses_start_equal_end() -> None:
    with pytest.raises(GatewayConfigError) as info:
        parse_config(GATEWAY, "gw.toml")
    assert info.value.errors == [("service.end", MESSAGE)]


def test_ingest_config_holds_no_calendar() -> None:
    """The calendar exists once, in the operational database (below): a worker's configuration cannot hold one."""
    with pytest.raises(SettingsError, match=r"ingest\.calendar: unknown setting"):
        load_settings(flags={"ingest.calendar": {"start": "18:00", "end": "18:00"}}, environ={})


def test_opdb_calendar_repository_refuses_start_equal_end(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'o.db'}")
    upgrade(engine)
    sessions = session_factory(engine)
    try:
        with sessions.begin() as s, pytest.raises(CalendarError) as info:
            service_repo.put_calendar(s, ServiceCalendar(start=time(18), end=time(18)))
        assert str(info.value) == f"end: {MESSAGE}"
        with sessions.begin() as s:
            service_repo.put_calendar(s, ServiceCalendar(start=time(18), end=time(23)))
        with sessions.begin() as s:  # a row changed outside Ronde is held to the same rule when read
            s.execute(update(CalendarRow).values(end="18:00"))
        with sessions() as s, pytest.raises(CalendarError) as info:
            service_repo.get_calendar(s)
        assert str(info.value) == f"end: {MESSAGE}"
    finally:
        engine.dispose()


def test_the_api_serves_the_database_calendar_and_refuses_a_broken_one(tmp_path: Path) -> None:
    """``ronde api serve`` (``create_app_on_database``): the calendar is the database's, not ``ServiceCalendar()``."""
    from ronde.api.app import create_app_on_database
    from ronde.api.settings import ApiSettings
    from ronde.protocol.estate import load_default_estate
    from ronde.store.sqlite import SqliteStore
    from tests.api.support import make_database, opdb_box

    engine = make_database(tmp_path, load_default_estate())
    store = SqliteStore(tmp_path / "store.db")
    store.open()
    own = ServiceCalendar(days=frozenset({4, 5}), start=time(18), end=time(23, 30))
    try:
        with session_factory(engine).begin() as s:
            service_repo.put_calendar(s, own)
        app = create_app_on_database(ApiSettings(), store, engine, box=opdb_box())
        assert app.state.ronde.calendar == own
        with session_factory(engine).begin() as s:
            s.execute(update(CalendarRow).values(end="18:00"))
        with pytest.raises(CalendarError, match=r"^end: equals start"):
            create_app_on_database(ApiSettings(), store, engine, box=opdb_box())
    finally:
        store.close()
        engine.dispose()
