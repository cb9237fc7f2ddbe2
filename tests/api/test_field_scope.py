"""Every field route (issue 14), enumerated from the app, called with a foreign landlord's token and with
another team's device on Paris Habitat's records of team A: an error (404 for ids, 403 for roles) or an answer
without any of them; and every answer to the owning landlord carries no team pseudonym, badge nor device id.

Routes are read from ``app.routes``: a new field route is covered without editing this test (its body, if it
needs one to reach the scope check, goes in ``BODIES``; the test fails on a route it cannot fill).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.field_support import BADGE_A, BADGE_B, PSEUDONYMS, TEAM_A, FieldApp, field_app, jpeg_with_gps, ulid
from tests.api.support import NOW, PH_CP, auth
from tests.api.test_scope import api_routes

FIELD_PREFIXES = ("/api/v1/terrain", "/api/v1/field", "/api/v1/partners")


@dataclass
class World:
    fa: FieldApp
    device_a: str
    token_a: str
    token_b: str
    report: str
    sollicitation: str
    request: str

    def path(self, template: str) -> str:
        filled = (
            template.replace("{record_id}", self.report)
            .replace("{request_id}", self.request)
            .replace("{device_id}", self.device_a)
            .replace("{partner_id}", str(self.fa.partner_id))
        )
        assert "{" not in filled, f"unknown path parameter in {template}: fill it in World.path"
        return filled


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    for fa in field_app(tmp_path):
        device_a, token_a = fa.enrol(BADGE_A)
        _, token_b = fa.enrol(BADGE_B)
        report = fa.report(token_a)["id"]
        fa.client.put(
            f"/api/v1/terrain/reports/{report}/photo",
            content=jpeg_with_gps(),
            headers={**auth(token_a), "Content-Type": "image/jpeg"},
        )
        request: dict[str, Any] = {"id": ulid(), "place": {"checkpoint": PH_CP}, "text": "Regroupement dans le hall"}
        assert fa.client.post("/api/v1/field/requests", json=request, headers=auth("tok-ph")).status_code == 201
        fa.client.post(
            f"/api/v1/field/requests/{request['id']}/assign", json={"team": TEAM_A}, headers=auth("tok-super")
        )
        sollicitation = fa.sollicitation(token_a, place={"checkpoint": PH_CP}, request=request["id"])["id"]
        yield World(fa, device_a, token_a, token_b, report, sollicitation, request["id"])


def bodies(w: World) -> dict[tuple[str, str], dict[str, Any]]:
    """A body that passes validation for each writing route, aimed at Paris Habitat's places and team A's data."""
    place = {"checkpoint": PH_CP}
    at = (NOW - timedelta(minutes=2)).isoformat()
    return {
        ("POST", "/api/v1/terrain/enrolments"): {"json": {"team": BADGE_A}},
        ("POST", "/api/v1/terrain/devices"): {"json": {"code": "AAAAAAAAAAAAAAAAAAAAAAAA", "label": "volé"}},
        ("POST", "/api/v1/terrain/reports"): {
            "json": {"id": ulid(), "created_at": at, "place": place, "category": "tags"}
        },
        ("PUT", "/api/v1/terrain/reports/{record_id}/photo"): {
            "content": jpeg_with_gps(),
            "headers": {"Content-Type": "image/jpeg"},
        },
        ("POST", "/api/v1/terrain/sollicitations"): {
            "json": {
                "id": ulid(),
                "created_at": at,
                "place": place,
                "origin": "commanditaire",
                "type": "occupation_hall",
                "response": "information",
                "request": w.request,
            }
        },
        ("POST", "/api/v1/field/records/{record_id}/status"): {"json": {"status": "resolu"}},
        ("POST", "/api/v1/terrain/sollicitations/{record_id}/status"): {
            "json": {"id": ulid(), "status": "close", "at": at}
        },
        ("POST", "/api/v1/field/requests"): {"json": {"id": ulid(), "place": place, "text": "intrusion"}},
        ("POST", "/api/v1/field/requests/{request_id}/assign"): {"json": {"team": BADGE_B}},
        ("PUT", "/api/v1/partners/{partner_id}"): {"json": {"name": "Pris", "kind": "autre", "estates": []}},
    }


def field_routes(w: World) -> list[tuple[str, str]]:
    routes = [(m, p) for m, p in api_routes(w.fa.app.routes) if p.startswith(FIELD_PREFIXES)]
    assert len(routes) >= 22, routes
    return routes


def call(client: TestClient, method: str, path: str, token: str, extra: dict[str, Any]) -> Any:
    headers = {**auth(token), **extra.get("headers", {})}
    kwargs = {k: v for k, v in extra.items() if k != "headers"}
    return client.request(method, path, headers=headers, follow_redirects=False, **kwargs)


def secrets_of_team_a(w: World) -> list[str]:
    return [w.report, w.sollicitation, w.request, w.device_a, *PSEUDONYMS]


def test_a_foreign_landlord_reaches_nothing_of_paris_habitat(world: World) -> None:
    w, writes = world, bodies(world)
    markers = [*secrets_of_team_a(w), "paris-habitat", "Paris Habitat", PH_CP]
    for method, template in field_routes(w):
        path = w.path(template)
        r = call(w.fa.client, method, path, "tok-3f", writes.get((method, template), {}))
        assert r.status_code < 500, (method, path, r.text)
        if r.status_code in (401, 403, 404, 405):
            continue
        assert r.status_code != 422 or method != "GET", (method, path, r.text)
        if r.status_code == 422:
            assert (method, template) in writes, f"{method} {template}: add a valid body to BODIES"
            raise AssertionError(f"{method} {path}: the valid body was refused: {r.text}")
        assert method == "GET", f"a foreign landlord changed something: {method} {path} → {r.status_code}"
        leaks = [m for m in markers if m in r.text]
        assert leaks == [], (method, path, leaks)
    record = w.fa.client.get(f"/api/v1/field/records/{w.report}", headers=auth("tok-ph")).json()
    assert record["status"] == "nouveau"  # nothing changed it


def test_another_teams_device_reaches_nothing_of_team_a(world: World) -> None:
    w, writes = world, bodies(world)
    for method, template in field_routes(w):
        path = w.path(template)
        extra = writes.get((method, template), {})
        r = call(w.fa.client, method, path, w.token_b, extra)
        assert r.status_code < 500, (method, path, r.text)
        if method != "GET":
            # a device may only create its own records (reports, sollicitations not answering another's request)
            allowed = template in ("/api/v1/terrain/reports",)
            assert r.status_code in (401, 403, 404, 405, 409) or allowed, (method, path, r.status_code, r.text)
            continue
        if r.status_code in (403, 404):
            continue
        assert r.status_code == 200, (method, path, r.status_code)
        leaks = [m for m in (w.report, w.sollicitation, w.request, w.device_a, TEAM_A, BADGE_A) if m in r.text]
        assert leaks == [], (method, path, leaks)


def test_no_landlord_answer_names_a_team_a_badge_or_a_device(world: World) -> None:
    w = world
    read = 0
    for method, template in field_routes(w):
        if method != "GET":
            continue
        r = w.fa.client.get(w.path(template), headers=auth("tok-ph"))
        if r.status_code in (403, 404):
            continue
        assert r.status_code == 200, (template, r.text)
        found = [m for m in (*PSEUDONYMS, w.device_a) if m in r.content.decode("utf-8", errors="replace")]
        assert found == [], (template, found)
        read += 1
    assert read >= 5  # records list, one record, its photo, requests list, one request
    # the supervisor sees the team of a request (it assigned it), never through a landlord route
    staff = w.fa.client.get(f"/api/v1/field/requests/{w.request}", headers=auth("tok-super")).json()
    assert staff["assigned_team"] == TEAM_A
