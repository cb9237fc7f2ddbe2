"""Version detection, write-path selection, InfluxQL quoting and retries.

Servers other than Debian's 1.6.7 (1.8, 2.x, 3.x) cannot run here: their ``/ping`` and
``/health`` answers are served by a local stand-in HTTP server (tests/store/standin.py) that
replays the headers and bodies those versions send. The 1.6.7 answer is checked for real.
"""

from __future__ import annotations

import pytest

from ronde.store.errors import StoreRejected
from ronde.store.influx_http import (
    HttpClient,
    InfluxQL,
    Retry,
    ServerInfo,
    WritePath,
    detect_server,
    quote_ident,
    quote_str,
    rows_of,
    write_path,
)
from ronde.store.lineprotocol import LineChunks, join_lines
from ronde.store.port import StoreUnavailable
from tests.store.standin import Reply, standin
from tests.support.services import Influxd


@pytest.mark.parametrize(
    ("version", "release", "path"),
    [
        ("1.6.7~rc0", (1, 6, 7), WritePath.V1),
        ("1.7.11", (1, 7, 11), WritePath.V1),
        ("1.8.0", (1, 8, 0), WritePath.V2),
        ("1.8.10", (1, 8, 10), WritePath.V2),
        ("1.11.8", (1, 11, 8), WritePath.V2),
        ("v2.7.10", (2, 7, 10), WritePath.V2),
        ("2.0.0-beta.16", (2, 0, 0), WritePath.V2),
        ("3.0.1", (3, 0, 1), WritePath.V2),
        ("v3.2", (3, 2, 0), WritePath.V2),
    ],
)
def test_write_path_follows_the_version(version: str, release: tuple[int, int, int], path: WritePath) -> None:
    info = ServerInfo(version, "OSS")
    assert info.release == release
    assert write_path(info) is path


def test_unknown_version_fails_with_advice() -> None:
    with pytest.raises(StoreUnavailable, match="write_api"):
        write_path(ServerInfo("unknown", None))


@pytest.mark.influx
def test_detects_debian_influxd_for_real(influxd: Influxd) -> None:
    with HttpClient(influxd.url) as http:
        info = detect_server(http)
    assert info.release == (1, 6, 7)
    assert info.build == "OSS"
    assert write_path(info) is WritePath.V1


def test_detects_2x_from_ping_header() -> None:
    with standin() as s:
        s.on("GET", "/ping", Reply(204, {"X-Influxdb-Version": "v2.7.10", "X-Influxdb-Build": "OSS"}))
        with HttpClient(s.url) as http:
            info = detect_server(http)
    assert info == ServerInfo("v2.7.10", "OSS")


def test_detects_3x_from_ping_json_body() -> None:
    with standin() as s:
        s.on("GET", "/ping", Reply.json({"version": "3.0.1", "revision": "abc123"}))
        with HttpClient(s.url) as http:
            assert detect_server(http).release == (3, 0, 1)


def test_falls_back_to_health() -> None:
    with standin() as s:
        s.on("GET", "/ping", Reply(204))
        s.on("GET", "/health", Reply.json({"name": "influxdb", "status": "pass", "version": "v2.6.1"}))
        with HttpClient(s.url) as http:
            assert detect_server(http).version == "v2.6.1"


def test_not_an_influxdb_and_refused_credentials() -> None:
    with standin() as s:
        s.on("GET", "/ping", Reply(200, {"Content-Type": "text/html"}, b"<html>hello</html>"))
        with HttpClient(s.url) as http, pytest.raises(StoreUnavailable, match="is it InfluxDB"):
            detect_server(http)
        s.on("GET", "/ping", Reply.json({"error": "unauthorized"}, 401))
        with HttpClient(s.url) as http, pytest.raises(StoreUnavailable, match="credentials"):
            detect_server(http)


def test_influxql_quoting() -> None:
    assert quote_str("it's a \\ test\nok") == "'it\\'s a \\\\ test\\nok'"
    assert quote_ident('we"ird\\') == '"we\\"ird\\\\"'


def test_rows_of_merges_group_by_tags() -> None:
    result = {
        "series": [
            {"name": "m", "tags": {"gateway": "gw-1"}, "columns": ["time", "x"], "values": [[1, 2], [3, 4]]},
            {"name": "m", "tags": {"gateway": "gw-2"}, "columns": ["time", "x"], "values": [[5, 6]]},
        ]
    }
    assert rows_of(result) == [
        {"time": 1, "x": 2, "gateway": "gw-1"},
        {"time": 3, "x": 4, "gateway": "gw-1"},
        {"time": 5, "x": 6, "gateway": "gw-2"},
    ]
    assert rows_of({"statement_id": 0}) == []


def test_query_retries_5xx_then_succeeds_and_4xx_is_rejected() -> None:
    answers = [Reply.json({"error": "overloaded"}, 503), Reply.json({"results": [{"statement_id": 0}]})]
    with standin() as s:
        s.on("POST", "/query", lambda _req: answers.pop(0))
        with HttpClient(s.url) as http:
            ql = InfluxQL(http, "ronde", Retry(budget_s=5, first_delay_s=0.01))
            assert ql.query(["SHOW DATABASES"]) == [[]]
            assert len(s.sent("POST", "/query")) == 2
            assert s.sent("POST", "/query")[0].query == {"db": ["ronde"], "epoch": ["ns"]}
            s.on("POST", "/query", Reply.json({"error": "error parsing query"}, 400))
            with pytest.raises(StoreRejected, match="parsing"):
                ql.query(["SELEKT"])
            s.on("POST", "/query", Reply.json({"results": [{"statement_id": 0, "partial": True, "series": []}]}))
            with pytest.raises(StoreRejected, match="max-row-limit"):
                ql.query(["SELECT * FROM visit"])


def test_a_query_cut_by_a_stopping_server_is_transient() -> None:
    """influxd 1.x answers a query in flight as it stops with HTTP 200 and "query engine shutdown": retried, then
    unavailable (a worker waits for the store), never a refusal of the statement."""
    stopping = Reply.json({"results": [{"statement_id": 0, "error": "query engine shutdown"}]})
    answers = [stopping, Reply.json({"results": [{"statement_id": 0}]})]
    with standin() as s:
        s.on("POST", "/query", lambda _req: answers.pop(0))
        with HttpClient(s.url) as http:
            ql = InfluxQL(http, "ronde", Retry(budget_s=5, first_delay_s=0.01))
            assert ql.query(["SELECT * FROM visit"]) == [[]]
            assert len(s.sent("POST", "/query")) == 2
            s.on("POST", "/query", stopping)
            ql = InfluxQL(http, "ronde", Retry(budget_s=0.2, first_delay_s=0.05))
            with pytest.raises(StoreUnavailable, match="query engine shutdown"):
                ql.query(["SELECT * FROM visit"])


def test_retry_budget_is_bounded() -> None:
    with standin() as s:
        s.on("POST", "/write", Reply.json({"error": "timeout"}, 500))
        with HttpClient(s.url) as http:
            ql = InfluxQL(http, "ronde", Retry(budget_s=0.3, first_delay_s=0.05))
            with pytest.raises(StoreUnavailable, match="still failing"):
                ql.write_v1(b"m f=1i 1\n", rp="raw")
        assert 2 <= len(s.sent("POST", "/write")) <= 10


def test_a_chunked_write_is_sent_whole_again_on_a_retry() -> None:
    lines = [f"m,t=gw-{i} f={i}i {i}" for i in range(200)]
    answers = [Reply.json({"error": "overloaded"}, 503), Reply(204)]
    with standin() as s:
        s.on("POST", "/write", lambda _req: answers.pop(0))
        with HttpClient(s.url) as http:
            ql = InfluxQL(http, "ronde", Retry(budget_s=5, first_delay_s=0.01))
            assert ql.write_v1(LineChunks(lines, per_chunk=64), rp="raw") == 0
        sent = s.sent("POST", "/write")
    assert [r.body for r in sent] == [join_lines(lines)] * 2
    assert all(r.headers.get("Transfer-Encoding") == "chunked" for r in sent)
