"""InfluxStore specifics beyond the shared contract.

The 1.x layout (database, retention policies) is checked on the real Debian influxd 1.6.7.
The ``/api/v2/write`` path (InfluxDB 1.8, 2.x, 3.x) cannot run here against such a server:
these tests point the real influxdb-client code at a local stand-in HTTP server
(tests/store/standin.py) and assert the exact requests it sends (path, bucket, org, precision,
Authorization header, line-protocol body), and how 5xx/4xx answers are handled.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest

from ronde.store.errors import StoreRejected
from ronde.store.influx import InfluxStore, shard_duration
from ronde.store.influx_http import WritePath
from ronde.store.port import StoreUnavailable
from ronde.store.records import RetentionPolicy, WriteBatch
from ronde.store.schema import visit_line
from tests.store import factories as f
from tests.store.standin import Reply, Request, StandIn, standin
from tests.support.services import Influxd

OK_QUERY = Reply.json({"results": [{"statement_id": 0}]})


@pytest.mark.influx
def test_open_creates_database_and_retention_policies(influxd: Influxd) -> None:
    db = f"t_{uuid.uuid4().hex[:12]}"
    store = InfluxStore(influxd.url, database=db, retention=RetentionPolicy(raw_days=45, proof_days=400))
    store.open()
    store.open()  # idempotent
    with httpx.Client(base_url=influxd.url) as http:
        body = http.get("/query", params={"q": f'SHOW RETENTION POLICIES ON "{db}"'}).json()
    rps = {row[0]: row[1] for row in body["results"][0]["series"][0]["values"]}
    assert [row[0] for row in body["results"][0]["series"][0]["values"] if row[4]] == ["raw"]  # the default
    assert rps["raw"] == "1080h0m0s"
    assert rps["rejections"] == "1440h0m0s"
    assert rps["proof"] == "9600h0m0s"
    store.apply_retention(RetentionPolicy(raw_days=30, proof_days=365, rejections_days=10), f.BASE)
    with httpx.Client(base_url=influxd.url) as http:
        body = http.get("/query", params={"q": f'SHOW RETENTION POLICIES ON "{db}"'}).json()
    rps = {row[0]: row[1] for row in body["results"][0]["series"][0]["values"]}
    assert rps["raw"] == "720h0m0s"
    assert rps["rejections"] == "240h0m0s"
    assert rps["proof"] == "8760h0m0s"
    store.close()


def test_shard_durations_stay_below_the_policy() -> None:
    assert [shard_duration(d) for d in (1, 2, 60, 180, 181, 365)] == ["1h", "1d", "1d", "1d", "7d", "7d"]


def _v2_server(s: StandIn, version: str) -> None:
    s.on("GET", "/ping", Reply(204, {"X-Influxdb-Version": version, "X-Influxdb-Build": "OSS"}))
    s.on("GET", "/api/v2/buckets", Reply.json({"code": "forbidden", "message": "no permission"}, 403))
    s.on("POST", "/query", OK_QUERY)
    s.on("POST", "/api/v2/write", Reply(204))


def test_v2_write_sends_synchronous_batches_to_db_rp_buckets_with_token() -> None:
    with standin() as s:
        _v2_server(s, "v2.7.10")
        store = InfluxStore(s.url, database="ronde", token="s3cret", org="mediation", retry_budget_s=2)
        store.open()  # the token may not manage buckets: warned, not fatal
        assert store.path is WritePath.V2
        visits = tuple(f.visit(i) for i in range(3))
        store.write(WriteBatch(visits=visits, rejections=(f.rejection(1),)))
        writes = s.sent("POST", "/api/v2/write")
        assert [w.query["bucket"] for w in writes] == [["ronde/raw"], ["ronde/rejections"]]
        assert all(w.query["org"] == ["mediation"] and w.query["precision"] == ["ns"] for w in writes)
        assert all(w.headers["Authorization"] == "Token s3cret" for w in writes)
        mark, *lines = writes[0].body.decode().splitlines()
        assert lines == [visit_line(v) for v in visits]
        assert mark.startswith("visit_mark written_at=")  # one service day's mark, before its visits
        assert ",visits=3i " in mark
        store.visits(f.BASE, f.BASE + timedelta(hours=1))
        query = s.sent("POST", "/query")[-1]
        assert query.query["db"] == ["ronde"]
        assert query.query["rp"] == ["raw"]
        assert query.headers["Authorization"] == "Token s3cret"
        store.close()


def test_v18_uses_user_password_token_and_influxql_layout() -> None:
    with standin() as s:
        _v2_server(s, "1.8.10")
        store = InfluxStore(s.url, username="ronde", password="pw")
        store.open()
        assert store.path is WritePath.V2
        statements = b"".join(r.body for r in s.sent("POST", "/query")).decode()
        assert "CREATE+DATABASE" in statements
        assert "CREATE+RETENTION+POLICY" in statements
        assert s.sent("POST", "/query")[0].headers["Authorization"].startswith("Basic ")
        store.write(WriteBatch(visits=(f.visit(1),)))
        (write,) = s.sent("POST", "/api/v2/write")
        assert write.headers["Authorization"] == "Token ronde:pw"
        assert write.query["org"] == ["-"]
        assert write.query["bucket"] == ["ronde/raw"]
        store.close()


def test_3x_is_detected_from_its_ping_body_and_written_through_v2() -> None:
    with standin() as s:
        _v2_server(s, "")
        s.on("GET", "/ping", Reply.json({"version": "3.0.1", "revision": "x"}))
        store = InfluxStore(s.url, token="apiv3_t")
        store.open()
        assert s.sent("POST", "/query") == []  # nothing to create through InfluxQL on 3.x
        store.write(WriteBatch(visits=(f.visit(1),)))
        assert s.sent("POST", "/api/v2/write")[0].query["bucket"] == ["ronde/raw"]
        store.close()


def test_v2_write_retries_5xx_and_raises_store_unavailable_after_the_budget() -> None:
    answers = [Reply.json({"code": "unavailable"}, 503), Reply(204)]
    with standin() as s:
        _v2_server(s, "v2.7.10")
        s.on("POST", "/api/v2/write", lambda _r: answers.pop(0) if answers else Reply.json({}, 503))
        store = InfluxStore(s.url, token="t", org="o", retry_budget_s=0.5)
        store.open()
        store.write(WriteBatch(visits=(f.visit(1),)))  # 503 then 204
        assert len(s.sent("POST", "/api/v2/write")) == 2
        with pytest.raises(StoreUnavailable):
            store.write(WriteBatch(visits=(f.visit(2),)))
        store.close()


def test_v2_write_4xx_is_rejected_not_retried() -> None:
    def conflict(_req: Request) -> Reply:
        return Reply.json({"code": "invalid", "message": "field type conflict"}, 422)

    with standin() as s:
        _v2_server(s, "v2.7.10")
        s.on("POST", "/api/v2/write", conflict)
        store = InfluxStore(s.url, token="t", org="o", retry_budget_s=5)
        store.open()
        with pytest.raises(StoreRejected, match="422"):
            store.write(WriteBatch(visits=(f.visit(1),)))
        assert len(s.sent("POST", "/api/v2/write")) == 1
        store.close()


def test_write_api_override_and_large_batches_are_split() -> None:
    with standin() as s:
        _v2_server(s, "weird-build")
        s.on("POST", "/write", Reply(204))
        store = InfluxStore(s.url, write_api="v1", max_lines_per_request=250)
        store.open()
        assert store.path is WritePath.V1
        store.write(WriteBatch(visits=tuple(f.visit(i) for i in range(600))))
        writes = s.sent("POST", "/write")
        assert [len(w.body.splitlines()) for w in writes] == [250, 250, 101]  # 600 visits and their day's mark
        assert writes[0].query == {"db": ["ronde"], "rp": ["raw"], "precision": ["ns"]}
        store.close()


def test_v2_open_creates_missing_buckets_with_their_retention() -> None:
    import json

    with standin() as s:
        _v2_server(s, "v2.7.10")
        s.on("GET", "/api/v2/buckets", Reply.json({"buckets": []}))
        s.on("GET", "/api/v2/orgs", Reply.json({"orgs": [{"id": "0123456789abcdef", "name": "mediation"}]}))
        s.on("POST", "/api/v2/buckets", lambda r: Reply.json({**json.loads(r.body), "id": "b1"}, 201))
        store = InfluxStore(
            s.url,
            token="all-access",
            org="mediation",
            retention=RetentionPolicy(raw_days=60, proof_days=365, rejections_days=30),
        )
        store.open()
        created = {json.loads(r.body)["name"]: json.loads(r.body) for r in s.sent("POST", "/api/v2/buckets")}
        assert {n: c["retentionRules"][0]["everySeconds"] for n, c in created.items()} == {
            "ronde/raw": 60 * 86_400,
            "ronde/rejections": 30 * 86_400,
            "ronde/proof": 365 * 86_400,
        }
        assert all(c["orgID"] == "0123456789abcdef" for c in created.values())
        store.close()
