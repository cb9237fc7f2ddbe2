"""An edited daily rollup is noticed where its figures are shown: the coverage API carries a
warning and the pages show a banner (French and English). Tampering is done on the SQLite file
directly, as an intruder with file access would. The check itself runs in maintenance
(``RollupCheck``, a step of ``MaintenanceRunner.maintain``): the API reads its verdicts and the
rollups' fingerprint now, so an edited rollup shows at once, an edited raw event after the next pass."""

from __future__ import annotations

import base64
import sqlite3
import zlib
from datetime import date, timedelta

from fastapi.testclient import TestClient

from ronde.audit.rollups import CHANGED, Finding, stored_mismatches
from ronde.ingest.rollup import rollup_day
from ronde.ingest.rollup_check import RollupCheck
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import load_default_estate
from ronde.store.sqlite import SqliteStore
from tests.api.support import NOW, PH_CP2, WED, auth

WEDNESDAY = {"first": "2026-11-25", "last": "2026-11-25"}


def _sql(store: SqliteStore, statement: str, *params: object) -> None:
    with sqlite3.connect(store.path) as db:
        assert db.execute(statement, params).rowcount == 1


def _checker(store: SqliteStore) -> RollupCheck:
    """Maintenance's check step, as ``MaintenanceRunner`` runs it after the rollups (``run``: one pass)."""
    return RollupCheck(store, load_default_estate(), ServiceCalendar())


def _warnings(client: TestClient, landlord: str = "paris-habitat", token: str = "tok-super") -> list[dict[str, str]]:
    r = client.get(f"/api/v1/coverage/landlords/{landlord}", params=WEDNESDAY, headers=auth(token))
    assert r.status_code == 200, r.text
    warnings: list[dict[str, str]] = r.json()["rollup_warnings"]
    return warnings


def test_edited_rollup_is_flagged_by_the_api_and_the_pages(client: TestClient, store: SqliteStore) -> None:
    assert rollup_day(store, load_default_estate(), ServiceCalendar(), WED)
    check = _checker(store)
    unchecked = client.get("/api/v1/coverage/landlords/paris-habitat", params=WEDNESDAY, headers=auth("tok-ph"))
    assert unchecked.json()["rollup_unchecked"] == ["2026-11-25"]  # rolled up, not checked yet: never "OK"
    assert unchecked.json()["rollup_warnings"] == []
    assert 'id="rollup-unchecked"' in client.get("/ui/landlords/paris-habitat", headers=auth("tok-ph")).text
    assert check.run(NOW) == [WED]
    before = client.get("/api/v1/coverage/landlords/paris-habitat", params=WEDNESDAY, headers=auth("tok-ph")).json()
    assert before["rollup_warnings"] == []
    assert before["rollup_unchecked"] == []
    assert before["period"]["covered"] == 2
    page = client.get("/ui/landlords/paris-habitat", headers=auth("tok-ph"))
    assert page.status_code == 200
    assert 'id="rollup-warning"' not in page.text
    assert 'id="rollup-unchecked"' not in page.text
    # hall B of Paris Habitat was passed once on Wednesday: the row now claims 5 passes
    _sql(store, "UPDATE rollups SET visits = 5 WHERE checkpoint_id = ? AND service_day = ?", PH_CP2, "2026-11-25")
    # at once, before any maintenance pass: the day's rollups no longer have the fingerprint they were checked with
    assert _warnings(client, token="tok-ph") == [
        {"service_day": "2026-11-25", "checkpoint_id": None, "reason": CHANGED},
    ]
    assert 'id="rollup-warning"' in client.get("/ui/landlords/paris-habitat", headers=auth("tok-ph")).text
    assert check.run(NOW) == [WED]
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
    check = _checker(store)
    assert check.run(NOW) == [date(2026, 11, 22), WED]
    _sql(
        store,
        "UPDATE rollups SET covered = 1, presence_s = presence_s + 600 WHERE checkpoint_id = ? AND service_day = ?",
        "mor-b02-hall-a",
        "2026-11-25",
    )
    assert check.run(NOW) == [WED]
    reasons = {w["checkpoint_id"]: w["reason"] for w in _warnings(client)}
    assert reasons == {"mor-b02-hall-a": "covered: True in the rollup, False from the stored events"}
    _sql(
        store,
        "UPDATE rollups SET covered = 0, presence_s = presence_s - 600 WHERE checkpoint_id = ? AND service_day = ?",
        "mor-b02-hall-a",
        "2026-11-25",
    )
    assert {w["checkpoint_id"] for w in _warnings(client)} == {None}  # changed since checked, at once
    assert check.run(NOW) == [WED]
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
    assert _warnings(client) == []  # the rollups did not change: the event's deletion waits for the next pass
    assert check.run(NOW) == [WED]  # the day's events fingerprint moved: Wednesday is recomputed
    reasons = {w["checkpoint_id"]: w["reason"] for w in _warnings(client)}
    assert reasons["mor-b01-hall-a"] == "passes: 2 in the rollup, 1 from the stored events"
    others = [r for cid, r in reasons.items() if cid != "mor-b01-hall-a"]
    assert len(others) >= 10
    assert all(r.startswith("chain link differs") for r in others)


def test_edited_raw_event_is_caught_by_the_next_pass_and_rechecks_are_bounded(store: SqliteStore) -> None:
    """An edited raw event moves the day's events fingerprint: the next pass recomputes that day (and
    only it), and the API then lists every rollup of the day (their chain link no longer matches). A
    pass with nothing changed recomputes nothing until ``recheck_every``, then a bounded few days."""
    registry, calendar = load_default_estate(), ServiceCalendar()
    sunday = date(2026, 11, 22)
    assert rollup_day(store, registry, calendar, sunday)
    assert rollup_day(store, registry, calendar, WED)
    check = RollupCheck(store, registry, calendar, recheck_per_pass=1)
    assert check.run(NOW) == [sunday, WED]
    assert check.run(NOW) == []  # nothing changed: no raw visit read
    with sqlite3.connect(store.path) as db:
        edited = "UPDATE visits SET last_seen = last_seen + 60000 WHERE checkpoint_id = ? AND service_day = ?"
        assert db.execute(edited, (PH_CP2, WED.isoformat())).rowcount == 1
    assert check.run(NOW) == [WED]
    found = stored_mismatches(store, calendar, WED, WED, now=NOW, landlord="paris-habitat")
    assert (WED, PH_CP2) in {(m.service_day, m.checkpoint_id) for m in found}
    assert all(m.finding is Finding.MISMATCH for m in found)
    assert check.run(NOW + timedelta(hours=7)) == [sunday]  # periodic re-check from raw events, one day per pass
    assert check.run(NOW + timedelta(hours=7)) == [WED]


def test_forged_or_corrupted_verdict_shows_as_not_checked(store: SqliteStore) -> None:
    """The verdicts live in the store: a mismatch list that does not decode (garbage, a deflate bomb)
    is not read as "no mismatch" but as no verdict, and maintenance's next pass writes it again."""
    registry, calendar = load_default_estate(), ServiceCalendar()
    assert rollup_day(store, registry, calendar, WED)
    assert RollupCheck(store, registry, calendar).run(NOW) == [WED]
    bomb = base64.b64encode(zlib.compress(b"[" + b" " * (64 << 20) + b"]", 9)).decode()
    for blob in ("not base64 at all!", bomb, base64.b64encode(zlib.compress(b'{"a": 1}')).decode()):
        _sql(store, "UPDATE rollup_checks SET mismatches = ? WHERE landlord = ?", blob, "paris-habitat")
        found = stored_mismatches(store, calendar, WED, WED, now=NOW, landlord="paris-habitat")
        assert [(m.service_day, m.finding) for m in found] == [(WED, Finding.UNCHECKED)]
    assert RollupCheck(store, registry, calendar).run(NOW) == [WED]
    assert stored_mismatches(store, calendar, WED, WED, now=NOW, landlord="paris-habitat") == []
