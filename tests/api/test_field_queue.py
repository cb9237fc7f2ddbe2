"""The landlord's queue and requests (issue 14): status steps with their instants, the full request life cycle
(landlord posts, supervisor assigns, the team answers, the scanner's visit afterwards is the evidence, the
landlord sees "traitee" with the delay), partners limited to their estates, the partner directory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ronde.store.records import WriteBatch
from tests.api.field_support import BADGE_A, BADGE_B, TEAM_A, Clock, FieldApp, field_app, no_field_leak, ulid
from tests.api.support import F3_CP, NOW, PH_CP, auth, visit


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fa(tmp_path: Path, clock: Clock) -> Iterator[FieldApp]:
    yield from field_app(tmp_path, clock)


def test_the_landlord_moves_its_reports_forward_and_the_steps_are_dated(fa: FieldApp, clock: Clock) -> None:
    _, token = fa.enrol()
    body = fa.report(token)
    path = f"/api/v1/field/records/{body['id']}/status"
    assert fa.client.post(path, json={"status": "pris_en_compte"}, headers=auth("tok-3f")).status_code == 404
    assert fa.client.post(path, json={"status": "pris_en_compte"}, headers=auth(token)).status_code == 403
    clock.now = NOW + timedelta(minutes=30)
    ack = fa.client.post(path, json={"status": "pris_en_compte", "comment": "Vu, transmis"}, headers=auth("tok-ph"))
    assert ack.status_code == 200
    clock.now = NOW + timedelta(hours=20)
    done = fa.client.post(path, json={"status": "resolu", "comment": "Ampoule changée"}, headers=auth("tok-super"))
    assert done.status_code == 200
    item = done.json()
    assert item["acknowledged_at"] == "2026-11-26T19:30:00Z"
    assert item["resolved_at"] == item["in_progress_at"] == "2026-11-27T15:00:00Z"
    assert [(s["status"], s["comment"]) for s in item["timeline"]] == [
        ("nouveau", None),
        ("pris_en_compte", "Vu, transmis"),
        ("resolu", "Ampoule changée"),
    ]
    back = fa.client.post(path, json={"status": "en_cours"}, headers=auth("tok-ph"))
    assert back.status_code == 409
    filtered = fa.client.get("/api/v1/field/records", params={"status": "resolu"}, headers=auth("tok-ph")).json()
    assert [r["id"] for r in filtered["items"]] == [body["id"]]
    assert no_field_leak(str(filtered)) == []


def test_the_full_request_life_cycle(fa: FieldApp, clock: Clock) -> None:
    _, token_a = fa.enrol(BADGE_A)
    _, token_b = fa.enrol(BADGE_B)
    request = {"id": ulid(), "place": {"checkpoint": PH_CP}, "text": "Regroupement signalé dans le hall ce soir"}
    posted = fa.client.post("/api/v1/field/requests", json=request, headers=auth("tok-ph"))
    assert posted.status_code == 201
    assert posted.json()["status"] == "nouvelle"
    assert fa.client.post("/api/v1/field/requests", json=request, headers=auth("tok-ph")).status_code == 200
    assert fa.client.get("/api/v1/field/requests", headers=auth("tok-3f")).json() == []
    staff = fa.client.get("/api/v1/field/requests", headers=auth("tok-super")).json()
    assert [r["id"] for r in staff] == [request["id"]]
    path = f"/api/v1/field/requests/{request['id']}"
    assert fa.client.post(path + "/assign", json={"team": BADGE_A}, headers=auth("tok-ph")).status_code == 403
    clock.now = NOW + timedelta(minutes=5)
    assigned = fa.client.post(path + "/assign", json={"team": BADGE_A}, headers=auth("tok-super"))
    assert assigned.status_code == 200
    assert (assigned.json()["status"], assigned.json()["assigned_team"]) == ("assignee", TEAM_A)
    assert [r["id"] for r in fa.client.get("/api/v1/terrain/requests", headers=auth(token_a)).json()] == [request["id"]]
    assert fa.client.get("/api/v1/terrain/requests", headers=auth(token_b)).json() == []
    # the scanner passes at the checkpoint 20 minutes after the request; the team answers at 40
    registry = fa.app.state.ronde.registry.registry
    passage = visit(registry, PH_CP, NOW + timedelta(minutes=20), 6, badge=BADGE_A)
    before = visit(registry, PH_CP, NOW - timedelta(minutes=50), 3, badge=BADGE_A)
    fa.store.write(WriteBatch(visits=(passage, before)))
    clock.now = NOW + timedelta(minutes=40)
    foreign = fa.sollicitation(token_a, place={"checkpoint": PH_CP}, request=None)  # unrelated: no answer
    assert foreign["request"] is None
    answer = {
        "id": ulid(),
        "created_at": clock.now.isoformat(),
        "place": {"checkpoint": PH_CP},
        "origin": "commanditaire",
        "type": "occupation_hall",
        "response": "ecoute_mediation",
        "status": "close",
        "request": request["id"],
    }
    assert fa.client.post("/api/v1/terrain/sollicitations", json=answer, headers=auth(token_b)).status_code == 404
    assert fa.client.post("/api/v1/terrain/sollicitations", json=answer, headers=auth(token_a)).status_code == 201
    clock.now = NOW + timedelta(minutes=45)
    seen = fa.client.get(path, headers=auth("tok-ph"))
    assert seen.status_code == 200
    item = seen.json()
    assert item["status"] == "traitee"
    assert item["answer_delay_s"] == 40 * 60
    assert item["evidence"] == [{"checkpoint": PH_CP, "seen_at": passage.first_seen.isoformat().replace("+00:00", "Z")}]
    assert item["response"]["type"] == "occupation_hall"
    assert item["assigned_team"] is None  # never a team to the landlord
    assert no_field_leak(seen.text) == []
    assert fa.client.get(path, headers=auth("tok-3f")).status_code == 404
    assert fa.client.post(path + "/assign", json={"team": BADGE_B}, headers=auth("tok-super")).status_code == 409


def test_a_partner_asks_on_its_estates_only_and_sees_only_its_own(fa: FieldApp) -> None:
    mine = {"id": ulid(), "place": {"building": "mor-b06"}, "text": "Personne isolée signalée au 3e étage"}
    r = fa.client.post("/api/v1/field/requests", json=mine, headers=auth(fa.partner_token))
    assert r.status_code == 201, r.text
    assert r.json()["place"] == {
        "checkpoint": None,
        "building": "mor-b06",
        "estate": "mordacs",
        "name": r.json()["place"]["name"],
    }
    elsewhere = {"id": ulid(), "place": {"building": "boi-b01"}, "text": "Hors de son quartier"}
    assert fa.client.post("/api/v1/field/requests", json=elsewhere, headers=auth(fa.partner_token)).status_code == 404
    assert [x["id"] for x in fa.client.get("/api/v1/field/requests", headers=auth(fa.partner_token)).json()] == [
        mine["id"]
    ]
    assert fa.client.get("/api/v1/field/requests", headers=auth(fa.foreign_partner_token)).json() == []
    assert (
        fa.client.get(f"/api/v1/field/requests/{mine['id']}", headers=auth(fa.foreign_partner_token)).status_code == 404
    )
    assert fa.client.get(f"/api/v1/field/requests/{mine['id']}", headers=auth("tok-3f")).status_code == 404
    for path in ("/api/v1/field/records", "/api/v1/partners", "/api/v1/me"):
        assert fa.client.get(path, headers=auth(fa.partner_token)).status_code == 403, path
    # a landlord asks on its own places only
    foreign = {"id": ulid(), "place": {"checkpoint": F3_CP}, "text": "Pas chez moi"}
    assert fa.client.post("/api/v1/field/requests", json=foreign, headers=auth("tok-ph")).status_code == 404


def test_the_partner_directory_is_kept_by_staff(fa: FieldApp) -> None:
    new = {"name": "Police municipale de Champigny", "kind": "police_municipale", "estates": ["mordacs"]}
    assert fa.client.put("/api/v1/partners/50", json=new, headers=auth("tok-ph")).status_code == 403
    r = fa.client.put("/api/v1/partners/50", json=new, headers=auth("tok-admin"))
    assert r.status_code == 200
    assert r.json() == {"id": 50, **new}
    renamed = {**new, "name": "Police municipale"}
    assert (
        fa.client.put("/api/v1/partners/50", json=renamed, headers=auth("tok-super")).json()["name"]
        == "Police municipale"
    )
    taken = {**new, "name": "Centre social des Mordacs"}
    assert fa.client.put("/api/v1/partners/50", json=taken, headers=auth("tok-super")).status_code == 409
    bad = {**new, "kind": "milice"}
    assert fa.client.put("/api/v1/partners/50", json=bad, headers=auth("tok-super")).status_code == 422
    unknown_estate = {**new, "estates": ["atlantis"]}
    assert fa.client.put("/api/v1/partners/50", json=unknown_estate, headers=auth("tok-super")).status_code == 404
    names = {p["name"] for p in fa.client.get("/api/v1/partners", headers=auth("tok-super")).json()}
    assert "Police municipale" in names
    assert fa.client.delete("/api/v1/partners/50", headers=auth("tok-super")).status_code == 204
    assert fa.client.delete("/api/v1/partners/50", headers=auth("tok-super")).status_code == 404


def test_an_admin_gives_a_partner_its_token(fa: FieldApp) -> None:
    path = f"/api/v1/partners/{fa.partner_id}/tokens"
    assert fa.client.post(path, json={"name": "centre-social-2"}, headers=auth("tok-super")).status_code == 403
    assert (
        fa.client.post("/api/v1/partners/999/tokens", json={"name": "x"}, headers=auth("tok-admin")).status_code == 404
    )
    assert fa.client.post(path, json={"name": "bad name\n"}, headers=auth("tok-admin")).status_code == 422
    made = fa.client.post(path, json={"name": "centre-social-2"}, headers=auth("tok-admin"))
    assert made.status_code == 201
    token = made.json()["token"]
    request = {"id": ulid(), "place": {"building": "mor-b01"}, "text": "Affichage arraché dans le hall"}
    assert fa.client.post("/api/v1/field/requests", json=request, headers=auth(token)).status_code == 201
    # the same partner's requests, whichever of its tokens posted them
    assert [r["id"] for r in fa.client.get("/api/v1/field/requests", headers=auth(fa.partner_token)).json()] == [
        request["id"]
    ]
    assert fa.client.delete("/api/v1/tokens/centre-social-2", headers=auth("tok-admin")).status_code == 204
    assert fa.client.get("/api/v1/field/requests", headers=auth(token)).status_code == 401
    assert fa.client.get("/api/v1/field/requests", headers=auth(fa.partner_token)).status_code == 200


def test_a_sollicitation_is_oriented_then_closed_and_never_reopened(fa: FieldApp, clock: Clock) -> None:
    """A sollicitation's own life cycle (ouverte → orientée → close) on the queue's status route; a report's
    steps do not apply to it, nor its steps to a report."""
    _, token = fa.enrol()
    body = fa.sollicitation(token, response="information", partner=None, status="ouverte")
    path = f"/api/v1/field/records/{body['id']}/status"
    assert fa.client.post(path, json={"status": "orientee"}, headers=auth("tok-ph")).status_code == 404  # not its
    assert fa.client.post(path, json={"status": "resolu"}, headers=auth("tok-3f")).status_code == 409
    clock.now = NOW + timedelta(minutes=10)
    oriented = fa.client.post(path, json={"status": "orientee", "comment": "Vers le CCAS"}, headers=auth("tok-3f"))
    assert oriented.status_code == 200
    assert oriented.json()["status"] == "orientee"
    closed = fa.client.post(path, json={"status": "close"}, headers=auth("tok-super"))
    assert closed.status_code == 200
    assert [s["status"] for s in closed.json()["timeline"]][-2:] == ["orientee", "close"]
    assert fa.client.post(path, json={"status": "orientee"}, headers=auth("tok-3f")).status_code == 409
    report = fa.report(token)
    wrong = fa.client.post(
        f"/api/v1/field/records/{report['id']}/status", json={"status": "close"}, headers=auth("tok-super")
    )
    assert wrong.status_code == 409
