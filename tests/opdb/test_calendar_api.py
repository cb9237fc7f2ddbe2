"""``/api/v1/calendar`` on SQLite and PostgreSQL: read by every role (a landlord: its estates), changed by staff,
in force at once in another API process on the same database, and applied per estate by the coverage routes."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from datetime import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ronde.api.app import create_app_on_database
from ronde.api.auth import Principal, Role
from ronde.api.calendar_book import DbCalendars
from ronde.api.settings import ApiSettings
from ronde.opdb.engine import make_engine
from ronde.opdb.registry_io import import_records
from ronde.opdb.sealing import SecretBox
from ronde.protocol.access import token_entries
from ronde.protocol.calendar import Calendars, ServiceCalendar
from ronde.protocol.estate import EstateDocument, load_default_estate
from ronde.protocol.registry_data import registry_to_data
from ronde.store.sqlite import SqliteStore
from tests.api.support import NOW, PH_CP, THU, TOKENS, auth, fill
from tests.opdb.test_api_processes import _call, two_apis  # noqa: F401 - ``two_apis`` is a fixture

MORDACS_ONLY = "tok-tej"  # toit-et-joie has buildings in mordacs only
CLOSED_EVENING = THU.isoformat()
A_WEEK = {"days": ["wed", "thu", "fri", "sat", "sun"], "start": "16:00", "end": "22:15", "timezone": "Europe/Paris"}


@pytest.fixture
def clients(engine: Engine, db_url: str, box: SecretBox, tmp_path: Path) -> Iterator[tuple[TestClient, TestClient]]:
    """Two API processes' apps on one operational database (each its own engine, as two processes have)."""
    registry = load_default_estate()
    tokens = {**TOKENS, MORDACS_ONLY: Principal("audit-tej", Role.LANDLORD, "toit-et-joie")}
    doc = EstateDocument.model_validate(registry_to_data(registry, secrets=True))
    import_records(engine, box, estate=doc, tokens=token_entries(tokens), author="tests")
    store = SqliteStore(tmp_path / "ronde.db")
    store.open()
    fill(store, registry)
    other = make_engine(db_url)
    apps = [create_app_on_database(ApiSettings(), store, e, box=box, clock=lambda: NOW) for e in (engine, other)]
    with TestClient(apps[0]) as one, TestClient(apps[1]) as two:
        yield one, two
    store.close()
    other.dispose()


def test_every_role_reads_a_landlord_its_estates(clients: tuple[TestClient, TestClient]) -> None:
    one, _ = clients
    staff = one.get("/api/v1/calendar", headers=auth("tok-super")).json()
    assert staff["default"] == {**A_WEEK, "past_midnight": False, "closed": []}
    assert [e["estate"] for e in staff["estates"]] == ["bois-labbe", "mordacs"]
    assert not any(e["own"] for e in staff["estates"])
    mine = one.get("/api/v1/calendar", headers=auth(MORDACS_ONLY)).json()
    assert mine["default"] is None
    assert [e["estate"] for e in mine["estates"]] == ["mordacs"]
    assert one.get("/api/v1/calendar/estates/mordacs", headers=auth(MORDACS_ONLY)).status_code == 200
    foreign = one.get("/api/v1/calendar/estates/bois-labbe", headers=auth(MORDACS_ONLY))
    assert foreign.status_code == 404  # as if it did not exist
    assert one.get("/api/v1/calendar/estates/atlantis", headers=auth("tok-admin")).status_code == 404
    assert one.get("/api/v1/calendar").status_code == 401
    assert one.get("/api/v1/calendar", headers=auth("tok-gw")).status_code == 403


def test_landlords_may_not_change_it(clients: tuple[TestClient, TestClient]) -> None:
    one, _ = clients
    for method, path, body in (
        ("PUT", "/api/v1/calendar", A_WEEK),
        ("PUT", "/api/v1/calendar/estates/mordacs", A_WEEK),
        ("DELETE", "/api/v1/calendar/estates/mordacs", None),
        ("PUT", f"/api/v1/calendar/closed/{CLOSED_EVENING}", None),
        ("DELETE", f"/api/v1/calendar/closed/{CLOSED_EVENING}?estate=mordacs", None),
    ):
        answer = one.request(method, path, json=body, headers=auth(MORDACS_ONLY))
        assert answer.status_code == 403, (method, path)
    assert one.get("/api/v1/calendar", headers=auth("tok-admin")).json()["default"]["closed"] == []
    refused = one.put("/api/v1/calendar/estates/atlantis", json=A_WEEK, headers=auth("tok-super"))
    assert refused.status_code == 404


def test_a_change_holds_at_once_in_the_other_api(clients: tuple[TestClient, TestClient]) -> None:
    one, two = clients
    late = {**A_WEEK, "days": ["fri", "sat"], "start": "20:00", "end": "02:00", "closed": ["2026-12-25"]}
    answer = one.put("/api/v1/calendar/estates/bois-labbe", json=late, headers=auth("tok-admin"))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "estate": "bois-labbe",
        "own": True,
        "calendar": {**late, "past_midnight": True},
    }
    seen = two.get("/api/v1/calendar/estates/bois-labbe", headers=auth("tok-ph")).json()
    assert seen["own"]
    assert seen["calendar"]["start"] == "20:00"
    answer = one.delete("/api/v1/calendar/estates/bois-labbe", headers=auth("tok-super"))
    assert answer.json()["own"] is False
    assert two.get("/api/v1/calendar/estates/bois-labbe", headers=auth("tok-ph")).json()["own"] is False
    answer = two.put("/api/v1/calendar", json={**A_WEEK, "end": "23:00"}, headers=auth("tok-super"))
    assert answer.status_code == 200
    assert one.get("/api/v1/calendar", headers=auth("tok-admin")).json()["default"]["end"] == "23:00"


def test_an_estate_closed_evening_is_out_of_service_the_other_stays(clients: tuple[TestClient, TestClient]) -> None:
    one, two = clients

    def evening(estate: str) -> list[dict[str, object]]:
        got = two.get(f"/api/v1/coverage/checkpoints?day={CLOSED_EVENING}&estate={estate}", headers=auth("tok-super"))
        assert got.status_code == 200, got.text
        rows: list[dict[str, object]] = got.json()
        return rows

    def idle() -> dict[str, tuple[str, float, object]]:
        got = two.get("/api/v1/supervision/stale?threshold_min=0", headers=auth("tok-super"))
        assert got.status_code == 200, got.text
        return {r["checkpoint_id"]: (r["estate"], r["idle_s"], r["last_seen"]) for r in got.json()}

    assert evening("mordacs")
    assert evening("bois-labbe")
    assert any(r["checkpoint_id"] == PH_CP and r["visits"] == 1 for r in evening("mordacs"))
    idle_before = idle()
    answer = one.put(f"/api/v1/calendar/closed/{CLOSED_EVENING}?estate=mordacs", headers=auth("tok-super"))
    assert answer.status_code == 200, answer.text
    cals = {e["estate"]: e for e in answer.json()["estates"]}
    assert cals["mordacs"]["own"]
    assert cals["mordacs"]["calendar"]["closed"] == [CLOSED_EVENING]
    assert cals["bois-labbe"]["calendar"]["closed"] == []
    assert evening("mordacs") == []  # that estate's evening is out of service
    assert evening("bois-labbe")  # the other estate's stays in service
    idle_after = idle()
    never = [cid for cid, (_, _, seen) in idle_before.items() if seen is None]
    assert {idle_before[c][0] for c in never} == {"mordacs", "bois-labbe"}
    for cid in never:  # tonight 16:00 to 20:00 is no longer service time for mordacs, still is for bois-labbe
        estate, before, _ = idle_before[cid]
        lost = before - idle_after[cid][1] if cid in idle_after else before
        assert lost == (4 * 3600 if estate == "mordacs" else 0), cid
    one.delete(f"/api/v1/calendar/closed/{CLOSED_EVENING}?estate=mordacs", headers=auth("tok-super"))
    assert evening("mordacs")


def test_one_request_reads_the_version_row_once_the_next_sees_a_change_at_once(
    engine: Engine, db_url: str, box: SecretBox
) -> None:
    """``DbCalendars`` memoises within one request's context only (each request runs in a copy of its own)."""
    doc = EstateDocument.model_validate(registry_to_data(load_default_estate(), secrets=True))
    import_records(engine, box, estate=doc, author="tests")
    other = make_engine(db_url)
    try:
        here, there = DbCalendars(engine), DbCalendars(other)

        def request() -> Calendars:
            return contextvars.copy_context().run(lambda: (here.calendars, here.calendars)[1])

        assert request() == ServiceCalendar()
        in_request = contextvars.copy_context()
        assert in_request.run(lambda: here.calendars) == ServiceCalendar()
        there.put(ServiceCalendar(end=time(23)), estate=None)  # another process's change
        assert request().end == time(23)  # the next request: at once
        assert in_request.run(lambda: here.calendars).end == time(22, 15)  # the same request: its own picture
        assert here.current().end == time(23)
    finally:
        other.dispose()


@pytest.mark.slow
def test_two_api_server_processes_serve_a_change_at_once(two_apis: tuple[int, int]) -> None:  # noqa: F811 - fixture
    """Two real ``ronde api serve`` processes: each change through one is what the other answers next."""
    a, b = two_apis
    for n, day in enumerate(("2026-12-24", "2026-12-25", "2026-12-31")):
        assert _call(b, "GET", "/api/v1/calendar", "tok-super")[0] == 200  # b has just read it
        assert _call(a, "PUT", f"/api/v1/calendar/closed/{day}?estate=mordacs", "tok-super")[0] == 200
        status, body = _call(b, "GET", "/api/v1/calendar/estates/mordacs", "tok-super")
        assert status == 200
        assert len(body["calendar"]["closed"]) == n + 1
        assert day in body["calendar"]["closed"]
    assert _call(b, "DELETE", "/api/v1/calendar/estates/mordacs", "tok-admin")[0] == 200
    assert _call(a, "GET", "/api/v1/calendar/estates/mordacs", "tok-super")[1]["own"] is False


def test_a_checkpoint_timeline_is_drawn_in_its_estate_hours(clients: tuple[TestClient, TestClient]) -> None:
    one, two = clients
    late = {**A_WEEK, "start": "18:30", "end": "01:45"}
    assert one.put("/api/v1/calendar/estates/bois-labbe", json=late, headers=auth("tok-admin")).status_code == 200
    page = two.get("/ui/checkpoints/boi-b01-hall-a?first=2026-11-20&last=2026-11-26", headers=auth("tok-super"))
    assert page.status_code == 200, page.text[:500]
    assert ">18 h 30<" in page.text
    assert ">1 h 45<" in page.text
    other = two.get(f"/ui/checkpoints/{PH_CP}?first=2026-11-20&last=2026-11-26", headers=auth("tok-super"))
    assert ">16 h 00<" in other.text  # a mordacs checkpoint: the default hours
    assert ">22 h 15<" in other.text


def test_the_supervision_page_shows_each_estate_calendar(clients: tuple[TestClient, TestClient]) -> None:
    one, two = clients
    assert one.put("/api/v1/calendar/closed/2026-12-25?estate=mordacs", headers=auth("tok-super")).status_code == 200
    html = two.get("/ui/supervision", headers=auth("tok-super")).text
    section = html[html.index("Calendrier du service") :]
    assert "Les Mordacs (calendrier propre)" in section
    assert "25/12/2026" in section
    assert "mercredi, jeudi, vendredi, samedi, dimanche" in section
    assert "16 h 00 – 22 h 15" in section
    live = two.get("/ui/supervision/live", params={"lang": "en"}, headers=auth("tok-super")).json()
    assert "Les Mordacs (its own calendar)" in live["sections"]["calendar"]
    assert "Wednesday, Thursday" in live["sections"]["calendar"]
    assert two.get("/ui/supervision", headers=auth(MORDACS_ONLY)).status_code in (403, 404)  # staff only
