"""Batch processing against the real embedded store: duplicates dropped, replays flagged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ronde.ingest.pipeline import BatchProcessor, Counters, Incoming
from ronde.protocol.estate import distance_m
from ronde.store.records import RejectReason, StoredVisit
from ronde.store.sqlite import SqliteStore
from tests.ingest.helpers import REGISTRY, context, encode, static_checkpoints, topic, visit


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "ronde.db")
    s.open()
    yield s
    s.close()


def _incoming(obj: dict[str, object], now: datetime | None = None) -> Incoming:
    return Incoming(topic(), encode(obj), now or datetime.now(UTC))


def test_duplicates_within_and_across_batches(store: SqliteStore) -> None:
    proc = BatchProcessor(context(), store)
    events = [visit(i) for i in range(1, 6)]
    out = proc.process([_incoming(e) for e in events + events[:2]])
    assert len(out.batch.visits) == 5
    assert out.duplicates == 2
    store.write(out.batch)
    again = proc.process([_incoming(e) for e in events] + [_incoming(visit(6))])
    assert [v.seq for v in again.batch.visits] == [6]
    assert again.duplicates == 5
    counters = Counters()
    counters.record(out)
    counters.record(again)
    assert counters.snapshot()["duplicates"] == 7


def test_a_rejection_redelivered_later_is_recorded_once(store: SqliteStore) -> None:
    """Written as rejected, then redelivered because the worker died before its ack."""
    proc = BatchProcessor(context(), store)
    bad = Incoming(topic(), b'{"v":1,', datetime.now(UTC))
    first = proc.process([bad])
    store.write(first.batch)
    again = proc.process([Incoming(bad.topic, bad.payload, bad.received_at + timedelta(minutes=7))])
    assert again.batch.rejections == ()
    assert again.duplicates == 1
    different = proc.process([Incoming(bad.topic, b'{"v":2,', datetime.now(UTC))])
    assert len(different.batch.rejections) == 1
    store.write(again.batch)
    assert len(store.rejections(bad.received_at - timedelta(hours=1), bad.received_at + timedelta(hours=1))) == 1


def test_rejections_kept_with_digest_not_content(store: SqliteStore) -> None:
    proc = BatchProcessor(context(), store)
    bad = Incoming(topic(), b'{"v":1,', datetime.now(UTC))
    out = proc.process([bad, bad, _incoming(visit(1))])
    assert len(out.batch.rejections) == 1  # the same payload twice in a batch is one redelivery
    assert out.batch.rejections[0].reason is RejectReason.ENCODING
    store.write(out.batch)
    now = datetime.now(UTC)
    kept = store.rejections(now - timedelta(minutes=1), now + timedelta(minutes=1))
    assert [r.reason for r in kept] == [RejectReason.ENCODING]


def _far_pair() -> tuple[object, object]:
    eid_cp = REGISTRY.eid_checkpoints()[0]
    far = max(static_checkpoints(), key=lambda c: distance_m(c, eid_cp))
    return eid_cp, far


def test_eid_heard_where_the_gateway_could_not_have_walked(store: SqliteStore) -> None:
    eid_cp, far = _far_pair()
    d = distance_m(far, eid_cp)  # type: ignore[arg-type]
    assert d > 500, "the sample estate spans two estates"
    t0 = datetime.now(UTC) - timedelta(minutes=40)
    # the team was at the far checkpoint; 30 s later its gateway reports the EID beacon ~1 km away
    at_far = visit(1, checkpoint=far, first_seen=t0, dwell_s=10)  # type: ignore[arg-type]
    store.write(BatchProcessor(context(), store).process([_incoming(at_far)]).batch)
    relayed = visit(2, checkpoint=eid_cp, first_seen=t0 + timedelta(seconds=40))  # type: ignore[arg-type]
    out = BatchProcessor(context(), store).process([_incoming(relayed)])
    assert out.batch.visits == ()
    assert [r.reason for r in out.batch.rejections] == [RejectReason.EID_REPLAY]
    assert "not walked" in out.batch.rejections[0].detail
    # the same beacon once the team had time to walk there: accepted
    walked = t0 + timedelta(seconds=10 + d / 1.5)
    later = visit(3, checkpoint=eid_cp, first_seen=walked)  # type: ignore[arg-type]
    ok = BatchProcessor(context(), store).process([_incoming(later)])
    assert len(ok.batch.visits) == 1
    assert ok.batch.rejections == ()
    # within one batch too: two gateways' tracks are independent
    a = visit(10, checkpoint=far, first_seen=t0, gateway="gw-other")  # type: ignore[arg-type]
    b = visit(11, checkpoint=eid_cp, first_seen=t0 + timedelta(seconds=5), gateway="gw-other")  # type: ignore[arg-type]
    mixed = BatchProcessor(context(), store).process(
        [
            Incoming(topic("gw-other"), encode(a), datetime.now(UTC)),
            Incoming(topic("gw-other"), encode(b), datetime.now(UTC)),
        ]
    )
    assert [v.seq for v in mixed.batch.visits] == [10]
    assert [r.event_id for r in mixed.batch.rejections] == [b["id"]]


def test_a_batch_over_several_chunks_gets_each_message_s_own_verdict_in_order(store: SqliteStore) -> None:
    """``prepare`` takes ``PREPARE_CHUNK`` messages at a time through its steps: 600 messages (valid, forged,
    unparsable, in turn) come out as ``validate`` alone judges each, in the batch's order."""
    from ronde.ingest.pipeline import PREPARE_CHUNK
    from ronde.ingest.validate import Accepted, validate

    ctx = context()
    now = datetime.now(UTC)
    messages = []
    for i in range(1, 601):
        event = visit(i)
        payload = encode(event if i % 3 else dict(event, badge="EQUIPE-Z9")) if i % 5 else b"{not json"
        messages.append(Incoming(topic(), payload, now))
    assert len(messages) > 2 * PREPARE_CHUNK
    out = BatchProcessor(ctx, store).prepare(messages)
    alone = [validate(m.topic, m.payload, m.received_at, ctx) for m in messages]
    assert [a.record for a in out.visits] == [
        a.record for a in alone if isinstance(a, Accepted) and isinstance(a.record, StoredVisit)
    ]
    assert [(r.reason, r.payload_sha256) for r in out.rejections] == [
        (r.reason, r.payload_sha256) for r in alone if not isinstance(r, Accepted)
    ]
    assert {r.reason for r in out.rejections} == {RejectReason.SIGNATURE_INVALID, RejectReason.ENCODING}
    assert len(out.visits) == 320
