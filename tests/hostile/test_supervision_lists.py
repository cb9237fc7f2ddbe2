"""The supervision page's ``?all=`` (which capped list to show whole, issue 16): only the four list names are
read; anything else is a 422 with the pages' declared body, at once, never echoed and never a 500."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.app_fixtures import sample_app_client
from tests.api.support import auth

HOSTILE = [
    "",
    "STALE",
    "stale ",
    "stale\x00",
    "rejections",  # a section, but not one that is capped
    "../plan",
    "<script>alert(1)</script>",
    "stale&lang=xx",
    "ｓｔａｌｅ",  # full-width letters
    "x" * 5000,
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with sample_app_client(tmp_path_factory.mktemp("supervision-lists")) as c:
        yield c


@pytest.mark.parametrize("path", ["/ui/supervision", "/ui/supervision/live"])
@pytest.mark.parametrize("value", HOSTILE)
def test_an_unknown_list_is_refused(client: TestClient, path: str, value: str) -> None:
    t0 = time.monotonic()
    r = client.get(path, params={"all": value}, headers=auth("tok-super"))
    assert time.monotonic() - t0 < 30  # a hang guard, not a speed test: the first request warms the app
    assert r.status_code == 422, r.text[:300]
    assert r.headers["content-type"].startswith("application/json")
    assert "<script>" not in r.text


def test_a_repeated_list_reads_one_and_strangers_see_nothing(client: TestClient) -> None:
    r = client.get("/ui/supervision?all=teams&all=stale", headers=auth("tok-super"))
    assert r.status_code == 200
    assert 'data-live="/ui/supervision/live?lang=fr&amp;all=stale"' in r.text
    assert client.get("/ui/supervision/live?all=stale", headers=auth("tok-ph")).status_code == 403
    assert client.get("/ui/supervision/live?all=stale").status_code == 401
    assert client.get("/ui/supervision?all=stale", headers=auth("tok-ph")).status_code == 403
