"""Sequence gaps: pure hole finding, and the store-based scanner (idempotent, grace period)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ronde.ingest.gaps import find_new_gaps, holes, record_gaps, settled_holes
from ronde.ingest.pipeline import BatchProcessor, Incoming
from ronde.store.sqlite import SqliteStore
from tests.ingest.helpers import GW, context, encode, topic, visit


def test_holes() -> None:
    assert holes([]) == []
    assert holes([5]) == []
    assert holes([1, 2, 3]) == []
    assert holes([1, 2, 5, 6, 9]) == [(3, 4), (7, 8)]
    assert holes([1, 1, 2, 4, 4]) == [(3, 3)]
    assert settled_holes([1, 4, 8], [1, 4]) == [(2, 3)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "ronde.db")
    s.open()
    yield s
    s.close()


def _ingest(store: SqliteStore, seqs: list[int], received_at: datetime) -> None:
    proc = BatchProcessor(context(), store)
    first = received_at - timedelta(minutes=1)
    msgs = [Incoming(topic(), encode(visit(s, first_seen=first)), received_at) for s in seqs]
    store.write(proc.process(msgs).batch)


def test_gap_recorded_once_after_grace(store: SqliteStore) -> None:
    now = datetime.now(UTC)
    _ingest(store, [1, 2, 3, 7, 8], now - timedelta(minutes=30))
    _ingest(store, [9, 12], now - timedelta(minutes=1))  # 10..11 may still arrive from the outbox
    gaps = record_gaps(store, now, grace=timedelta(minutes=10))
    assert [(g.gateway_id, g.first_missing, g.last_missing) for g in gaps] == [(GW, 4, 6)]
    assert record_gaps(store, now + timedelta(seconds=5), grace=timedelta(minutes=10)) == []  # idempotent
    later = now + timedelta(minutes=15)
    gaps = record_gaps(store, later, grace=timedelta(minutes=10))
    assert [(g.first_missing, g.last_missing) for g in gaps] == [(10, 11)]
    readable = store.gaps(now - timedelta(hours=1), later + timedelta(minutes=1))
    assert sorted((g.first_missing, g.last_missing) for g in readable) == [(4, 6), (10, 11)]


def test_late_event_inside_a_recorded_gap_adds_nothing(store: SqliteStore) -> None:
    now = datetime.now(UTC)
    _ingest(store, [1, 5], now - timedelta(minutes=30))
    assert len(record_gaps(store, now, grace=timedelta(minutes=10))) == 1
    _ingest(store, [3], now)  # the outbox delivers one of them late: 2 and 4 are sub-gaps of 2..4
    assert find_new_gaps(store, now + timedelta(minutes=20), grace=timedelta(minutes=10)) == []
