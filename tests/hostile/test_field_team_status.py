"""Hostile inputs on the team's status route (``POST /api/v1/terrain/sollicitations/{id}/status``): another
team's record, a technical report, unknown or backward statuses, malformed bodies, forged ids, a partner that is
not in the directory, an instant in the future, a landlord's or a revoked phone's token. Each gets a clear 4xx
whose body names the reason; none a 5xx; the record is left as it was."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.api.field_support import BADGE_A, BADGE_B, FieldApp, field_app, ulid
from tests.api.support import NOW, auth

PATH = "/api/v1/terrain/sollicitations/{}/status"


@pytest.fixture
def fa(tmp_path: Path) -> Iterator[FieldApp]:
    yield from field_app(tmp_path)


def step(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": ulid(), "status": "close", "at": NOW.isoformat()}
    body.update(over)
    return body


def state(fa: FieldApp, record_id: str) -> tuple[str, int]:
    r = fa.client.get(f"/api/v1/field/records/{record_id}", headers=auth("tok-super")).json()
    return r["status"], len(r["timeline"])


def test_another_team_s_record_answers_404_like_an_unknown_one(fa: FieldApp) -> None:
    _, mine = fa.enrol(BADGE_A)
    _, theirs = fa.enrol(BADGE_B)
    record = fa.sollicitation(mine)["id"]
    before = state(fa, record)
    foreign = fa.client.post(PATH.format(record), json=step(), headers=auth(theirs))
    unknown = fa.client.post(PATH.format(ulid()), json=step(), headers=auth(theirs))
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["code"] == unknown.json()["code"] == "not_found"
    assert state(fa, record) == before


def test_a_technical_report_and_a_backward_step_are_refused_with_the_reason(fa: FieldApp) -> None:
    _, token = fa.enrol()
    report = fa.report(token)["id"]
    r = fa.client.post(PATH.format(report), json=step(), headers=auth(token))
    assert r.status_code == 409
    assert "technical report" in r.json()["detail"]
    assert state(fa, report) == ("nouveau", 1)
    record = fa.sollicitation(token)["id"]  # "orientee"
    assert fa.client.post(PATH.format(record), json=step(), headers=auth(token)).status_code == 200
    back = fa.client.post(PATH.format(record), json=step(status="orientee"), headers=auth(token))
    assert back.status_code == 409
    assert "forward only" in back.json()["detail"]
    assert state(fa, record) == ("close", 2)


@pytest.mark.parametrize(
    ("over", "named"),
    [
        ({"status": "ouverte"}, "status"),  # the first step is the record's creation, not the team's to set
        ({"status": "resolu"}, "status"),  # a report's step
        ({"status": "CLOSE"}, "status"),
        ({"status": "close\u202e"}, "status"),
        ({"status": None}, "status"),
        ({"status": "orientee", "partner": 0}, "partner"),
        ({"status": "orientee", "partner": "1; DROP TABLE"}, "partner"),
        ({"partner": 1}, "partner"),  # a partner goes with an orientation only
        ({"at": "2026-11-26T19:00:00"}, "at"),  # no time zone
        ({"at": "hier"}, "at"),
        ({"id": "01jd00000000000000000000aa"}, "id"),
        ({"comment": "x" * 501}, "comment"),
        ({"comment": "ok\x00"}, "comment"),
        ({"team": "Équipe Bois"}, "team"),  # no field names another team
    ],
)
def test_malformed_steps_get_422_naming_the_field(fa: FieldApp, over: dict[str, Any], named: str) -> None:
    _, token = fa.enrol()
    record = fa.sollicitation(token, response="ecoute_mediation", partner=None, status="ouverte")["id"]
    r = fa.client.post(PATH.format(record), json=step(**over), headers=auth(token))
    assert r.status_code == 422, (over, r.text)
    assert named in str(r.json()["detail"])
    assert state(fa, record) == ("ouverte", 1)


def test_bodies_that_are_not_json_a_future_instant_and_an_unknown_partner(fa: FieldApp) -> None:
    _, token = fa.enrol()
    record = fa.sollicitation(token, response="ecoute_mediation", partner=None, status="ouverte")["id"]
    headers = {**auth(token), "Content-Type": "application/json"}
    for raw in (b"{", b"[]", b'"close"', b"\xff\xfe", b"{}", b'{"status": "close"}'):
        r = fa.client.post(PATH.format(record), content=raw, headers=headers)
        assert r.status_code in (400, 422), (raw, r.status_code)
        assert r.json()["detail"]
    future = fa.client.post(PATH.format(record), json=step(at=(NOW + timedelta(days=1)).isoformat()), headers=headers)
    assert future.status_code == 422
    assert "future" in future.json()["detail"]
    stranger = fa.client.post(PATH.format(record), json=step(status="orientee", partner=999), headers=headers)
    assert stranger.status_code == 404
    assert "partner" in stranger.json()["detail"]
    assert state(fa, record) == ("ouverte", 1)


def test_only_the_team_s_phone_may_use_the_route(fa: FieldApp) -> None:
    device, token = fa.enrol()
    record = fa.sollicitation(token, response="ecoute_mediation", partner=None, status="ouverte")["id"]
    for other in ("tok-3f", "tok-super", "tok-admin", fa.partner_token):
        r = fa.client.post(PATH.format(record), json=step(), headers=auth(other))
        assert r.status_code == 403, (other, r.status_code)
    assert fa.client.post(PATH.format(record), json=step()).status_code == 401
    assert fa.client.delete(f"/api/v1/terrain/devices/{device}", headers=auth("tok-super")).status_code == 204
    replayed = fa.client.post(PATH.format(record), json=step(), headers=auth(token))
    assert replayed.status_code == 401
    assert state(fa, record) == ("ouverte", 1)
