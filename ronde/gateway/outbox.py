"""The on-device durable queue: every event is written here before any network attempt.

SQLite in WAL mode with ``synchronous=FULL``: a committed enqueue survives power loss. The
visit sequence counter lives in the same database and is bumped in the same transaction as the
insert, so a crash can neither reuse a sequence number nor leave a gap. Rows leave only on
PUBACK (``ack``) or, for a message the broker refuses for good, into ``rejected`` with the reason:
never silently.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ronde.protocol.topics import TopicKind

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    pos INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    msg_id TEXT NOT NULL UNIQUE,
    seq INTEGER UNIQUE,
    payload BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
    pos INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    seq INTEGER,
    payload BLOB NOT NULL,
    created REAL NOT NULL,
    rejected_at REAL NOT NULL,
    reason TEXT NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('next_seq', 1);
"""


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message ready to publish: topic kind under the gateway's subtree, id for logs, signed payload."""

    kind: TopicKind
    msg_id: str
    seq: int | None
    payload: bytes


@dataclass(frozen=True, slots=True)
class OutboxRow:
    pos: int
    kind: TopicKind
    msg_id: str
    seq: int | None
    payload: bytes


def _create_private(path: Path) -> None:
    """Create the outbox 0600 before SQLite would (honouring the umask: 0644 by default): it holds
    signed visits, i.e. where a team was. SQLite gives its -wal and -shm files the same mode."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return


class OutboxError(Exception):
    """The outbox cannot be opened, or was asked to break its sequence numbering."""


class Outbox:
    """Thread-safe (one lock) so the app can run its fsyncs off the event loop with ``asyncio.to_thread``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
                _create_private(self.path)
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (sqlite3.DatabaseError, OSError) as exc:
            raise OutboxError(f"{path}: cannot open the outbox: {exc}") from None
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _insert(self, msg: OutgoingMessage, now: float) -> int:
        cur = self._db.execute(
            "INSERT INTO outbox (kind, msg_id, seq, payload, created) VALUES (?, ?, ?, ?, ?)",
            (msg.kind.value, msg.msg_id, msg.seq, msg.payload, now),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def enqueue_sequenced(self, build: Callable[[int], OutgoingMessage], now: float) -> OutgoingMessage:
        """Allocate the next sequence number, build the message with it, store both atomically."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                (seq,) = self._db.execute("SELECT value FROM meta WHERE key = 'next_seq'").fetchone()
                msg = build(int(seq))
                if msg.seq != seq:
                    raise OutboxError(f"message built with seq {msg.seq}, allocated {seq}")  # noqa: TRY301 - rolled back by the except below, then raised on
                self._insert(msg, now)
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (seq + 1,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return msg

    def enqueue(self, msg: OutgoingMessage, now: float) -> None:
        """Store an unsequenced message (beacon telemetry) in the same FIFO."""
        if msg.seq is not None:
            raise OutboxError("sequenced messages go through enqueue_sequenced")
        with self._lock:
            self._insert(msg, now)

    def pending(self, after_pos: int = 0, limit: int = 100) -> list[OutboxRow]:
        """Oldest first: the publishing order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT pos, kind, msg_id, seq, payload FROM outbox WHERE pos > ? ORDER BY pos LIMIT ?",
                (after_pos, limit),
            ).fetchall()
        return [OutboxRow(pos, TopicKind(kind), mid, seq, bytes(payload)) for pos, kind, mid, seq, payload in rows]

    def ack(self, positions: Iterable[int]) -> int:
        """Delete acknowledged rows (one fsync for the batch)."""
        batch = [(p,) for p in positions]
        if not batch:
            return 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            cur = self._db.executemany("DELETE FROM outbox WHERE pos = ?", batch)
            self._db.execute("COMMIT")
            return cur.rowcount

    def reject(self, pos: int, reason: str, now: float) -> None:
        """Move a row the broker refused for good aside, with why; it stays inspectable on the device."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT OR REPLACE INTO rejected (pos, kind, msg_id, seq, payload, created, rejected_at, reason) "
                "SELECT pos, kind, msg_id, seq, payload, created, ?, ? FROM outbox WHERE pos = ?",
                (now, reason, pos),
            )
            self._db.execute("DELETE FROM outbox WHERE pos = ?", (pos,))
            self._db.execute("COMMIT")

    def depth(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(n)

    def rejected_count(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT COUNT(*) FROM rejected").fetchone()
        return int(n)

    def next_seq(self) -> int:
        with self._lock:
            (seq,) = self._db.execute("SELECT value FROM meta WHERE key = 'next_seq'").fetchone()
        return int(seq)
