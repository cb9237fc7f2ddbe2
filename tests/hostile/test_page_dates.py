"""Dates typed into the pages' boxes (dd/mm/yyyy, issue 16): whatever arrives, the page answers at once
with a reason a person can read, never a 500, and falls back to its default period."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.app_fixtures import sample_app_client
from tests.api.support import PH_CP, auth

HOSTILE = [
    "31/02/2026",
    "00/00/0000",
    "99/99/9999",
    "1/1/1",
    "12-03-2026",
    "١٢/٠٣/٢٠٢٦",  # Arabic-Indic digits: \d would take them
    "２５/１１/２０２６",  # full-width digits
    "25/11/2026\x00",
    "<script>alert(1)</script>",
    "25/11/2026';DROP TABLE v;--",
    " ",
    "9999-12-31",
    "0001-01-01",
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with sample_app_client(tmp_path_factory.mktemp("page-dates")) as c:
        yield c


@pytest.mark.parametrize("text", HOSTILE)
def test_a_hostile_date_is_refused_with_a_reason(client: TestClient, text: str) -> None:
    t0 = time.monotonic()
    r = client.get(f"/ui/checkpoints/{PH_CP}", params={"first": text}, headers=auth("tok-super"))
    assert time.monotonic() - t0 < 30  # a hang guard, not a speed test: the first request warms the app
    assert r.status_code == 200, r.text[:300]
    assert "<script>alert" not in r.text
    if text.strip() and text not in ("9999-12-31", "0001-01-01"):
        assert 'id="date-error"' in r.text
        assert "refusée" in r.text
    assert 'class="timeline"' in r.text  # the default period is shown instead


def test_an_overlong_date_is_a_422_not_a_parse(client: TestClient) -> None:
    r = client.get(f"/ui/checkpoints/{PH_CP}", params={"first": "1" * 5000}, headers=auth("tok-super"))
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/json")


def test_an_impossible_period_falls_back(client: TestClient) -> None:
    r = client.get(
        f"/ui/checkpoints/{PH_CP}", params={"first": "26/11/2026", "last": "01/01/2020"}, headers=auth("tok-super")
    )
    assert r.status_code == 200
    assert 'value="13/11/2026"' in r.text  # the default fortnight
