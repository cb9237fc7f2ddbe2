"""Hostile inputs on the field routes (issue 14): oversized texts, control characters, forged idempotency keys,
replayed device tokens after revocation, forged enrolment codes, bodies that are not JSON or too large, images
that are bombs or lies. Each gets a clear 4xx whose body names the reason; none a 5xx; nothing is stored."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.api.field_support import BADGE_A, FieldApp, field_app, ulid
from tests.api.support import NOW, PH_CP, auth

CONTROLS = ["\x00", "\n", "\r", "\x1b[31m", "\u202e", "\u2028", "\u200b", "\x7f"]
FORGED_IDS = [
    "",
    "1",
    "01jd00000000000000000000aa",  # lower case: not Crockford's canonical form
    "01JD00000000000000000000I1",  # I, L, O, U are not Crockford digits
    "01JD00000000000000000000AAA",  # 27 characters
    "01JD00000000000000000000A",  # 25
    "'; DROP TABLE field_records; --",
    "../../etc/passwd0000000000",
    "01JD0000000000000000000\u00c90",
]


@pytest.fixture
def fa(tmp_path: Path) -> Iterator[FieldApp]:
    yield from field_app(tmp_path)


def report(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": ulid(),
        "created_at": (NOW - timedelta(minutes=1)).isoformat(),
        "place": {"checkpoint": PH_CP},
        "category": "eclairage",
    }
    body.update(over)
    return body


def stored(fa: FieldApp) -> int:
    return len(fa.client.get("/api/v1/field/records", headers=auth("tok-super")).json()["items"])


def test_oversized_texts_are_refused_with_the_field_named(fa: FieldApp) -> None:
    _, token = fa.enrol()
    r = fa.client.post("/api/v1/terrain/reports", json=report(text="é" * 501), headers=auth(token))
    assert r.status_code == 422
    assert "text" in r.json()["detail"]
    assert "500" in r.json()["detail"]
    assert (
        fa.client.post("/api/v1/terrain/reports", json=report(text="é" * 500), headers=auth(token)).status_code == 201
    )
    long_request = {"id": ulid(), "place": {"checkpoint": PH_CP}, "text": "x" * 5000}
    assert fa.client.post("/api/v1/field/requests", json=long_request, headers=auth("tok-ph")).status_code == 422
    label = fa.client.post("/api/v1/terrain/devices", json={"code": "A" * 24, "label": "t" * 121})
    assert label.status_code == 422
    assert stored(fa) == 1


@pytest.mark.parametrize("bad", CONTROLS, ids=[f"U+{ord(c[0]):04X}" for c in CONTROLS])
def test_control_characters_are_refused_everywhere_text_enters(fa: FieldApp, bad: str) -> None:
    _, token = fa.enrol()
    text = f"hall{bad}B"
    cases = [
        ("/api/v1/terrain/reports", report(text=text), token),
        ("/api/v1/terrain/enrolments", {"team": f"Équipe{bad}"}, "tok-super"),
        ("/api/v1/field/requests", {"id": ulid(), "place": {"checkpoint": PH_CP}, "text": text}, "tok-ph"),
        (
            "/api/v1/field/requests",
            {"id": ulid(), "place": {"checkpoint": PH_CP}, "text": "ok", "wanted_by": text},
            "tok-ph",
        ),
    ]
    for path, body, who in cases:
        r = fa.client.post(path, json=body, headers=auth(who))
        assert r.status_code == 422, (path, r.text)
        assert "U+" in r.json()["detail"], r.json()["detail"]
    first = fa.report(token)
    status = fa.client.post(
        f"/api/v1/field/records/{first['id']}/status",
        json={"status": "resolu", "comment": text},
        headers=auth("tok-ph"),
    )
    assert status.status_code == 422
    enrol = fa.client.post("/api/v1/terrain/devices", json={"code": "A" * 24, "label": text})
    assert enrol.status_code == 422
    assert stored(fa) == 1


@pytest.mark.parametrize("forged", FORGED_IDS)
def test_forged_idempotency_keys_are_refused(fa: FieldApp, forged: str) -> None:
    _, token = fa.enrol()
    r = fa.client.post("/api/v1/terrain/reports", json=report(id=forged), headers=auth(token))
    assert r.status_code == 422
    assert "id" in r.json()["detail"]
    req = {"id": forged, "place": {"checkpoint": PH_CP}, "text": "x"}
    assert fa.client.post("/api/v1/field/requests", json=req, headers=auth("tok-ph")).status_code == 422
    answer = {
        "id": ulid(),
        "created_at": NOW.isoformat(),
        "place": {"checkpoint": PH_CP},
        "origin": "spontanee",
        "type": "autre",
        "response": "information",
        "request": forged,
    }
    assert fa.client.post("/api/v1/terrain/sollicitations", json=answer, headers=auth(token)).status_code == 422
    listed = fa.client.get("/api/v1/field/records", params={"cursor": forged}, headers=auth("tok-ph"))
    assert listed.status_code == 422
    assert stored(fa) == 0


def test_replayed_device_tokens_after_revocation_are_refused(fa: FieldApp) -> None:
    device, token = fa.enrol(BADGE_A)
    kept = fa.report(token)
    assert fa.client.delete(f"/api/v1/terrain/devices/{device}", headers=auth("tok-super")).status_code == 204
    for method, path, body in (
        ("GET", "/api/v1/terrain/me", None),
        ("GET", "/api/v1/terrain/records", None),
        ("POST", "/api/v1/terrain/reports", kept),  # the very request that succeeded before
        ("POST", "/api/v1/terrain/reports", report()),
        ("PUT", f"/api/v1/terrain/reports/{kept['id']}/photo", None),
    ):
        r = fa.client.request(method, path, json=body, headers=auth(token))
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert stored(fa) == 1


def test_forged_enrolment_codes_get_one_answer(fa: FieldApp) -> None:
    code = fa.client.post("/api/v1/terrain/enrolments", json={"team": BADGE_A}, headers=auth("tok-super")).json()
    answers = set()
    for forged in ("A" * 24, code["code"][:-1] + ("A" if code["code"][-1] != "A" else "B"), code["code"].lower() + "x"):
        r = fa.client.post("/api/v1/terrain/devices", json={"code": forged, "label": "intrus"})
        assert r.status_code in (403, 422), r.text
        if r.status_code == 403:
            answers.add(r.text)
    assert len(answers) == 1  # unknown, wrong by one character: the same words
    for bad in ("", "a b c d e f g h", "<script>alert(1)</script>", "x" * 65):
        assert fa.client.post("/api/v1/terrain/devices", json={"code": bad, "label": "x"}).status_code == 422
    assert fa.client.get("/api/v1/terrain/devices", headers=auth("tok-super")).json() == []


def test_bodies_that_are_not_json_or_too_large(fa: FieldApp) -> None:
    _, token = fa.enrol()
    headers = {**auth(token), "Content-Type": "application/json"}
    for raw in (b"{", b"[]", b'"x"', b"\xff\xfe", b'{"id": 1e999}'):
        r = fa.client.post("/api/v1/terrain/reports", content=raw, headers=headers)
        assert r.status_code in (400, 422), (raw, r.status_code)
        assert r.json()["detail"]
    big = b'{"label": "' + b"x" * (70 * 1024) + b'"}'
    anonymous = fa.client.post("/api/v1/terrain/devices", content=big, headers={"Content-Type": "application/json"})
    assert anonymous.status_code == 413  # the one anonymous write is bounded like every other
    assert fa.client.post("/api/v1/terrain/reports", content=big, headers=headers).status_code == 413
    naive = report(created_at="2026-11-26T19:00:00")
    assert fa.client.post("/api/v1/terrain/reports", json=naive, headers=auth(token)).status_code == 422
    future = report(created_at=(NOW + timedelta(days=2)).isoformat())
    r = fa.client.post("/api/v1/terrain/reports", json=future, headers=auth(token))
    assert r.status_code == 422
    assert "future" in r.json()["detail"]
    both = report(place={"checkpoint": PH_CP, "building": "mor-b01"})
    assert fa.client.post("/api/v1/terrain/reports", json=both, headers=auth(token)).status_code == 422
    unknown = report(place={"checkpoint": "zz-nope"})
    assert fa.client.post("/api/v1/terrain/reports", json=unknown, headers=auth(token)).status_code == 404
    assert stored(fa) == 0


def test_image_bombs_and_lies_are_refused(fa: FieldApp) -> None:
    _, token = fa.enrol()
    body = fa.report(token)
    path = f"/api/v1/terrain/reports/{body['id']}/photo"
    bomb = io.BytesIO()
    Image.new("1", (7000, 7000)).save(bomb, format="PNG", optimize=True)  # 49 Mpx in a few kilobytes
    assert len(bomb.getvalue()) < 200 * 1024
    r = fa.client.put(path, content=bomb.getvalue(), headers={**auth(token), "Content-Type": "image/png"})
    assert r.status_code == 413
    assert "pixels" in r.json()["detail"]
    truncated = io.BytesIO()
    Image.new("RGB", (800, 600), (10, 200, 30)).save(truncated, format="JPEG")
    half = truncated.getvalue()[: len(truncated.getvalue()) // 3]
    r = fa.client.put(path, content=half, headers={**auth(token), "Content-Type": "image/jpeg"})
    assert r.status_code in (201, 415), r.text  # Pillow may decode a truncated JPEG's top; never a 500
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    r = fa.client.put(path, content=svg, headers={**auth(token), "Content-Type": "image/svg+xml"})
    assert r.status_code == 415
