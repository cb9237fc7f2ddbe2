"""Hostile page parameters (issue 17, item 4): every paged route refuses a ``limit`` or ``offset`` it cannot
honour with a 422 naming the parameter and its bound, never a 500, an empty page passed off as the answer,
or a limit silently clamped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ronde.api.paging import MAX_OFFSET
from tests.api.support import PH_CP, auth, make_app

BAD: list[tuple[str, str, str]] = [
    ("limit", "0", "greater than or equal to 1"),
    ("limit", "-5", "greater than or equal to 1"),
    ("limit", "abc", "valid integer"),
    ("limit", "1e3", "valid integer"),
    ("limit", "9" * 60, "less than or equal to"),
    ("limit", "", "valid integer"),
    ("offset", "-1", "greater than or equal to 0"),
    ("offset", "0x10", "valid integer"),
    ("offset", str(MAX_OFFSET + 1), "less than or equal to"),
    ("offset", "1.5", "valid integer"),
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp: Path = tmp_path_factory.mktemp("paging")
    app, store, _ = make_app(tmp)
    with TestClient(app) as c:
        yield c
    store.close()
    app.state.opdb_engine.dispose()


def _paged(client: TestClient) -> dict[str, int]:
    """Every paged GET route (it declares ``offset``), with its maximum ``limit``."""
    out = {}
    for path, ops in client.get("/api/openapi.json").json()["paths"].items():
        params = {p["name"]: p for p in ops.get("get", {}).get("parameters", [])}
        if "offset" in params:
            out[path.replace("{checkpoint_id}", PH_CP)] = params["limit"]["schema"]["maximum"]
    return out


def test_bad_limits_and_offsets_are_422_naming_the_parameter(client: TestClient) -> None:
    paged = _paged(client)
    assert len(paged) >= 20
    for path, maximum in paged.items():
        cases = [*BAD, ("limit", str(maximum + 1), f"less than or equal to {maximum}")]
        for name, value, says in cases:
            r = client.get(path, params={name: value}, headers=auth("tok-admin"))
            assert r.status_code == 422, (path, name, value, r.status_code)
            body = r.json()
            assert body["code"] == "validation"
            assert name in body["detail"], (path, body["detail"])
            assert any(e["loc"] == ["query", name] and says in e["msg"] for e in body["errors"]), (path, body)


def test_the_edges_are_accepted(client: TestClient) -> None:
    for path, maximum in _paged(client).items():
        for params in ({"limit": 1}, {"limit": maximum}, {"offset": MAX_OFFSET}):
            r = client.get(path, params=params, headers=auth("tok-admin"))
            assert r.status_code == 200, (path, params, r.text[:200])
            assert isinstance(r.json(), list)
        assert client.get(path, params={"offset": MAX_OFFSET}, headers=auth("tok-admin")).json() == []
