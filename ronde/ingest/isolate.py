"""Writing a batch whose records the store may refuse for good, without letting one stop ingest.

A message that passes validation but carries a value the store cannot hold would make the store
refuse the whole batch (``StoreRejected``) every time: unacked, redelivered after each restart,
killing every worker of the share group in turn while the valid messages behind it wait. So a
permanently refused batch is split in halves, recursively: the halves the store accepts are
written, and the records it still refuses on their own are handed back, to be recorded as
``store_refused`` rejections of their messages and acked. k refused records among n cost about
2·k·log2(n) writes; a batch without any costs one, as before.

Transient failures (``StoreUnavailable``) are not refusals: they propagate from ``write`` (the
worker retries without acking). Halves already written stay written; the writes are idempotent, so
the redelivery that follows a crash mid-way stores nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ronde.store.errors import StoreRejected
from ronde.store.records import (
    BeaconTelemetryRecord,
    GatewayStateRecord,
    Rejection,
    SequenceGap,
    StoredVisit,
    WriteBatch,
)

Record = StoredVisit | Rejection | BeaconTelemetryRecord | GatewayStateRecord | SequenceGap


@dataclass(frozen=True, slots=True)
class Refused:
    """A record the store refused on its own, and the refusal (for the log, not for the record)."""

    record: Record
    error: StoreRejected


def records_of(batch: WriteBatch) -> list[Record]:
    return [*batch.visits, *batch.rejections, *batch.telemetry, *batch.gateway_states, *batch.gaps]


def batch_of(records: Sequence[Record]) -> WriteBatch:
    return WriteBatch(
        visits=tuple(r for r in records if isinstance(r, StoredVisit)),
        rejections=tuple(r for r in records if isinstance(r, Rejection)),
        telemetry=tuple(r for r in records if isinstance(r, BeaconTelemetryRecord)),
        gateway_states=tuple(r for r in records if isinstance(r, GatewayStateRecord)),
        gaps=tuple(r for r in records if isinstance(r, SequenceGap)),
    )


def write_isolating(batch: WriteBatch, write: Callable[[WriteBatch], None]) -> list[Refused]:
    """Write ``batch`` with ``write``; on ``StoreRejected`` write its halves the same way. Returns
    the records refused on their own, in batch order (empty: everything was written)."""
    try:
        write(batch)
    except StoreRejected as exc:
        records = records_of(batch)
        if len(records) <= 1:
            return [Refused(r, exc) for r in records]
    else:
        return []
    middle = len(records) // 2
    return write_isolating(batch_of(records[:middle]), write) + write_isolating(batch_of(records[middle:]), write)


def without(batch: WriteBatch, refused: Sequence[Refused]) -> WriteBatch:
    """``batch`` less the refused records, compared by identity (the records travel unchanged)."""
    gone = {id(r.record) for r in refused}
    return batch_of([r for r in records_of(batch) if id(r) not in gone])
