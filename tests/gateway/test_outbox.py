from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ronde.gateway.outbox import Outbox, OutboxError, OutgoingMessage
from ronde.protocol.topics import TopicKind


def _visit(seq: int) -> OutgoingMessage:
    return OutgoingMessage(TopicKind.VISIT, f"id-{seq}", seq, f'{{"seq":{seq}}}'.encode())


def test_sequence_starts_at_one_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    box = Outbox(path)
    assert box.next_seq() == 1
    seqs = [box.enqueue_sequenced(_visit, 0.0).seq for _ in range(3)]
    assert seqs == [1, 2, 3]
    box.ack([r.pos for r in box.pending()])
    assert box.depth() == 0
    box.close()
    reopened = Outbox(path)
    assert reopened.next_seq() == 4  # acknowledged rows are gone, the counter is not
    assert reopened.enqueue_sequenced(_visit, 0.0).seq == 4
    reopened.close()


def test_pending_is_fifo_across_kinds_and_ack_deletes_only_what_is_acked(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    box.enqueue_sequenced(_visit, 1.0)
    box.enqueue(OutgoingMessage(TopicKind.TELEMETRY, "tlm-1", None, b"{}"), 2.0)
    box.enqueue_sequenced(_visit, 3.0)
    rows = box.pending()
    assert [(r.kind, r.seq) for r in rows] == [(TopicKind.VISIT, 1), (TopicKind.TELEMETRY, None), (TopicKind.VISIT, 2)]
    assert [r.msg_id for r in box.pending(after_pos=rows[0].pos, limit=1)] == ["tlm-1"]
    assert box.ack([rows[1].pos]) == 1
    assert [r.seq for r in box.pending()] == [1, 2]
    assert box.depth() == 2


def test_failed_build_allocates_no_sequence_number(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")

    def broken(seq: int) -> OutgoingMessage:
        raise ValueError("detector output refused by the wire model")

    with pytest.raises(ValueError, match="refused by the wire model"):
        box.enqueue_sequenced(broken, 0.0)
    assert box.depth() == 0
    assert box.enqueue_sequenced(_visit, 0.0).seq == 1  # no gap


def test_mismatched_sequence_is_refused(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    with pytest.raises(OutboxError):
        box.enqueue_sequenced(lambda seq: _visit(seq + 1), 0.0)
    assert box.next_seq() == 1


def test_rejected_rows_are_kept_with_their_reason(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    box.enqueue_sequenced(_visit, 0.0)
    (row,) = box.pending()
    box.reject(row.pos, "Not authorized", 5.0)
    assert box.depth() == 0
    assert box.rejected_count() == 1


def test_concurrent_enqueues_get_distinct_contiguous_sequences(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    seqs: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(20):
            msg = box.enqueue_sequenced(_visit, 0.0)
            with lock:
                seqs.append(msg.seq or 0)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seqs) == list(range(1, 81))
    assert [r.seq for r in box.pending(limit=1000)] == list(range(1, 81))


def test_unopenable_outbox_gives_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "o.db"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(OutboxError, match="cannot open the outbox"):
        Outbox(bad)


def test_wal_and_full_sync(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    assert box._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert box._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
