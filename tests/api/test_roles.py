"""The role matrix: who may call what (status codes per role)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ronde.protocol.signing import new_private_key, public_key_text
from tests.api.support import PH_CP, auth

ROLES = ("tok-admin", "tok-super", "tok-ph", "tok-gw")
PUB = public_key_text(new_private_key())

# (method, path, json body, expected status for admin, supervisor, landlord (own data), gateway)
MATRIX: list[tuple[str, str, object, tuple[int, int, int, int]]] = [
    ("GET", "/api/v1/me", None, (200, 200, 200, 403)),
    ("GET", "/api/v1/landlords", None, (200, 200, 200, 403)),
    ("GET", "/api/v1/checkpoints", None, (200, 200, 200, 403)),
    ("GET", f"/api/v1/checkpoints/{PH_CP}", None, (200, 200, 200, 403)),
    ("GET", "/api/v1/beacons", None, (200, 200, 200, 403)),
    ("GET", "/api/v1/gateways", None, (200, 200, 403, 403)),
    ("GET", "/api/v1/badges", None, (200, 200, 403, 403)),
    ("GET", "/api/v1/coverage/landlords", None, (200, 200, 200, 403)),
    ("GET", "/api/v1/coverage/checkpoints", None, (200, 200, 200, 403)),
    ("GET", "/api/v1/coverage/idleness", None, (200, 200, 200, 403)),
    ("GET", "/api/v1/coverage/fair-share", None, (200, 200, 200, 403)),
    ("GET", f"/api/v1/checkpoints/{PH_CP}/visits", None, (200, 200, 200, 403)),
    ("GET", "/api/v1/supervision/stale", None, (200, 200, 403, 403)),
    ("GET", "/api/v1/supervision/teams", None, (200, 200, 403, 403)),
    ("GET", "/api/v1/supervision/beacons", None, (200, 200, 403, 403)),
    ("GET", "/api/v1/supervision/gateways", None, (200, 200, 403, 403)),
    ("GET", "/api/v1/supervision/rejections", None, (200, 200, 403, 403)),
    ("GET", "/api/v1/supervision/rejections/counts", None, (200, 200, 403, 403)),
    ("GET", "/api/v1/supervision/gaps", None, (200, 200, 403, 403)),
    ("GET", "/api/v1/audit/landlords/paris-habitat/report", None, (200, 200, 200, 403)),
    ("GET", "/api/v1/audit/access-log", None, (200, 403, 403, 403)),
    ("GET", "/api/v1/estate-file", None, (200, 403, 403, 403)),
    ("PUT", "/api/v1/landlords/paris-habitat", {"name": "Paris Habitat", "dwellings": 2891}, (200, 403, 403, 403)),
    ("PUT", "/api/v1/badges/EQUIPE-C", {"team": "Équipe 3"}, (200, 403, 403, 403)),
    ("PUT", "/api/v1/gateways/gw-new", {"public_key": PUB}, (200, 403, 403, 403)),
    ("GET", "/ui", None, (200, 200, 200, 403)),
    ("GET", "/ui/supervision", None, (200, 200, 403, 403)),
]


@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_role_matrix(client: TestClient, method: str, path: str, body: object, expected: tuple[int, ...]) -> None:
    got = tuple(
        client.request(method, path, json=body, headers=auth(token), follow_redirects=False).status_code
        for token in ROLES
    )
    assert got == expected


def test_supervisor_sees_team_badges_landlord_never(client: TestClient) -> None:
    teams = client.get("/api/v1/supervision/teams", headers=auth("tok-super")).json()
    assert {t["badge"] for t in teams} == {"EQUIPE-A", "EQUIPE-B"}
    for path in (
        "/api/v1/coverage/checkpoints",
        f"/api/v1/checkpoints/{PH_CP}/visits",
        "/api/v1/audit/landlords/paris-habitat/report",
        f"/ui/checkpoints/{PH_CP}",
    ):
        r = client.get(path, params={"first": "2026-11-20", "last": "2026-11-26"}, headers=auth("tok-ph"))
        assert r.status_code == 200, path
        assert "EQUIPE-" not in r.text, path
