"""``store_of_kind``'s influxd database goes with its test (a scripted year left 110 shards on the session's
influxd), and dropping it is best effort: a stopped server is not an error."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from ronde.store.influx import InfluxStore
from tests.support.services import Influxd, free_port
from tests.support.stores import store_of_kind


def _databases(server: Influxd) -> list[str]:
    query = urllib.parse.urlencode({"q": "SHOW DATABASES"})
    with urllib.request.urlopen(f"{server.url}/query?{query}", timeout=10) as r:
        data = json.load(r)
    return [v[0] for res in data["results"] for s in res.get("series", []) for v in s.get("values", [])]


def test_a_tests_database_is_dropped_with_it(influxd: Influxd, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    with store_of_kind(request, tmp_path, kind="influx") as store:
        assert isinstance(store, InfluxStore)
        name = store.database
        assert name in _databases(influxd)
    assert name not in _databases(influxd)


def test_dropping_on_a_server_that_is_gone_is_not_an_error(tmp_path: Path) -> None:
    gone = Influxd(free_port(), tmp_path, tmp_path / "influxdb.conf")
    gone.drop_database("t_nothing")
