"""An edited daily rollup is noticed where its figures are shown: the coverage API carries a
warning and the pages show a banner (French and English). Tampering is done on the SQLite file
directly, as an intruder with file access would."""

from __future__ import annotations

import sqlite3
from datetime import date

from fastapi.testclient import TestClient

from ronde.ingest.rollup import rollup_day
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import load_default_estate
from ronde.store.sqlite import SqliteStore
from tests.api.support import PH_CP2, WED, auth

WEDNESDAY = {"first": "2026-11-25", "last": "2026-11-25"}


def _sql(store: SqliteStore, statement: str, *params: object) -> None:
    with sqlite3.connect(store.path) as db:
        assert db.execute(statement, params).rowcount == 1


def _warnings(client: TestClient, landlord: str = "paris-habitat", token: str = "tok-super") -> list[dict[str, str]]:
    r = client.get(f"/api/v1/coverage/landlords/{landlord}", params=WEDNESDAY, headers=auth(token))
    assert r.status_code == 200, r.text
    warnings: list[dict[str, str]] = r.json()["rollup_warnings"]
    return warnings


def test_edited_rollup_is_flagged_by_the_api_and_the_pages(client: TestClient, store: SqliteStore) -> None:
    assert rollup_day(store, load_default_estate(), ServiceCalendar(), WED)
    before = client.get("/api/v1/coverage/landlords/paris-habitat", params=WEDNESDAY, headers=auth("tok-ph")).json()
    assert before["rollup_warnings"] == []
    assert before["period"]["covered"] == 2
    page = client.get("/ui/landlords/paris-habitat", headers=auth("tok-ph"))
    assert page.status_code == 200
    assert 'id="rollup-warning"' not in page.text
    # hall B of Paris Habitat was passed once on Wednesday: the row now claims 5 passes
    _sql(store, "UPDATE rollups SET visits = 5 WHERE checkpoint_id = ? AND service_day = ?", PH_CP2, "2026-11-25")
    warnings = _warnings(client, token="tok-ph")
    assert warnings == [
        {
            "service_day": "2026-11-25",
            "checkpoint_id": PH_CP2,
            "reason": "passes: 5 in the rollup, 1 from the stored events",
        }
    ]
    assert _warnings(client, "immobiliere-3f") == []  # another landlord's figures are not concerned
    listed = client.get("/api/v1/coverage/estates", params=WEDNESDAY, headers=auth("tok-super")).json()
    assert [w["checkpoint_id"] for e in listed for w in e["rollup_warnings"]] == [PH_CP2]
    fr = client.get("/ui/landlords/paris-habitat", headers=auth("tok-ph"))
    assert 'id="rollup-warning"' in fr.text
    assert "ne correspondent plus aux événements enregistrés" in fr.text
    en = client.get("/ui/landlords/paris-habitat?lang=en", headers=auth("tok-ph"))
    assert "some daily rollups no longer match the stored events" in en.text
    overview = client.get("/ui", headers=auth("tok-super"))
    assert 'id="rollup-warning"' in overview.text
    # another landlord's page, and the overview as that landlord, show no banner
    other = client.get("/ui", headers=auth("tok-3f"))
    assert other.status_code == 200
    assert 'id="rollup-warning"' not in other.text


def test_edited_shares_and_chain_link_are_flagged(client: TestClient, store: SqliteStore) -> None:
    # Sunday before, then Wednesday, as ingest rolls them: Wednesday's link starts from Sunday's
    assert rollup_day(store, load_default_estate(), ServiceCalendar(), date(2026, 11, 22))
    assert rollup_day(store, load_default_estate(), ServiceCalendar(), WED)
    _sql(
        store,
        "UPDATE rollups SET covered = 1, presence_s = presence_s + 600 WHERE checkpoint_id = ? AND service_day = ?",
        "mor-b02-hall-a",
        "2026-11-25",
    )
    reasons = {w["checkpoint_id"]: w["reason"] for w in _warnings(client)}
    assert reasons == {"mor-b02-hall-a": "covered: True in the rollup, False from the stored events"}
    _sql(
        store,
        "UPDATE rollups SET covered = 0, presence_s = presence_s - 600 WHERE checkpoint_id = ? AND service_day = ?",
        "mor-b02-hall-a",
        "2026-11-25",
    )
    assert _warnings(client) == []
    # an event deleted after the day was rolled up: the rollup no longer matches its chain link
    with sqlite3.connect(store.path) as db:
        assert (
            db.execute(
                "DELETE FROM visits WHERE checkpoint_id = ? AND service_day = ? AND badge = ?",
                ("mor-b01-hall-a", "2026-11-25", "EQUIPE-B"),
            ).rowcount
            == 1
        )
    client.app.state.ronde.rollup_checker.clear()  # type: ignore[attr-defined]  # now, not in a minute
    reasons = {w["checkpoint_id"]: w["reason"] for w in _warnings(client)}
    assert reasons["mor-b01-hall-a"] == "passes: 2 in the rollup, 1 from the stored events"
    others = [r for cid, r in reasons.items() if cid != "mor-b01-hall-a"]
    assert len(others) >= 10
    assert all(r.startswith("chain link differs") for r in others)
