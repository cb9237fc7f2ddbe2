"""Hostile plan geometry in an estate file (issue 16): each bad outline or walkway is refused with its line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ronde.protocol.estate import (
    MAX_FOOTPRINT_POINTS,
    MAX_WALKWAY_POINTS,
    EstateFileError,
    default_estate_path,
    parse_estate,
)
from tests.api.support import auth, make_app

SAMPLE = default_estate_path().read_text(encoding="utf-8")
FIRST_FOOTPRINT = (
    "footprint: [[48.798421, 2.527528], [48.798421, 2.527818], [48.798878, 2.527818], [48.798878, 2.527528]]"
)
FIRST_WALKWAY = "  - {id: mordacs-spur-1, estate: mordacs, points: [[48.797585, 2.524997], [48.797833, 2.524769]]}"


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def _refused(old: str, new: str, *expected: str, later: int = 0) -> EstateFileError:
    """``later``: the error is on that many lines after the changed one (a duplicate is the second one)."""
    assert old in SAMPLE
    text = SAMPLE.replace(old, new, 1)
    with pytest.raises(EstateFileError) as info:
        parse_estate(text, "estate.yaml")
    message = str(info.value)
    for part in expected:
        assert part in message, message
    assert f"estate.yaml:{_line_of(text, new.strip()[:20]) + later}:" in message, message
    return info.value


@pytest.mark.parametrize(
    ("footprint", "expected"),
    [
        ("[[48.79, 2.52], [48.79, 2.53]]", "at least 3 items"),
        ("[[48.79, 2.52, 7], [48.79, 2.53], [48.8, 2.53]]", "at most 2 items"),
        ("[[91, 2.52], [48.79, 2.53], [48.8, 2.53]]", "less than or equal to 90"),
        ("[[.nan, 2.52], [48.79, 2.53], [48.8, 2.53]]", "footprint[0][0]: Input should be a finite number"),
        ("[[48.79, .inf], [48.79, 2.53], [48.8, 2.53]]", "footprint[0][1]: Input should be a finite number"),
        ("[[north, 2.52], [48.79, 2.53], [48.8, 2.53]]", "valid number"),
        ("{lat: 48.79}", "footprint"),
        (str([[48.79, 2.52]] * (MAX_FOOTPRINT_POINTS + 1)), f"at most {MAX_FOOTPRINT_POINTS} items"),
    ],
)
def test_a_bad_footprint_is_refused_with_its_line(footprint: str, expected: str) -> None:
    _refused(FIRST_FOOTPRINT, f"footprint: {footprint}", "buildings[0].footprint", expected)


@pytest.mark.parametrize(
    ("walkway", "expected"),
    [
        ("  - {id: mordacs-spur-1, estate: nowhere, points: [[48.79, 2.52], [48.8, 2.52]]}", "unknown estate"),
        ("  - {id: mordacs-spur-2, estate: mordacs, points: [[48.79, 2.52], [48.8, 2.52]]}", "duplicate id"),
        ("  - {id: lone-point, estate: mordacs, points: [[48.79, 2.52]]}", "at least 2 items"),
        ("  - {id: Bad Id, estate: mordacs, points: [[48.79, 2.52], [48.8, 2.52]]}", "should match pattern"),
        ('  - {id: named, estate: mordacs, name: "a\\u202eb", points: [[48.79, 2.52], [48.8, 2.5]]}', "visible text"),
        (f"  - {{id: long, estate: mordacs, points: {[[48.79, 2.52]] * (MAX_WALKWAY_POINTS + 1)}}}", "at most"),
    ],
)
def test_a_bad_walkway_is_refused_with_its_line(walkway: str, expected: str) -> None:
    _refused(FIRST_WALKWAY, walkway, "walkways", expected, later=1 if expected == "duplicate id" else 0)


# ---- the same outline through the API (PUT /api/v1/buildings/{id}) ----------------------------------

ADMIN = auth("tok-admin")
BUILDING = {"name": "4 rue Albert Thomas", "estate": "mordacs", "landlord": "paris-habitat", "dwellings": 289}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app, store, _ = make_app(tmp_path)
    with TestClient(app) as c:
        yield c
    store.close()


@pytest.mark.parametrize(
    ("footprint", "expected"),
    [
        ([[48.79, 2.52], [48.8, 2.52]], "at least 3"),
        ([[48.79, 2.52]] * (MAX_FOOTPRINT_POINTS + 1), "at most"),
        ([[91, 2.52], [48.79, 2.53], [48.8, 2.53]], "less than or equal to 90"),
        ([[48.79, 2.52, 1], [48.79, 2.53], [48.8, 2.53]], "at most 2"),
        ([["north", 2.52], [48.79, 2.53], [48.8, 2.53]], "valid number"),
    ],
)
def test_the_api_refuses_a_bad_outline_and_keeps_the_old_one(
    client: TestClient, footprint: list[list[object]], expected: str
) -> None:
    before = client.get("/api/v1/buildings/mor-b01", headers=ADMIN).json()
    r = client.put("/api/v1/buildings/mor-b01", json={**BUILDING, "footprint": footprint}, headers=ADMIN)
    assert r.status_code == 422
    assert expected in r.text
    assert client.get("/api/v1/buildings/mor-b01", headers=ADMIN).json() == before


def test_non_finite_coordinates_are_refused_by_the_api(client: TestClient) -> None:
    body = (
        '{"name": "x", "estate": "mordacs", "landlord": "paris-habitat",'
        ' "footprint": [[NaN, 2.5], [48.7, 2.5], [48.8, 2.5]]}'
    )
    r = client.put("/api/v1/buildings/mor-b01", content=body, headers={**ADMIN, "content-type": "application/json"})
    assert r.status_code == 422


def test_a_rename_keeps_the_outline_and_a_new_outline_replaces_it(client: TestClient) -> None:
    before = client.get("/api/v1/buildings/mor-b01", headers=ADMIN).json()
    assert len(before["footprint"]) == 4
    r = client.put("/api/v1/buildings/mor-b01", json={**BUILDING, "name": "4 rue Albert-Thomas"}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["footprint"] == before["footprint"]
    square = [[48.7984, 2.5275], [48.7984, 2.5278], [48.7988, 2.5278], [48.7988, 2.5275]]
    r = client.put("/api/v1/buildings/mor-b01", json={**BUILDING, "footprint": square}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["footprint"] == square
