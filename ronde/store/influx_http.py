"""Talking to InfluxDB over HTTP: version detection, InfluxQL over ``/query``, the v1 ``/write``,
and bounded retries. Every InfluxDB (1.x, 1.8, 2.x, 3.x) answers InfluxQL on ``/query``; only
the write path differs (see ``write_path``).

The HTTP client is urllib3, the one influxdb-client (the v2 write path) is built on: a worker on
InfluxDB loads one HTTP stack, not two (httpx with httpcore, h11 and anyio was 4.2 MB of a worker's
resident memory against urllib3's 0.6 MB; issue 17, item 1).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import urlencode

import urllib3

from ronde.protocol.backoff import Backoff
from ronde.redact import redact_url
from ronde.store.errors import StoreRejected
from ronde.store.port import StoreUnavailable

__all__ = [
    "HttpClient",
    "HttpResponse",
    "InfluxQL",
    "Retry",
    "ServerInfo",
    "StoreRejected",
    "WritePath",
    "detect_server",
    "write_path",
]

log = logging.getLogger(__name__)
T = TypeVar("T")
Row = dict[str, Any]
_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


class WritePath(StrEnum):
    V2 = "v2"  # /api/v2/write through influxdb-client (1.8+, 2.x, 3.x)
    V1 = "v1"  # POST line protocol to /write?db=&rp= (1.x older than 1.8)


@dataclass(frozen=True, slots=True)
class ServerInfo:
    version: str  # as the server says it, e.g. "1.6.7~rc0", "v2.7.10", "3.0.1"
    build: str | None  # X-Influxdb-Build: "OSS", "Enterprise", "Core"…

    @property
    def release(self) -> tuple[int, int, int] | None:
        m = _VERSION_RE.match(self.version.strip())
        if m is None:
            return None
        return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)

    @property
    def major(self) -> int | None:
        release = self.release
        return None if release is None else release[0]


def write_path(info: ServerInfo) -> WritePath:
    """``/api/v2/write`` exists from 1.8 on; older 1.x only has ``/write``."""
    release = info.release
    if release is None:
        raise StoreUnavailable(
            f"cannot tell which InfluxDB answers (version {info.version!r}); set the store's write_api "
            "option to 'v1' (InfluxDB < 1.8) or 'v2' (1.8+, 2.x, 3.x)"
        )
    return WritePath.V1 if release[:2] < (1, 8) else WritePath.V2


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """An answer read whole (InfluxDB's answers to what Ronde asks are small or paged by statement)."""

    status_code: int
    headers: Mapping[str, str]  # urllib3's HTTPHeaderDict: names compared without case
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class HttpClient:
    """A base URL, headers sent with every request and a pool of kept-alive connections (urllib3's
    ``PoolManager``, safe to share between threads). Connection failures raise
    ``urllib3.exceptions.HTTPError`` at once (no retries here: ``Retry`` spaces and bounds them)."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        basic_auth: tuple[str, str] | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = dict(headers or {})
        if basic_auth is not None:
            self._headers["Authorization"] = urllib3.make_headers(basic_auth=":".join(basic_auth))["authorization"]
        self._pool: urllib3.PoolManager | None = urllib3.PoolManager(
            timeout=urllib3.Timeout(total=timeout_s), retries=False
        )

    @property
    def is_closed(self) -> bool:
        return self._pool is None

    def get(self, path: str) -> HttpResponse:
        return self._request("GET", path, None, None, {})

    def post(
        self,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        content: bytes | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """``form`` is sent URL-encoded, ``content`` as it is: bytes whole, any other iterable of bytes chunked
        (``Transfer-Encoding: chunked``, iterated again by each attempt)."""
        extra = dict(headers or {})
        if form is not None:
            content = urlencode(form).encode()
            extra["Content-Type"] = "application/x-www-form-urlencoded"
        return self._request("POST", path, params, content, extra)

    def _request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: bytes | Iterable[bytes] | None,
        extra: dict[str, str],
    ) -> HttpResponse:
        if self._pool is None:
            raise StoreUnavailable("InfluxDB HTTP client used after close()")
        url = self.base_url + path + ("?" + urlencode(params) if params else "")
        r = self._pool.request(method, url, body=body, headers={**self._headers, **extra}, redirect=False)
        return HttpResponse(status_code=r.status, headers=r.headers, content=r.data)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.clear()
            self._pool = None

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def detect_server(http: HttpClient) -> ServerInfo:
    """Ask ``/ping`` (all versions: ``X-Influxdb-Version`` header, 3.x also a JSON body), then
    ``/health`` (2.x JSON ``version``). Connection errors propagate (``urllib3.exceptions.HTTPError``)
    for the caller's retry loop."""
    ping = http.get("/ping")
    if ping.status_code >= HTTPStatus.INTERNAL_SERVER_ERROR:
        raise TransientHttpError(f"/ping: HTTP {ping.status_code}")
    if ping.status_code in (401, 403):
        raise StoreUnavailable(
            f"InfluxDB at {redact_url(http.base_url)} refused our credentials on /ping ({ping.status_code})"
        )
    build = ping.headers.get("X-Influxdb-Build")
    version = ping.headers.get("X-Influxdb-Version") or _json_version(ping)
    if not version:
        health = http.get("/health")
        version = health.headers.get("X-Influxdb-Version") or _json_version(health)
        build = build or health.headers.get("X-Influxdb-Build")
    if not version:
        raise StoreUnavailable(
            f"{redact_url(http.base_url)} answers /ping ({ping.status_code}) but says no InfluxDB version: "
            "is it InfluxDB?"
        )
    return ServerInfo(version=version, build=build)


def _json_version(response: HttpResponse) -> str | None:
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    version = body.get("version") if isinstance(body, dict) else None
    return str(version) if version else None


# ---- InfluxQL -------------------------------------------------------------------------------


def quote_ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_str(value: str) -> str:
    """An InfluxQL string literal (its scanner knows ``\\\\``, ``\\'`` and ``\\n``)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def rows_of(statement_result: Mapping[str, Any]) -> list[Row]:
    """One statement's series flattened into rows; series tags (GROUP BY) merged into each row."""
    rows: list[Row] = []
    for series in statement_result.get("series", ()):
        columns = series["columns"]
        tags = series.get("tags") or {}
        for values in series.get("values", ()):
            row = dict(zip(columns, values, strict=True))
            row.update(tags)
            rows.append(row)
    return rows


@dataclass(frozen=True, slots=True)
class Retry:
    """Retries of transient failures (5xx, 429, connection errors) inside a bounded time, spaced by
    the protocol's full-jitter backoff (``ronde.protocol.backoff``: uniform(0, min(max, first·2ⁿ)))."""

    budget_s: float = 10.0
    first_delay_s: float = 0.1
    max_delay_s: float = 2.0

    def run(self, what: str, fn: Callable[[], T], transient: Callable[[Exception], bool]) -> T:
        deadline = time.monotonic() + self.budget_s
        # made at the first failure: a Backoff's Random() seeds itself from os.urandom, 0.7 % of a worker's CPU when
        # made for every query and write (py-spy of bench_ingest's worker on InfluxDB)
        backoff: Backoff | None = None
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except Exception as exc:
                if not transient(exc):
                    raise
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StoreUnavailable(f"{what}: still failing after {attempt} attempts: {exc}") from exc
                backoff = backoff or Backoff(self.first_delay_s, max(self.first_delay_s, self.max_delay_s))
                pause = min(backoff.next_delay(), left)
                log.warning("%s failed (attempt %d, retrying in %.2fs): %s", what, attempt, pause, exc)
                time.sleep(pause)


class TransientHttpError(Exception):
    """A 5xx/429 answer: the engine is there but cannot serve now."""


def _transient(exc: Exception) -> bool:
    return isinstance(exc, TransientHttpError | urllib3.exceptions.HTTPError)


class InfluxQL:
    """InfluxQL over ``/query``, with retries of transient failures."""

    def __init__(self, http: HttpClient, database: str, retry: Retry) -> None:
        self.http = http
        self.database = database
        self.retry = retry

    def query(self, statements: Sequence[str], *, rp: str | None = None) -> list[list[Row]]:
        """Run statements in one POST (every version accepts it; no URL length limit)."""
        return [rows_of(result) for result in self.results(statements, rp=rp)]

    def series(self, statement: str, *, rp: str | None = None) -> list[dict[str, Any]]:
        """One statement's series as InfluxDB gives them (``columns``, ``values``, ``tags`` when grouped): what a
        reader of many rows turns into tuples by column position, without a dict a row (``rows_of``)."""
        return list(self.results([statement], rp=rp)[0].get("series", ()))

    def results(self, statements: Sequence[str], *, rp: str | None = None) -> list[Mapping[str, Any]]:
        """Each statement's result, checked (an error raises; a database not created yet gives no series)."""
        if not statements:
            return []
        params = {"db": self.database, "epoch": "ns"}
        if rp is not None:
            params["rp"] = rp
        q = ";\n".join(statements)

        def go() -> list[Mapping[str, Any]]:
            response = self.http.post("/query", params=params, form={"q": q})
            body = _checked_json(response, "query")
            if body.get("error"):
                _raise_if_stopping(str(body["error"]))
                raise StoreRejected(f"InfluxQL error: {body['error']}")
            out: list[Mapping[str, Any]] = []
            for result in body.get("results", ()):
                if result.get("error") and _not_created_yet(str(result["error"])):
                    out.append({})  # nothing written there yet: a reader sees no data, not an error
                    continue
                if result.get("error"):
                    _raise_if_stopping(str(result["error"]))
                    raise StoreRejected(f"InfluxQL error: {result['error']} in {q[:300]!r}")
                if result.get("partial"):
                    raise StoreRejected(
                        "InfluxDB truncated a result (max-row-limit): set [http] max-row-limit = 0 on the server"
                    )
                out.append(result)
            return out

        return self.retry.run("InfluxDB query", go, _transient)

    def write_v1(self, body: bytes | Iterable[bytes], *, rp: str) -> int:
        """POST line protocol to the 1.x ``/write`` (ns precision). 204 = durably in the WAL. ``body``: bytes, or
        an iterable of bytes iterable again for each attempt (``LineChunks``), sent chunked.
        Returns how many points InfluxDB dropped as older than the retention policy (the rest of the
        request is written): the caller finds out which, it must not count them as stored."""

        def go() -> int:
            response = self.http.post(
                "/write",
                params={"db": self.database, "rp": rp, "precision": "ns"},
                content=body,
                headers={"Content-Type": "text/plain; charset=utf-8"},
            )
            if response.status_code == HTTPStatus.NO_CONTENT:
                return 0
            if response.status_code == HTTPStatus.BAD_REQUEST and (dropped := beyond_retention_dropped(response.text)):
                log.warning("InfluxDB dropped %d point(s) older than the %r retention policy", dropped, rp)
                return dropped
            _raise_for(response, "write")
            return 0  # unreachable: _raise_for raises

        return self.retry.run("InfluxDB write", go, _transient)


_DROPPED_RE = re.compile(r"points beyond retention policy dropped=(\d+)")


def beyond_retention_dropped(error: str) -> int:
    """The count in InfluxDB's "partial write: points beyond retention policy dropped=N" (1.x and
    2.x word it alike), or 0 when the error is something else."""
    m = _DROPPED_RE.search(error)
    return int(m.group(1)) if m else 0


def _raise_if_stopping(error: str) -> None:
    """influxd 1.x answers a query in flight as it stops with HTTP 200 and the statement error "query engine
    shutdown": the server going away, transient as a refused connection (retried, then ``StoreUnavailable``), not a
    refusal of the statement (an ingest worker stopped on it, tests/ingest/test_faults.py)."""
    if error.startswith("query engine shutdown"):
        raise TransientHttpError(f"InfluxQL: {error} (the server is stopping)")


def _not_created_yet(error: str) -> bool:
    """A database or retention policy that the maintenance role has not created yet (1.x wording)."""
    return error.startswith(("database not found", "retention policy not found"))


def _checked_json(response: HttpResponse, what: str) -> dict[str, Any]:
    if response.status_code >= HTTPStatus.MULTIPLE_CHOICES:
        _raise_for(response, what)
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TransientHttpError(f"{what}: unreadable answer ({response.status_code})") from exc
    if not isinstance(body, dict):
        raise StoreRejected(f"{what}: unexpected answer {body!r:.200}")
    return body


def _raise_for(response: HttpResponse, what: str) -> None:
    status = response.status_code
    text = response.text[:500]
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR or status == HTTPStatus.TOO_MANY_REQUESTS:
        raise TransientHttpError(f"{what}: HTTP {status}: {text}")
    if status in (401, 403):
        raise StoreUnavailable(f"InfluxDB refused our credentials for {what} (HTTP {status}): {text}")
    if status == HTTPStatus.NOT_FOUND:  # database or bucket missing: the operator creates it; nothing refused for good
        raise StoreUnavailable(f"InfluxDB has no such database or bucket for {what} (HTTP 404): {text}")
    raise StoreRejected(f"InfluxDB refused the {what} (HTTP {status}): {text}")
