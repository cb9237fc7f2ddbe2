"""The supervision page (issue 16, point 4): header rows, landlord names, local times with their date
when not today, team pseudonyms (never a raw badge), and the live JSON the open page polls."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from ronde.api.routes.supervision_page import SECTION_ROWS
from ronde.store.records import GatewayStateRecord, WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.api.support import NOW, auth

SECTIONS = ("alerts", "stale", "teams", "maintenance", "gateways", "rejections", "gaps", "calendar")
ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def _cells(html: str, table_id: str) -> list[list[str]]:
    body = html.split(f'id="{table_id}"')[1].split("</table>", maxsplit=1)[0].split("<tbody>")[1]
    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body)]


def _heads(html: str, table_id: str) -> list[str]:
    head = html.split(f'id="{table_id}"')[1].split("</thead>", maxsplit=1)[0]
    return re.findall(r"<th>(.*?)</th>", head)


def test_every_table_has_its_header_row_and_names_landlords(client: TestClient) -> None:
    html = client.get("/ui/supervision", headers=auth("tok-super")).text
    for section in SECTIONS:
        assert f'id="live-{section}"' in html
    assert _heads(html, "stale") == ["Point de passage", "Bailleur", "Sans passage depuis", "Dernier passage"]
    assert _heads(html, "teams") == ["Équipe", "Point de passage", "Heure"]
    assert _heads(html, "gateways") == ["Passerelle", "Hors ligne depuis"]
    assert _heads(html, "calendar-table") == ["Quartier", "Jours", "Horaires", "Prochaines fermetures"]
    landlords = {row[1] for row in _cells(html, "stale")}
    assert "Paris Habitat" in landlords
    assert "paris-habitat" not in html.split("<main>")[1]  # names, never ids
    # shared names are told apart by their landlord (the whole list: the page shows the 20 longest idle)
    whole = client.get("/ui/supervision", params={"all": "stale"}, headers=auth("tok-super")).text
    assert "Parking en surface 1 (Les Mordacs) — Paris Habitat" in whole
    assert not ISO.search(html.split("<main>")[1]), "an ISO date on a French page"


def test_times_are_local_and_dated_when_not_today(client: TestClient, store: SqliteStore) -> None:
    # a gateway offline since yesterday 22:14 Paris (21:14 UTC)
    yesterday = (NOW - timedelta(days=1)).replace(hour=21, minute=14, second=27, microsecond=503000)
    store.write(WriteBatch(gateway_states=(GatewayStateRecord(yesterday, "gw-old", False, False, True),)))
    html = client.get("/ui/supervision", headers=auth("tok-super")).text
    rows = dict((r[0], r[1]) for r in _cells(html, "gateways"))
    assert rows["gw-old"] == "25/11/2026 à 22 h 14"
    assert rows["gw-bois-1"] == "17 h 00"  # today: the time alone
    english = client.get("/ui/supervision", params={"lang": "en"}, headers=auth("tok-super")).text
    assert dict((r[0], r[1]) for r in _cells(english, "gateways"))["gw-old"] == "25 Nov 2026 22:14"


def test_staff_see_team_pseudonyms_never_raw_badges(client: TestClient) -> None:
    html = client.get("/ui/supervision", headers=auth("tok-super")).text
    teams = [r[0] for r in _cells(html, "teams")]
    assert teams == ["équipe non enregistrée 1", "équipe non enregistrée 2"]
    assert "EQUIPE-A" not in html
    assert "EQUIPE-B" not in html
    r = client.put("/api/v1/badges/EQUIPE-A", json={"team": "Équipe du soir"}, headers=auth("tok-admin"))
    assert r.status_code == 200, r.text
    html = client.get("/ui/supervision", headers=auth("tok-super")).text
    assert [r[0] for r in _cells(html, "teams")] == ["Équipe du soir", "équipe non enregistrée 1"]
    assert "EQUIPE-A" not in html


def test_live_route_answers_the_same_sections_for_staff_only(client: TestClient) -> None:
    page = client.get("/ui/supervision", headers=auth("tok-super")).text
    assert 'data-live="/ui/supervision/live?lang=fr"' in page
    assert '<script src="/static/supervision.js" defer></script>' in page
    r = client.get("/ui/supervision/live", headers=auth("tok-super"))
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["updated"] == "20 h 00"
    assert set(body["sections"]) == set(SECTIONS)
    inner = page.split('id="live-teams">')[1].split("</div>")[0]
    assert body["sections"]["teams"] == inner
    assert client.get("/ui/supervision/live", headers=auth("tok-ph")).status_code == 403
    assert client.get("/ui/supervision/live", headers=auth("tok-gw")).status_code == 403
    assert client.get("/ui/supervision/live").status_code == 401
    assert client.get("/ui/supervision/live", params={"lang": "xx"}, headers=auth("tok-super")).status_code == 422
    assert client.get("/static/supervision.js").status_code == 200


def test_the_supervision_api_labels_places_apart(client: TestClient) -> None:
    """The JSON rows keep ``name`` (the estate file's) and add ``label``, what a person can tell apart."""
    stale = client.get("/api/v1/supervision/stale", headers=auth("tok-super")).json()
    labels = {r["checkpoint_id"]: r["label"] for r in stale}
    assert labels["mor-paris-car-park-surface-1"] == "Parking en surface 1 (Les Mordacs) — Paris Habitat"
    assert labels["mor-immob-car-park-surface-1"] == "Parking en surface 1 (Les Mordacs) — Immobilière 3F"
    assert len(set(labels.values())) == len(labels)
    teams = client.get("/api/v1/supervision/teams", headers=auth("tok-super")).json()
    assert all(t["checkpoint_label"] for t in teams)
    beacons = client.get("/api/v1/supervision/beacons", headers=auth("tok-super")).json()
    assert all(b["label"] for b in beacons)


def _more(html: str, table_id: str) -> str:
    return html.split(f'id="{table_id}-more"')[1].split("</p>", maxsplit=1)[0]


def test_lists_that_grow_with_the_estate_are_capped_with_a_link_to_the_whole(
    client: TestClient, store: SqliteStore
) -> None:
    """Places not visited: the 20 longest idle, then "et N autres" with the whole list and the plan; the same
    cap for gateways offline (here 25 of them), teams and beacons to service."""
    offline = tuple(
        GatewayStateRecord(NOW - timedelta(minutes=5 + i), f"gw-down-{i:02d}", False, False, True) for i in range(25)
    )
    store.write(WriteBatch(gateway_states=offline))
    whole = client.get("/ui/supervision", params={"all": "stale"}, headers=auth("tok-super")).text
    every = _cells(whole, "stale")
    assert len(every) > SECTION_ROWS
    html = client.get("/ui/supervision", headers=auth("tok-super")).text
    shown = _cells(html, "stale")
    assert shown == every[:SECTION_ROWS]  # the same order: the longest idle first
    more = _more(html, "stale")
    assert f"… et {len(every) - SECTION_ROWS} autres." in more
    assert 'href="/ui/supervision?lang=fr&amp;all=stale#live-stale"' in more
    assert 'href="/ui/plan?lang=fr"' in more
    assert f"Revenir aux {SECTION_ROWS} premiers" in _more(whole, "stale")
    gateways = _cells(html, "gateways")
    assert len(gateways) == SECTION_ROWS
    n_offline = len(_cells(client.get("/ui/supervision?all=gateways", headers=auth("tok-super")).text, "gateways"))
    assert n_offline >= len(offline)
    assert f"… et {n_offline - SECTION_ROWS} autres." in _more(html, "gateways")
    assert 'all=gateways#live-gateways"' in _more(html, "gateways")
    for small in ("teams", "calendar-table"):  # short lists: no note
        assert f'id="{small}-more"' not in html
    # the open page keeps its whole list on refresh; English says it in English
    assert 'data-live="/ui/supervision/live?lang=fr&amp;all=stale"' in whole
    live = client.get("/ui/supervision/live", params={"all": "stale"}, headers=auth("tok-super")).json()
    assert live["sections"]["stale"].count("<tr>") == len(every) + 1  # and its header row
    short = client.get("/ui/supervision/live", headers=auth("tok-super")).json()
    assert short["sections"]["stale"].count("<tr>") == SECTION_ROWS + 1
    english = client.get("/ui/supervision", params={"lang": "en"}, headers=auth("tok-super")).text
    assert f"… and {len(every) - SECTION_ROWS} more." in _more(english, "stale")
    assert "See the whole list" in _more(english, "stale")
