"""The embedded store (demo, single machine): one SQLite file in WAL mode, fsync'd on commit.

Same behaviour as the InfluxDB store (the contract tests run on both): instants at millisecond
precision; a visit is identified by its event id, every other record by the same identity as its
InfluxDB point (tags + timestamp from ``schema``), so a replay is ignored; a rollup for the same
(day, checkpoint) replaces the previous one. One connection per thread (ingest thread, API
threads); SQLite serialises the writers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from ronde.store import day_states, schema
from ronde.store.checks import RollupVerdict, UnreadableVerdict, encode_mismatches, verdict_from_fields
from ronde.store.day_states import DayStates
from ronde.store.errors import StoreCorrupt, StoreRejected
from ronde.store.port import StampedSpans, StoreAccess, StoreUnavailable, VisitedSet, VisitSpan
from ronde.store.read_ahead import ReadAhead
from ronde.store.records import (
    BeaconCheck,
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
    Verification,
    WriteBatch,
)
from ronde.store.retention import cutoff, cutoff_day, measurement_days
from ronde.store.schema import ceil_ms, from_ms, to_ms
from ronde.store.sqlite_marks import KeptMarks

T = TypeVar("T")
log = logging.getLogger(__name__)


def _from_day_letters(table: str) -> str:
    """A table of letters keyed by their first day (suffix letters, span letters): the monthly rollups' columns."""
    return f"""CREATE TABLE IF NOT EXISTS {table} (
  month TEXT NOT NULL, from_day TEXT NOT NULL, checkpoint_id TEXT NOT NULL, kind TEXT NOT NULL, building TEXT,
  estate TEXT NOT NULL, landlord TEXT NOT NULL, expected INTEGER NOT NULL, basis TEXT NOT NULL, states TEXT NOT NULL,
  visits INTEGER NOT NULL, presence_s REAL NOT NULL, first_seen INTEGER, last_seen INTEGER,
  service_s REAL NOT NULL, seen INTEGER NOT NULL, lead_s REAL NOT NULL, trail_s REAL NOT NULL,
  inner_n INTEGER NOT NULL, inner_s1 REAL NOT NULL, inner_s2 REAL NOT NULL, inner_worst REAL NOT NULL,
  PRIMARY KEY (month, from_day, checkpoint_id)
);"""


_DDL = """
CREATE TABLE IF NOT EXISTS visits (
  event_id TEXT PRIMARY KEY, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
  gateway_id TEXT NOT NULL, seq INTEGER NOT NULL, badge TEXT NOT NULL, checkpoint_id TEXT NOT NULL,
  kind TEXT NOT NULL, building TEXT, estate TEXT NOT NULL, landlord TEXT NOT NULL, service_day TEXT NOT NULL,
  count INTEGER NOT NULL, rssi_max INTEGER NOT NULL, rssi_mean REAL NOT NULL, verification TEXT NOT NULL,
  beacon_check TEXT NOT NULL, received_at INTEGER NOT NULL, payload_sha256 TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS visits_time ON visits (first_seen, event_id);
CREATE INDEX IF NOT EXISTS visits_day ON visits (service_day, first_seen);
CREATE INDEX IF NOT EXISTS visits_landlord ON visits (landlord, first_seen);
CREATE INDEX IF NOT EXISTS visits_gateway ON visits (gateway_id, received_at);
CREATE TABLE IF NOT EXISTS rejections (
  ts_ns INTEGER NOT NULL, reason TEXT NOT NULL, gateway_id TEXT NOT NULL, at INTEGER NOT NULL,
  detail TEXT NOT NULL, topic TEXT NOT NULL, payload_sha256 TEXT NOT NULL, event_id TEXT,
  PRIMARY KEY (ts_ns, reason, gateway_id)
);
CREATE INDEX IF NOT EXISTS rejections_time ON rejections (at);
CREATE TABLE IF NOT EXISTS gaps (
  ts_ns INTEGER NOT NULL, gateway_id TEXT NOT NULL, detected_at INTEGER NOT NULL,
  first_missing INTEGER NOT NULL, last_missing INTEGER NOT NULL, PRIMARY KEY (ts_ns, gateway_id)
);
CREATE INDEX IF NOT EXISTS gaps_time ON gaps (detected_at);
CREATE TABLE IF NOT EXISTS telemetry (
  ts_ns INTEGER NOT NULL, checkpoint_id TEXT NOT NULL, gateway_id TEXT NOT NULL, at INTEGER NOT NULL,
  battery_mv INTEGER, temperature_c REAL, adv_count INTEGER NOT NULL, uptime_s REAL NOT NULL,
  PRIMARY KEY (ts_ns, checkpoint_id, gateway_id)
);
CREATE INDEX IF NOT EXISTS telemetry_checkpoint ON telemetry (checkpoint_id, ts_ns);
CREATE TABLE IF NOT EXISTS gateway_states (
  ts_ns INTEGER NOT NULL, gateway_id TEXT NOT NULL, at INTEGER NOT NULL, online INTEGER NOT NULL,
  scanning INTEGER NOT NULL, in_service INTEGER, outbox_depth INTEGER, adverts_per_s REAL, battery_pct INTEGER,
  PRIMARY KEY (ts_ns, gateway_id)
);
CREATE INDEX IF NOT EXISTS gateway_states_gateway ON gateway_states (gateway_id, ts_ns);
CREATE TABLE IF NOT EXISTS rollups (
  service_day TEXT NOT NULL, checkpoint_id TEXT NOT NULL, kind TEXT NOT NULL, building TEXT,
  estate TEXT NOT NULL, landlord TEXT NOT NULL, visits INTEGER NOT NULL, expected INTEGER NOT NULL,
  covered INTEGER NOT NULL, first_seen INTEGER, last_seen INTEGER, presence_s REAL NOT NULL,
  max_idle_s REAL NOT NULL, mean_idle_s REAL NOT NULL, chain_digest TEXT NOT NULL,
  PRIMARY KEY (service_day, checkpoint_id)
);
CREATE INDEX IF NOT EXISTS rollups_landlord ON rollups (landlord, service_day);
CREATE TABLE IF NOT EXISTS monthly_rollups (
  month TEXT NOT NULL, checkpoint_id TEXT NOT NULL, kind TEXT NOT NULL, building TEXT, estate TEXT NOT NULL,
  landlord TEXT NOT NULL, expected INTEGER NOT NULL, basis TEXT NOT NULL, states TEXT NOT NULL,
  visits INTEGER NOT NULL, presence_s REAL NOT NULL, first_seen INTEGER, last_seen INTEGER,
  service_s REAL NOT NULL, seen INTEGER NOT NULL, lead_s REAL NOT NULL, trail_s REAL NOT NULL,
  inner_n INTEGER NOT NULL, inner_s1 REAL NOT NULL, inner_s2 REAL NOT NULL, inner_worst REAL NOT NULL,
  PRIMARY KEY (month, checkpoint_id)
);
CREATE INDEX IF NOT EXISTS monthly_rollups_landlord ON monthly_rollups (landlord, month);
{suffixes}
CREATE INDEX IF NOT EXISTS monthly_suffixes_landlord ON monthly_suffixes (landlord, from_day, checkpoint_id);
{spans}
CREATE INDEX IF NOT EXISTS monthly_spans_landlord ON monthly_spans (landlord, month, from_day, checkpoint_id);
{tails}
CREATE INDEX IF NOT EXISTS tail_letters_landlord ON tail_letters (landlord, from_day, checkpoint_id);
CREATE TABLE IF NOT EXISTS visited_sets (
  service_day TEXT NOT NULL, landlord TEXT NOT NULL, mark TEXT NOT NULL, checkpoints TEXT NOT NULL,
  PRIMARY KEY (service_day, landlord)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_versions (
  service_day TEXT NOT NULL, landlord TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (service_day, landlord)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS rollups_version_insert AFTER INSERT ON rollups BEGIN
  INSERT INTO rollup_versions VALUES (NEW.service_day, NEW.landlord, 1)
  ON CONFLICT (service_day, landlord) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER IF NOT EXISTS rollups_version_update AFTER UPDATE ON rollups BEGIN
  INSERT INTO rollup_versions VALUES (OLD.service_day, OLD.landlord, 1)
  ON CONFLICT (service_day, landlord) DO UPDATE SET version = version + 1;
  INSERT INTO rollup_versions VALUES (NEW.service_day, NEW.landlord, 1)
  ON CONFLICT (service_day, landlord) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER IF NOT EXISTS rollups_version_delete AFTER DELETE ON rollups BEGIN
  INSERT INTO rollup_versions VALUES (OLD.service_day, OLD.landlord, 1)
  ON CONFLICT (service_day, landlord) DO UPDATE SET version = version + 1;
END;
CREATE TABLE IF NOT EXISTS visit_versions (
  service_day TEXT NOT NULL PRIMARY KEY, version INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS visits_version_update AFTER UPDATE ON visits BEGIN
  INSERT INTO visit_versions VALUES (OLD.service_day, 1)
  ON CONFLICT (service_day) DO UPDATE SET version = version + 1;
  INSERT INTO visit_versions VALUES (NEW.service_day, 1)
  ON CONFLICT (service_day) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER IF NOT EXISTS visits_version_delete AFTER DELETE ON visits BEGIN
  INSERT INTO visit_versions VALUES (OLD.service_day, 1)
  ON CONFLICT (service_day) DO UPDATE SET version = version + 1;
END;
CREATE TABLE IF NOT EXISTS rollup_checks (
  service_day TEXT NOT NULL, landlord TEXT NOT NULL, checked_at INTEGER NOT NULL, rollups TEXT NOT NULL,
  events TEXT NOT NULL, prev_link TEXT NOT NULL, link TEXT NOT NULL, found INTEGER NOT NULL, mismatches TEXT NOT NULL,
  PRIMARY KEY (service_day, landlord)
);
""".format(
    suffixes=_from_day_letters("monthly_suffixes"),
    spans=_from_day_letters("monthly_spans"),
    tails=_from_day_letters("tail_letters"),
)

_VISIT_COLUMNS = (
    "event_id, first_seen, last_seen, gateway_id, seq, badge, checkpoint_id, kind, building, estate, landlord, "
    "service_day, count, rssi_max, rssi_mean, verification, beacon_check, received_at, payload_sha256"
)
_ROLLUP_COLUMNS = (
    "service_day, checkpoint_id, kind, building, estate, landlord, visits, expected, covered, first_seen, "
    "last_seen, presence_s, max_idle_s, mean_idle_s, chain_digest"
)
_FIGURE_COLUMNS = _ROLLUP_COLUMNS.removesuffix(", chain_digest")  # ``rollup_figures``: no 64-character link a row
_MONTHLY_COLUMNS = (
    "month, checkpoint_id, kind, building, estate, landlord, expected, basis, states, visits, presence_s, "
    "first_seen, last_seen, service_s, seen, lead_s, trail_s, inner_n, inner_s1, inner_s2, inner_worst"
)
_MONTHLY_FIGURES = (  # ``monthly_figures``: ``MonthlyFigures`` order, milliseconds stored, microseconds given
    "checkpoint_id, kind, building, estate, landlord, expected, basis, states, visits, presence_s, "
    "first_seen * 1000, last_seen * 1000, service_s, seen, lead_s, trail_s, inner_n, inner_s1, inner_s2, inner_worst"
)
_VERDICT_DDL = _DDL[_DDL.index("CREATE TABLE IF NOT EXISTS rollup_checks") :].strip().rstrip(";")
# Each (day, landlord)'s number of rollups, kept by triggers (since December 7, 2026), so that a mark reads one row
# a (day, landlord) instead of counting the landlord index: every landlord's marks of a tail and its horizon (22 days,
# ~75,000 rollups at city scale) were a third of a month's first request. ``INSERT OR REPLACE`` deletes the row it
# replaces without firing delete triggers, so the row about to be replaced is uncounted before the insert. Added to an
# existing file with its counts in one transaction (``_add_rollup_counts``); a reader of a file without it counts.
_COUNTS_DDL = (
    """CREATE TABLE rollup_counts (
  service_day TEXT NOT NULL, landlord TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (service_day, landlord)
) WITHOUT ROWID""",
    "INSERT INTO rollup_counts SELECT service_day, landlord, count(*) FROM rollups GROUP BY service_day, landlord",
    """CREATE TRIGGER rollups_count_replaced BEFORE INSERT ON rollups BEGIN
  UPDATE rollup_counts SET n = n - 1 WHERE (service_day, landlord) IN (
    SELECT service_day, landlord FROM rollups WHERE service_day = NEW.service_day AND checkpoint_id = NEW.checkpoint_id
  );
END""",
    """CREATE TRIGGER rollups_count_insert AFTER INSERT ON rollups BEGIN
  INSERT INTO rollup_counts VALUES (NEW.service_day, NEW.landlord, 1)
  ON CONFLICT (service_day, landlord) DO UPDATE SET n = n + 1;
END""",
    """CREATE TRIGGER rollups_count_update AFTER UPDATE OF service_day, landlord ON rollups BEGIN
  UPDATE rollup_counts SET n = n - 1 WHERE service_day = OLD.service_day AND landlord = OLD.landlord;
  INSERT INTO rollup_counts VALUES (NEW.service_day, NEW.landlord, 1)
  ON CONFLICT (service_day, landlord) DO UPDATE SET n = n + 1;
END""",
    """CREATE TRIGGER rollups_count_delete AFTER DELETE ON rollups BEGIN
  UPDATE rollup_counts SET n = n - 1 WHERE service_day = OLD.service_day AND landlord = OLD.landlord;
END""",
)
# Each (day, landlord)'s rollups: how many (the landlord index answers, no table row read) and how often they
# were written, updated or deleted (``rollup_versions``, kept by the triggers above, whoever writes: ingest, or
# someone with the file and the sqlite3 shell). A landlord's 42 checkable days are then ~35 ms here against
# ~230 ms for sums over the 105,000 rows (the API asks it on every coverage request).
_ROLLUP_VERSIONS = (
    "SELECT r.service_day, r.landlord, r.n, ifnull(v.version, 0) FROM "
    "(SELECT service_day, landlord, count(*) AS n FROM rollups WHERE {where} GROUP BY service_day, landlord) AS r "
    "LEFT JOIN rollup_versions AS v ON v.service_day = r.service_day AND v.landlord = r.landlord"
)
_MARK_TRIGGERS = (
    "SELECT name FROM sqlite_master WHERE type = 'trigger' "
    "AND name IN ('rollups_version_update', 'rollups_count_delete')"
)
_ROLLUP_COUNTED = (  # the same from ``rollup_counts``
    "SELECT r.service_day, r.landlord, r.n, ifnull(v.version, 0) FROM "
    "(SELECT service_day, landlord, n FROM rollup_counts WHERE n > 0 AND {where}) AS r "
    "LEFT JOIN rollup_versions AS v ON v.service_day = r.service_day AND v.landlord = r.landlord"
)
_VERDICT_COLUMNS = "service_day, landlord, checked_at, rollups, events, prev_link, link, found, mismatches"
_ROLLUP_FINGERPRINT = (
    "SELECT service_day, landlord, count(*), sum(visits), sum(expected), sum(covered), "
    "sum(CAST(round(presence_s * 1000) AS INTEGER)), sum(CAST(round(max_idle_s * 1000) AS INTEGER)), "
    "sum(CAST(round(mean_idle_s * 1000) AS INTEGER)), sum(first_seen), sum(last_seen), count(first_seen), "
    "min(chain_digest), max(chain_digest) FROM rollups WHERE {where} GROUP BY service_day, landlord"
)
_EVENT_VERSIONS = (
    "SELECT d.service_day, d.n, d.top, ifnull(v.version, 0) FROM "
    "(SELECT service_day, count(*) AS n, max(rowid) AS top FROM visits "
    "WHERE service_day >= ? AND service_day <= ? GROUP BY service_day) AS d "
    "LEFT JOIN visit_versions AS v ON v.service_day = d.service_day"
)
_EVENT_FINGERPRINT = (
    "SELECT service_day, count(*), sum(first_seen), sum(last_seen), sum(seq), sum(count), sum(rssi_max), "
    "sum(CAST(round(rssi_mean * 1000) AS INTEGER)), sum(received_at), min(event_id), max(event_id), "
    "min(payload_sha256), max(payload_sha256) FROM visits WHERE service_day >= ? AND service_day <= ? "
    "GROUP BY service_day"
)
_MAX_PARAMS = 500  # per IN (...) list, well under SQLite's variable limit


class SqliteStore:
    """``SqliteStore(path)``: the Store port on a SQLite file (created on ``open()``, mode 0600:
    it holds employees' whereabouts). ``access=READ`` (API, audits) never creates the file nor
    its tables, and its connections are ``query_only``."""

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout_s: float = 10.0,
        access: StoreAccess = StoreAccess.WRITE,
        cache_kib: int | None = None,
    ) -> None:
        """``cache_kib``: each connection's page cache (``PRAGMA cache_size``), SQLite's 2,000 KiB when None. An
        ingest worker passes a small one (``ronde.ingest.cli.INGEST_SQLITE_CACHE_KIB``): its writer filled the
        default cache during a drain, 2 MB of its peak RSS, to append rows whose pages the OS caches anyway."""
        if cache_kib is not None and cache_kib < 1:
            raise ValueError(f"cache_kib must be at least 1, not {cache_kib}")
        if str(path) in ("", ":memory:") or str(path).startswith("file:"):
            raise ValueError(f"SqliteStore needs a file path (WAL, one connection per thread), not {str(path)!r}")
        self.path = Path(path)
        self.access = access
        self._busy_timeout_s = busy_timeout_s
        self._cache_kib = cache_kib
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._closed = False

    # ---- lifecycle ---------------------------------------------------------------------------

    def open(self) -> None:
        """A corrupted or truncated file raises ``StoreCorrupt`` here, at start-up (``quick_check``
        reads every page once: the embedded store is small), rather than a 500 on some later read."""
        self._closed = False
        if self.access is StoreAccess.READ:
            if not self.path.is_file():
                raise StoreUnavailable(f"SQLite {self.path}: no such store file (ingest creates it)")
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                _create_private(self.path)
            except OSError as exc:
                raise StoreUnavailable(f"cannot create {self.path}: {exc}") from exc
        self._run(_quick_check)
        if self.access is not StoreAccess.READ:
            self._run(lambda c: c.executescript(_DDL))
            self._run(_add_rollup_counts)

    def check(self) -> None:
        """One row of each table: answers in microseconds, fails like the data routes would."""
        for table in ("visits", "rejections", "gaps", "telemetry", "gateway_states", "rollups"):
            self._query(f"SELECT * FROM {table} LIMIT 1")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for _, conn in connections:
            conn.close()
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise StoreUnavailable("store is closed")
            conn = sqlite3.connect(
                self.path, timeout=self._busy_timeout_s, check_same_thread=False, isolation_level=None
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")  # a commit is on disk before write() returns
            conn.execute("PRAGMA foreign_keys=ON")
            if self._cache_kib is not None:
                conn.execute(f"PRAGMA cache_size=-{int(self._cache_kib)}")  # negative: KiB, not pages
            if self.access is StoreAccess.READ:
                conn.execute("PRAGMA query_only=ON")  # a reader cannot write, even by mistake
            with self._lock:
                dead = [c for t, c in self._connections if not t.is_alive()]
                self._connections = [(t, c) for t, c in self._connections if t.is_alive()]
                self._connections.append((threading.current_thread(), conn))
            for stale in dead:  # its thread has ended: nobody can use it again
                stale.close()
            self._local.conn = conn
            self._local.marks = KeptMarks()  # a connection's own: ``data_version`` counts per connection
        return conn

    def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return fn(self._connection())
        except sqlite3.OperationalError as exc:  # locked, disk I/O, read-only, full…
            raise StoreUnavailable(f"SQLite {self.path}: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise _corrupt(self.path, exc) from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"SQLite {self.path}: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise _corrupt(self.path, exc) from exc

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        def go(conn: sqlite3.Connection) -> list[sqlite3.Row]:
            cur = conn.execute(sql, params)
            cur.row_factory = sqlite3.Row
            return list(cur.fetchall())

        return self._run(go)

    # ---- writes ------------------------------------------------------------------------------

    def write(self, batch: WriteBatch) -> None:
        """Raises StoreRejected, the batch rolled back, for a value SQLite cannot hold as it is."""
        if len(batch) == 0:
            return
        with self._transaction() as conn, _refusals(self.path):
            if batch.visits:
                conn.executemany(
                    f"INSERT OR IGNORE INTO visits ({_VISIT_COLUMNS}) VALUES ({', '.join('?' * 19)})",
                    _checked("visits", [_visit_params(v) for v in batch.visits]),
                )
            if batch.rejections:
                conn.executemany(
                    "INSERT OR IGNORE INTO rejections VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    _checked(
                        "rejections",
                        [
                            (
                                schema.rejection_ns(r),
                                r.reason.value,
                                r.gateway_id or "",
                                to_ms(r.at),
                                r.detail,
                                r.topic,
                                r.payload_sha256,
                                r.event_id,
                            )
                            for r in batch.rejections
                        ],
                    ),
                )
            if batch.gaps:
                conn.executemany(
                    "INSERT OR IGNORE INTO gaps VALUES (?, ?, ?, ?, ?)",
                    _checked(
                        "gaps",
                        [
                            (schema.gap_ns(g), g.gateway_id, to_ms(g.detected_at), g.first_missing, g.last_missing)
                            for g in batch.gaps
                        ],
                    ),
                )
            if batch.telemetry:
                conn.executemany(
                    "INSERT OR IGNORE INTO telemetry VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    _checked(
                        "telemetry",
                        [
                            (
                                schema.telemetry_ns(t),
                                t.checkpoint_id,
                                t.gateway_id,
                                to_ms(t.at),
                                t.battery_mv,
                                t.temperature_c,
                                t.adv_count,
                                float(t.uptime_s),
                            )
                            for t in batch.telemetry
                        ],
                    ),
                )
            if batch.gateway_states:
                conn.executemany(
                    "INSERT OR IGNORE INTO gateway_states VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    _checked(
                        "gateway_states",
                        [
                            (
                                schema.gateway_state_ns(s),
                                s.gateway_id,
                                to_ms(s.at),
                                s.online,
                                s.scanning,
                                s.in_service,
                                s.outbox_depth,
                                s.adverts_per_s,
                                s.battery_pct,
                            )
                            for s in batch.gateway_states
                        ],
                    ),
                )

    def write_rollups(self, rollups: Sequence[DailyRollup]) -> None:
        if not rollups:
            return
        with self._transaction() as conn:
            conn.executemany(
                f"INSERT OR REPLACE INTO rollups ({_ROLLUP_COLUMNS}) VALUES ({', '.join('?' * 15)})",
                [_rollup_params(r) for r in rollups],
            )

    def write_monthly_rollups(self, rollups: Sequence[MonthlyRollup]) -> None:
        """The span letters reaching a written month are dropped in the same transaction (they were folded from
        its previous letters)."""
        if not rollups:
            return
        with self._transaction() as conn:
            conn.executemany(
                f"INSERT OR REPLACE INTO monthly_rollups ({_MONTHLY_COLUMNS}) VALUES ({', '.join('?' * 21)})",
                [_monthly_params(r) for r in rollups],
            )
            for month in {r.month for r in rollups}:
                _drop_spans_reaching(conn, month)

    def write_monthly_suffixes(self, month: date, suffixes: Sequence[MonthlySuffix]) -> None:
        """The month's previous suffix letters dropped and these written, in one transaction."""
        rows = [(s.from_day.isoformat(), *_monthly_params(s.letter)) for s in suffixes]
        with self._transaction() as conn:
            conn.execute("DELETE FROM monthly_suffixes WHERE month = ?", (month.replace(day=1).isoformat(),))
            conn.executemany(
                f"INSERT INTO monthly_suffixes (from_day, {_MONTHLY_COLUMNS}) VALUES ({', '.join('?' * 22)})",
                rows,
            )
            _drop_spans_reaching(conn, month)

    def write_month_spans(self, through: date, spans: Sequence[MonthlySpan]) -> None:
        """The span letters through the month ``through`` replaced by these, in one transaction."""
        if any(s.letter.month != through.replace(day=1) for s in spans):
            raise ValueError(f"span letters through another month than {through:%Y-%m}")
        rows = [(s.from_day.isoformat(), *_monthly_params(s.letter)) for s in spans]
        with self._transaction() as conn:
            conn.execute("DELETE FROM monthly_spans WHERE month = ?", (through.replace(day=1).isoformat(),))
            conn.executemany(
                f"INSERT INTO monthly_spans (from_day, {_MONTHLY_COLUMNS}) VALUES ({', '.join('?' * 22)})", rows
            )

    # ---- reads -------------------------------------------------------------------------------

    def known_event_ids(self, keys: Collection[EventKey]) -> set[str]:
        ids = sorted({k.event_id for k in keys})
        found: set[str] = set()
        for i in range(0, len(ids), _MAX_PARAMS):
            chunk = ids[i : i + _MAX_PARAMS]
            rows = self._query(f"SELECT event_id FROM visits WHERE event_id IN ({_marks(chunk)})", chunk)
            found.update(row[0] for row in rows)
        return found

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
        where = ["first_seen >= ?", "first_seen < ?"]
        params: list[Any] = [ceil_ms(start), ceil_ms(end)]
        if landlord is not None:
            where.append("landlord = ?")
            params.append(landlord)
        if gateway_ids is not None and len(gateway_ids) <= _MAX_PARAMS:
            where.append(f"gateway_id IN ({_marks(list(gateway_ids))})")
            params.extend(gateway_ids)
        rows = self._query(
            f"SELECT {_VISIT_COLUMNS} FROM visits WHERE {' AND '.join(where)} ORDER BY first_seen, event_id", params
        )
        wanted = None if checkpoint_ids is None else set(checkpoint_ids)
        gateways = None if gateway_ids is None else set(gateway_ids)
        return [
            _visit(r)
            for r in rows
            if (wanted is None or r["checkpoint_id"] in wanted) and (gateways is None or r["gateway_id"] in gateways)
        ]

    def visit_track(self, start: datetime, end: datetime, gateway_ids: Collection[str]) -> list[TrackPoint]:
        """Five columns as plain tuples (no ``sqlite3.Row``, no ``StoredVisit``): the replay check's read."""
        if not gateway_ids:
            return []
        sql = "SELECT gateway_id, first_seen, last_seen, event_id, checkpoint_id FROM visits "
        sql += "WHERE first_seen >= ? AND first_seen < ?"
        params: list[Any] = [ceil_ms(start), ceil_ms(end)]
        if len(gateway_ids) <= _MAX_PARAMS:
            sql += f" AND gateway_id IN ({_marks(list(gateway_ids))})"
            params.extend(gateway_ids)
        rows: list[tuple[str, int, int, str, str]] = self._run(lambda conn: conn.execute(sql, params).fetchall())
        gateways = set(gateway_ids)
        return [TrackPoint._make(r) for r in rows if r[0] in gateways]

    def known_event_ids_and_track(
        self, keys: Collection[EventKey], start: datetime, end: datetime, gateway_ids: Collection[str]
    ) -> tuple[set[str], list[TrackPoint]]:
        """The two reads one after the other: each is an indexed look-up here, nothing to share."""
        return self.known_event_ids(keys), self.visit_track(start, end, gateway_ids)

    def visit_spans(self, start: datetime, end: datetime, *, landlord: str | None = None) -> list[VisitSpan]:
        """Nine columns as plain tuples (no ``sqlite3.Row``, no ``StoredVisit``): the evening in progress's read."""
        sql = "SELECT checkpoint_id, badge, first_seen, last_seen, service_day, kind, building, estate, landlord "
        sql += "FROM visits WHERE first_seen >= ? AND first_seen < ?"
        params: list[Any] = [ceil_ms(start), ceil_ms(end)]
        if landlord is not None:
            sql += " AND landlord = ?"
            params.append(landlord)
        rows: list[tuple[Any, ...]] = self._run(lambda conn: conn.execute(sql, params).fetchall())
        days: dict[str, date] = {}
        out: list[VisitSpan] = []
        for cid, badge, first, last, day, kind, building, estate, owner in rows:
            d = days.get(day)
            if d is None:
                d = days[day] = date.fromisoformat(day)
            out.append(VisitSpan(cid, badge, first, last, d, kind, building, estate, owner))
        return out

    def visits_of_days(self, days: Collection[date], *, landlord: str | None = None) -> list[StoredVisit]:
        wanted = sorted({d.isoformat() for d in days})
        out: list[StoredVisit] = []
        for i in range(0, len(wanted), _MAX_PARAMS):
            chunk = wanted[i : i + _MAX_PARAMS]
            sql = f"SELECT {_VISIT_COLUMNS} FROM visits WHERE service_day IN ({_marks(chunk)})"
            params: list[Any] = list(chunk)
            if landlord is not None:
                sql += " AND landlord = ?"
                params.append(landlord)
            out.extend(_visit(r) for r in self._query(sql, params))
        out.sort(key=lambda v: (v.first_seen, v.event_id))
        return out

    def sequence_numbers(self, gateway_id: str, start: datetime, end: datetime) -> list[int]:
        rows = self._query(
            "SELECT seq FROM visits WHERE gateway_id = ? AND received_at >= ? AND received_at < ? ORDER BY seq",
            (gateway_id, ceil_ms(start), ceil_ms(end)),
        )
        return [int(r[0]) for r in rows]

    def gateways(self) -> list[str]:
        rows = self._query(
            "SELECT gateway_id FROM visits UNION SELECT gateway_id FROM gateway_states "
            "UNION SELECT gateway_id FROM telemetry UNION SELECT gateway_id FROM gaps ORDER BY 1"
        )
        return [str(r[0]) for r in rows]

    def known_rejections(self, rejections: Collection[Rejection], lookback: timedelta) -> set[tuple[str, str]]:
        if not rejections:
            return set()
        wanted = {(r.topic, r.payload_sha256) for r in rejections}
        since = ceil_ms(min(r.at for r in rejections) - lookback)
        digests = sorted({d for _, d in wanted})
        found: set[tuple[str, str]] = set()
        for i in range(0, len(digests), _MAX_PARAMS):
            chunk = digests[i : i + _MAX_PARAMS]
            rows = self._query(
                f"SELECT topic, payload_sha256 FROM rejections WHERE at >= ? AND payload_sha256 IN ({_marks(chunk)})",
                [since, *chunk],
            )
            found.update(key for r in rows if (key := (str(r[0]), str(r[1]))) in wanted)
        return found

    def rejections(
        self, start: datetime, end: datetime, *, limit: int | None = None, newest_first: bool = False
    ) -> list[Rejection]:
        """``ts_ns`` is ``at`` in ms times 10^6 plus an offset below 10^6, so bounding it as well lets
        the primary key's index give the rows already in order: with a limit, SQLite walks that many
        index entries instead of sorting every rejection of the window."""
        lo, hi = ceil_ms(start), ceil_ms(end)
        way = " DESC" if newest_first else ""
        sql = (
            f"SELECT * FROM rejections WHERE ts_ns >= ? AND ts_ns < ? AND at >= ? AND at < ? "
            f"ORDER BY ts_ns{way}, reason{way}, gateway_id{way}"
        )
        params: list[Any] = [_int64(lo * schema.NS_PER_MS), _int64(hi * schema.NS_PER_MS), lo, hi]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(0, limit))
        rows = self._query(sql, params)
        return [
            Rejection(
                at=from_ms(r["at"]),
                reason=RejectReason(r["reason"]),
                detail=r["detail"],
                topic=r["topic"],
                gateway_id=r["gateway_id"] or None,
                payload_sha256=r["payload_sha256"],
                event_id=r["event_id"],
            )
            for r in rows
        ]

    def rejection_counts(self, start: datetime, end: datetime) -> dict[RejectReason, int]:
        rows = self._query(
            "SELECT reason, COUNT(*) FROM rejections WHERE at >= ? AND at < ? GROUP BY reason",
            (ceil_ms(start), ceil_ms(end)),
        )
        return {RejectReason(r[0]): int(r[1]) for r in rows}

    def gaps(self, start: datetime, end: datetime) -> list[SequenceGap]:
        rows = self._query(
            "SELECT * FROM gaps WHERE detected_at >= ? AND detected_at < ? ORDER BY ts_ns, gateway_id",
            (ceil_ms(start), ceil_ms(end)),
        )
        return [
            SequenceGap(
                gateway_id=r["gateway_id"],
                first_missing=r["first_missing"],
                last_missing=r["last_missing"],
                detected_at=from_ms(r["detected_at"]),
            )
            for r in rows
        ]

    def latest_telemetry(self) -> dict[str, BeaconTelemetryRecord]:
        rows = self._query(
            "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY checkpoint_id ORDER BY ts_ns DESC, "
            "gateway_id DESC) AS rn FROM telemetry) WHERE rn = 1"
        )
        return {
            r["checkpoint_id"]: BeaconTelemetryRecord(
                at=from_ms(r["at"]),
                checkpoint_id=r["checkpoint_id"],
                gateway_id=r["gateway_id"],
                battery_mv=r["battery_mv"],
                temperature_c=r["temperature_c"],
                adv_count=r["adv_count"],
                uptime_s=r["uptime_s"],
            )
            for r in rows
        }

    def latest_gateway_states(self) -> dict[str, GatewayStateRecord]:
        rows = self._query(
            "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY gateway_id ORDER BY ts_ns DESC) AS rn "
            "FROM gateway_states) WHERE rn = 1"
        )
        return {
            r["gateway_id"]: GatewayStateRecord(
                at=from_ms(r["at"]),
                gateway_id=r["gateway_id"],
                online=bool(r["online"]),
                scanning=bool(r["scanning"]),
                in_service=None if r["in_service"] is None else bool(r["in_service"]),
                outbox_depth=r["outbox_depth"],
                adverts_per_s=r["adverts_per_s"],
                battery_pct=r["battery_pct"],
            )
            for r in rows
        }

    def rollups(self, first: date, last: date, *, landlord: str | None = None) -> list[DailyRollup]:
        return _rollups(self._rollup_rows(_ROLLUP_COLUMNS, first, last, landlord))

    def rollup_figures(self, first: date, last: date, *, landlord: str | None = None) -> list[RollupFigures]:
        return _rollup_figures(self._rollup_rows(_FIGURE_COLUMNS, first, last, landlord))

    def rollup_figures_by_day(self, first: date, last: date, *, landlord: str | None = None) -> list[RollupFigures]:
        """By day only: for one landlord its index (landlord, service_day) gives the rows in that order, where the
        checkpoint order too cost a sort of them (~15 % of the read of a city landlord's tail)."""
        return _rollup_figures(self._rollup_rows(_FIGURE_COLUMNS, first, last, landlord, "service_day"))

    def heard_days(self, first: date, last: date, *, landlord: str | None = None) -> dict[str, tuple[date, date]]:
        """One aggregate query: at city scale a landlord's week is ~12,500 rows read by SQLite, 2,500 returned."""
        where, params = _rollup_range(first, last, landlord)
        sql = f"SELECT checkpoint_id, min(service_day), max(service_day) FROM rollups WHERE {where} AND visits > 0"
        rows = self._run(lambda conn: conn.execute(f"{sql} GROUP BY checkpoint_id", params).fetchall())
        days: dict[str, date] = {}
        for _, lo, hi in rows:
            for d in (lo, hi):
                if d not in days:
                    days[d] = date.fromisoformat(d)
        return {cid: (days[lo], days[hi]) for cid, lo, hi in rows}

    def rollup_day_states(self, first: date, last: date, *, landlord: str | None = None) -> list[DayStates]:
        """One aggregate statement: SQLite codes each row, ~2,500 rows of a city landlord's tail returned where its
        figures were ~17,500 of 13 columns."""
        if last < first:
            return []
        codes, days = day_states.days_sql(first, last)
        where, params = _rollup_range(first, last, landlord)
        tags = "checkpoint_id, building, estate, landlord"
        sql = f"SELECT {tags}, {codes} FROM rollups WHERE {where} GROUP BY {tags} ORDER BY {tags}"
        rows: list[DayStates] = self._run(lambda conn: conn.execute(sql, [*days, *params]).fetchall())
        return rows

    def rollup_visited(self, first: date, last: date, *, landlord: str | None = None) -> dict[date, list[str]]:
        """One statement (one snapshot), a row a day: its visited checkpoints as a JSON array (any id survives)."""
        where, params = _rollup_range(first, last, landlord)
        sql = (
            f"SELECT service_day, json_group_array(checkpoint_id) FILTER (WHERE visits > 0) FROM rollups WHERE {where}"
        )
        rows = self._run(lambda conn: conn.execute(f"{sql} GROUP BY service_day", params).fetchall())
        return {date.fromisoformat(day): [str(c) for c in json.loads(ids)] for day, ids in rows}

    def _rollup_rows(
        self, columns: str, first: date, last: date, landlord: str | None, order: str = "service_day, checkpoint_id"
    ) -> list[Any]:
        where, params = _rollup_range(first, last, landlord)
        return self._run(
            lambda conn: conn.execute(
                f"SELECT {columns} FROM rollups WHERE {where} ORDER BY {order}", params
            ).fetchall()
        )

    def monthly_rollups(self, month: date, *, landlord: str | None = None) -> list[MonthlyRollup]:
        return [_monthly(r) for r in self._monthly_rows(_MONTHLY_COLUMNS, month, landlord)]

    def monthly_figures(self, month: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        """The rows as the driver gives them: the instants scaled to microseconds by SQLite, no month column."""
        return self._monthly_rows(_MONTHLY_FIGURES, month, landlord)

    def suffix_figures(self, from_day: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        """As ``monthly_figures``: the rows as the driver gives them (one indexed query)."""
        sql = f"SELECT {_MONTHLY_FIGURES} FROM monthly_suffixes WHERE month = ? AND from_day = ?"  # the key's order
        params = [from_day.replace(day=1).isoformat(), from_day.isoformat()]
        return self._optional_rows("monthly_suffixes", sql, params, landlord, " ORDER BY checkpoint_id")

    def _optional_rows(
        self, table: str, sql: str, params: list[Any], landlord: str | None, order: str = ""
    ) -> list[Any]:
        """``sql`` (on ``table``, of ``landlord`` if given) run; no rows when the file has no such table (a store
        made by earlier code, opened to read)."""
        if not self._query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)):
            return []
        if landlord is not None:
            sql += " AND landlord = ?"
            params = [*params, landlord]
        return self._run(lambda conn: conn.execute(sql + order, params).fetchall())

    def reading_ahead(self, reads: Sequence[ReadAhead]) -> contextlib.AbstractContextManager[None]:  # noqa: ARG002
        """Nothing started ahead: an embedded read costs this process's CPU whenever it is made."""
        return contextlib.nullcontext()

    def write_tail_letters(self, from_day: date, letters: Sequence[MonthlyRollup]) -> None:
        """Every earlier tail letter dropped and these written, in one transaction."""
        if any(r.month != from_day for r in letters):
            raise ValueError(f"tail letters of another first day than {from_day}")
        rows = [(from_day.isoformat(), *_monthly_params(r)) for r in letters]
        with self._transaction() as conn:
            conn.execute("DELETE FROM tail_letters")
            conn.executemany(
                f"INSERT INTO tail_letters (from_day, {_MONTHLY_COLUMNS}) VALUES ({', '.join('?' * 22)})", rows
            )

    def write_visited_sets(self, sets: Sequence[VisitedSet]) -> None:
        """``INSERT OR REPLACE`` in one transaction; the checkpoints as a JSON array (any id survives)."""
        rows = [(v.day.isoformat(), v.landlord, v.mark, json.dumps(list(v.checkpoints))) for v in sets]
        with self._transaction() as conn:
            conn.executemany("INSERT OR REPLACE INTO visited_sets VALUES (?, ?, ?, ?)", rows)

    def visited_sets(
        self, first: date, last: date, *, landlord: str | None = None
    ) -> dict[tuple[date, str], VisitedSet]:
        """One statement by the key's range (a store made by earlier code has no such table: none)."""
        rows = self._visited_sets("service_day, landlord, mark, checkpoints", first, last, landlord)
        out: dict[tuple[date, str], VisitedSet] = {}
        for day, owner, mark, ids in rows:
            d = _visited_day(day)
            out[(d, owner)] = VisitedSet(d, owner, str(mark), _visited_ids(ids))
        return out

    def visited_set_marks(self, first: date, last: date) -> dict[tuple[date, str], str]:
        rows = self._visited_sets("service_day, landlord, mark", first, last, None)
        return {(_visited_day(day), owner): str(mark) for day, owner, mark in rows}

    def _visited_sets(self, columns: str, first: date, last: date, landlord: str | None) -> list[Any]:
        sql = f"SELECT {columns} FROM visited_sets WHERE service_day BETWEEN ? AND ?"
        return self._optional_rows("visited_sets", sql, [first.isoformat(), last.isoformat()], landlord)

    def tail_figures(self, from_day: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        """As ``suffix_figures`` (one indexed query; a store made by earlier code has no such table)."""
        sql = f"SELECT {_MONTHLY_FIGURES} FROM tail_letters WHERE month = ? AND from_day = ?"
        params = [from_day.isoformat(), from_day.isoformat()]
        return self._optional_rows("tail_letters", sql, params, landlord, " ORDER BY checkpoint_id")

    def monthly_states(self, month: date, *, landlord: str | None = None) -> list[LetterStates] | None:
        """``monthly_figures``' checkpoint, basis and states (one indexed query, three columns)."""
        sql = "SELECT checkpoint_id, basis, states FROM monthly_rollups WHERE month = ?"
        return self._optional_rows("monthly_rollups", sql, [month.isoformat()], landlord, " ORDER BY checkpoint_id")

    def suffix_states(self, from_day: date, *, landlord: str | None = None) -> list[LetterStates] | None:
        """``suffix_figures``' checkpoint, basis and states."""
        sql = "SELECT checkpoint_id, basis, states FROM monthly_suffixes WHERE month = ? AND from_day = ?"
        params = [from_day.replace(day=1).isoformat(), from_day.isoformat()]
        return self._optional_rows("monthly_suffixes", sql, params, landlord, " ORDER BY checkpoint_id")

    def tail_states(self, from_day: date, *, landlord: str | None = None) -> list[LetterStates] | None:
        """``tail_figures``' checkpoint, basis and states."""
        sql = "SELECT checkpoint_id, basis, states FROM tail_letters WHERE month = ? AND from_day = ?"
        params = [from_day.isoformat(), from_day.isoformat()]
        return self._optional_rows("tail_letters", sql, params, landlord, " ORDER BY checkpoint_id")

    def span_states(self, from_day: date, through: date, *, landlord: str | None = None) -> list[LetterStates] | None:
        """``span_figures``' checkpoint, basis and states."""
        sql = "SELECT checkpoint_id, basis, states FROM monthly_spans WHERE month = ? AND from_day = ?"
        params = [through.replace(day=1).isoformat(), from_day.isoformat()]
        return self._optional_rows("monthly_spans", sql, params, landlord, " ORDER BY checkpoint_id")

    def span_figures(self, from_day: date, through: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        """As ``suffix_figures`` (a span no longer current was dropped by the write that made it so)."""
        if not self._query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'monthly_spans'"):
            return []
        sql = f"SELECT {_MONTHLY_FIGURES} FROM monthly_spans WHERE month = ? AND from_day = ?"
        params: list[Any] = [through.replace(day=1).isoformat(), from_day.isoformat()]
        if landlord is not None:
            sql += " AND landlord = ?"
            params.append(landlord)
        return self._run(lambda conn: conn.execute(sql + " ORDER BY checkpoint_id", params).fetchall())

    def _monthly_rows(self, columns: str, month: date, landlord: str | None) -> list[Any]:
        """No rows when the file predates the table (a READ store never creates it): the caller folds days."""
        if not self._query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'monthly_rollups'"):
            return []
        sql = f"SELECT {columns} FROM monthly_rollups WHERE month = ?"
        params: list[Any] = [month.isoformat()]
        if landlord is not None:
            sql += " AND landlord = ?"
            params.append(landlord)
        return self._run(lambda conn: conn.execute(sql + " ORDER BY checkpoint_id", params).fetchall())

    # ---- rollup checks (ronde.store.checks) ---------------------------------------------------

    def rollup_fingerprints(
        self, first: date, last: date, *, landlord: str | None = None
    ) -> dict[tuple[date, str], str]:
        """The rows' count and their write version (``_ROLLUP_VERSIONS``): any insert, replace, update or delete
        moves it. A file without the version triggers (opened only by a READ store since it predates them)
        falls back to counts and integer sums of the rows (floats as whole milliseconds: a sum of floats
        depends on the order the query plan reads rows in, and the API's plan, by landlord, is not
        maintenance's). The two kinds never compare equal ("v" prefix), so a switch only re-checks."""
        where, params = "service_day >= ? AND service_day <= ?", [first.isoformat(), last.isoformat()]
        if landlord is not None:
            where += " AND landlord = ?"
            params.append(landlord)
        triggers = {r[0] for r in self._query(_MARK_TRIGGERS)}
        if "rollups_version_update" in triggers:
            sql = (_ROLLUP_COUNTED if "rollups_count_delete" in triggers else _ROLLUP_VERSIONS).format(where=where)
            rows = self._run(lambda conn: conn.execute(sql, params).fetchall())
            return {(date.fromisoformat(r[0]), r[1]): f"v{r[2]}|{r[3]}" for r in rows}
        rows = self._run(lambda conn: conn.execute(_ROLLUP_FINGERPRINT.format(where=where), params).fetchall())
        return {(date.fromisoformat(r[0]), r[1]): "|".join(map(str, r[2:])) for r in rows}

    def rollup_marks(self, first: date, last: date, *, landlord: str | None = None) -> dict[tuple[date, str], str]:
        """The fingerprints themselves: the version triggers catch edits made around the store. A reader keeps
        them per connection until another connection commits (``ronde.store.sqlite_marks``)."""
        if self.access is not StoreAccess.READ or first > last:
            return self.rollup_fingerprints(first, last, landlord=landlord)

        def read(conn: sqlite3.Connection) -> dict[tuple[date, str], str]:
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            kept: KeptMarks = self._local.marks
            return kept.read(
                version, first, last, landlord, lambda lo, hi: self.rollup_fingerprints(lo, hi, landlord=landlord)
            )

        return self._run(read)

    def event_fingerprints(self, first: date, last: date) -> dict[date, str]:
        """Ingest only inserts visits (``INSERT OR IGNORE``), so a day's row count and highest rowid move with
        any insert; updates and deletes, whoever makes them, bump the day's version (``visit_versions``, kept
        by triggers: none on the insert path, which stays as cheap as before). The count and the rowid come
        from the ``visits_day`` index: at city scale 0.36 s of CPU a pass instead of 3.1 s for sums over the
        738,000 rows kept. A file without the triggers falls back to the sums ("v" marks the other kind, so
        a switch only re-checks)."""
        params = [first.isoformat(), last.isoformat()]
        if self._query("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'visits_version_delete'"):
            rows = self._run(lambda conn: conn.execute(_EVENT_VERSIONS, params).fetchall())
            return {date.fromisoformat(r[0]): f"v{r[1]}|{r[2]}|{r[3]}" for r in rows}
        rows = self._run(lambda conn: conn.execute(_EVENT_FINGERPRINT, params).fetchall())
        return {date.fromisoformat(r[0]): "|".join(map(str, r[1:])) for r in rows}

    def event_marks(self, first: date, last: date) -> dict[date, str]:
        """The fingerprints themselves: read from an index and the version triggers, already cheap, and they
        catch edits made around the store."""
        return self.event_fingerprints(first, last)

    def visit_spans_kept(
        self, start: datetime, end: datetime, *, landlord: str | None, day: date, kept: StampedSpans | None
    ) -> StampedSpans:
        """The day's event mark (``event_fingerprints``: its visits' count and highest rowid, and its version,
        moved by updates and deletes), committed with the visits it counts, read before them."""
        stamp = self.event_marks(day, day).get(day, "")
        if kept is not None and kept[0] == stamp:
            return kept
        return stamp, self.visit_spans(start, end, landlord=landlord)

    def write_rollup_verdicts(self, verdicts: Sequence[RollupVerdict]) -> None:
        if not verdicts:
            return
        with self._transaction() as conn:
            conn.execute(_VERDICT_DDL)  # a file opened WRITE before the table existed
            conn.executemany(
                f"INSERT OR REPLACE INTO rollup_checks ({_VERDICT_COLUMNS}) VALUES ({', '.join('?' * 9)})",
                [
                    (
                        v.service_day.isoformat(),
                        v.landlord,
                        to_ms(v.checked_at),
                        v.rollups,
                        v.events,
                        v.prev_link,
                        v.link,
                        len(v.mismatches),
                        encode_mismatches(v.mismatches),
                    )
                    for v in verdicts
                ],
            )

    def rollup_verdicts(self, first: date, last: date, *, landlord: str | None = None) -> list[RollupVerdict]:
        if not self._query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rollup_checks'"):
            return []  # a store never checked (a READ store never creates the table)
        sql = f"SELECT {_VERDICT_COLUMNS} FROM rollup_checks WHERE service_day >= ? AND service_day <= ?"
        params: list[Any] = [first.isoformat(), last.isoformat()]
        if landlord is not None:
            sql += " AND landlord = ?"
            params.append(landlord)
        out: list[RollupVerdict] = []
        for day, lid, checked, rollups, events, prev, link, _, blob in self._run(
            lambda conn: conn.execute(sql + " ORDER BY service_day, landlord", params).fetchall()
        ):
            try:
                out.append(verdict_from_fields(str(day), str(lid), int(checked), rollups, events, prev, link, blob))
            except (UnreadableVerdict, TypeError, ValueError) as exc:
                log.warning("rollup check of %s for %s unreadable, shown as not checked: %s", day, lid, exc)
        return out

    # ---- retention ---------------------------------------------------------------------------

    def apply_retention(self, policy: RetentionPolicy, now: datetime) -> None:
        days = measurement_days(policy)
        with self._transaction() as conn:
            for table, column, measurement in (
                ("visits", "first_seen", schema.VISIT.name),
                ("rejections", "at", schema.REJECTION.name),
                ("gaps", "detected_at", schema.SEQUENCE_GAP.name),
                ("telemetry", "at", schema.BEACON_TELEMETRY.name),
                ("gateway_states", "at", schema.GATEWAY_STATE.name),
            ):
                conn.execute(f"DELETE FROM {table} WHERE {column} < ?", (to_ms(cutoff(now, days[measurement])),))
            expired = cutoff_day(now, days[schema.CHECKPOINT_DAY.name]).date()
            conn.execute("DELETE FROM rollups WHERE service_day < ?", (expired.isoformat(),))
            conn.execute("DELETE FROM monthly_rollups WHERE month < ?", (expired.replace(day=1).isoformat(),))
            conn.execute("DELETE FROM monthly_suffixes WHERE month < ?", (expired.replace(day=1).isoformat(),))
            conn.execute("DELETE FROM monthly_spans WHERE from_day < ?", (expired.isoformat(),))
            conn.execute("DELETE FROM tail_letters WHERE from_day < ?", (expired.isoformat(),))
            conn.execute("DELETE FROM visited_sets WHERE service_day < ?", (expired.isoformat(),))
            conn.execute(_VERDICT_DDL)
            conn.execute("DELETE FROM rollup_checks WHERE service_day < ?", (expired.isoformat(),))
            conn.execute("DELETE FROM rollup_versions WHERE service_day < ?", (expired.isoformat(),))
            conn.execute("DELETE FROM rollup_counts WHERE service_day < ? AND n = 0", (expired.isoformat(),))


def _visited_day(text: object) -> date:
    try:
        return date.fromisoformat(str(text))
    except ValueError as exc:
        raise StoreRejected(f"visited_sets: a service day that is not one ({exc})") from exc


def _visited_ids(text: object) -> tuple[str, ...]:
    """A ``visited_sets`` row's checkpoints, checked: a row this store could not have written is refused."""
    try:
        ids = json.loads(str(text))
    except (ValueError, RecursionError) as exc:
        raise StoreRejected(f"visited_sets: checkpoints not a JSON array ({exc})") from exc
    if not isinstance(ids, list) or not all(isinstance(c, str) for c in ids):
        raise StoreRejected("visited_sets: checkpoints not a JSON array of ids")
    return tuple(ids)


def _add_rollup_counts(conn: sqlite3.Connection) -> None:
    """``rollup_counts``, its counts and its triggers added to a file without them, in one transaction (a rollup
    written meanwhile by another process is counted once: before, by the counts; after, by the triggers)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rollup_counts'").fetchone():
            for statement in _COUNTS_DDL:
                conn.execute(statement)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _int64(n: int) -> int:
    """A bound clamped to SQLite's INTEGER range (a far date in ns does not fit; no row is beyond it)."""
    return max(-(2**63), min(2**63 - 1, n))


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _checked(table: str, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Refuse what the InfluxDB store refuses, instead of storing something else: SQLite would
    keep an infinite float, turn NaN into NULL (a NOT NULL row then skipped in silence by OR
    IGNORE) and raise OverflowError beyond 64 bits. The message names the table, never the value."""
    for row in rows:
        for value in row:
            if type(value) is float and not math.isfinite(value):
                raise StoreRejected(f"SQLite: a non-finite float for table {table}")
            if type(value) is int and not INT64_MIN <= value <= INT64_MAX:
                raise StoreRejected(f"SQLite: an integer beyond 64 bits for table {table}")
    return rows


@contextmanager
def _refusals(path: Path) -> Iterator[None]:
    """Errors no retry can fix, raised by a value of the batch, become StoreRejected (the caller
    isolates the record) rather than reaching the transaction's handler, which would take a
    DatabaseError for a damaged file. Inside the transaction, so it still rolls back."""
    try:
        yield
    except (OverflowError, ValueError, sqlite3.IntegrityError, sqlite3.DataError, sqlite3.InterfaceError) as exc:
        raise StoreRejected(f"SQLite {path} refused the batch: {type(exc).__name__}") from exc


def _create_private(path: Path) -> None:
    """Create the file 0600 before SQLite does (it would apply the umask: 0644 by default); SQLite
    gives its -wal and -shm files the database file's mode."""
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _quick_check(conn: sqlite3.Connection) -> None:
    problems = [str(r[0]) for r in conn.execute("PRAGMA quick_check(5)").fetchall()]
    if problems != ["ok"]:
        raise sqlite3.DatabaseError("; ".join(problems))


def _corrupt(path: Path, exc: sqlite3.DatabaseError) -> StoreCorrupt | StoreUnavailable:
    """``DatabaseError`` itself (not a subclass) is SQLite's NOTADB/CORRUPT: the file is damaged.
    Its subclasses (integrity, programming errors…) are bugs, not an unavailable store: re-raised."""
    if type(exc) is not sqlite3.DatabaseError:
        raise exc
    return StoreCorrupt(f"SQLite {path} is not a readable Ronde store ({exc}): restore it from a backup")


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))


def _visit_params(v: StoredVisit) -> tuple[Any, ...]:
    return (
        v.event_id,
        to_ms(v.first_seen),
        to_ms(v.last_seen),
        v.gateway_id,
        v.seq,
        v.badge,
        v.checkpoint_id,
        v.kind,
        v.building or None,
        v.estate,
        v.landlord,
        v.service_day.isoformat(),
        v.count,
        v.rssi_max,
        float(v.rssi_mean),
        v.verification.value,
        v.beacon_check.value,
        to_ms(v.received_at),
        v.payload_sha256,
    )


def _visit(r: sqlite3.Row) -> StoredVisit:
    return StoredVisit(
        event_id=r["event_id"],
        gateway_id=r["gateway_id"],
        seq=r["seq"],
        badge=r["badge"],
        checkpoint_id=r["checkpoint_id"],
        kind=r["kind"],
        building=r["building"],
        estate=r["estate"],
        landlord=r["landlord"],
        service_day=date.fromisoformat(r["service_day"]),
        first_seen=from_ms(r["first_seen"]),
        last_seen=from_ms(r["last_seen"]),
        count=r["count"],
        rssi_max=r["rssi_max"],
        rssi_mean=r["rssi_mean"],
        verification=Verification(r["verification"]),
        beacon_check=BeaconCheck(r["beacon_check"]),
        received_at=from_ms(r["received_at"]),
        payload_sha256=r["payload_sha256"],
    )


def _rollup_params(r: DailyRollup) -> tuple[Any, ...]:
    return (
        r.service_day.isoformat(),
        r.checkpoint_id,
        r.kind,
        r.building or None,
        r.estate,
        r.landlord,
        r.visits,
        r.expected,
        r.covered,
        None if r.first_seen is None else to_ms(r.first_seen),
        None if r.last_seen is None else to_ms(r.last_seen),
        float(r.presence_s),
        float(r.max_idle_s),
        float(r.mean_idle_s),
        r.chain_digest,
    )


def _rollups(rows: list[tuple[Any, ...]]) -> list[DailyRollup]:
    """From plain tuples in ``_ROLLUP_COLUMNS`` order (a year is ~260 rows per checkpoint: the name look-ups of
    ``sqlite3.Row`` were the largest cost of reading them); one ``date`` per day, not per row."""
    days: dict[str, date] = {}
    out: list[DailyRollup] = []
    for day, cid, kind, building, estate, landlord, visits, expected, covered, first, last, p, mx, mean, link in rows:
        d = days.get(day)
        if d is None:
            d = days[day] = date.fromisoformat(day)
        out.append(
            DailyRollup(
                d,
                cid,
                kind,
                building,
                estate,
                landlord,
                visits,
                expected,
                bool(covered),
                None if first is None else from_ms(first),
                None if last is None else from_ms(last),
                p,
                mx,
                mean,
                link,
            )
        )
    return out


def _rollup_figures(rows: list[tuple[Any, ...]]) -> list[RollupFigures]:
    """``_rollups`` without the objects: the instants stay integers (ms stored, microseconds given)."""
    days: dict[str, date] = {}
    out: list[RollupFigures] = []
    for day, cid, kind, building, estate, landlord, visits, expected, covered, first, last, p, mx, mean in rows:
        d = days.get(day)
        if d is None:
            d = days[day] = date.fromisoformat(day)
        out.append(
            (
                d,
                cid,
                kind,
                building,
                estate,
                landlord,
                visits,
                expected,
                bool(covered),
                None if first is None else first * 1000,
                None if last is None else last * 1000,
                p,
                mx,
                mean,
            )
        )
    return out


def _drop_spans_reaching(conn: sqlite3.Connection, month: date) -> None:
    """Drop the span letters whose days reach the month ``month`` (from a day before its end, through it or later)."""
    lo = month.replace(day=1)
    after = (lo + timedelta(days=32)).replace(day=1)
    conn.execute("DELETE FROM monthly_spans WHERE month >= ? AND from_day < ?", (lo.isoformat(), after.isoformat()))


def _monthly_params(r: MonthlyRollup) -> tuple[Any, ...]:
    return (
        r.month.isoformat(),
        r.checkpoint_id,
        r.kind,
        r.building or None,
        r.estate,
        r.landlord,
        r.expected,
        r.basis,
        r.states,
        r.visits,
        float(r.presence_s),
        None if r.first_seen is None else to_ms(r.first_seen),
        None if r.last_seen is None else to_ms(r.last_seen),
        float(r.service_s),
        r.seen,
        float(r.lead_s),
        float(r.trail_s),
        r.inner_n,
        float(r.inner_s1),
        float(r.inner_s2),
        float(r.inner_worst),
    )


def _monthly(r: tuple[Any, ...]) -> MonthlyRollup:
    """From a plain tuple (in ``_MONTHLY_COLUMNS`` order): a year reads tens of thousands of them."""
    (month, cid, kind, building, estate, landlord, expected, basis, states, visits, presence) = r[:11]
    first, last, service, seen, lead, trail, n, s1, s2, worst = r[11:]
    return MonthlyRollup(
        date.fromisoformat(month),
        cid,
        kind,
        building,
        estate,
        landlord,
        expected,
        basis,
        states,
        visits,
        presence,
        None if first is None else from_ms(first),
        None if last is None else from_ms(last),
        service,
        bool(seen),
        lead,
        trail,
        n,
        s1,
        s2,
        worst,
    )


def _rollup_range(first: date, last: date, landlord: str | None) -> tuple[str, list[Any]]:
    """The rollups of the service days ``first..last`` (of ``landlord`` if given): a WHERE clause and its parameters."""
    where, params = "service_day >= ? AND service_day <= ?", [first.isoformat(), last.isoformat()]
    if landlord is not None:
        return f"{where} AND landlord = ?", [*params, landlord]
    return where, params
