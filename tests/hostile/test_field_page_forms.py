"""Hostile input to the field pages' forms (issue 14) and to the field app's file route: every case gets a
clear refusal page (400/403/404/413), never a 500, and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ronde.api.web.forms import form_token
from ronde.gateway.ulid import UlidGenerator
from tests.api.support import NOW, PH_CP, auth, make_app

FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[FastAPI, str]]:
    """The app, and one technical report at a Paris Habitat hall made by an enrolled phone."""
    app, store, _ = make_app(tmp_path)
    with TestClient(app) as c:
        assert c.put("/api/v1/badges/EQUIPE-H", json={"team": "Équipe H"}, headers=auth("tok-admin")).status_code == 200
        code = c.post("/api/v1/terrain/enrolments", json={"team": "Équipe H"}, headers=auth("tok-super")).json()["code"]
        device = c.post("/api/v1/terrain/devices", json={"code": code, "label": "H"}).json()["token"]
        rid = UlidGenerator().new(NOW.timestamp())
        body = {
            "id": rid,
            "created_at": (NOW - timedelta(minutes=5)).isoformat(),
            "place": {"checkpoint": PH_CP},
            "category": "tags",
        }
        assert c.post("/api/v1/terrain/reports", json=body, headers=auth(device)).status_code == 201
    yield app, rid
    store.close()
    app.state.opdb_engine.dispose()


def _signed_in(app: FastAPI, token: str) -> TestClient:
    c = TestClient(app)
    assert c.post("/login", content=f"token={token}&next=/ui", headers=FORM, follow_redirects=False).status_code == 303
    return c


def _status(app: FastAPI, rid: str) -> str:
    with TestClient(app) as c:
        status: str = c.get(f"/api/v1/field/records/{rid}", headers=auth("tok-ph")).json()["status"]
        return status


def test_oversized_bodies_and_too_many_fields_are_refused(site: tuple[FastAPI, str]) -> None:
    app, rid = site
    ph = _signed_in(app, "tok-ph")
    token = form_token(ph.cookies["ronde_session"])
    huge = f"csrf={token}&status=resolu&comment=" + "x" * (200 * 1024)
    r = ph.post(f"/ui/signalements/{rid}/status", content=huge, headers=FORM)
    assert r.status_code == 413  # the request guard, before the body is read
    many = "&".join(f"f{i}=1" for i in range(50)) + f"&csrf={token}&status=resolu"
    r = ph.post(f"/ui/signalements/{rid}/status", content=many, headers=FORM)
    assert r.status_code == 403
    assert "Formulaire refusé" in r.text
    long_comment = {"csrf": token, "status": "resolu", "comment": "y" * 5000}
    r = ph.post(f"/ui/signalements/{rid}/status", data=long_comment)
    assert r.status_code == 400
    assert "Saisie refusée" in r.text
    assert _status(app, rid) == "nouveau"


def test_control_characters_and_broken_utf8_are_refused(site: tuple[FastAPI, str]) -> None:
    app, rid = site
    ph = _signed_in(app, "tok-ph")
    token = form_token(ph.cookies["ronde_session"]).encode()
    for body in (
        b"csrf=" + token + b"&status=resolu&comment=bell%07and%1Bescape",
        b"csrf=" + token + b"&status=%FF%FE%00",
        b"csrf=" + token + b"&status=resolu&comment=%C3%28",
    ):
        r = ph.post(f"/ui/signalements/{rid}/status", content=body, headers=FORM)
        assert r.status_code == 400, (body, r.status_code, r.text[:200])
    req = ph.post(
        "/ui/demandes",
        content=b"csrf=" + token + b"&id=../../etc&place=c%3A" + PH_CP.encode() + b"&text=a",
        headers=FORM,
    )
    assert req.status_code == 400
    assert _status(app, rid) == "nouveau"


def test_forged_or_replayed_form_tokens_are_refused(site: tuple[FastAPI, str]) -> None:
    app, rid = site
    ph = _signed_in(app, "tok-ph")
    session = ph.cookies["ronde_session"]
    for forged in ("", "0" * 40, form_token(session + "x"), form_token(session)[:-1]):
        r = ph.post(f"/ui/signalements/{rid}/status", data={"csrf": forged, "status": "resolu"})
        assert r.status_code == 403, forged
    # signed out: the old session's token no longer works, even with its cookie put back
    old = form_token(session)
    ph.post("/logout", follow_redirects=False)
    replay = TestClient(app, cookies={"ronde_session": session})
    r = replay.post(f"/ui/signalements/{rid}/status", data={"csrf": old, "status": "resolu"})
    assert r.status_code == 403
    # a page form from another site
    ph2 = _signed_in(app, "tok-ph")
    r = ph2.post(
        f"/ui/signalements/{rid}/status",
        data={"csrf": form_token(ph2.cookies["ronde_session"]), "status": "resolu"},
        headers={"sec-fetch-site": "cross-site", "origin": "null"},
    )
    assert r.status_code == 403
    assert _status(app, rid) == "nouveau"


def test_a_device_or_landlord_cannot_use_staff_forms(site: tuple[FastAPI, str]) -> None:
    app, _ = site
    ph = _signed_in(app, "tok-ph")
    token = form_token(ph.cookies["ronde_session"])
    assert ph.post("/ui/terrain/enrolment", data={"csrf": token, "team": "Équipe H"}).status_code == 403
    assert ph.post("/ui/terrain/devices/dev_0000/revoke", data={"csrf": token}).status_code == 403
    assert (
        ph.post("/ui/demandes/01KB0RJTW0AAAAAAAAAAAAAAAA/assign", data={"csrf": token, "team": "x"}).status_code == 403
    )
    sup = _signed_in(app, "tok-super")
    st = form_token(sup.cookies["ronde_session"])
    assert sup.post("/ui/terrain/enrolment", data={"csrf": st, "team": "nobody\u202e"}).status_code in (400, 404)
    assert sup.post("/ui/terrain/devices/dev_nope/revoke", data={"csrf": st}).status_code == 404


def test_field_app_file_route_serves_its_list_only(site: tuple[FastAPI, str]) -> None:
    app, _ = site
    with TestClient(app) as c:
        for name in ("..%2F..%2Fapi%2Fapp.py", "%00", "sw.js%00.png", "a" * 5000, "app.js.map", ".%2E%2Fsettings.py"):
            r = c.get(f"/terrain/{name}")
            assert r.status_code == 404, name
        assert c.get("/terrain/sw.js", headers={"if-none-match": "x" * 8000}).status_code in (200, 431)
