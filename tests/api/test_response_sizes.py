"""Responses sized for people (issue 17, item 4): at city scale (5,000 checkpoints, 50 estates) no JSON answer
passes 1 MB unless the caller asked for it (a larger ``limit``, ``days=true``, an export), lists are paged with
a ``next`` link, and bodies are gzipped for clients that accept it."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.records import StoredVisit, WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.api.city import CHECKPOINTS, city_registry
from tests.api.support import WED, auth, make_app, paris, visit

MB = 1_000_000
BUSY = "mor-b01-hall-a-c0"  # a Paris Habitat hall visited three times every evening of the year
YEAR = {"first": str(WED - timedelta(days=364)), "last": str(WED)}
PLAIN = {"Accept-Encoding": "identity"}
# JSON arrays answered whole, and why they stay small whatever the city's size
BOUNDED = {
    "/api/v1/supervision/rejections": "the newest `limit` (500 by default) only",
    "/api/v1/supervision/gaps": "the newest `limit` (500 by default) only",
    "/api/v1/audit/access-log": "the newest `limit` (1,000 by default) only",
    "/api/v1/terrain/records": "the team's newest `limit` (100 by default) only",
    "/api/v1/supervision/rejections/counts": "one row per rejection reason",
    "/api/v1/notify/deliveries/{delivery_id}/log": "the attempts of one delivery (bounded by its retries)",
    "/api/v1/terrain/devices": "the phones enrolled, one or two per team",
    "/api/v1/terrain/partners": "the partner directory (a few dozen organisations)",
    "/api/v1/partners": "the partner directory (a few dozen organisations)",
    "/api/v1/terrain/requests": "at most 200 requests of one team (open first, then newest)",
    "/api/v1/field/requests": "at most 200 requests (open first, then newest; not paged, see docs/api.md)",
}
# every paged collection, with the parameters a client would send (the default period: the last 30 days)
PAGED: dict[str, dict[str, str]] = {
    "/api/v1/landlords": {},
    "/api/v1/estates": {},
    "/api/v1/buildings": {},
    "/api/v1/checkpoints": {},
    "/api/v1/beacons": {},
    "/api/v1/gateways": {},
    "/api/v1/badges": {},
    "/api/v1/coverage/checkpoints": {},
    "/api/v1/coverage/landlords": {},
    "/api/v1/coverage/estates": {},
    "/api/v1/coverage/buildings": {},
    "/api/v1/coverage/idleness": {},
    "/api/v1/checkpoints/{checkpoint_id}/visits": YEAR,
    "/api/v1/supervision/stale": {},
    "/api/v1/supervision/teams": {},
    "/api/v1/supervision/beacons": {},
    "/api/v1/supervision/gateways": {"include_online": "true"},
    "/api/v1/notify/deliveries": {},
    "/api/v1/notify/bilans": {},
    "/api/v1/notify/alerts": {},
}


def _year_at(registry: Registry, checkpoint_id: str) -> list[StoredVisit]:
    calendar = ServiceCalendar()
    starts = [paris(WED - timedelta(days=d), 18, 0) + timedelta(minutes=20 * i) for d in range(365) for i in range(3)]
    return [visit(registry, checkpoint_id, s, 3) for s in starts if calendar.service_day(s) is not None]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    registry = city_registry()
    tmp: Path = tmp_path_factory.mktemp("city")
    store = SqliteStore(tmp / "ronde.db")
    store.open()
    store.write(WriteBatch(visits=tuple(_year_at(registry, BUSY))))
    app, _, _ = make_app(tmp, store=store, registry=registry)
    with TestClient(app) as client:
        yield client
    store.close()
    app.state.opdb_engine.dispose()


def _arrays(client: TestClient) -> dict[str, dict[str, Any]]:
    """Every GET under /api answering a JSON array, with its OpenAPI operation."""
    spec = client.get("/api/openapi.json").json()
    out = {}
    for path, ops in spec["paths"].items():
        get = ops.get("get")
        schema = get and get["responses"].get("200", {}).get("content", {}).get("application/json", {}).get("schema")
        if schema and schema.get("type") == "array":
            out[path] = get
    return out


def test_every_json_collection_is_paged_or_bounded(city: TestClient) -> None:
    arrays = _arrays(city)
    assert set(arrays) == set(PAGED) | set(BOUNDED), "a new list route: page it (ronde.api.paging) or say why not"
    for path in PAGED:
        op = arrays[path]
        names = {p["name"]: p for p in op["parameters"]}
        assert {"limit", "offset"} <= set(names), path
        assert names["limit"]["schema"]["maximum"] >= names["limit"]["schema"]["default"], path
        assert {"Link", "X-Total-Count"} <= set(op["responses"]["200"]["headers"]), path


@pytest.mark.parametrize("token", ["tok-ph", "tok-super"])
def test_no_answer_over_a_megabyte_unless_asked(city: TestClient, token: str) -> None:
    sizes: dict[str, int] = {}
    for template, params in PAGED.items():
        path = template.replace("{checkpoint_id}", BUSY)
        r = city.get(path, params=params, headers={**auth(token), **PLAIN})
        assert r.status_code in (200, 403), (path, r.text[:300])
        assert "content-encoding" not in r.headers
        sizes[template] = len(r.content)
    over = {p: n for p, n in sizes.items() if n > MB}
    assert not over, over


def test_a_year_of_buildings_is_summarised(city: TestClient) -> None:
    """The 10 MB answer of issue 17: a year of a landlord's buildings. Over 92 days each building answers its
    period's shares only (``days`` empty) unless ``days=true`` asks for every evening. (Immobilière 3F, the
    smaller landlord: a year of coverage still costs seconds at city scale, issue 17 item 3.)"""
    r = city.get("/api/v1/coverage/buildings", params=YEAR, headers={**auth("tok-3f"), **PLAIN})
    assert r.status_code == 200
    assert len(r.content) < MB / 10
    assert r.json()
    assert all(b["days"] == [] and b["period"]["checkpoints"] > 0 for b in r.json())
    one = city.get(
        "/api/v1/coverage/buildings", params={**YEAR, "days": "true", "limit": 1}, headers={**auth("tok-3f"), **PLAIN}
    )
    evenings = list(ServiceCalendar().service_days(WED - timedelta(days=364), WED))
    assert [d["service_day"] for d in one.json()[0]["days"]] == [str(d) for d in evenings]  # asked for: every one


def test_pages_link_to_the_next_until_the_last(city: TestClient) -> None:
    seen: list[str] = []
    url: str | None = "/api/v1/checkpoints?limit=1500"
    pages = 0
    while url is not None:
        r = city.get(url, headers=auth("tok-super"))
        assert r.status_code == 200
        assert r.headers["X-Total-Count"] == str(CHECKPOINTS)
        seen += [c["id"] for c in r.json()]
        link = r.headers.get("Link")
        url = re.fullmatch(r'<(/api/v1/checkpoints\?[^>]+)>; rel="next"', link).group(1) if link else None  # type: ignore[union-attr]
        pages += 1
    assert pages == 4
    assert len(seen) == len(set(seen)) == CHECKPOINTS
    past = city.get("/api/v1/checkpoints", params={"offset": 9_000}, headers=auth("tok-super"))
    assert past.json() == []
    assert "Link" not in past.headers


def test_asking_for_more_gets_more(city: TestClient) -> None:
    """The maximum ``limit`` is asking for a large answer: every checkpoint at once, over 1 MB."""
    r = city.get("/api/v1/checkpoints", params={"limit": 10_000}, headers={**auth("tok-super"), **PLAIN})
    assert len(r.json()) == CHECKPOINTS
    assert len(r.content) > MB
    assert "Link" not in r.headers


def test_gzip_when_accepted(city: TestClient) -> None:
    plain = city.get("/api/v1/checkpoints", headers={**auth("tok-super"), **PLAIN})
    with city.stream("GET", "/api/v1/checkpoints", headers={**auth("tok-super"), "Accept-Encoding": "gzip"}) as r:
        raw = b"".join(r.iter_raw())  # the bytes on the wire, before the client decodes them
        headers = r.headers
    assert headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in headers["vary"]
    assert headers["X-Total-Count"] == str(CHECKPOINTS)
    assert int(headers["content-length"]) == len(raw) < len(plain.content) / 5
    assert json.loads(gzip.decompress(raw)) == plain.json()
    small = city.get("/api/v1/me", headers={**auth("tok-super"), "Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers  # under 1 KiB: sent as it is


def test_downloads_still_arrive_whole(client: TestClient) -> None:
    """The sample estate's audit report: the CSV is gzipped for a client that accepts it, the PDF (compressed
    inside already) is sent as it is; both arrive whole."""
    base, period = "/api/v1/audit/landlords/paris-habitat/report", {"first": "2026-11-23", "last": "2026-11-26"}
    for suffix, encoded in ((".csv", "gzip"), (".pdf", None)):
        plain = client.get(base + suffix, params=period, headers={**auth("tok-ph"), **PLAIN})
        packed = client.get(base + suffix, params=period, headers={**auth("tok-ph"), "Accept-Encoding": "gzip"})
        assert plain.status_code == packed.status_code == 200
        assert packed.headers.get("content-encoding") == encoded, suffix
        assert packed.headers["content-disposition"] == plain.headers["content-disposition"]
        # each report carries the instant it was made: same shape, decoded
        if suffix == ".csv":
            assert packed.text.splitlines()[0] == plain.text.splitlines()[0]
            assert len(packed.text.splitlines()) == len(plain.text.splitlines()) > 5
        else:
            assert packed.content.startswith(b"%PDF")
            assert abs(len(packed.content) - len(plain.content)) < 200
