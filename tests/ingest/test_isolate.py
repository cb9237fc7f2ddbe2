"""Bisecting a batch the store refuses for good: the refused records are isolated, the rest written
(on a real SQLite store), transient failures are not taken for refusals."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ronde.ingest.isolate import batch_of, records_of, without, write_isolating
from ronde.store.errors import StoreRejected
from ronde.store.port import StoreUnavailable
from ronde.store.records import GatewayStateRecord, Rejection, RejectReason, WriteBatch
from ronde.store.sqlite import SqliteStore

NOW = datetime.now(UTC).replace(microsecond=0)


def states(n: int) -> list[GatewayStateRecord]:
    return [
        GatewayStateRecord(
            at=NOW - timedelta(seconds=i),
            gateway_id=f"gw-{i}",
            online=True,
            scanning=True,
            outbox_depth=i,
            adverts_per_s=1.0,
        )
        for i in range(n)
    ]


class Counting:
    """Writes to a real SQLite store, counting the attempts."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.calls = 0

    def __call__(self, batch: WriteBatch) -> None:
        self.calls += 1
        self.store.write(batch)


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    s = SqliteStore(tmp_path / "r.db")
    s.open()
    return s


def test_one_refused_record_among_many_is_isolated_and_the_rest_written(store: SqliteStore) -> None:
    records = states(64)
    bad = replace(records[37], outbox_depth=2**64)  # SQLite cannot hold it: the engine refuses the batch
    records[37] = bad
    rejection = Rejection(
        at=NOW, reason=RejectReason.SCHEMA, detail="x", topic="t", gateway_id=None, payload_sha256="0" * 64
    )
    batch = WriteBatch(gateway_states=tuple(records), rejections=(rejection,))
    write = Counting(store)
    refused = write_isolating(batch, write)
    assert [r.record for r in refused] == [bad]
    assert isinstance(refused[0].error, StoreRejected)
    assert write.calls <= 1 + 2 * math.ceil(math.log2(65))  # bisection, not one write per record
    stored = store.latest_gateway_states()
    assert set(stored) == {s.gateway_id for s in records if s is not bad}
    assert len(store.rejections(NOW - timedelta(minutes=1), NOW + timedelta(minutes=1))) == 1
    assert without(batch, refused) == batch_of([r for r in records_of(batch) if r is not bad])


def test_several_refused_records_and_a_batch_of_only_refused_ones(store: SqliteStore) -> None:
    records = states(10)
    for i in (0, 4, 9):
        records[i] = replace(records[i], adverts_per_s=math.inf)
    refused = write_isolating(WriteBatch(gateway_states=tuple(records)), Counting(store))
    assert [r.record for r in refused] == [records[0], records[4], records[9]]
    assert len(store.latest_gateway_states()) == 7
    lonely = replace(states(1)[0], gateway_id="gw-alone", outbox_depth=-(2**63) - 1)
    assert [r.record for r in write_isolating(WriteBatch(gateway_states=(lonely,)), Counting(store))] == [lonely]


def test_a_writable_batch_is_one_write(store: SqliteStore) -> None:
    write = Counting(store)
    assert write_isolating(WriteBatch(gateway_states=tuple(states(20))), write) == []
    assert write.calls == 1
    assert len(store.latest_gateway_states()) == 20


def test_a_transient_failure_is_not_a_refusal() -> None:
    """StoreUnavailable propagates (the worker retries without acking), even mid-bisection."""
    calls: list[int] = []

    def flaky(batch: WriteBatch) -> None:
        calls.append(len(batch))
        if len(calls) == 1:
            raise StoreRejected("refused")
        raise StoreUnavailable("down")

    with pytest.raises(StoreUnavailable):
        write_isolating(WriteBatch(gateway_states=tuple(states(4))), flaky)
    assert calls == [4, 2]
