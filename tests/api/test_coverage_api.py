"""Coverage read back through the API, with expected values worked out by hand from ``support.sample_visits``.

Wednesday 25 Nov 2026 (closed): Paris Habitat hall A passed 16:30–16:35 and 20:00–20:04 (two
teams), hall B 16:40–16:43; Immobilière 3F hall A 17:10–17:16. Thursday 26 (now 20:00, in
progress): PH hall A 19:30–19:35, 3F hall B 18:00–18:02. Times are Europe/Paris (UTC+1).
"""

from __future__ import annotations

from dataclasses import replace

from fastapi.testclient import TestClient

from ronde.ingest.rollup import build_daily_rollups
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.chain import genesis_anchor
from ronde.protocol.estate import load_default_estate
from ronde.store.records import WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.api.support import F3_CP, F3_CP2, NOW, PH_CP, PH_CP2, THU, WED, auth, paris, visit

SUPER = auth("tok-super")


def _by_id(rows: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {r["checkpoint_id"]: r for r in rows}


def test_checkpoint_day_visits_first_last_covered(client: TestClient) -> None:
    rows = _by_id(client.get("/api/v1/coverage/checkpoints", params={"day": "2026-11-25"}, headers=SUPER).json())
    assert len(rows) == 82
    a = rows[PH_CP]
    assert (a["visits"], a["first_seen"], a["last_seen"], a["covered"]) == (
        2,
        "2026-11-25T15:30:00Z",
        "2026-11-25T19:04:00Z",
        True,
    )
    assert a["presence_s"] == 540.0
    assert a["availability"] == "visited"
    assert a["partial"] is False
    b = rows[PH_CP2]
    assert (b["visits"], b["first_seen"], b["last_seen"]) == (1, "2026-11-25T15:40:00Z", "2026-11-25T15:43:00Z")
    assert rows[F3_CP]["visits"] == 1
    assert rows[F3_CP2]["visits"] == 0
    assert rows[F3_CP2]["covered"] is False
    assert rows[F3_CP2]["availability"] in ("not_visited", "no_data")


def test_evening_in_progress_is_partial(client: TestClient) -> None:
    rows = _by_id(client.get("/api/v1/coverage/checkpoints", params={"day": "2026-11-26"}, headers=SUPER).json())
    a = rows[PH_CP]
    assert (a["visits"], a["first_seen"], a["last_seen"], a["partial"]) == (
        1,
        "2026-11-26T18:30:00Z",
        "2026-11-26T18:35:00Z",
        True,
    )
    assert rows[F3_CP2]["visits"] == 1
    assert rows[PH_CP2]["visits"] == 0
    # the default day is the last service day that has begun: tonight
    default = _by_id(client.get("/api/v1/coverage/checkpoints", headers=SUPER).json())
    assert default[PH_CP]["service_day"] == "2026-11-26"


def test_landlord_share_per_evening_and_period(client: TestClient) -> None:
    rows = {
        g["id"]: g
        for g in client.get(
            "/api/v1/coverage/landlords", params={"first": "2026-11-25", "last": "2026-11-26"}, headers=SUPER
        ).json()
    }
    assert len(rows) == 6
    ph = rows["paris-habitat"]
    assert ph["checkpoints"] == 36
    wed, thu = ph["days"]
    assert (wed["service_day"], wed["checkpoints"], wed["visited"], wed["covered"]) == ("2026-11-25", 36, 2, 2)
    assert wed["visited_share"] == 2 / 36
    assert (thu["service_day"], thu["visited"]) == ("2026-11-26", 1)
    assert ph["period"]["checkpoints"] == 72
    assert ph["period"]["covered"] == 3
    assert ph["period"]["visited"] == 3
    f3 = rows["immobiliere-3f"]
    assert [d["visited"] for d in f3["days"]] == [1, 1]
    assert f3["period"]["covered_share"] == 2 / 28
    toit = rows["toit-et-joie"]
    assert toit["period"]["covered"] == 0
    one = client.get(
        "/api/v1/coverage/landlords/paris-habitat",
        params={"first": "2026-11-25", "last": "2026-11-25"},
        headers=auth("tok-ph"),
    ).json()
    assert one["days"][0]["visited"] == 2
    assert one["period"]["visited_share"] == 2 / 36


def test_buildings_and_estates(client: TestClient) -> None:
    params = {"first": "2026-11-25", "last": "2026-11-25"}
    b = client.get("/api/v1/coverage/buildings/mor-b01", params=params, headers=SUPER).json()
    assert b["level"] == "building"
    assert b["checkpoints"] == 2
    assert b["period"]["covered"] == 2
    assert b["period"]["covered_share"] == 1.0
    estates = {e["id"]: e for e in client.get("/api/v1/coverage/estates", params=params, headers=SUPER).json()}
    assert estates["mordacs"]["period"]["covered"] == 3
    assert estates["bois-labbe"]["period"]["covered"] == 0
    # a landlord's estate view counts only its own checkpoints
    mine = client.get("/api/v1/coverage/estates/mordacs", params=params, headers=auth("tok-3f")).json()
    assert mine["period"]["covered"] == 1
    assert mine["checkpoints"] < estates["mordacs"]["checkpoints"]


def test_idleness_now_and_over_the_period(client: TestClient) -> None:
    rows = _by_id(
        client.get(
            "/api/v1/coverage/idleness", params={"first": "2026-11-25", "last": "2026-11-26"}, headers=SUPER
        ).json()
    )
    assert rows[PH_CP]["current_idle_s"] == 25 * 60  # 19:35 → 20:00
    assert rows[F3_CP2]["current_idle_s"] == (1 * 60 + 58) * 60  # 18:02 → 20:00
    # hall B: Wednesday 16:43 → 22:15, then Thursday 16:00 → 20:00, nights excluded
    assert rows[PH_CP2]["current_idle_s"] == (5 * 60 + 32) * 60 + 4 * 3600
    assert rows[PH_CP]["visits"] == 3
    # worst gap of hall A: Wednesday 20:04 → 22:15 (2 h 11) + Thursday 16:00 → 19:30 (3 h 30)
    assert rows[PH_CP]["worst_idle_s"] == (2 * 60 + 11 + 3 * 60 + 30) * 60
    stale = {r["checkpoint_id"] for r in client.get("/api/v1/supervision/stale", headers=SUPER).json()}
    assert PH_CP not in stale
    assert PH_CP2 in stale
    assert F3_CP2 in stale
    assert PH_CP in {
        r["checkpoint_id"]
        for r in client.get("/api/v1/supervision/stale", params={"threshold_min": 10}, headers=SUPER).json()
    }


def test_fair_share(client: TestClient) -> None:
    params = {"first": "2026-11-25", "last": "2026-11-26"}
    rows = {
        r["landlord"]: r for r in client.get("/api/v1/coverage/fair-share", params=params, headers=SUPER).json()["rows"]
    }
    assert rows["paris-habitat"]["presence_s"] == 540 + 180 + 300
    assert rows["immobiliere-3f"]["presence_s"] == 360 + 120
    assert rows["paris-habitat"]["presence_share"] == 1020 / 1500
    assert round(rows["paris-habitat"]["dwelling_share"], 4) == round(2891 / 5836, 4)
    assert rows["toit-et-joie"]["presence_share"] == 0.0
    mine = client.get("/api/v1/coverage/fair-share", params=params, headers=auth("tok-ph")).json()["rows"]
    assert [r["landlord"] for r in mine] == ["paris-habitat"]
    assert mine[0]["presence_share"] == 1020 / 1500


def test_closed_days_are_read_from_rollups(client: TestClient, store: SqliteStore) -> None:
    registry = load_default_estate()
    cal = ServiceCalendar()
    rollups = build_daily_rollups(registry, cal, WED, store.visits_of_days([WED]), genesis_anchor(None, "r"))
    store.write_rollups(rollups)
    # a late event for Wednesday, after the day was rolled up: the closed day keeps its rollup
    from ronde.store.records import WriteBatch

    store.write(WriteBatch(visits=(visit(registry, PH_CP2, paris(WED, 21, 0), 2),)))
    rows = _by_id(client.get("/api/v1/coverage/checkpoints", params={"day": "2026-11-25"}, headers=SUPER).json())
    assert rows[PH_CP2]["visits"] == 1
    # while tonight is computed from raw visits as they arrive
    store.write(WriteBatch(visits=(visit(registry, PH_CP2, paris(THU, 19, 50), 1),)))
    rows = _by_id(client.get("/api/v1/coverage/checkpoints", params={"day": "2026-11-26"}, headers=SUPER).json())
    assert rows[PH_CP2]["visits"] == 1
    assert rows[PH_CP2]["partial"] is True


def test_bad_periods_are_422(client: TestClient) -> None:
    for params in (
        {"first": "2026-11-26", "last": "2026-11-01"},
        {"first": "1990-01-01", "last": "2026-11-01"},
        {"first": "2020-01-01", "last": "2026-11-01"},
        {"first": "not-a-date"},
    ):
        r = client.get("/api/v1/coverage/landlords", params=params, headers=SUPER)
        assert r.status_code == 422, params
        assert r.json()["code"] == "validation"
        assert r.json()["detail"]


def test_a_gap_whose_events_arrive_late_is_shown_filled(client: TestClient, store: SqliteStore) -> None:
    """The fixture records gap 7–9 of gw-mordacs-1; two of its events then come out of the outbox."""
    gap = client.get("/api/v1/supervision/gaps", headers=SUPER).json()
    assert [(g["first_missing"], g["last_missing"], g["still_missing"], g["filled"]) for g in gap] == [(7, 9, 3, False)]
    registry = load_default_estate()
    late = [replace(visit(registry, PH_CP, paris(THU, 19, 40), 2), seq=s, received_at=NOW) for s in (7, 8)]
    store.write(WriteBatch(visits=tuple(late)))
    assert client.get("/api/v1/supervision/gaps", headers=SUPER).json()[0]["still_missing"] == 1
    store.write(WriteBatch(visits=(replace(visit(registry, PH_CP, paris(THU, 19, 45), 2), seq=9, received_at=NOW),)))
    assert client.get("/api/v1/supervision/gaps", headers=SUPER).json()[0]["filled"] is True
    page = client.get("/ui/supervision", headers=SUPER).text
    assert "comblé (arrivé en retard)" in page


def test_one_landlord_equals_its_entry_among_all(client: TestClient) -> None:
    """``/coverage/landlords/{id}`` counts its group from letters or takes it from the whole coverage
    (``ronde.coverage.group_shares``): equal to that landlord's entry in ``/coverage/landlords`` (every group made),
    for the evening in progress, a closed day, the default month and a year, for a supervisor and the landlord."""
    periods: list[dict[str, str]] = [
        {"first": "2026-11-25", "last": "2026-11-26"},
        {"first": "2026-11-25", "last": "2026-11-25"},
        {},
        {"first": "2025-11-27", "last": "2026-11-26"},
    ]
    for params in periods:
        listed = client.get("/api/v1/coverage/landlords", params={**params, "days": "true"}, headers=SUPER)
        every = {g["id"]: g for g in listed.json()}  # with its evenings, as one landlord's answer has them
        assert len(every) == 6
        for landlord, entry in every.items():
            one = client.get(f"/api/v1/coverage/landlords/{landlord}", params=params, headers=SUPER)
            assert one.status_code == 200
            assert one.json() == entry, (landlord, params)
        mine = client.get("/api/v1/coverage/landlords/paris-habitat", params=params, headers=auth("tok-ph")).json()
        assert mine == every["paris-habitat"], params
