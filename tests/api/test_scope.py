"""A landlord token never reads another landlord's checkpoints, reports, events, nor team badges.

Routes are enumerated from ``app.routes`` (so a new endpoint is covered without editing this
test), every path parameter is filled with an id belonging to Paris Habitat, every known filter
is set to Paris Habitat's patrimony, and the Immobilière 3F token must get an error or a body
free of Paris Habitat's data, badges and gateway ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from tests.api.support import F3_CP, PH_CP, PH_CP2, WED, auth

FOREIGN_PATH = {
    "landlord_id": "paris-habitat",
    "checkpoint_id": PH_CP,
    "building_id": "mor-b01",
    "estate_id": "mordacs",
    "day": WED.isoformat(),  # a service day (the calendar's closed dates)
    "gateway_id": "gw-mordacs-1",
    "badge": "EQUIPE-A",
    "name": "audit-ph",  # a token's name: Paris Habitat's landlord token
    # field records (issue 14): populated with Paris Habitat's records in tests/api/test_field_scope.py
    "device_id": "dev_0000000000000000",
    "record_id": "01JD0000000000000000000000",
    "request_id": "01JD0000000000000000000001",
    "partner_id": "1",
    # bilans and deliveries (issue 15): Paris Habitat's own are read in tests/api/test_notify_routes.py
    "delivery_id": "1",
    "bilan_id": "00000000-0000-4000-8000-000000000001",
    "file_name": "bilan-paris-habitat-2026-10.pdf",
}
FOREIGN_QUERY = {"landlord": "paris-habitat", "building": "mor-b01", "estate": "mordacs"}
PERIOD = {"first": "2026-11-01", "last": "2026-11-26", "day": WED.isoformat()}
# Paris Habitat markers: its id and name, checkpoints of its buildings, team badges, gateway ids.
LEAKS = re.compile(
    r"paris-habitat|Paris Habitat|mor-b0[1-5]-|boi-b0[1-5]-|mor-paris-|boi-paris-|EQUIPE-|gw-mordacs|gw-bois"
)

ECHO = re.compile(r'<a href="[^"]*" class="lang"')


def api_routes(routes: Iterable[BaseRoute], prefix: str = "") -> list[tuple[str, str]]:
    """(method, path) of every APIRoute, descending into included routers (FastAPI ≥ 0.16x wraps them)."""
    out: list[tuple[str, str]] = []
    for r in routes:
        if isinstance(r, APIRoute):
            out.extend((m, prefix + r.path) for m in sorted((r.methods or set()) - {"HEAD"}))
        elif hasattr(r, "original_router"):
            context = getattr(r, "include_context", None)
            out.extend(api_routes(r.original_router.routes, prefix + getattr(context, "prefix", "")))
    return out


def _fill(path: str) -> str:
    for name, value in FOREIGN_PATH.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"unknown path parameter in {path}: add it to FOREIGN_PATH"
    return path


def _call(client: TestClient, method: str, path: str, params: dict[str, str], token: str) -> Any:
    body: dict[str, Any] = {}
    if method in ("PUT", "POST"):
        body["json"] = {}
    return client.request(method, path, params=params, headers=auth(token), follow_redirects=False, **body)


def test_enumerated_routes_leak_nothing_to_another_landlord(client: TestClient, app: FastAPI) -> None:
    routes = api_routes(app.routes)
    assert len(routes) >= 45, "the route list looks truncated"
    checked = 0
    for method, raw_path in routes:
        if raw_path in ("/login", "/logout", "/healthz", "/api/openapi.json", "/api/docs", "/api/docs/oauth2-redirect"):
            continue
        path = _fill(raw_path)
        for params in ({}, PERIOD, {**PERIOD, **FOREIGN_QUERY}):
            r = _call(client, method, path, params, "tok-3f")
            assert r.status_code < 500, (method, path, params, r.status_code, r.text)
            if r.status_code in (401, 403, 404, 405, 422):
                continue
            if method == "GET" and r.status_code == 308:  # /terrain → /terrain/: a redirect carries no data
                assert r.headers["location"].split("?")[0] == path + "/", (path, r.headers["location"])
                continue
            assert r.status_code in (200, 204, 303), (method, path, r.status_code)
            if method != "GET":
                raise AssertionError(f"landlord changed something: {method} {path} → {r.status_code}")
            # the language toggle echoes the caller's own query string: not data
            text = ECHO.sub("", r.content.decode("utf-8", errors="replace"))
            leak = LEAKS.search(text)
            context = "" if leak is None else text[max(0, leak.start() - 200) : leak.end() + 100]
            assert leak is None, f"{method} {path} {params} leaks {leak.group(0)!r}: ...{context}"
            checked += 1
    assert checked >= 30  # the test really read data, not only errors


def test_foreign_ids_are_indistinguishable_from_unknown_ones(client: TestClient) -> None:
    for path in (
        f"/api/v1/checkpoints/{PH_CP}",
        "/api/v1/landlords/paris-habitat",
        "/api/v1/buildings/mor-b01",
        f"/api/v1/coverage/checkpoints/{PH_CP}",
        f"/api/v1/checkpoints/{PH_CP}/visits",
        "/api/v1/audit/landlords/paris-habitat/report",
        "/api/v1/audit/landlords/paris-habitat/report.csv",
        "/api/v1/audit/landlords/paris-habitat/report.pdf",
        "/api/v1/coverage/landlords/paris-habitat",
    ):
        foreign = client.get(path, headers=auth("tok-3f"))
        unknown = client.get(
            path.replace(PH_CP, "zz-nope").replace("paris-habitat", "zz-nope").replace("mor-b01", "zz-nope"),
            headers=auth("tok-3f"),
        )
        assert foreign.status_code == unknown.status_code == 404, path
        assert foreign.json()["code"] == unknown.json()["code"] == "not_found"


def test_own_data_is_visible_without_badges(client: TestClient) -> None:
    r = client.get(
        f"/api/v1/checkpoints/{F3_CP}/visits",
        params={"first": "2026-11-25", "last": "2026-11-26"},
        headers=auth("tok-3f"),
    )
    assert r.status_code == 200
    visits = r.json()
    assert len(visits) == 1
    assert visits[0]["badge"] is None
    assert visits[0]["gateway_id"] is None
    staff = client.get(
        f"/api/v1/checkpoints/{F3_CP}/visits",
        params={"first": "2026-11-25", "last": "2026-11-26"},
        headers=auth("tok-super"),
    ).json()
    assert staff[0]["badge"] == "EQUIPE-A"
    assert staff[0]["gateway_id"] == "gw-mordacs-1"
    listed = {c["id"] for c in client.get("/api/v1/checkpoints", headers=auth("tok-3f")).json()}
    assert F3_CP in listed
    assert PH_CP not in listed
    assert PH_CP2 not in listed
    assert len(listed) == 14
    assert [x["id"] for x in client.get("/api/v1/landlords", headers=auth("tok-3f")).json()] == ["immobiliere-3f"]


def test_pages_of_another_landlord_are_not_found(client: TestClient) -> None:
    for path in (
        f"/ui/checkpoints/{PH_CP}",
        "/ui/landlords/paris-habitat",
        "/ui/plan?landlord=paris-habitat",
        "/ui/audit?landlord=paris-habitat",
    ):
        r = client.get(path, headers=auth("tok-3f"))
        assert r.status_code == 404, path
        assert LEAKS.search(ECHO.sub("", r.text)) is None
    r = client.get("/ui/plan", headers=auth("tok-3f"))
    assert r.status_code == 200
    assert LEAKS.search(r.text) is None
    assert r.text.count('class="cp ') == 14
