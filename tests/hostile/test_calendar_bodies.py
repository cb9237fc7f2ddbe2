"""Hostile calendar bodies (``PUT /api/v1/calendar``, ``/calendar/estates/{estate}``, ``/calendar/closed/{day}``):
each is refused with a 422 (or 413 for a body over the limit) whose error names the field, nothing is written
(the calendar in force and the registry version do not move), and the API keeps answering."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ronde.opdb.registry_repo import RegistryRepository
from tests.api.support import auth, make_app

GOOD: dict[str, Any] = {"days": ["wed", "thu"], "start": "16:00", "end": "22:15", "timezone": "Europe/Paris"}


_ENGINES: dict[int, Engine] = {}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app, store, _ = make_app(Path(tmp_path_factory.mktemp("hostile-calendar")))
    engine: Engine = app.state.opdb_engine
    with TestClient(app) as c:
        _ENGINES[id(c)] = engine
        yield c
    store.close()
    engine.dispose()


def _version(client: TestClient) -> int:
    """The registry version every calendar change bumps (what workers and API processes follow)."""
    return RegistryRepository(_ENGINES[id(client)]).version()


CASES: list[tuple[str, Any, str]] = [
    ("empty end", {**GOOD, "end": "16:00"}, "end"),
    ("hour 24", {**GOOD, "start": "24:00"}, "start"),
    ("seconds", {**GOOD, "end": "22:15:00"}, "end"),
    ("not a time", {**GOOD, "start": "four pm"}, "start"),
    ("number time", {**GOOD, "start": 1600}, "start"),
    ("unknown weekday", {**GOOD, "days": ["wed", "funday"]}, "days"),
    ("weekday twice", {**GOOD, "days": ["wed", "wed"]}, "days"),
    ("no day", {**GOOD, "days": []}, "days"),
    ("days a string", {**GOOD, "days": "wed,thu"}, "days"),
    ("eight days", {**GOOD, "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "mon"]}, "days"),
    ("unknown zone", {**GOOD, "timezone": "Mars/Olympus"}, "timezone"),
    ("zone path", {**GOOD, "timezone": "../../etc/passwd"}, "timezone"),
    ("zone overlong", {**GOOD, "timezone": "E" * 5000}, "timezone"),
    ("zone null byte", {**GOOD, "timezone": "Europe/Paris\x00"}, "timezone"),
    ("bad closed date", {**GOOD, "closed": ["2026-02-30"]}, "closed"),
    ("closed out of range", {**GOOD, "closed": ["0001-01-01"]}, "closed"),
    ("closed not a list", {**GOOD, "closed": {"2026-12-25": True}}, "closed"),
    (
        "too many closed",
        {**GOOD, "closed": [f"2026-{m:02d}-{d:02d}" for m in range(1, 13) for d in range(1, 29)] * 3},
        "closed",
    ),
    ("unknown field", {**GOOD, "estate": "mordacs"}, "estate"),
    ("missing start", {k: v for k, v in GOOD.items() if k != "start"}, "start"),
    ("a list", [GOOD], "body"),
    ("null", None, "body"),
    ("nested bomb", {**GOOD, "days": [[[[[[["wed"]]]]]]]}, "days"),
]


@pytest.mark.parametrize(("name", "body", "field"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("path", ["/api/v1/calendar", "/api/v1/calendar/estates/mordacs"])
def test_malformed_body_named_and_nothing_written(
    client: TestClient, path: str, name: str, body: Any, field: str
) -> None:
    before = (client.get("/api/v1/calendar", headers=auth("tok-admin")).json(), _version(client))
    answer = client.put(
        path, content=json.dumps(body), headers={**auth("tok-admin"), "content-type": "application/json"}
    )
    assert answer.status_code == 422, (name, answer.text)
    error = answer.json()
    assert any(field in [str(p) for p in e["loc"]] for e in error["errors"]), (name, error)
    assert (client.get("/api/v1/calendar", headers=auth("tok-admin")).json(), _version(client)) == before


@pytest.mark.parametrize(
    "raw",
    [b"{", b"\xff\xfe\x00", b'{"days": NaN}', b"[" * 10_000 + b"]" * 10_000, b""],
    ids=["truncated", "not utf-8", "NaN", "deep nesting", "empty"],
)
def test_not_json_is_refused(client: TestClient, raw: bytes) -> None:
    before = _version(client)
    answer = client.put(
        "/api/v1/calendar", content=raw, headers={**auth("tok-admin"), "content-type": "application/json"}
    )
    assert answer.status_code in (400, 422), answer.text  # 400: the body is not JSON at all
    assert answer.json()["detail"]
    assert _version(client) == before
    assert client.get("/api/v1/calendar", headers=auth("tok-ph")).status_code == 200


def test_oversized_body_is_refused_before_it_is_read(client: TestClient) -> None:
    before = _version(client)
    body = json.dumps({**GOOD, "closed": ["2026-12-25"] * 20_000})  # ~300 kB, over the 64 KiB default
    answer = client.put(
        "/api/v1/calendar", content=body, headers={**auth("tok-admin"), "content-type": "application/json"}
    )
    assert answer.status_code == 413
    assert _version(client) == before


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/calendar/closed/2026-13-01", 422),
        ("/api/v1/calendar/closed/yesterday", 422),
        ("/api/v1/calendar/closed/0001-01-01", 422),
        ("/api/v1/calendar/closed/2026-12-25?estate=atlantis", 404),
        ("/api/v1/calendar/closed/2026-12-25?estate=" + "x" * 500, 422),
        ("/api/v1/calendar/estates/" + "x" * 500, 422),
        ("/api/v1/calendar/estates/..%2F..%2Fetc", 404),
    ],
)
def test_hostile_paths(client: TestClient, path: str, status: int) -> None:
    before = _version(client)
    method = "PUT" if "/closed/" in path else "DELETE"
    answer = client.request(method, path, headers=auth("tok-admin"))
    assert answer.status_code == status, answer.text
    assert _version(client) == before
