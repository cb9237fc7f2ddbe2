"""The InfluxDB store: 1.x (Debian's 1.6.7 included), 1.8, 2.x and 3.x behind the Store port.

Writes: servers with ``/api/v2/write`` (1.8+, 2.x, 3.x) go through influxdb-client's write API
in SYNCHRONOUS mode, with batches we assemble, so a failure raises here and the ingest does not
ack (the batching mode would only report it to a callback, detached from our message ids). Older
1.x gets the same line protocol POSTed to ``/write``. Reads: InfluxQL on ``/query`` everywhere.

Layout: one InfluxDB 1.x database with a retention policy per retention class (``raw``,
``rejections``, ``proof``); on 2.x one bucket per class named ``{database}/{class}``, which
InfluxDB maps to database/retention policy for InfluxQL by itself (virtual DBRP mapping).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal

import urllib3

if TYPE_CHECKING:  # imported where used: InfluxDB 1.x (/write) never needs it, and it costs an ingest worker 15 MB
    from influxdb_client.client.influxdb_client import InfluxDBClient
    from influxdb_client.rest import ApiException

from ronde.protocol.topics import TopicKind, gateway_topic
from ronde.redact import redact_url, split_credentials
from ronde.store import influx_days as packed_days
from ronde.store import influx_figures as figures
from ronde.store import influx_letters as letters
from ronde.store import influx_states as states_copy
from ronde.store import influx_visited, schema
from ronde.store.checks import (
    ROLLUP_CHECK,
    ROLLUP_CHECK_RP,
    ROLLUP_MARK,
    VISIT_MARK,
    RollupVerdict,
    UnreadableVerdict,
    mark_line,
    verdict_from_fields,
    verdict_line,
    visit_mark_line,
)
from ronde.store.day_states import DayStates
from ronde.store.errors import StoreRejected
from ronde.store.influx_http import (
    HttpClient,
    InfluxQL,
    Retry,
    Row,
    ServerInfo,
    TransientHttpError,
    WritePath,
    beyond_retention_dropped,
    detect_server,
    quote_ident,
    quote_str,
    write_path,
)
from ronde.store.lineprotocol import LineChunks
from ronde.store.port import StampedSpans, StoreAccess, StoreUnavailable, VisitedSet, VisitSpan
from ronde.store.read_ahead import METHODS as AHEAD
from ronde.store.read_ahead import ReadAhead, ReadAheads, Served
from ronde.store.records import (
    BeaconTelemetryRecord,
    DailyRollup,
    EventKey,
    GatewayStateRecord,
    LetterStates,
    MonthlyFigures,
    MonthlyRollup,
    MonthlySpan,
    MonthlySuffix,
    Rejection,
    RejectReason,
    RetentionPolicy,
    RollupFigures,
    SequenceGap,
    StoredVisit,
    TrackPoint,
    WriteBatch,
)
from ronde.store.retention import DEFAULT_RETENTION, class_days, cutoff, cutoff_day, measurement_days, validate
from ronde.store.schema import NS_PER_MS, RetentionClass, ceil_ms, day_start_ns, to_ms

log = logging.getLogger(__name__)

WriteApiChoice = Literal["auto", "v1", "v2"]
# A gateway's keys further apart than this are looked up by separate statements. Half an hour, not a minute: at a
# team's pace (2-3 min between visits) or with k workers sharing a subscription (every k-th visit each), a minute
# made one statement per visit (influxd 76-84 us per key, the worker 26-29 us; 8-22 and 7-16 us with this gap,
# bench/bench_known_ids.py, docs/scaling.md). A team closes a visit every few tens of seconds at most, so a merged
# gap reads some tens of visits (and their visit_id points) the batch did not ask for; the answer is the same.
KNOWN_IDS_GAP_MS = 1_800_000
TRACKED_PER_REQUEST = 10
ABSENT_MEMO_S = 30.0  # how long ids known_event_ids found absent spare write() a second look-up
# how long a store trusts what it last found of the letters' old layout (``influx_letters``): a reader started
# before the maintenance role migrated them stops reading the old measurements this long after they are dropped
OLD_LETTERS_MEMO_S = 300.0


_MAX_TAG_TERMS = 100  # gateways named in one visits() statement; more are filtered here


def shard_duration(days: int) -> str:
    """InfluxDB 1.x's own default shard group durations, set explicitly so ALTER keeps them valid."""
    if days < 2:  # noqa: PLR2004 - InfluxDB's documented thresholds
        return "1h"
    if days <= 180:  # noqa: PLR2004 - InfluxDB's documented thresholds
        return "1d"
    return "7d"


class InfluxStore:
    """The Store port on InfluxDB. ``open()`` detects the server and prepares the layout."""

    def __init__(
        self,
        url: str,
        *,
        database: str = "ronde",
        token: str | None = None,
        org: str | None = None,
        username: str | None = None,
        password: str | None = None,
        retention: RetentionPolicy = DEFAULT_RETENTION,
        write_api: WriteApiChoice = "auto",
        timeout_s: float = 10.0,
        retry_budget_s: float = 10.0,
        max_lines_per_request: int = 5000,
        access: StoreAccess = StoreAccess.WRITE,
    ) -> None:
        validate(retention)
        url, url_user, url_password = split_credentials(url)
        self.url = url.rstrip("/")
        self._ahead = ReadAheads()
        self.access = access
        username = username or url_user
        password = password if password is not None else url_password
        self.database = database
        self._token = token
        self._org = org
        self._username = username
        self._password = password
        self._retention = retention
        self._write_api_choice = write_api
        self._timeout_s = timeout_s
        self._retry = Retry(budget_s=retry_budget_s)
        self._max_lines = max_lines_per_request
        self._http = self._new_http()
        self._ql = InfluxQL(self._http, database, self._retry)
        self._client: InfluxDBClient | None = None
        self._write_api: Any = None
        self.server: ServerInfo | None = None
        self.path: WritePath | None = None
        self._last_written_ms = 0
        self._writer = os.urandom(8).hex()  # keeps this object's visit_mark points apart from another worker's
        self._lock = threading.Lock()
        self._local = threading.local()
        self._old_letters: tuple[float, frozenset[str]] | None = None  # (when looked, old measurements found)

    # ---- lifecycle ---------------------------------------------------------------------------

    def _new_http(self) -> HttpClient:
        """Token header for 2.x/3.x (and 1.8 given one); basic auth for 1.x users."""
        headers = {"Authorization": f"Token {self._token}"} if self._token else {}
        auth = (self._username, self._password or "") if self._username and not self._token else None
        return HttpClient(self.url, headers=headers, basic_auth=auth, timeout_s=self._timeout_s)

    def open(self) -> None:
        if self._http.is_closed:  # reopened after close()
            self._http = self._new_http()
            self._ql = InfluxQL(self._http, self.database, self._retry)
        self.server = self._retry.run("InfluxDB /ping", lambda: detect_server(self._http), _transient)
        self.path = write_path(self.server) if self._write_api_choice == "auto" else WritePath(self._write_api_choice)
        log.info("InfluxDB %s at %s: writing through %s", self.server.version, redact_url(self.url), self.path.value)
        if self.access is StoreAccess.READ:
            self._report_missing_layout()
            return
        if self.path is WritePath.V2:
            from influxdb_client.client.write_api import SYNCHRONOUS

            self._write_api = self._influx_client().write_api(write_options=SYNCHRONOUS)
        self._ensure_layout(self._retention, adjust=self.access is StoreAccess.MAINTAIN)
        if self.access is StoreAccess.MAINTAIN:
            self.migrate_letters()
            self.copy_letter_states()
            self.pack_days()

    def check(self) -> None:
        """``/ping`` once, without the retry budget: a health probe must answer quickly."""
        try:
            detect_server(self._http)
        except (TransientHttpError, urllib3.exceptions.HTTPError) as exc:
            raise StoreUnavailable(f"InfluxDB at {redact_url(self.url)}: {exc}") from exc

    def _report_missing_layout(self) -> None:
        """A reader changes nothing; before ingest first ran there is nothing to read: say so once
        (reads of a database or retention policy not created yet come back empty)."""
        if self._major() != 1:
            return
        rows = self._ql.query([f"SHOW RETENTION POLICIES ON {quote_ident(self.database)}"])[0]
        missing = {rp.value for rp in RetentionClass} - {str(r["name"]) for r in rows}
        if missing:
            log.warning(
                "InfluxDB database %r has no retention policies %s yet: reads are empty until ingest "
                "(the maintenance role) or `ronde store init` creates them",
                self.database,
                ", ".join(sorted(missing)),
            )

    def _influx_client(self) -> InfluxDBClient:
        from influxdb_client.client.influxdb_client import InfluxDBClient

        if self._client is None:
            self._client = InfluxDBClient(
                url=self.url, token=self._client_token(), org=self._client_org(), timeout=int(self._timeout_s * 1000)
            )
        return self._client

    def close(self) -> None:
        self._ahead.close()
        if self._client is not None:
            self._client.close()  # type: ignore[no-untyped-call]
            self._client = None
            self._write_api = None
        self._http.close()

    def _client_token(self) -> str:
        if self._token:
            return self._token
        if self._username:  # InfluxDB 1.8's v2 API takes "user:password" as the token
            return f"{self._username}:{self._password or ''}"
        return ""

    def _client_org(self) -> str:
        return self._org or "-"  # 1.8 ignores the org; "-" is its documented placeholder

    def bucket(self, rp: RetentionClass) -> str:
        return f"{self.database}/{rp.value}"

    def _major(self) -> int:
        if self.server is None:
            raise StoreUnavailable("InfluxStore used before open()")
        if self.server.major is None:  # unknown version, write path forced by configuration
            return 1 if self.path is WritePath.V1 else 2
        return self.server.major

    def _ensure_layout(self, policy: RetentionPolicy, *, adjust: bool) -> None:
        """Create what is missing with ``policy``; ``adjust`` (the maintenance role only) also sets
        existing policies/buckets to it. Anyone else adjusting would reset the retention the
        maintenance role configured (see ``StoreAccess``)."""
        major = self._major()
        if major == 1:
            self._ensure_retention_policies_v1(policy, adjust=adjust)
        elif major == 2:  # noqa: PLR2004 - InfluxDB 2.x
            self._ensure_buckets_v2(policy, adjust=adjust)
        else:
            log.info(
                "InfluxDB %s: databases %s are created on first write; their retention period is set by the "
                "operator (see docs/retention.md)",
                self.server.version if self.server else "3.x",
                ", ".join(self.bucket(rp) for rp in RetentionClass),
            )

    def _ensure_retention_policies_v1(self, policy: RetentionPolicy, *, adjust: bool) -> None:
        db = quote_ident(self.database)
        self._ql.query([f"CREATE DATABASE {db}"])
        existing = {str(r["name"]) for r in self._ql.query([f"SHOW RETENTION POLICIES ON {db}"])[0]}
        statements = []
        for rp, days in class_days(policy).items():
            if rp.value in existing and not adjust:
                continue
            verb = "ALTER" if rp.value in existing else "CREATE"
            default = " DEFAULT" if rp is RetentionClass.RAW else ""  # unqualified dashboard queries read raw
            statements.append(
                f"{verb} RETENTION POLICY {quote_ident(rp.value)} ON {db} DURATION {days}d REPLICATION 1 "
                f"SHARD DURATION {shard_duration(days)}{default}"
            )
        self._ql.query(statements)

    def _ensure_buckets_v2(self, policy: RetentionPolicy, *, adjust: bool) -> None:
        from influxdb_client.domain.bucket_retention_rules import BucketRetentionRules
        from influxdb_client.rest import ApiException

        api = self._influx_client().buckets_api()
        try:
            for rp, days in class_days(policy).items():
                name = self.bucket(rp)
                rules = BucketRetentionRules(type="expire", every_seconds=days * 86_400)  # type: ignore[no-untyped-call]
                found = api.find_bucket_by_name(name)  # type: ignore[no-untyped-call]
                if found is None:
                    api.create_bucket(bucket_name=name, retention_rules=rules, org=self._org)
                elif adjust and [r.every_seconds for r in found.retention_rules or []] != [rules.every_seconds]:
                    found.retention_rules = [rules]
                    api.update_bucket(found)
        except ApiException as exc:
            if exc.status in (401, 403, 404):
                log.warning(
                    "this token may not manage buckets (HTTP %s): the operator must create buckets %s with "
                    "retention %s days (see docs/retention.md)",
                    exc.status,
                    ", ".join(self.bucket(rp) for rp in RetentionClass),
                    "/".join(str(d) for d in class_days(policy).values()),
                )
                return
            raise _api_error(exc, "bucket set-up") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StoreUnavailable(f"InfluxDB bucket set-up: {exc}") from exc

    # ---- writes ------------------------------------------------------------------------------

    def write(self, batch: WriteBatch) -> None:
        """Raises StoreRejected for a record line protocol cannot carry (a non-finite float, an
        integer beyond 64 bits) before anything is sent, and for InfluxDB's own 4xx refusals."""
        groups: dict[RetentionClass, list[str]] = {rp: [] for rp in RetentionClass}
        raw = groups[RetentionClass.RAW]
        visits = self._unstored(batch.visits) if batch.visits else []
        try:
            raw.extend(self._visit_mark_lines(visits))
            raw.extend(schema.visit_line(v) for v in visits)
            raw.extend(self._visit_id_lines(visits))
            raw.extend(schema.telemetry_line(t) for t in batch.telemetry)
            raw.extend(schema.gateway_state_line(s) for s in batch.gateway_states)
            raw.extend(schema.gap_line(g) for g in batch.gaps)
            groups[RetentionClass.REJECTIONS].extend(schema.rejection_line(r) for r in batch.rejections)
        except (ValueError, OverflowError) as exc:  # LineProtocolError is a ValueError
            raise StoreRejected(f"InfluxDB line protocol cannot carry a record: {exc}") from exc
        dropped = {rp: self.write_lines(rp, lines) for rp, lines in groups.items()}
        if dropped[RetentionClass.RAW]:
            self._record_dropped_visits(visits, dropped[RetentionClass.RAW])
        for rp in (RetentionClass.REJECTIONS, RetentionClass.PROOF):
            if dropped[rp]:
                log.error("InfluxDB dropped %d %s point(s) as beyond its retention policy", dropped[rp], rp.value)

    def _record_dropped_visits(self, visits: Sequence[StoredVisit], dropped: int) -> None:
        """InfluxDB answers "partial write: points beyond retention policy dropped=N" and writes the
        rest: those visits would be acked as stored while gone. It says only how many, so the visits
        that cannot be read back are the dropped ones; each becomes a ``beyond_retention`` rejection
        (event id, payload digest) that supervision lists. Once per message: a redelivery finds it."""
        present = self._known_ids([v.key for v in visits], by_id=False) if visits else set()
        lost = [v for v in visits if v.event_id not in present]
        if dropped > len(lost):
            log.warning(
                "InfluxDB dropped %d raw point(s) other than visits (visit_mark, telemetry, states, gaps) as beyond "
                "the %r retention policy",
                dropped - len(lost),
                RetentionClass.RAW.value,
            )
        if not lost:
            return
        rejections = [_beyond_retention(v, self.bucket(RetentionClass.RAW)) for v in lost]
        known = self.known_rejections(rejections, timedelta(days=1))
        fresh = [r for r in rejections if (r.topic, r.payload_sha256) not in known]
        self.write_lines(RetentionClass.REJECTIONS, [schema.rejection_line(r) for r in fresh])
        log.warning(
            "InfluxDB dropped %d visit(s) older than the raw retention policy: recorded as rejections "
            "(beyond_retention)",
            len(lost),
        )

    def _written_at(self) -> int:
        """A ``written_at`` (ms) later than any this object gave before: the newest one wins on read."""
        with self._lock:
            written_at = max(time.time_ns() // NS_PER_MS, self._last_written_ms + 1)
            self._last_written_ms = written_at
        return written_at

    def _visit_mark_lines(self, visits: Sequence[StoredVisit]) -> list[str]:
        """A ``visit_mark`` point per service day of ``visits`` (``Store.event_marks``), written before the visits:
        a failure between the two leaves a mark that moved for nothing (one more check), never visits stored
        without one (their redelivery is dropped as duplicates, so it would not mark them)."""
        if not visits:
            return []
        written_at = self._written_at()
        days = Counter(v.service_day for v in visits)
        return [visit_mark_line(day, written_at, n, self._writer) for day, n in sorted(days.items())]

    def write_lines(self, rp: RetentionClass, lines: Sequence[str]) -> int:
        """Line protocol into one retention class, in requests of at most ``max_lines_per_request``.
        Returns how many points InfluxDB dropped as older than the class's retention."""
        if self.access is StoreAccess.READ and lines:
            raise StoreRejected("this InfluxStore was opened read-only (StoreAccess.READ): it writes nothing")
        dropped = 0
        for i in range(0, len(lines), self._max_lines):
            try:
                body = LineChunks(lines[i : i + self._max_lines])
            except UnicodeEncodeError as exc:  # a lone surrogate: no UTF-8 can carry it
                raise StoreRejected("InfluxDB line protocol cannot carry a string that is not valid Unicode") from exc
            if self.path is WritePath.V1:
                dropped += self._ql.write_v1(body, rp=rp.value)
            elif self.path is WritePath.V2:
                dropped += self._write_v2(bytes(body), self.bucket(rp))
            else:
                raise StoreUnavailable("InfluxStore used before open()")
        return dropped

    def _write_v2(self, body: bytes, bucket: str) -> int:
        from influxdb_client.domain.write_precision import WritePrecision
        from influxdb_client.rest import ApiException

        def go() -> int:
            try:
                self._write_api.write(
                    bucket=bucket, org=self._client_org(), record=body, write_precision=WritePrecision.NS
                )
            except ApiException as exc:
                if exc.status == HTTPStatus.BAD_REQUEST and (dropped := beyond_retention_dropped(str(exc.body or ""))):
                    log.warning("InfluxDB dropped %d point(s) older than bucket %r's retention", dropped, bucket)
                    return dropped
                raise _api_error(exc, "write") from exc
            return 0

        return self._retry.run("InfluxDB write", go, _transient)

    def write_rollups(self, rollups: Sequence[DailyRollup]) -> None:
        """Each change of a rollup is a new point (InfluxDB 3 accepts identical replays only); the
        newest ``written_at`` wins on read. A rollup identical to the newest stored one is skipped.
        The changed rollups' figures are also written packed (``influx_days``), after the proof and its marks, and
        last a pack mark for each day whose packed copy was whole before (or that had no rollup): a day written
        by earlier code stays read from ``checkpoint_day`` until ``pack_days`` copies it."""
        if not rollups:
            return
        first = min(r.service_day for r in rollups)
        last = max(r.service_day for r in rollups)
        stored = self.rollups(first, last)
        current = {(r.service_day, r.checkpoint_id): schema.rollup_content(r) for r in stored}
        changed = [r for r in rollups if current.get((r.service_day, r.checkpoint_id)) != schema.rollup_content(r)]
        if not changed:
            return
        rolled = {r.service_day for r in stored}
        by_day, by_pack = packed_days.states(self._ql, first, last, None)
        written_at = self._written_at()
        marks = Counter((r.service_day, r.landlord) for r in changed)
        days = sorted({r.service_day for r in changed})
        self.write_lines(
            RetentionClass.PROOF,
            [schema.rollup_line(r, written_at) for r in changed]
            + [mark_line(day, lid, written_at, n) for (day, lid), n in sorted(marks.items())]
            + schema.estate_day_lines((r, written_at, schema.rollup_ns(r, written_at)) for r in changed)
            + [
                packed_days.mark_line(day, written_at)
                for day in days
                if day not in rolled or packed_days.whole(by_day, by_pack, day)
            ],
        )

    def write_monthly_rollups(self, rollups: Sequence[MonthlyRollup]) -> None:
        """As ``write_rollups``: a changed monthly rollup is a new point, the newest ``written_at`` wins."""
        if not rollups:
            return
        current: dict[tuple[date, str], tuple[object, ...]] = {}
        for month in sorted({r.month for r in rollups}):
            current.update({(m.month, m.checkpoint_id): schema.monthly_content(m) for m in self.monthly_rollups(month)})
        changed = [r for r in rollups if current.get((r.month, r.checkpoint_id)) != schema.monthly_content(r)]
        if not changed:
            return
        written_at = self._written_at()
        marks = letters.mark_lines({r.month for r in changed}, written_at)  # the spans reaching them: unread
        states = states_copy.lines(
            states_copy.MONTH,
            (states_copy.row_of(r, r.month, written_at, schema.monthly_ns(r, written_at)) for r in changed),
        )
        self.write_lines(RetentionClass.PROOF, [*marks, *(schema.letter_line(r, written_at) for r in changed), *states])

    def write_monthly_suffixes(self, month: date, suffixes: Sequence[MonthlySuffix]) -> None:
        """As ``write_monthly_rollups``: a changed suffix letter is a new point, the newest ``written_at`` wins per
        (day, checkpoint). A suffix not written again stays (none is dropped but by retention): its rows come
        from the month's rollups under the same basis (registry revision included), which only add rows."""
        if not suffixes:
            return
        lo = month.replace(day=1)
        hi = (lo + timedelta(days=32)).replace(day=1)
        current = {
            (x.from_day, x.letter.checkpoint_id): schema.monthly_content(x.letter)
            for x in self.suffix_letters([f"time >= {day_start_ns(lo)}", f"time < {day_start_ns(hi)}"])
        }
        changed = [
            x for x in suffixes if current.get((x.from_day, x.letter.checkpoint_id)) != schema.monthly_content(x.letter)
        ]
        if changed:
            written_at = self._written_at()
            marks = letters.mark_lines([lo], written_at)  # the spans reaching the month: unread
            states = states_copy.lines(
                states_copy.SUFFIX,
                (
                    states_copy.row_of(x.letter, x.from_day, written_at, schema.suffix_ns(x, written_at))
                    for x in changed
                ),
            )
            self.write_lines(
                RetentionClass.PROOF, [*marks, *(schema.suffix_letter_line(x, written_at) for x in changed), *states]
            )

    def write_month_spans(self, through: date, spans: Sequence[MonthlySpan]) -> None:
        """Every span written again, unchanged ones too: its ``written_at`` must be newer than the marks of the
        letters it was folded from (``influx_letters.current_spans``). Older spans stay until retention; a read
        takes those through ``through`` only."""
        if any(x.letter.month != through.replace(day=1) for x in spans):
            raise ValueError(f"span letters through another month than {through:%Y-%m}")
        if spans:
            written_at = self._written_at()
            states = states_copy.lines(
                states_copy.SPAN,
                (states_copy.row_of(x.letter, x.from_day, written_at, schema.span_ns(x, written_at)) for x in spans),
            )
            self.write_lines(RetentionClass.PROOF, [*(schema.span_letter_line(x, written_at) for x in spans), *states])

    def span_figures(self, from_day: date, through: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        """The span letters and the letters' marks of their months in one request (``influx_letters``); a read
        started ahead serves it."""
        ahead: list[MonthlyFigures] | None = self._ahead.take("span_figures", from_day, through, landlord)
        if ahead is not None:
            return ahead
        where = _where(day_start_ns(from_day), day_start_ns(from_day + timedelta(days=1)), landlord)
        statements = letters.span_statements(from_day, through, where)
        return letters.current_spans(self._ql.results(statements, rp=RetentionClass.PROOF.value), through)

    def write_tail_letters(self, from_day: date, letters: Sequence[MonthlyRollup]) -> None:
        """Every letter written as a new point (the newest per (day, checkpoint) is read); older ones stay until
        retention: a reader takes only letters of its own basis (``ronde.coverage.tail_letters``)."""
        if any(r.month != from_day for r in letters):
            raise ValueError(f"tail letters of another first day than {from_day}")
        if letters:
            written_at = self._written_at()
            states = states_copy.lines(
                states_copy.TAIL,
                (states_copy.row_of(r, r.month, written_at, schema.tail_ns(r, written_at)) for r in letters),
            )
            self.write_lines(
                RetentionClass.PROOF, [*(schema.tail_letter_line(r, written_at) for r in letters), *states]
            )

    def tail_figures(self, from_day: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        """One request (``influx_letters.current_tails``); a read started ahead serves it."""
        ahead: list[MonthlyFigures] | None = self._ahead.take("tail_figures", from_day, from_day, landlord)
        if ahead is not None:
            return ahead
        where = _where(day_start_ns(from_day), day_start_ns(from_day + timedelta(days=1)), landlord)
        statement = figures.select_letters(schema.CHECKPOINT_LETTER_TAIL, ("figures",), where)
        return letters.current_tails(self._ql.results([statement], rp=RetentionClass.PROOF.value)[0], from_day)

    def suffix_letters(self, where: list[str]) -> list[MonthlySuffix]:
        """The newest suffix letter per (day, checkpoint) ``where`` selects, by checkpoint then day."""
        kept = letters.newest(self._ql, letters.SUFFIXES, where, old=self._reads_old(letters.SUFFIXES))
        return [MonthlySuffix(day, letter) for day, _, letter in letters.letters(kept)]

    # ---- the letters' layout (ronde.store.influx_letters) ---------------------------------------

    def _reads_old(self, layout: letters.Layout) -> bool:
        """Whether the letters' old layout is still there to read (looked up again after ``OLD_LETTERS_MEMO_S``)."""
        now = time.monotonic()
        memo = self._old_letters
        if memo is None or now - memo[0] > OLD_LETTERS_MEMO_S:
            try:
                memo = (now, letters.old_names(self._ql))
            except StoreRejected:  # a server without SHOW MEASUREMENTS: read both layouts
                memo = (now, letters.OLD_NAMES)
            self._old_letters = memo
        return layout.old.name in memo[1]

    def _migration_start(self) -> float:
        """Refuses a migration on a read-only store; else the clock its log line counts from."""
        if self.access is StoreAccess.READ:
            raise StoreRejected(
                "this InfluxStore was opened read-only (StoreAccess.READ): migrations are maintenance's"
            )
        return time.monotonic()

    def migrate_letters(self) -> int:
        """Rewrite the letters of the old layout in the packed one and drop the old (``influx_letters.migrate``;
        the maintenance role does it as it opens); returns how many letters it wrote."""
        t0 = self._migration_start()
        n = letters.migrate(self._ql, lambda lines: self.write_lines(RetentionClass.PROOF, lines), self._drop)
        self._old_letters = None
        if n:
            log.info("letters: %d migrated to the packed layout in %.1f s", n, time.monotonic() - t0)
        return n

    def copy_letter_states(self) -> int:
        """Write the states of the letters earlier code wrote without them (``influx_states.copy``; the maintenance
        role does it as it opens, after ``migrate_letters``); returns how many it wrote."""
        t0 = self._migration_start()
        n = states_copy.copy(
            self._ql,
            lambda lines: self.write_lines(RetentionClass.PROOF, lines),
            lambda m: letters.days_with_points(self._ql, m, "figures"),
            now_ms=self._written_at(),
        )
        if n:
            log.info("letters: the states of %d copied in %.1f s", n, time.monotonic() - t0)
        return n

    def pack_days(self) -> int:
        """Write the packed copy of the days whose copy is missing or behind (``influx_days.pack``: data written by
        earlier code; the maintenance role does it as it opens); returns how many rows it wrote."""
        t0 = self._migration_start()
        n = packed_days.pack(
            self._ql,
            lambda lines: self.write_lines(RetentionClass.PROOF, lines),
            now_ms=self._written_at(),
            drop=self._drop,
        )
        if n:
            log.info("daily figures: %d rollups packed in %.1f s", n, time.monotonic() - t0)
        return n

    def _drop(self, measurement: str) -> bool:
        """Delete every point of ``measurement`` (proof class); False where the server cannot (3.x)."""
        major = self._major()
        if major == 1:
            self._ql.query([f"DROP MEASUREMENT {quote_ident(measurement)}"])
            return True
        if major == 2:  # noqa: PLR2004 - InfluxDB 2.x
            from influxdb_client.rest import ApiException

            try:
                self._influx_client().delete_api().delete(
                    start="1970-01-01T00:00:00Z",
                    stop="2262-01-01T00:00:00Z",
                    predicate=f'_measurement="{measurement}"',
                    bucket=self.bucket(RetentionClass.PROOF),
                    org=self._client_org(),
                )
            except ApiException as exc:
                raise _api_error(exc, "delete") from exc
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise StoreUnavailable(f"InfluxDB delete: {exc}") from exc
            return True
        return False

    # ---- reads -------------------------------------------------------------------------------

    def _select(self, measurement: schema.Measurement, where: Iterable[str], suffix: str = "") -> list[Row]:
        clause = " AND ".join(where)
        statement = f"SELECT * FROM {quote_ident(measurement.name)}" + (f" WHERE {clause}" if clause else "") + suffix
        return self._ql.query([statement], rp=measurement.retention.value)[0]

    def known_event_ids(self, keys: Collection[EventKey]) -> set[str]:
        """One narrow statement per gateway and cluster of times, filtered here: InfluxDB 1.x plans
        ``event_id = 'a' OR …`` chains in quadratic time (500 terms: over 10 s), while one series'
        points of a few minutes come back in milliseconds. The gateway tag keeps a backlog drain from
        reading every other gateway's points of the same minutes. Times are clustered with a wide gap
        (``KNOWN_IDS_GAP_MS``): a statement costs influxd far more than the few extra rows it reads.

        Two places are read: the ``visit_id`` points at the id's own (ULID) time, which find the event
        whatever first_seen a copy carries, and the visits around the key's first_seen (events stored
        before ``visit_id`` existed, or whose id is not a ULID). The ids found absent are remembered
        for the ``write`` that follows in this thread, which then need not look them up again."""
        found = self._known_ids(keys, by_id=True)
        self._local.absent = (time.monotonic(), frozenset({k.event_id for k in keys} - found))
        return found

    def known_event_ids_and_track(
        self, keys: Collection[EventKey], start: datetime, end: datetime, gateway_ids: Collection[str]
    ) -> tuple[set[str], list[TrackPoint]]:
        """``known_event_ids`` and ``visit_track`` from one statement per gateway: the track's gateways are read
        over their key times' clusters and the track's range together, with the track's columns, and each answer
        is cut from the rows as its own statement would have cut it (an id is known when its point lies in one of
        its gateway's clusters; a point is the track's when it is a visit of [start, end)). The track's own
        statement scanned every series of the same gateways a second time: about as much of influxd's CPU as the
        look-up itself on bench_ingest's batches (docs/performance.md)."""
        track = _TrackRead(ceil_ms(start) * NS_PER_MS, ceil_ms(end) * NS_PER_MS, frozenset(gateway_ids))
        found, points = self._read_ids(keys, by_id=True, track=track)
        self._local.absent = (time.monotonic(), frozenset({k.event_id for k in keys} - found))
        return found, points

    def _known_ids(self, keys: Collection[EventKey], *, by_id: bool) -> set[str]:
        return self._read_ids(keys, by_id=by_id, track=None)[0]

    def _read_ids(
        self, keys: Collection[EventKey], *, by_id: bool, track: _TrackRead | None
    ) -> tuple[set[str], list[TrackPoint]]:
        """Both places in one statement per gateway and cluster (``FROM "visit","visit_id"``): an id's
        ULID time is its visit's close, a minute or so after its first_seen, so the two usually fall
        in one cluster, and one statement costs about half of two. With ``track``, its gateways' statements
        also cover its range and read its columns (``known_event_ids_and_track``)."""
        wanted = {k.event_id for k in keys}
        found: set[str] = set()
        points: list[TrackPoint] = []
        for chunk in _requests(_id_statements(keys, by_id=by_id, track=track)):
            answers = self._ql.results([c[0] for c in chunk], rp=schema.VISIT.retention.value)
            # as before: the answers as they come (a stand-in of another server may answer one result for many)
            for (_, gateway, clusters), answer in zip(chunk, answers, strict=False):
                for series in answer.get("series", ()):
                    columns = series["columns"]
                    at, eid = columns.index("time"), columns.index("event_id")
                    values = series.get("values", ())
                    if clusters is None:
                        found.update(e for v in values if (e := str(v[eid])) in wanted)
                        continue
                    assert track is not None
                    last, cp = columns.index("last_seen"), columns.index("checkpoint")
                    for v in values:
                        _track_row(int(v[at]), v[eid], v[last], v[cp], gateway, clusters, wanted, track, found, points)
        return found, points

    def _unstored(self, visits: Sequence[StoredVisit]) -> list[StoredVisit]:
        """One event per id, as SQLite's primary key keeps it: the batch's first copy, and none whose
        id is already stored, whatever first_seen this copy carries (its point would be another
        point). Ids ``known_event_ids`` found absent just before in this thread (ingest looks them
        up, then writes) are not looked up a second time; two workers racing may still both write."""
        first: dict[str, StoredVisit] = {}
        for v in visits:
            first.setdefault(v.event_id, v)
        at, absent = getattr(self._local, "absent", (0.0, frozenset()))
        self._local.absent = (0.0, frozenset())
        if time.monotonic() - at > ABSENT_MEMO_S:
            absent = frozenset()
        unchecked = [v.key for v in first.values() if v.event_id not in absent]
        known = self._known_ids(unchecked, by_id=True) if unchecked else set()
        return [v for v in first.values() if v.event_id not in known]

    def _visit_id_lines(self, visits: Sequence[StoredVisit]) -> list[str]:
        """A ``visit_id`` point per visit whose id time InfluxDB keeps (a ULID made outside the raw
        retention would be dropped: its event is then found by first_seen only)."""
        now_ms = time.time_ns() // NS_PER_MS
        lo_ns = (now_ms - self._retention.raw_days * 86_400_000 + 3_600_000) * NS_PER_MS
        hi_ns = (now_ms + 86_400_000) * NS_PER_MS
        return [
            schema.visit_id_line(v, ns)
            for v in visits
            if (ns := schema.visit_id_ns(v.event_id)) is not None and lo_ns <= ns < hi_ns
        ]

    def visits(
        self,
        start: datetime,
        end: datetime,
        *,
        landlord: str | None = None,
        checkpoint_ids: Collection[str] | None = None,
        gateway_ids: Collection[str] | None = None,
    ) -> list[StoredVisit]:
        if (checkpoint_ids is not None and not checkpoint_ids) or (gateway_ids is not None and not gateway_ids):
            return []
        where = [f"time >= {ceil_ms(start) * NS_PER_MS}", f"time < {ceil_ms(end) * NS_PER_MS}"]
        if landlord is not None:
            where.append(f"{quote_ident('landlord')} = {quote_str(landlord)}")
        if gateway_ids is not None and len(gateway_ids) <= _MAX_TAG_TERMS:  # a tag: one series per gateway
            where.append("(" + " OR ".join(f"{quote_ident('gateway')} = {quote_str(g)}" for g in gateway_ids) + ")")
        wanted = None if checkpoint_ids is None else set(checkpoint_ids)
        gateways = None if gateway_ids is None else set(gateway_ids)
        rows = self._select(schema.VISIT, where)
        out = [
            schema.visit_from_row(r)
            for r in rows
            if schema.visit_row_complete(r)
            and (wanted is None or r["checkpoint"] in wanted)
            and (gateways is None or r["gateway"] in gateways)
        ]
        out.sort(key=lambda v: (v.first_seen, v.event_id))
        return out

    def visit_track(self, start: datetime, end: datetime, gateway_ids: Collection[str]) -> list[TrackPoint]:
        """Two fields and two tags of each point instead of ``SELECT *`` (influxd reads and sends less, and no
        ``StoredVisit`` is built); a point whose five values are not all there yet (being written) is skipped, as
        ``visits`` skips an incomplete row."""
        if not gateway_ids:
            return []
        where = [f"time >= {ceil_ms(start) * NS_PER_MS}", f"time < {ceil_ms(end) * NS_PER_MS}"]
        if len(gateway_ids) <= _MAX_TAG_TERMS:
            where.append("(" + " OR ".join(f"{quote_ident('gateway')} = {quote_str(g)}" for g in gateway_ids) + ")")
        columns = ",".join(quote_ident(c) for c in ("event_id", "last_seen", "gateway", "checkpoint"))
        statement = f"SELECT {columns} FROM {quote_ident(schema.VISIT.name)} WHERE {' AND '.join(where)}"
        gateways = set(gateway_ids)
        out: list[TrackPoint] = []
        for r in self._ql.query([statement], rp=schema.VISIT.retention.value)[0]:
            gateway, event_id, last_seen, checkpoint = (
                r.get("gateway"),
                r.get("event_id"),
                r.get("last_seen"),
                r.get("checkpoint"),
            )
            if gateway in gateways and event_id is not None and last_seen is not None and checkpoint is not None:
                first_ms = int(r["time"]) // NS_PER_MS
                out.append(TrackPoint(str(gateway), first_ms, int(last_seen), str(event_id), str(checkpoint)))
        return out

    def visit_spans(self, start: datetime, end: datetime, *, landlord: str | None = None) -> list[VisitSpan]:
        return self._spans(self._spans_where(start, end, landlord))[0]

    def visit_spans_kept(
        self,
        start: datetime,
        end: datetime,
        *,
        landlord: str | None,
        day: date,
        kept: StampedSpans | None,
    ) -> StampedSpans:
        """The stamp is the number of points read, kept only when every one was complete; a later ``count`` of
        ``last_seen`` over the same points equal to it means the same points (visible values stay visible,
        visits are never edited in place, and only retention deletes them, weeks later). A point read before
        all its fields were seen makes the read unkeepable: counted again, it would hide the fields it lacked.
        ``day`` is SQLite's unit; here the stamp covers the whole range, every service day in it."""
        if kept is None:
            ahead: StampedSpans | None = self._ahead.take("visit_spans_kept", start, end, landlord, day)
            if ahead is not None:
                return ahead
        where = self._spans_where(start, end, landlord)
        if kept is not None and kept[0] is not None:
            statement = f"SELECT count({quote_ident('last_seen')}) FROM {quote_ident(schema.VISIT.name)} WHERE {where}"
            rows = self._ql.query([statement], rp=schema.VISIT.retention.value)[0]
            if str(int(rows[0]["count"]) if rows else 0) == kept[0]:
                return kept
        spans, complete = self._spans(where)
        return (str(len(spans)) if complete else None), spans

    @staticmethod
    def _spans_where(start: datetime, end: datetime, landlord: str | None) -> str:
        where = [f"time >= {ceil_ms(start) * NS_PER_MS}", f"time < {ceil_ms(end) * NS_PER_MS}"]
        if landlord is not None:
            where.append(f"{quote_ident('landlord')} = {quote_str(landlord)}")
        return " AND ".join(where)

    def _spans(self, where: str) -> tuple[list[VisitSpan], bool]:
        """Four fields and five tags of each point instead of ``SELECT *`` (influxd reads and sends less, and no
        ``StoredVisit`` is built), and whether every point was complete: one whose values are not all there yet
        (being written) is skipped, as ``visits`` skips an incomplete row."""
        names = (
            "checkpoint",
            "badge",
            "last_seen",
            "service_day",
            "kind",
            "building",
            "estate",
            "landlord",
            "event_id",
        )
        columns = ",".join(quote_ident(c) for c in names)
        statement = f"SELECT {columns} FROM {quote_ident(schema.VISIT.name)} WHERE {where}"
        days: dict[str, date] = {}
        out: list[VisitSpan] = []
        complete = True
        for r in self._ql.query([statement], rp=schema.VISIT.retention.value)[0]:
            cid, badge, last, day, kind, estate, owner = (
                r.get("checkpoint"),
                r.get("badge"),
                r.get("last_seen"),
                r.get("service_day"),
                r.get("kind"),
                r.get("estate"),
                r.get("landlord"),
            )
            if last is None or None in (cid, badge, day, kind, estate, owner, r.get("event_id")):
                complete = False
                continue
            d = days.get(str(day))
            if d is None:
                d = days[str(day)] = date.fromisoformat(str(day))
            first = int(r["time"]) // NS_PER_MS
            building = r.get("building") or None
            out.append(
                VisitSpan(str(cid), str(badge), first, int(last), d, str(kind), building, str(estate), str(owner))
            )
        return out, complete

    def visits_of_days(self, days: Collection[date], *, landlord: str | None = None) -> list[StoredVisit]:
        """A service day's visits start between its date and the next (evenings may cross midnight):
        each run of close days becomes one time-bounded statement, filtered on service_day here."""
        wanted = {d.isoformat() for d in days}
        statements = []
        for run in _runs(sorted(set(days))):
            where = [
                f"time >= {day_start_ns(run[0] - timedelta(days=1))}",
                f"time < {day_start_ns(run[-1] + timedelta(days=2))}",
            ]
            if landlord is not None:
                where.append(f"{quote_ident('landlord')} = {quote_str(landlord)}")
            statements.append(f"SELECT * FROM {quote_ident(schema.VISIT.name)} WHERE {' AND '.join(where)}")
        out: list[StoredVisit] = []
        for i in range(0, len(statements), 50):
            for rows in self._ql.query(statements[i : i + 50], rp=schema.VISIT.retention.value):
                out.extend(
                    schema.visit_from_row(r)
                    for r in rows
                    if schema.visit_row_complete(r) and r["service_day"] in wanted
                )
        out.sort(key=lambda v: (v.first_seen, v.event_id))
        return out

    def sequence_numbers(self, gateway_id: str, start: datetime, end: datetime) -> list[int]:
        """``received_at`` is a field, so the time bound is on first_seen: nothing stored is older
        than the raw retention, and no visit starts after it is received (plus clock slack)."""
        lookback = timedelta(days=self._retention.raw_days + 1)
        where = [
            f"time >= {to_ms(end - lookback) * NS_PER_MS}",
            f"time < {to_ms(end + timedelta(hours=1)) * NS_PER_MS}",
            f"{quote_ident('gateway')} = {quote_str(gateway_id)}",
            f"{quote_ident('received_at')} >= {ceil_ms(start)}",
            f"{quote_ident('received_at')} < {ceil_ms(end)}",
        ]
        statement = (
            f"SELECT {quote_ident('seq')}, {quote_ident('received_at')} FROM "
            f"{quote_ident(schema.VISIT.name)} WHERE {' AND '.join(where)}"
        )
        rows = self._ql.query([statement], rp=schema.VISIT.retention.value)[0]
        return sorted(int(r["seq"]) for r in rows)

    def gateways(self) -> list[str]:
        measurements = (schema.VISIT, schema.GATEWAY_STATE, schema.BEACON_TELEMETRY, schema.SEQUENCE_GAP)
        statements = [
            f"SHOW TAG VALUES FROM {quote_ident(m.name)} WITH KEY = {quote_ident('gateway')}" for m in measurements
        ]
        results = self._ql.query(statements, rp=RetentionClass.RAW.value)
        return sorted({str(r["value"]) for rows in results for r in rows})

    def rejections(
        self, start: datetime, end: datetime, *, limit: int | None = None, newest_first: bool = False
    ) -> list[Rejection]:
        """Without GROUP BY, InfluxDB merges the (reason, gateway) series by time before ``LIMIT``,
        so ``ORDER BY time DESC LIMIT n`` returns the newest n points over all series. The rows
        are then put in the port's order (time, reason, gateway), which only breaks ties."""
        suffix = " ORDER BY time DESC" if newest_first else ""
        if limit is not None:
            suffix += f" LIMIT {max(0, int(limit))}"
        rows = self._select(schema.REJECTION, _time_range(start, end), suffix) if limit != 0 else []
        rows.sort(key=lambda r: (int(r["time"]), str(r["reason"]), r.get("gateway") or ""), reverse=newest_first)
        return [schema.rejection_from_row(r) for r in rows]

    def rejection_counts(self, start: datetime, end: datetime) -> dict[RejectReason, int]:
        """One COUNT per reason series, computed by InfluxDB (``payload_sha256`` is a field every
        rejection point has)."""
        statement = (
            f"SELECT COUNT({quote_ident('payload_sha256')}) FROM {quote_ident(schema.REJECTION.name)} "
            f"WHERE {' AND '.join(_time_range(start, end))} GROUP BY {quote_ident('reason')}"
        )
        rows = self._ql.query([statement], rp=schema.REJECTION.retention.value)[0]
        return {RejectReason(str(r["reason"])): int(r["count"]) for r in rows if int(r["count"]) > 0}

    def known_rejections(self, rejections: Collection[Rejection], lookback: timedelta) -> set[tuple[str, str]]:
        """Per gateway tag (absent for a bad topic: ``= ''``), the lookback window, filtered here."""
        if not rejections:
            return set()
        wanted = {(r.topic, r.payload_sha256) for r in rejections}
        end_ns = (to_ms(max(r.at for r in rejections)) + 1) * NS_PER_MS
        start_ns = to_ms(min(r.at for r in rejections) - lookback) * NS_PER_MS
        statements = [
            f"SELECT {quote_ident('topic')}, {quote_ident('payload_sha256')} FROM {quote_ident(schema.REJECTION.name)} "
            f"WHERE {quote_ident('gateway')} = {quote_str(gateway)} AND time >= {start_ns} AND time < {end_ns}"
            for gateway in sorted({r.gateway_id or "" for r in rejections})
        ]
        found: set[tuple[str, str]] = set()
        for rows in self._ql.query(statements, rp=schema.REJECTION.retention.value):
            found.update(key for r in rows if (key := (str(r["topic"]), str(r["payload_sha256"]))) in wanted)
        return found

    def gaps(self, start: datetime, end: datetime) -> list[SequenceGap]:
        rows = self._select(schema.SEQUENCE_GAP, _time_range(start, end))
        rows.sort(key=lambda r: (int(r["time"]), str(r["gateway"])))
        return [schema.gap_from_row(r) for r in rows]

    def latest_telemetry(self) -> dict[str, BeaconTelemetryRecord]:
        """Each beacon's newest telemetry; a read started ahead serves it."""
        ahead: dict[str, BeaconTelemetryRecord] | None = self._ahead.take("latest_telemetry", None, None, None)
        if ahead is not None:
            return ahead
        rows = self._select(
            schema.BEACON_TELEMETRY, (), f" GROUP BY {quote_ident('checkpoint')} ORDER BY time DESC LIMIT 1"
        )
        return {str(r["checkpoint"]): schema.telemetry_from_row(r) for r in rows}

    def latest_gateway_states(self) -> dict[str, GatewayStateRecord]:
        """Each gateway's newest state; a read started ahead serves it."""
        ahead: dict[str, GatewayStateRecord] | None = self._ahead.take("latest_gateway_states", None, None, None)
        if ahead is not None:
            return ahead
        rows = self._select(schema.GATEWAY_STATE, (), f" GROUP BY {quote_ident('gateway')} ORDER BY time DESC LIMIT 1")
        return {str(r["gateway"]): schema.gateway_state_from_row(r) for r in rows}

    def rollups(self, first: date, last: date, *, landlord: str | None = None) -> list[DailyRollup]:
        """The newest version of each (day, checkpoint), read as plain figures (``influx_figures``)."""
        where = _where(day_start_ns(first), day_start_ns(last + timedelta(days=1)), landlord)
        return figures.rollups(figures.newest(self._ql, schema.CHECKPOINT_DAY, figures.ROLLUP_FIELDS, where, 1))

    def rollup_figures(self, first: date, last: date, *, landlord: str | None = None) -> list[RollupFigures]:
        """As ``rollups``' figures, read without their objects nor ``chain_digest``: from their packed copy where
        it is whole, from ``checkpoint_day`` elsewhere (``influx_days``)."""
        return packed_days.read(self._ql, first, last, landlord)

    def rollup_figures_by_day(self, first: date, last: date, *, landlord: str | None = None) -> list[RollupFigures]:
        """``rollup_figures`` (by day and checkpoint: by day, then); a read started ahead serves it."""
        ahead: list[RollupFigures] | None = self._ahead.take("rollup_figures_by_day", first, last, landlord)
        return ahead if ahead is not None else self.rollup_figures(first, last, landlord=landlord)

    def heard_days(self, first: date, last: date, *, landlord: str | None = None) -> dict[str, tuple[date, date]]:
        """From the newest version of each (day, checkpoint), read as ``rollup_figures`` (the packed copy: one
        cursor a series, where ``checkpoint_day``'s ``service_day``, ``written_at`` and ``visits`` were three),
        folded here; a read started ahead serves it."""
        ahead: dict[str, tuple[date, date]] | None = self._ahead.take("heard_days", first, last, landlord)
        return ahead if ahead is not None else packed_days.heard(self._ql, first, last, landlord)

    def rollup_day_states(self, first: date, last: date, *, landlord: str | None = None) -> list[DayStates]:
        """From what ``rollup_figures`` reads (``influx_days.day_states``: InfluxQL has no string aggregate); a read
        started ahead serves it."""
        ahead: list[DayStates] | None = self._ahead.take("rollup_day_states", first, last, landlord)
        return ahead if ahead is not None else packed_days.day_states(self._ql, first, last, landlord)

    def rollup_visited(self, first: date, last: date, *, landlord: str | None = None) -> dict[date, list[str]]:
        """From the newest version of each (day, checkpoint), read as ``heard_days`` reads it (``influx_days``); a
        read started ahead serves it."""
        ahead: dict[date, list[str]] | None = self._ahead.take("rollup_visited", first, last, landlord)
        return ahead if ahead is not None else packed_days.visited(self._ql, first, last, landlord)

    def write_visited_sets(self, sets: Sequence[VisitedSet]) -> None:
        """A few points a set (``influx_visited``), overwriting the set's earlier parts."""
        if sets:
            written_at = self._written_at()
            self.write_lines(RetentionClass.PROOF, influx_visited.lines(sets, written_at))

    def visited_sets(
        self, first: date, last: date, *, landlord: str | None = None
    ) -> dict[tuple[date, str], VisitedSet]:
        """One request; a read started ahead serves it."""
        ahead: dict[tuple[date, str], VisitedSet] | None = self._ahead.take("visited_sets", first, last, landlord)
        if ahead is not None:
            return ahead
        statement = influx_visited.select(first, last, landlord)
        return influx_visited.sets_of(self._ql.results([statement], rp=RetentionClass.PROOF.value)[0])

    def visited_set_marks(self, first: date, last: date) -> dict[tuple[date, str], str]:
        statement = influx_visited.select(first, last, None, marks_only=True)
        return influx_visited.marks_of(self._ql.results([statement], rp=RetentionClass.PROOF.value)[0])

    def reading_ahead(self, reads: Sequence[ReadAhead]) -> contextlib.AbstractContextManager[None]:
        """``reads`` started on a few threads (``ronde.store.read_ahead``): influxd answers them while the request
        computes what comes before them."""
        return self._ahead.started([(r, functools.partial(self._read, r)) for r in reads if r.method in AHEAD])

    def _read(self, r: ReadAhead) -> object:
        if r.method == "visit_spans_kept":
            assert r.day is not None
            return self.visit_spans_kept(r.first, r.last, landlord=r.landlord, day=r.day, kept=None)
        if r.method in ("latest_gateway_states", "latest_telemetry"):
            return getattr(self, r.method)()
        if r.method in ("tail_figures", "monthly_figures", "suffix_figures"):  # one day's, one month's
            return getattr(self, r.method)(r.first, landlord=r.landlord)
        if r.method in ("tail_states", "monthly_states", "suffix_states", "span_states"):
            days = (r.first, r.last) if r.method == "span_states" else (r.first,)
            return Served(getattr(self, r.method)(*days, landlord=r.landlord))
        if r.method in (
            "span_figures",
            "heard_days",
            "rollup_visited",
            "visited_sets",
            "rollup_marks",
            "rollup_day_states",
        ):
            return getattr(self, r.method)(r.first, r.last, landlord=r.landlord)
        return self.rollup_figures_by_day(r.first, r.last, landlord=r.landlord)

    def monthly_rollups(self, month: date, *, landlord: str | None = None) -> list[MonthlyRollup]:
        where = _where(day_start_ns(month), day_start_ns(month + timedelta(days=1)), landlord)
        kept = letters.newest(self._ql, letters.LETTERS, where, old=self._reads_old(letters.LETTERS))
        return [letter for _, _, letter in letters.letters(kept)]

    def suffix_figures(self, from_day: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        """The suffix letters' figures, packed (``influx_letters``), by checkpoint; a read started ahead serves it."""
        ahead: list[MonthlyFigures] | None = self._ahead.take("suffix_figures", from_day, from_day, landlord)
        if ahead is not None:
            return ahead
        where = _where(day_start_ns(from_day), day_start_ns(from_day + timedelta(days=1)), landlord)
        kept = letters.newest(self._ql, letters.SUFFIXES, where, old=self._reads_old(letters.SUFFIXES))
        return letters.sorted_figures(kept)

    def monthly_states(self, month: date, *, landlord: str | None = None) -> list[LetterStates] | None:
        """The monthly letters' states (``influx_states``: one request, their day's mark with them); None when that
        day's copy is not known whole or letters of the old layout remain; a read started ahead serves it."""
        return self._states("monthly_states", states_copy.MONTH, letters.LETTERS, month, landlord)

    def suffix_states(self, from_day: date, *, landlord: str | None = None) -> list[LetterStates] | None:
        """As ``monthly_states``, of the suffix letters starting on ``from_day``."""
        return self._states("suffix_states", states_copy.SUFFIX, letters.SUFFIXES, from_day, landlord)

    def tail_states(self, from_day: date, *, landlord: str | None = None) -> list[LetterStates] | None:
        """As ``monthly_states``, of the tail letters from ``from_day``."""
        return self._states("tail_states", states_copy.TAIL, None, from_day, landlord)

    def span_states(self, from_day: date, through: date, *, landlord: str | None = None) -> list[LetterStates] | None:
        """As ``monthly_states``, of ``span_figures``: with the letters' marks of their months in the same request,
        none when a letter they reach was written since."""
        ahead: Served | None = self._ahead.take("span_states", from_day, through, landlord)
        if ahead is not None:
            served: list[LetterStates] | None = ahead.value
            return served
        where = _where(day_start_ns(from_day), day_start_ns(from_day + timedelta(days=1)), landlord)
        statements = [
            *states_copy.statements(states_copy.SPAN, from_day, landlord),
            letters.span_statements(from_day, through, where)[1],
        ]
        results = self._ql.results(statements, rp=RetentionClass.PROOF.value)
        return states_copy.current_span_states(results, from_day, through)

    def _states(
        self, method: str, kind: states_copy.Kind, layout: letters.Layout | None, day: date, landlord: str | None
    ) -> list[LetterStates] | None:
        ahead: Served | None = self._ahead.take(method, day, day, landlord)
        if ahead is not None:
            served: list[LetterStates] | None = ahead.value
            return served
        if layout is not None and self._reads_old(layout):
            return None
        statements = states_copy.statements(kind, day, landlord)
        return states_copy.newest(self._ql.results(statements, rp=RetentionClass.PROOF.value), day)

    def monthly_figures(self, month: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        """As ``monthly_rollups``' figures, read without their objects (``influx_letters``); a read started ahead
        serves it."""
        ahead: list[MonthlyFigures] | None = self._ahead.take("monthly_figures", month, month, landlord)
        if ahead is not None:
            return ahead
        where = _where(day_start_ns(month), day_start_ns(month + timedelta(days=1)), landlord)
        kept = letters.newest(self._ql, letters.LETTERS, where, old=self._reads_old(letters.LETTERS))
        return letters.sorted_figures(kept)

    # ---- rollup checks (ronde.store.checks) ---------------------------------------------------

    def rollup_fingerprints(
        self, first: date, last: date, *, landlord: str | None = None
    ) -> dict[tuple[date, str], str]:
        """The day's mark, ``#``, then the sums of its rollups. A rollup's points sit within its service
        day's UTC day (``schema.rollup_ns``), so ``GROUP BY time(1d)`` buckets are service days. Every
        version of a rollup counts: a rewrite adds a point and moves the newest ``written_at``; an in-place
        overwrite moves the sums. A day rolled up before marks existed gets its first one here (maintenance
        reads this; a READ store leaves it without: the API then lists the day only once it has one)."""
        aggregates = ", ".join(f"{fn}({quote_ident(f)})" for fn, f in _ROLLUP_AGGREGATES)
        rows = self._per_day_landlord(schema.CHECKPOINT_DAY.name, aggregates, first, last, landlord)
        sums = {(_utc_day(int(r["time"])), str(r["landlord"])): _fingerprint(r, len(_ROLLUP_AGGREGATES)) for r in rows}
        marks = self.rollup_marks(first, last, landlord=landlord)
        unmarked = sorted(k for k in sums if k not in marks)
        if unmarked and self.access is not StoreAccess.READ:
            written_at = self._written_at()
            self.write_lines(RetentionClass.PROOF, [mark_line(day, lid, written_at, 0) for day, lid in unmarked])
            marks = self.rollup_marks(first, last, landlord=landlord)
        return {k: f"{marks.get(k, '')}#{fp}" for k, fp in sums.items()}

    def rollup_marks(self, first: date, last: date, *, landlord: str | None = None) -> dict[tuple[date, str], str]:
        """Read from the ``rollup_mark`` points, one series per landlord: a few ms of influxd's CPU where the
        rollups' own sums read one series per checkpoint and field (~1 s for 500 checkpoints, 42 days); a read
        started ahead serves it."""
        ahead: dict[tuple[date, str], str] | None = self._ahead.take("rollup_marks", first, last, landlord)
        if ahead is not None:
            return ahead
        aggregates = f"count({quote_ident('written_at')}), max({quote_ident('written_at')})"
        rows = self._per_day_landlord(ROLLUP_MARK, aggregates, first, last, landlord)
        return {(_utc_day(int(r["time"])), str(r["landlord"])): f"m{r['count']}|{r['max']}" for r in rows}

    def _per_day_landlord(
        self, measurement: str, aggregates: str, first: date, last: date, landlord: str | None
    ) -> list[Row]:
        where = [f"time >= {day_start_ns(first)}", f"time < {day_start_ns(last + timedelta(days=1))}"]
        if landlord is not None:
            where.append(f"{quote_ident('landlord')} = {quote_str(landlord)}")
        statement = (
            f"SELECT {aggregates} FROM {quote_ident(measurement)} WHERE {' AND '.join(where)} "
            f"GROUP BY time(1d), {quote_ident('landlord')} fill(none)"
        )
        return self._ql.query([statement], rp=RetentionClass.PROOF.value)[0]

    def event_fingerprints(self, first: date, last: date) -> dict[date, str]:
        """The day's mark, ``#``, then the sums of its visits. Visits are timed by first_seen, not by service day:
        the sums join those of the UTC days its visits can lie in (the day before to the day after, as
        ``visits_of_days`` reads them). A day whose visits were written before marks existed gets its first one
        here (maintenance's first pass reads this for every checkable day; a READ store leaves it without)."""
        sums = self._event_sums(first, last)
        marks = self.event_marks(first, last)
        unmarked = sorted(day for day in sums if day not in marks)
        if unmarked and self.access is not StoreAccess.READ:
            written_at = self._written_at()
            self.write_lines(RetentionClass.RAW, [visit_mark_line(d, written_at, 0, self._writer) for d in unmarked])
            marks = self.event_marks(first, last)
        return {day: f"{marks.get(day, '')}#{fp}" for day, fp in sums.items()}

    def event_marks(self, first: date, last: date) -> dict[date, str]:
        """Read from the ``visit_mark`` points, one series: how many writes, visits and the newest ``written_at``
        per service day. The sums over 60 days of raw visits cost influxd 11 s of CPU at district scale."""
        where = [f"time >= {day_start_ns(first)}", f"time < {day_start_ns(last + timedelta(days=1))}"]
        written_at, visits = quote_ident("written_at"), quote_ident("visits")
        statement = (
            f"SELECT count({written_at}), sum({visits}), max({written_at}) FROM {quote_ident(VISIT_MARK)} "
            f"WHERE {' AND '.join(where)} GROUP BY time(1d) fill(none)"
        )
        rows = self._ql.query([statement], rp=RetentionClass.RAW.value)[0]
        return {_utc_day(int(r["time"])): f"e{r['count']}|{r['sum']}|{r['max']}" for r in rows}

    def _event_sums(self, first: date, last: date) -> dict[date, str]:
        where = [
            f"time >= {day_start_ns(first - timedelta(days=1))}",
            f"time < {day_start_ns(last + timedelta(days=2))}",
        ]
        aggregates = ", ".join(f"{fn}({quote_ident(f)})" for fn, f in _EVENT_AGGREGATES)
        statement = (
            f"SELECT {aggregates} FROM {quote_ident(schema.VISIT.name)} WHERE {' AND '.join(where)} "
            "GROUP BY time(1d) fill(none)"
        )
        rows = self._ql.query([statement], rp=schema.VISIT.retention.value)[0]
        buckets = {_utc_day(int(r["time"])): _fingerprint(r, len(_EVENT_AGGREGATES)) for r in rows}
        out: dict[date, str] = {}
        day = first
        while day <= last:
            parts = [buckets.get(day + timedelta(days=k), "") for k in (-1, 0, 1)]
            if parts[1] or parts[2]:
                out[day] = "/".join(parts)
            day += timedelta(days=1)
        return out

    def write_rollup_verdicts(self, verdicts: Sequence[RollupVerdict]) -> None:
        if verdicts:
            self.write_lines(ROLLUP_CHECK_RP, [verdict_line(v) for v in verdicts])

    def rollup_verdicts(self, first: date, last: date, *, landlord: str | None = None) -> list[RollupVerdict]:
        where = [f"time >= {day_start_ns(first)}", f"time < {day_start_ns(last + timedelta(days=1))}"]
        if landlord is not None:
            where.append(f"{quote_ident('landlord')} = {quote_str(landlord)}")
        statement = f"SELECT * FROM {quote_ident(ROLLUP_CHECK)} WHERE {' AND '.join(where)}"
        newest: dict[tuple[str, str], Row] = {}
        for r in self._ql.query([statement], rp=ROLLUP_CHECK_RP.value)[0]:
            key = (str(r.get("service_day")), str(r.get("landlord")))
            seen = newest.get(key)
            if seen is None or (int(r.get("checked_at") or 0), int(r["time"])) > (
                int(seen.get("checked_at") or 0),
                int(seen["time"]),
            ):
                newest[key] = r
        out: list[RollupVerdict] = []
        for (day, lid), r in sorted(newest.items()):
            try:
                out.append(
                    verdict_from_fields(
                        day,
                        lid,
                        int(r["checked_at"]),
                        str(r["rollups"]),
                        str(r["events"]),
                        str(r["prev_link"]),
                        str(r["link"]),
                        str(r.get("mismatches") or ""),
                    )
                )
            except (UnreadableVerdict, KeyError, TypeError, ValueError) as exc:
                log.warning("rollup check of %s for %s unreadable, shown as not checked: %s", day, lid, exc)
        return out

    # ---- retention ---------------------------------------------------------------------------

    def apply_retention(self, policy: RetentionPolicy, now: datetime) -> None:
        """Set the retention policies/buckets to ``policy`` and delete what is already older
        (InfluxDB itself only drops whole expired shard groups, on its own schedule)."""
        if self.access is StoreAccess.READ:
            raise StoreRejected("this InfluxStore was opened read-only (StoreAccess.READ): retention is maintenance's")
        days = measurement_days(policy)
        self._retention = policy
        self._ensure_layout(policy, adjust=True)
        cutoffs = [(m, _cutoff_ns(m, now, days[m.name])) for m in schema.MEASUREMENTS]
        major = self._major()
        if major == 1:
            proof = day_start_ns(cutoff_day(now, days[schema.CHECKPOINT_DAY.name]).date())
            raw = next(ns for m, ns in cutoffs if m is schema.VISIT)  # a day's visit_mark points go with its visits
            self._ql.query(
                [
                    *(f"DELETE FROM {quote_ident(m.name)} WHERE time < {ns}" for m, ns in cutoffs),
                    f"DELETE FROM {quote_ident(ROLLUP_CHECK)} WHERE time < {proof}",
                    f"DELETE FROM {quote_ident(ROLLUP_MARK)} WHERE time < {proof}",
                    f"DELETE FROM {quote_ident(packed_days.DAY_MARK)} WHERE time < {proof}",
                    f"DELETE FROM {quote_ident(packed_days.OLD_MARK)} WHERE time < {proof}",
                    f"DELETE FROM {quote_ident(letters.LETTER_MARK)} WHERE time < {proof}",
                    f"DELETE FROM {quote_ident(VISIT_MARK)} WHERE time < {raw}",
                ]
            )
        elif major == 2:  # noqa: PLR2004 - InfluxDB 2.x
            from influxdb_client.rest import ApiException

            api = self._influx_client().delete_api()
            for m, ns in cutoffs:
                try:
                    api.delete(
                        start="1970-01-01T00:00:00Z",
                        stop=_rfc3339(ns),
                        predicate=f'_measurement="{m.name}"',
                        bucket=self.bucket(m.retention),
                        org=self._client_org(),
                    )
                except ApiException as exc:
                    raise _api_error(exc, "delete") from exc
                except (urllib3.exceptions.HTTPError, OSError) as exc:
                    raise StoreUnavailable(f"InfluxDB delete: {exc}") from exc
        else:
            log.warning(
                "InfluxDB %s cannot delete through its API: data expires with each database's "
                "retention period, set by the operator (docs/retention.md)",
                self.server and self.server.version,
            )


_ROLLUP_AGGREGATES = (
    ("count", "visits"),
    ("sum", "visits"),
    ("sum", "expected"),
    ("sum", "presence_s"),
    ("sum", "max_idle_s"),
    ("sum", "mean_idle_s"),
    ("sum", "first_seen"),
    ("sum", "last_seen"),
    ("count", "first_seen"),
    ("max", "written_at"),
)
_EVENT_AGGREGATES = (
    ("count", "seq"),
    ("sum", "seq"),
    ("sum", "last_seen"),
    ("sum", "count"),
    ("sum", "rssi_max"),
    ("sum", "rssi_mean"),
    ("sum", "received_at"),
    ("max", "received_at"),
)


def _utc_day(ns: int) -> date:
    return date(1970, 1, 1) + timedelta(days=ns // schema.NS_PER_DAY)


def _fingerprint(row: Row, n: int) -> str:
    """The aggregate columns of a row, in order (InfluxQL names them ``count``, ``sum_1``…); float sums
    rounded to the millisecond: summed in the engine's order, their last bits are not a change."""
    values = [v for k, v in row.items() if k not in ("time", "landlord")][:n]
    return "|".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in values)


def _beyond_retention(v: StoredVisit, where: str) -> Rejection:
    try:
        topic = gateway_topic(v.gateway_id, TopicKind.VISIT)
    except ValueError:
        topic = f"ronde/v1/gw/{v.gateway_id}/visit"
    first = v.first_seen.strftime("%Y-%m-%dT%H:%M:%SZ")
    return Rejection(
        at=v.received_at,
        reason=RejectReason.BEYOND_RETENTION,
        topic=topic,
        gateway_id=v.gateway_id,
        detail=f"first seen {first}, older than the retention of {where}: InfluxDB dropped it on write",
        payload_sha256=v.payload_sha256,
        event_id=v.event_id,
    )


def _transient(exc: Exception) -> bool:
    return isinstance(exc, TransientHttpError | urllib3.exceptions.HTTPError | OSError)


def _api_error(exc: ApiException, what: str) -> Exception:
    status = exc.status or 0
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR or status == HTTPStatus.TOO_MANY_REQUESTS:
        return TransientHttpError(f"{what}: HTTP {status}: {exc.body!s:.300}")
    if status in (401, 403):
        return StoreUnavailable(f"InfluxDB refused our credentials for {what} (HTTP {status})")
    if status == HTTPStatus.NOT_FOUND:  # bucket missing: the operator creates it; nothing is refused for good
        return StoreUnavailable(f"InfluxDB has no such bucket for {what} (HTTP 404): {exc.body!s:.300}")
    return StoreRejected(f"InfluxDB refused the {what} (HTTP {status}): {exc.body!s:.300}")


def _cutoff_ns(m: schema.Measurement, now: datetime, days: int) -> int:
    """Where retention deletes ``m`` before: whole days for the daily rollups and their copies; the whole day the
    cutoff falls in for the letters' states and marks (a day whose letters retention began deleting is not read
    from its states: its figures answer); else the instant."""
    if m in (schema.CHECKPOINT_DAY, schema.ESTATE_DAY_FIGURES, schema.CHECKPOINT_DAY_FIGURES):
        return day_start_ns(cutoff_day(now, days).date())
    if m in (schema.LETTER_STATES, schema.LETTER_STATES_MARK):
        return day_start_ns(cutoff(now, days).date() + timedelta(days=1))
    return to_ms(cutoff(now, days)) * NS_PER_MS


def _where(start_ns: int, end_ns: int, landlord: str | None) -> list[str]:
    """Points timed in ``[start_ns, end_ns)``, of one landlord when given."""
    where = [f"time >= {start_ns}", f"time < {end_ns}"]
    if landlord is not None:
        where.append(f"{quote_ident('landlord')} = {quote_str(landlord)}")
    return where


def _time_range(start: datetime, end: datetime) -> list[str]:
    return [f"time >= {ceil_ms(start) * NS_PER_MS}", f"time < {ceil_ms(end) * NS_PER_MS}"]


def _rfc3339(ns: int) -> str:
    return schema.from_ns(ns).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _clusters(times: Collection[datetime]) -> list[tuple[int, int]]:
    """(first ms, last ms) of the times, cut wherever two are more than ``KNOWN_IDS_GAP_MS`` apart."""
    return _ms_clusters([to_ms(t) for t in times])


def _ms_clusters(times_ms: Collection[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for ms in sorted(set(times_ms)):
        if out and ms - out[-1][1] <= KNOWN_IDS_GAP_MS:
            out[-1] = (out[-1][0], ms)
        else:
            out.append((ms, ms))
    return out


@dataclass(frozen=True, slots=True)
class _TrackRead:
    """The part of ``visit_track`` read within the duplicate look-up: [start_ns, end_ns) of these gateways."""

    start_ns: int
    end_ns: int
    gateways: frozenset[str]


_TRACK_COLUMNS = ",".join(quote_ident(c) for c in ("event_id", "last_seen", "checkpoint"))


def _ns_hulls(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """[lo, hi) ranges joined where they overlap or lie less than ``KNOWN_IDS_GAP_MS`` apart (the look-up's own
    rule: a statement costs influxd more than the rows between two ranges)."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo - out[-1][1] <= KNOWN_IDS_GAP_MS * NS_PER_MS:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _id_statements(
    keys: Collection[EventKey], *, by_id: bool, track: _TrackRead | None
) -> list[tuple[str, str, list[tuple[int, int]] | None]]:
    """The look-up's statements, each with its gateway and that gateway's clusters ([lo, hi) ns) when it also reads
    the track (None otherwise): one per gateway and cluster of its key times, or for a tracked gateway one per hull
    of its clusters and the track's range."""
    times: dict[str, list[int]] = {}
    for k in keys:
        seen = times.setdefault(k.gateway_id, [])
        seen.append(to_ms(k.first_seen))
        ns = schema.visit_id_ns(k.event_id) if by_id else None
        if ns is not None:
            seen.append(ns // NS_PER_MS)
    sources = quote_ident(schema.VISIT.name) + (f",{quote_ident(schema.VISIT_ID.name)}" if by_id else "")
    tracked = track.gateways if track is not None and track.start_ns < track.end_ns else frozenset()
    statements: list[tuple[str, str, list[tuple[int, int]] | None]] = []
    for gateway in sorted(times.keys() | tracked):
        clusters = [(lo * NS_PER_MS, (hi + 1) * NS_PER_MS) for lo, hi in _ms_clusters(times.get(gateway, ()))]
        where = f"WHERE {quote_ident('gateway')} = {quote_str(gateway)}"
        if gateway not in tracked:
            statements += [
                (
                    f"SELECT {quote_ident('event_id')} FROM {sources} {where} AND time >= {lo} AND time < {hi}",
                    "",
                    None,
                )
                for lo, hi in clusters
            ]
            continue
        assert track is not None
        statements += [
            (f"SELECT {_TRACK_COLUMNS} FROM {sources} {where} AND time >= {lo} AND time < {hi}", gateway, clusters)
            for lo, hi in _ns_hulls([*clusters, (track.start_ns, track.end_ns)])
        ]
    return statements


def _requests(
    statements: list[tuple[str, str, list[tuple[int, int]] | None]],
) -> Iterator[list[tuple[str, str, list[tuple[int, int]] | None]]]:
    """The statements in requests of at most 50, of which at most ``TRACKED_PER_REQUEST`` read a track: those
    answer a few hundred rows each, and a worker's peak memory holds one request's answer (docs/performance.md)."""
    chunk: list[tuple[str, str, list[tuple[int, int]] | None]] = []
    tracked = 0
    for statement in statements:
        if len(chunk) == 50 or (statement[2] is not None and tracked == TRACKED_PER_REQUEST):  # noqa: PLR2004
            yield chunk
            chunk, tracked = [], 0
        chunk.append(statement)
        tracked += statement[2] is not None
    if chunk:
        yield chunk


def _track_row(
    t: int,
    event_id: object,
    last_seen: object,
    checkpoint: object,
    gateway: str,
    clusters: list[tuple[int, int]],
    wanted: set[str],
    track: _TrackRead,
    found: set[str],
    points: list[TrackPoint],
) -> None:
    """One row of a tracked gateway's statement, cut as the look-up's and the track's own statements would cut it:
    a wanted id within one of the gateway's clusters is known (either measurement); a ``visit`` point (the only one
    with ``last_seen`` and ``checkpoint``) of [start, end) with its values all there is the track's."""
    if (e := str(event_id)) in wanted and any(lo <= t < hi for lo, hi in clusters):
        found.add(e)
    if (
        track.start_ns <= t < track.end_ns
        and gateway in track.gateways
        and event_id is not None
        and last_seen is not None
        and checkpoint is not None
    ):
        points.append(TrackPoint(gateway, t // NS_PER_MS, int(last_seen), str(event_id), str(checkpoint)))  # type: ignore[call-overload]


def _runs(days: list[date]) -> list[list[date]]:
    runs: list[list[date]] = []
    for d in days:
        if runs and (d - runs[-1][-1]).days <= 2 and len(runs[-1]) < 60:  # noqa: PLR2004 - days two apart share a statement, 60 at most
            runs[-1].append(d)
        else:
            runs.append([d])
    return runs
