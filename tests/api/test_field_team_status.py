"""A team moves its own sollicitation forward from the phone (issue 14's gap): orientée (naming the partner when
the record had none), then close; the step is dated when the team did it, the outbox's resend changes nothing,
and the landlord's queue shows the new status with its timeline, never the team."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.api.field_support import TEAM_A, Clock, FieldApp, field_app, no_field_leak, ulid
from tests.api.support import NOW, auth

PATH = "/api/v1/terrain/sollicitations/{}/status"


@pytest.fixture
def fa(tmp_path: Path) -> Iterator[FieldApp]:
    yield from field_app(tmp_path)


def test_the_team_orients_then_closes_its_sollicitation(fa: FieldApp) -> None:
    _, token = fa.enrol()
    made = fa.sollicitation(token, response="ecoute_mediation", partner=None, status="ouverte")
    at = NOW - timedelta(seconds=30)  # before the record reached the server (at NOW): dated then, not before
    step = {"id": ulid(), "status": "orientee", "at": at.isoformat(), "partner": fa.partner_id}
    r = fa.client.post(PATH.format(made["id"]), json=step, headers=auth(token))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "orientee"
    assert r.json()["partner"] == fa.partner_id
    # the outbox sends it again (its answer was lost): same answer, no second step
    again = fa.client.post(PATH.format(made["id"]), json=step, headers=auth(token))
    assert again.status_code == 200
    assert again.json() == r.json()
    close = {"id": ulid(), "status": "close", "at": NOW.isoformat(), "comment": "Orienté vers le centre social"}
    closed = fa.client.post(PATH.format(made["id"]), json=close, headers=auth(token))
    assert closed.status_code == 200, closed.text
    timeline = [(s["status"], datetime.fromisoformat(s["at"])) for s in closed.json()["timeline"]]
    assert timeline == [("ouverte", NOW), ("orientee", NOW), ("close", NOW)]
    # the landlord concerned (Immobilière 3F) sees the new status and its steps, never the team
    seen = fa.client.get(f"/api/v1/field/records/{made['id']}", headers=auth("tok-3f"))
    assert seen.status_code == 200
    assert seen.json()["status"] == "close"
    assert [s["status"] for s in seen.json()["timeline"]] == ["ouverte", "orientee", "close"]
    assert no_field_leak(seen.text) == []
    listed = fa.client.get("/api/v1/field/records?status=close", headers=auth("tok-3f")).json()["items"]
    assert [x["id"] for x in listed] == [made["id"]]
    # the team's own list shows it closed too (the phone's cached list is this one)
    mine = fa.client.get("/api/v1/terrain/records", headers=auth(token)).json()
    assert [x["status"] for x in mine if x["id"] == made["id"]] == ["close"]
    assert TEAM_A in fa.client.get("/api/v1/terrain/me", headers=auth(token)).text


def test_a_step_sent_late_keeps_the_team_s_instant_within_bounds(tmp_path: Path) -> None:
    """Sent an hour after the car park: dated when done, never before the record's last step (its timeline runs
    forward) nor after the server's clock."""
    clock = Clock(NOW)
    gen = field_app(tmp_path, clock)
    fa = next(gen)
    _, token = fa.enrol()
    made = fa.sollicitation(token, response="ecoute_mediation", partner=None, status="ouverte")  # received at NOW
    clock.now = NOW + timedelta(hours=1)  # back in range an hour later
    done_at = NOW + timedelta(minutes=10)
    step = {"id": ulid(), "status": "orientee", "at": done_at.isoformat(), "partner": fa.partner_id}
    r = fa.client.post(PATH.format(made["id"]), json=step, headers=auth(token))
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["timeline"][-1]["at"]) == done_at
    early = {"id": ulid(), "status": "close", "at": (NOW - timedelta(days=2)).isoformat()}
    r = fa.client.post(PATH.format(made["id"]), json=early, headers=auth(token))
    assert datetime.fromisoformat(r.json()["timeline"][-1]["at"]) == done_at  # not before the step before it
    assert next(gen, None) is None  # the fixture's teardown: the app's store and database closed
