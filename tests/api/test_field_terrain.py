"""The team's phone side of the field API (issue 14), on the app the product runs (``create_app_on_database``):
enrolment by a one-time code, revocation effective at once, the place suggestion told only to the team's own
device, idempotent records, and photos stored and served without any EXIF."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from ronde.store.records import WriteBatch
from tests.api.field_support import BADGE_A, BADGE_B, TEAM_A, TEAM_B, FieldApp, field_app, jpeg_with_gps, ulid
from tests.api.support import F3_CP, NOW, PH_CP, auth, visit


@pytest.fixture
def fa(tmp_path: Path) -> Iterator[FieldApp]:
    yield from field_app(tmp_path)


def test_a_supervisor_enrols_a_phone_with_a_one_time_code(fa: FieldApp) -> None:
    c = fa.client
    made = c.post("/api/v1/terrain/enrolments", json={"team": BADGE_A}, headers=auth("tok-super"))
    assert made.status_code == 201
    body = made.json()
    assert body["enrol_url"] == f"/terrain/#enrol={body['code']}"
    assert body["qr_svg"].startswith("<svg")
    assert body["expires_at"] == (NOW + timedelta(minutes=15)).isoformat().replace("+00:00", "Z")
    enrolled = c.post("/api/v1/terrain/devices", json={"code": body["code"], "label": "Téléphone équipe 3"})
    assert enrolled.status_code == 201
    assert enrolled.json()["team"] == TEAM_A
    token = enrolled.json()["token"]
    assert c.get("/api/v1/terrain/me", headers=auth(token)).json() == {
        "team": TEAM_A,
        "device_id": enrolled.json()["device_id"],
    }
    again = c.post("/api/v1/terrain/devices", json={"code": body["code"], "label": "Un autre"})
    assert again.status_code == 403
    assert "déjà utilisé" in again.json()["detail"]
    assert "already used" in again.json()["detail"]
    for who in ("tok-ph", token):  # neither a landlord nor a device makes codes
        assert c.post("/api/v1/terrain/enrolments", json={"team": BADGE_A}, headers=auth(who)).status_code == 403
    assert c.post("/api/v1/terrain/enrolments", json={"team": "Équipe Z"}, headers=auth("tok-super")).status_code == 404
    listed = c.get("/api/v1/terrain/devices", headers=auth("tok-super")).json()
    assert [(d["team"], d["label"], d["revoked_at"]) for d in listed] == [(TEAM_A, "Téléphone équipe 3", None)]
    assert listed[0]["last_seen_at"] is not None  # it called /me


def test_a_revoked_device_is_refused_at_once(fa: FieldApp) -> None:
    device, token = fa.enrol()
    fa.report(token)
    assert fa.client.delete(f"/api/v1/terrain/devices/{device}", headers=auth("tok-ph")).status_code == 403
    assert fa.client.delete(f"/api/v1/terrain/devices/{device}", headers=auth("tok-super")).status_code == 204
    assert fa.client.get("/api/v1/terrain/me", headers=auth(token)).status_code == 401
    replay = fa.client.post(
        "/api/v1/terrain/reports",
        json={"id": ulid(), "created_at": NOW.isoformat(), "place": {"checkpoint": PH_CP}, "category": "tags"},
        headers=auth(token),
    )
    assert replay.status_code == 401
    assert fa.client.delete("/api/v1/terrain/devices/dev_nope", headers=auth("tok-super")).status_code == 404


def test_device_tokens_reach_only_the_field_routes(fa: FieldApp) -> None:
    _, token = fa.enrol()
    for path in ("/api/v1/me", "/api/v1/checkpoints", "/api/v1/supervision/teams", "/api/v1/field/records"):
        assert fa.client.get(path, headers=auth(token)).status_code == 403, path
    for path in ("/api/v1/terrain/me", "/api/v1/terrain/places"):
        assert fa.client.get(path, headers=auth("tok-ph")).status_code == 403, path


def test_places_vocabulary_and_partners_for_the_phone(fa: FieldApp) -> None:
    _, token = fa.enrol()
    places = fa.client.get("/api/v1/terrain/places", headers=auth(token)).json()
    estates = {e["id"]: e for e in places["estates"]}
    assert set(estates) == {"mordacs", "bois-labbe"}
    b01 = next(b for b in estates["mordacs"]["buildings"] if b["id"] == "mor-b01")
    assert PH_CP in {c["id"] for c in b01["checkpoints"]}
    outside = {c["id"] for c in estates["mordacs"]["checkpoints_outside_buildings"]}
    assert "mor-paris-green-space-1" in outside
    assert places["revision"]
    vocab = fa.client.get("/api/v1/terrain/vocabulary", headers=auth(token)).json()
    assert {"id": "eclairage", "label": "Éclairage"} in vocab["categories"]
    assert [t["id"] for t in vocab["statuses"]] == ["nouveau", "pris_en_compte", "en_cours", "resolu"]
    assert {t["id"] for t in vocab["responses"]} >= {"orientation", "ecoute_mediation"}
    partners = fa.client.get("/api/v1/terrain/partners", headers=auth(token)).json()
    assert {
        "id": fa.partner_id,
        "name": "Centre social des Mordacs",
        "kind": "association",
        "estates": None,
    } in partners


def test_the_suggestion_is_the_teams_own_recent_visit(fa: FieldApp) -> None:
    _, token_a = fa.enrol(BADGE_A)
    _, token_b = fa.enrol(BADGE_B)
    registry = fa.app.state.ronde.registry.registry
    recent = visit(registry, F3_CP, NOW - timedelta(minutes=6), 4, badge=BADGE_A)  # ended 2 minutes ago
    old = visit(registry, PH_CP, NOW - timedelta(minutes=30), 5, badge=BADGE_B)  # ended 25 minutes ago
    fa.store.write(WriteBatch(visits=(recent, old)))
    got = fa.client.get("/api/v1/terrain/suggestion", headers=auth(token_a)).json()
    assert got["checkpoint"]["id"] == F3_CP
    assert got["checkpoint"]["building"] == "mor-b06"
    assert got["seen_at"] == recent.last_seen.isoformat().replace("+00:00", "Z")
    assert fa.client.get("/api/v1/terrain/suggestion", headers=auth(token_b)).json() == {
        "checkpoint": None,
        "seen_at": None,
    }


def test_a_report_is_idempotent_by_its_client_id(fa: FieldApp) -> None:
    _, token = fa.enrol()
    body = fa.report(token)
    again = fa.client.post("/api/v1/terrain/reports", json=body, headers=auth(token))
    assert again.status_code == 200
    assert again.json() == {"id": body["id"], "status": "nouveau", "landlord": "Paris Habitat"}
    changed = fa.client.post("/api/v1/terrain/reports", json={**body, "text": "autre"}, headers=auth(token))
    assert changed.status_code == 409
    assert changed.json()["code"] == "conflict"
    queue = fa.client.get("/api/v1/field/records", headers=auth("tok-ph")).json()["items"]
    assert [r["id"] for r in queue] == [body["id"]]
    assert queue[0]["text"] == "Éclairage du hall en panne"
    assert fa.client.get("/api/v1/field/records", headers=auth("tok-3f")).json()["items"] == []


def test_a_photo_with_gps_is_stored_and_served_without_any_exif(fa: FieldApp) -> None:
    _, token = fa.enrol()
    body = fa.report(token)
    original = jpeg_with_gps((3000, 1000))
    path = f"/api/v1/terrain/reports/{body['id']}/photo"
    up = fa.client.put(path, content=original, headers={**auth(token), "Content-Type": "image/jpeg"})
    assert up.status_code == 201, up.text
    assert (up.json()["width"], up.json()["height"]) == (2048, 683)  # capped on the longer side
    assert (
        fa.client.put(path, content=original, headers={**auth(token), "Content-Type": "image/jpeg"}).status_code == 200
    )
    served = fa.client.get(f"/api/v1/field/records/{body['id']}/photo", headers=auth("tok-ph"))
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    stored = (fa.tmp / "opdb.db.media" / up.json()["sha256"][:2] / up.json()["sha256"]).read_bytes()
    assert stored == served.content
    for data in (served.content, stored):
        img = Image.open(io.BytesIO(data))
        assert dict(img.getexif()) == {}
        assert "exif" not in img.info
        assert b"Exif" not in data
        assert b"Pixel 8 Pro" not in data
    assert fa.client.get(f"/api/v1/field/records/{body['id']}/photo", headers=auth("tok-3f")).status_code == 404
    assert fa.client.get(f"/api/v1/field/records/{body['id']}", headers=auth("tok-ph")).json()["has_photo"] is True


def test_uploads_that_are_not_images_or_too_large_are_refused(tmp_path: Path) -> None:
    gen = field_app(tmp_path, max_photo_bytes=64 * 1024)
    fa = next(gen)
    _, token = fa.enrol()
    body = fa.report(token)
    path = f"/api/v1/terrain/reports/{body['id']}/photo"
    noise = Image.frombytes("RGB", (400, 400), os.urandom(400 * 400 * 3))
    big = io.BytesIO()
    noise.save(big, format="PNG")
    assert len(big.getvalue()) > 64 * 1024
    r = fa.client.put(path, content=big.getvalue(), headers={**auth(token), "Content-Type": "image/png"})
    assert r.status_code == 413
    assert r.json()["code"] == "too_large"
    for content_type, data in (
        ("text/plain", b"hello"),
        ("image/jpeg", b"GIF89a not really"),
        ("image/png", b"\x89PNG"),
    ):
        r = fa.client.put(path, content=data, headers={**auth(token), "Content-Type": content_type})
        assert r.status_code == 415, (content_type, r.text)
        assert r.json()["code"] == "unsupported_media_type"
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    r = fa.client.put(path, content=gif.getvalue(), headers={**auth(token), "Content-Type": "image/png"})
    assert r.status_code == 415
    assert "GIF" in r.json()["detail"]
    assert fa.client.get(f"/api/v1/field/records/{body['id']}", headers=auth("tok-ph")).json()["has_photo"] is False
    for _ in gen:
        pass


def test_a_sollicitation_with_an_orientation_names_a_known_partner(fa: FieldApp) -> None:
    _, token = fa.enrol()
    body = fa.sollicitation(token, contact={"value": "06 12 34 56 78", "consent": True})
    assert fa.client.post("/api/v1/terrain/sollicitations", json=body, headers=auth(token)).status_code == 200
    missing = {**body, "id": ulid(), "partner": None}
    r = fa.client.post("/api/v1/terrain/sollicitations", json=missing, headers=auth(token))
    assert r.status_code == 422
    assert "partner" in r.json()["detail"]
    unknown = {**body, "id": ulid(), "partner": 9999}
    assert fa.client.post("/api/v1/terrain/sollicitations", json=unknown, headers=auth(token)).status_code == 404
    no_consent = {**body, "id": ulid(), "contact": {"value": "x", "consent": False}}
    assert fa.client.post("/api/v1/terrain/sollicitations", json=no_consent, headers=auth(token)).status_code == 422
    queue = fa.client.get("/api/v1/field/records", params={"kind": "sollicitation"}, headers=auth("tok-3f")).json()
    assert [(r["type"], r["response"], r["partner"]) for r in queue["items"]] == [
        ("voisinage", "orientation", fa.partner_id)
    ]
    assert "06 12" not in str(queue)  # the contact is for the team's follow-up, not the landlord


def test_a_device_lists_only_its_own_teams_records(fa: FieldApp) -> None:
    _, token_a = fa.enrol(BADGE_A)
    _, token_b = fa.enrol(TEAM_B)
    mine = fa.report(token_a)
    fa.sollicitation(token_a)
    listed = fa.client.get("/api/v1/terrain/records", headers=auth(token_a)).json()
    assert {r["id"] for r in listed} >= {mine["id"]}
    assert len(listed) == 2
    assert fa.client.get("/api/v1/terrain/records", headers=auth(token_b)).json() == []
    since = fa.client.get(
        "/api/v1/terrain/records", params={"since": (NOW + timedelta(minutes=5)).isoformat()}, headers=auth(token_a)
    ).json()
    assert since == []
    photo = fa.client.put(
        f"/api/v1/terrain/reports/{mine['id']}/photo",
        content=jpeg_with_gps(),
        headers={**auth(token_b), "Content-Type": "image/jpeg"},
    )
    assert photo.status_code == 404  # another team's report: as if it did not exist
