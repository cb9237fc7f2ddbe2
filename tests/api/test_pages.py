"""Web pages over HTTP (no browser): French first, English switch, login cookie, plan, timeline, audit page."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from ronde.api.deps import SESSION_COOKIE
from ronde.api.routes.supervision_page import SUPERVISION_ROWS
from ronde.store.records import Rejection, RejectReason, WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.api.support import NOW, PH_CP, auth

VOCABULARY = ("médiation sociale", "tranquillité résidentielle", "Bailleur", "Points de passage")


def _login(client: TestClient, token: str, next_url: str = "/ui") -> None:
    r = client.post(
        "/login",
        content=f"token={token}&next={next_url}",
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == next_url


def test_login_sets_an_httponly_cookie_and_redirects(client: TestClient) -> None:
    r = client.get("/ui/plan", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?lang=fr&next=%2Fui%2Fplan")
    form = client.get("/login")
    assert form.status_code == 200
    assert 'name="token"' in form.text
    assert 'type="password"' in form.text
    r = client.post(
        "/login",
        content="token=tok-ph&next=/ui/plan",
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    cookie = r.headers["set-cookie"]
    assert SESSION_COOKIE in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert client.get("/ui/plan").status_code == 200
    out = client.post("/logout", follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/ui/plan", follow_redirects=False).status_code == 303


def test_bad_login_and_open_redirects(client: TestClient) -> None:
    r = client.post("/login", content="token=wrong", headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 401
    assert "Jeton inconnu" in r.text
    r = client.post("/login", content="token=tok-gw", headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 401
    r = client.post(
        "/login",
        content="token=tok-ph&next=//evil.example/",
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/ui"


def test_french_by_default_english_on_request(client: TestClient) -> None:
    _login(client, "tok-super")
    fr = client.get("/ui")
    assert fr.status_code == 200
    assert '<html lang="fr">' in fr.text
    for word in VOCABULARY:
        assert word in fr.text, word
    en = client.get("/ui", params={"lang": "en"})
    assert '<html lang="en">' in en.text
    assert "Overview" in en.text
    assert "médiation sociale" not in en.text
    # the choice sticks (cookie) until switched back
    assert '<html lang="en">' in client.get("/ui/plan").text
    assert '<html lang="fr">' in client.get("/ui/plan", params={"lang": "fr"}).text


def test_overview_lists_each_landlord_with_shares(client: TestClient) -> None:
    _login(client, "tok-super")
    html = client.get("/ui").text
    assert len(re.findall(r'<tr data-landlord="', html)) == 6
    ph = re.search(r'<tr data-landlord="paris-habitat">.*?</tr>', html)
    assert ph is not None
    assert "2,8\u202f%" in ph.group(0)  # tonight so far: 1 of its 36 checkpoints
    assert "Soirée en cours" in html


def test_plan_has_one_circle_per_checkpoint_coloured_by_idleness(client: TestClient) -> None:
    _login(client, "tok-ph")
    html = client.get("/ui/plan").text
    circles = re.findall(r'<circle [^>]*class="cp idle-(\w+)"[^>]*data-checkpoint="([^"]+)"', html)
    assert len(circles) == 36
    assert len({c for _, c in circles}) == 36
    idle = dict((cp, cls) for cls, cp in circles)
    assert idle[PH_CP] == "fresh"  # passed 25 min ago
    assert idle["mor-b01-hall-b"] == "stale"  # yesterday 16:43: 9 h 32 of service time
    assert idle["boi-b01-hall-a"] == "none"  # no pass in the look-back
    estate = client.get("/ui/plan", params={"estate": "bois-labbe"}).text
    assert 0 < estate.count('class="cp ') < 36
    assert "mor-b01" not in estate


def test_timeline_shows_bars_and_teams_only_to_staff(client: TestClient) -> None:
    params = {"first": "2026-11-25", "last": "2026-11-26"}
    staff = client.get(f"/ui/checkpoints/{PH_CP}", params=params, headers=auth("tok-super")).text
    assert staff.count('class="visit"') == 3
    assert "EQUIPE-A" not in staff  # a badge nobody registered: its team is unnamed, never the raw badge
    assert "équipe non enregistrée" in staff
    assert "Équipe" in staff
    landlord = client.get(f"/ui/checkpoints/{PH_CP}", params=params, headers=auth("tok-ph")).text
    assert landlord.count('class="visit"') == 3
    assert "EQUIPE" not in landlord
    assert "Équipe" not in landlord
    assert "hall d&#x27;immeuble (espaces communs)" in landlord


def test_landlord_page_and_audit_page(client: TestClient) -> None:
    page = client.get("/ui/landlords/paris-habitat", headers=auth("tok-ph"))
    assert page.status_code == 200
    assert page.text.count("<tr data-checkpoint=") == 36
    # the landlord's page links to its bilans mensuels, listed in the audit page's section (issue 15)
    bilans = re.search(r'<a href="([^"]+)" id="bilans-link">Bilans mensuels</a>', page.text)
    assert bilans is not None
    assert bilans.group(1).replace("&amp;", "&") == "/ui/audit?landlord=paris-habitat&lang=fr#bilans"
    assert 'id="bilans"' in client.get(bilans.group(1).replace("&amp;", "&"), headers=auth("tok-ph")).text
    audit = client.get("/ui/audit", headers=auth("tok-ph")).text
    links = re.findall(r'href="(/api/v1/audit/landlords/[^"]+)"', audit)
    assert len(links) == 3
    assert all("paris-habitat" in x for x in links)
    for link in links:
        r = client.get(link.replace("&amp;", "&"), headers=auth("tok-ph"))
        assert r.status_code == 200, link


def test_supervision_page_for_staff(client: TestClient) -> None:
    html = client.get("/ui/supervision", headers=auth("tok-super")).text
    for section in ("stale", "teams", "maintenance", "gateways", "rejections", "gaps"):
        assert f'id="{section}"' in html
    assert "gw-bois-1" in html
    assert "unknown_beacon" in html
    assert "7–9" in html


def test_supervision_after_50000_rejections_renders_the_newest_50_and_counts_by_reason(
    client: TestClient, store: SqliteStore
) -> None:
    """The store's query takes the newest rows (LIMIT) and an aggregate counts them per reason: the
    page and the API list only those, never the whole flood."""
    reasons = (RejectReason.SCHEMA, RejectReason.SIGNATURE_INVALID)
    flood = [
        Rejection(
            NOW - timedelta(hours=14) + timedelta(seconds=i),
            reasons[i % 2],
            f"flood {i}",
            "ronde/v1/gw/gw-bois-1/visit",
            "gw-bois-1",
            f"{i:064x}",
        )
        for i in range(50_000)
    ]
    store.write(WriteBatch(rejections=tuple(flood)))
    html = client.get("/ui/supervision", headers=auth("tok-super")).text
    table = html.split('id="rejections"')[1].split("</table>")[0].split("<tbody>")[1]  # under its header row
    rows = re.findall(r"<tr>(.*?)</tr>", table)
    assert len(rows) == SUPERVISION_ROWS == 50
    assert [re.findall(r"<td>(.*?)</td>", r)[3] for r in rows] == [f"flood {i}" for i in range(49_999, 49_949, -1)]
    assert "Les 50 plus récents sur 50\u202f001." in html  # the fixture's own rejection is the 50,001st
    counts = html.split('id="rejection-counts"')[1].split("</table>")[0].split("<tbody>")[1]
    assert re.findall(r"<td>(.*?)</td>", counts) == [
        "schema",
        "25\u202f000",
        "signature_invalid",
        "25\u202f000",
        "unknown_beacon",
        "1",
    ]
    english = client.get("/ui/supervision", params={"lang": "en"}, headers=auth("tok-super")).text
    assert "The newest 50 of 50,001." in english
    assert "25,000" in english

    api = client.get("/api/v1/supervision/rejections", params={"limit": 20}, headers=auth("tok-super")).json()
    assert [r["detail"] for r in api] == [f"flood {i}" for i in range(49_980, 50_000)]  # newest 20, in time order
    by_reason = client.get("/api/v1/supervision/rejections/counts", headers=auth("tok-super")).json()
    assert by_reason == [
        {"reason": "schema", "count": 25_000},
        {"reason": "signature_invalid", "count": 25_000},
        {"reason": "unknown_beacon", "count": 1},
    ]
