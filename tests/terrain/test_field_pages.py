"""The field pages on the product's app (operational database): the landlord's queue and a record's status
buttons, the requests (landlord posts, supervisor assigns), the team phones (QR code, revocation); the page
forms' session, form-token and origin checks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ronde.api.web.forms import form_token
from ronde.gateway.ulid import UlidGenerator
from tests.api.support import F3_CP, NOW, PH_CP, auth

TEAM = "Équipe Sud"
FORM = {"content-type": "application/x-www-form-urlencoded"}
ULIDS = UlidGenerator()


def _ulid() -> str:
    return ULIDS.new(NOW.timestamp())


def _signed_in(app: FastAPI, token: str) -> TestClient:
    c = TestClient(app)
    r = c.post("/login", content=f"token={token}&next=/ui", headers=FORM, follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


def _csrf(c: TestClient) -> str:
    return form_token(c.cookies["ronde_session"])


def _device(client: TestClient) -> str:
    assert client.put("/api/v1/badges/EQUIPE-S", json={"team": TEAM}, headers=auth("tok-admin")).status_code == 200
    made = client.post("/api/v1/terrain/enrolments", json={"team": TEAM}, headers=auth("tok-super"))
    assert made.status_code == 201, made.text
    r = client.post("/api/v1/terrain/devices", json={"code": made.json()["code"], "label": "Téléphone test"})
    assert r.status_code == 201, r.text
    token: str = r.json()["token"]
    return token


def _report(client: TestClient, device: str, checkpoint: str, category: str, urgency: str = "normal") -> str:
    rid = _ulid()
    body = {
        "id": rid,
        "created_at": (NOW - timedelta(minutes=20)).isoformat(),
        "place": {"checkpoint": checkpoint},
        "category": category,
        "urgency": urgency,
    }
    r = client.post("/api/v1/terrain/reports", json=body, headers=auth(device))
    assert r.status_code == 201, r.text
    return rid


@pytest.fixture
def field(app: FastAPI) -> Iterator[dict[str, str]]:
    with TestClient(app) as c:
        device = _device(c)
        yield {
            "device": device,
            "ph": _report(c, device, PH_CP, "eclairage", "urgent"),
            "f3": _report(c, device, F3_CP, "ascenseur"),
        }


def test_landlord_queue_shows_its_own_places_and_never_a_team(app: FastAPI, field: dict[str, str]) -> None:
    ph = _signed_in(app, "tok-ph")
    page = ph.get("/ui/signalements")
    assert page.status_code == 200
    assert f'data-record="{field["ph"]}"' in page.text
    assert field["f3"] not in page.text
    assert TEAM not in page.text
    assert "EQUIPE-S" not in page.text
    assert "Urgent : danger pour les personnes" in page.text
    assert "Éclairage" in page.text
    assert 'id="nav-queue"' in page.text
    assert 'id="nav-devices"' not in page.text  # team phones are the supervisors' business
    only_solli = ph.get("/ui/signalements?kind=sollicitation")
    assert field["ph"] not in only_solli.text
    # another landlord's record: as if it did not exist
    assert ph.get(f"/ui/signalements/{field['f3']}").status_code == 404
    assert ph.get("/ui/terrain/enrolment").status_code == 403
    english = ph.get("/ui/signalements?lang=en")
    assert "Time to acknowledge" in english.text
    assert "<th>Bailleur</th>" not in page.text  # its own records only: no landlord column
    staff = _signed_in(app, "tok-super").get("/ui/signalements")
    assert "<th>Bailleur</th>" in staff.text
    assert "Paris Habitat" in staff.text
    assert "Immobilière 3F" in staff.text


def test_status_buttons_move_a_report_forward_with_its_delays(app: FastAPI, field: dict[str, str]) -> None:
    ph = _signed_in(app, "tok-ph")
    rid = field["ph"]
    record = ph.get(f"/ui/signalements/{rid}")
    assert record.status_code == 200
    assert {"set-pris_en_compte", "set-en_cours", "set-resolu"} <= set(re.findall(r'id="(set-[a-z_]+)"', record.text))
    assert _csrf(ph) in record.text
    form = {"csrf": _csrf(ph), "status": "pris_en_compte", "comment": "Électricien prévenu"}
    r = ph.post(f"/ui/signalements/{rid}/status", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    after = ph.get(r.headers["location"])
    assert "Statut enregistré." in after.text
    assert "Électricien prévenu" in after.text
    assert "set-pris_en_compte" not in after.text
    api = ph.get(f"/api/v1/field/records/{rid}", headers=auth("tok-ph")).json()
    assert api["status"] == "pris_en_compte"
    assert api["acknowledged_at"] is not None
    # a step backwards is refused, said on a page (the API's 409), never a 500
    back = ph.post(
        f"/ui/signalements/{rid}/status", data={"csrf": _csrf(ph), "status": "pris_en_compte"}, follow_redirects=False
    )
    assert back.status_code == 409
    assert "Refusé" in back.text


def test_forms_refuse_a_missing_token_another_origin_or_another_landlord(app: FastAPI, field: dict[str, str]) -> None:
    ph = _signed_in(app, "tok-ph")
    rid = field["ph"]
    assert ph.post(f"/ui/signalements/{rid}/status", data={"status": "resolu"}).status_code == 403
    foreign = ph.post(
        f"/ui/signalements/{rid}/status",
        data={"csrf": _csrf(ph), "status": "resolu"},
        headers={"origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    anonymous = TestClient(app).post(f"/ui/signalements/{rid}/status", data={"csrf": "x", "status": "resolu"})
    assert anonymous.status_code == 403
    f3 = _signed_in(app, "tok-3f")
    assert f3.post(f"/ui/signalements/{rid}/status", data={"csrf": _csrf(f3), "status": "resolu"}).status_code == 404
    bad = ph.post(f"/ui/signalements/{rid}/status", data={"csrf": _csrf(ph), "status": "fini\x00"})
    assert bad.status_code == 400
    assert ph.get(f"/api/v1/field/records/{rid}", headers=auth("tok-ph")).json()["status"] == "nouveau"


def test_requests_posted_by_a_landlord_and_assigned_by_a_supervisor(app: FastAPI, field: dict[str, str]) -> None:
    ph = _signed_in(app, "tok-ph")
    page = ph.get("/ui/demandes")
    assert page.status_code == 200
    assert f'value="c:{PH_CP}"' in page.text
    assert f'value="c:{F3_CP}"' not in page.text  # only its own places
    request_id = re.search(r'name="id" value="([0-9A-Z]{26})"', page.text)
    assert request_id is not None
    form = {
        "csrf": _csrf(ph),
        "id": request_id.group(1),
        "place": f"c:{PH_CP}",
        "text": "Regroupement signalé dans le hall ce soir",
        "wanted_by": "ce soir",
    }
    r = ph.post("/ui/demandes", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    again = ph.post("/ui/demandes", data=form, follow_redirects=False)  # a double click: the same request
    assert again.status_code == 303
    listed = ph.get("/ui/demandes")
    assert listed.text.count(f'data-request="{request_id.group(1)}"') == 1
    assert "Nouvelle" in listed.text
    sup = _signed_in(app, "tok-super")
    staff_view = sup.get("/ui/demandes")
    assert f'action="/ui/demandes/{request_id.group(1)}/assign?lang=fr"' in staff_view.text
    assigned = sup.post(
        f"/ui/demandes/{request_id.group(1)}/assign", data={"csrf": _csrf(sup), "team": TEAM}, follow_redirects=False
    )
    assert assigned.status_code == 303, assigned.text
    assert "Assignée" in ph.get("/ui/demandes").text
    assert TEAM not in ph.get("/ui/demandes").text  # the landlord never sees the team
    mine = ph.get("/api/v1/terrain/requests", headers=auth(field["device"])).json()
    assert [x["id"] for x in mine] == [request_id.group(1)]


def test_supervisor_enrols_a_phone_by_qr_code_and_revokes_it(app: FastAPI, field: dict[str, str]) -> None:
    sup = _signed_in(app, "tok-super")
    page = sup.get("/ui/terrain/enrolment")
    assert page.status_code == 200
    assert 'id="nav-devices"' in page.text
    assert "Téléphone test" in page.text
    made = sup.post("/ui/terrain/enrolment", data={"csrf": _csrf(sup), "team": TEAM})
    assert made.status_code == 200, made.text
    assert made.headers["cache-control"] == "no-store"
    assert "<svg" in made.text
    url = re.search(r'<code id="enrol-url">([^<]+)</code>', made.text)
    assert url is not None
    code = url.group(1).split("#enrol=")[1]
    phone = sup.post("/api/v1/terrain/devices", json={"code": code, "label": "Téléphone 2"})
    assert phone.status_code == 201, phone.text
    token = phone.json()["token"]
    assert sup.get("/api/v1/terrain/me", headers=auth(token)).status_code == 200
    device_id = phone.json()["device_id"]
    r = sup.post(f"/ui/terrain/devices/{device_id}/revoke", data={"csrf": _csrf(sup)}, follow_redirects=False)
    assert r.status_code == 303
    assert sup.get("/api/v1/terrain/me", headers=auth(token)).status_code == 401
    listed = sup.get(r.headers["location"])
    assert f'data-device="{device_id}" data-revoked="1"' in listed.text


def test_a_partner_posts_requests_on_its_estates_only(app: FastAPI) -> None:
    from ronde.opdb.device_repo import create_partner_token

    with TestClient(app) as c:
        body = {"name": "Centre social des Mordacs", "kind": "association", "estates": ["mordacs"]}
        assert c.put("/api/v1/partners/7", json=body, headers=auth("tok-admin")).status_code in (200, 201)
    with app.state.field.write() as s:
        token = create_partner_token(s, "centre-social", 7)
    partner = _signed_in(app, token)
    page = partner.get("/ui/demandes")
    assert page.status_code == 200
    assert 'id="nav-requests"' in page.text
    assert 'id="nav-queue"' not in page.text  # a partner has no queue of records
    assert f'value="c:{PH_CP}"' in page.text  # Les Mordacs
    registry = app.state.ronde.registry.registry
    elsewhere = sorted(c.id for c in registry.checkpoints.values() if c.estate == "bois-labbe")
    assert elsewhere
    assert not [c for c in elsewhere if f'value="c:{c}"' in page.text]  # nothing of Bois l'Abbé
    request_id = re.search(r'name="id" value="([0-9A-Z]{26})"', page.text)
    assert request_id is not None
    form = {"csrf": _csrf(partner), "id": request_id.group(1), "place": f"c:{F3_CP}", "text": "Tags dans le hall"}
    assert partner.post("/ui/demandes", data=form, follow_redirects=False).status_code == 303
    assert f'data-request="{request_id.group(1)}"' in partner.get("/ui/demandes").text
    assert partner.get("/ui/signalements").status_code == 403
    # a checkpoint of Bois l'Abbé, outside its estates: refused like one that does not exist
    form = {"csrf": _csrf(partner), "id": _ulid(), "place": f"c:{elsewhere[0]}", "text": "Hors de mes quartiers"}
    assert partner.post("/ui/demandes", data=form).status_code == 404


def test_team_phones_last_activity_reads_the_application_clock(app: FastAPI, field: dict[str, str]) -> None:
    """The phone's requests were answered at the app's clock (NOW, 20 h 00 in Paris on 26 November 2026), not at
    the machine's: the API's ``last_seen_at`` and the page's "Dernière activité" say so, with no date (today)."""
    sup = _signed_in(app, "tok-super")
    devices = sup.get("/api/v1/terrain/devices", headers=auth("tok-super")).json()
    assert [datetime.fromisoformat(d["last_seen_at"]) for d in devices] == [NOW]
    page = sup.get("/ui/terrain/enrolment")
    heads = re.findall(r"<th[^>]*>([^<]*)</th>", page.text)
    row = re.search(r'<tr data-device="[^"]+" data-revoked="0">(.*?)</tr>', page.text, flags=re.DOTALL)
    assert row is not None, page.text
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), flags=re.DOTALL)
    assert cells[heads.index("Dernière activité")] == "20 h 00"
    assert cells[heads.index("Enrôlé")] == "20 h 00"
