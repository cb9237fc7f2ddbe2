"""Batching and writing: messages in, one durable ``WriteBatch`` per batch, then the acks.

``BatchWriter`` has two loops, each run on its own thread by the worker's supervisor:

- ``validate_loop`` forms batches (up to ``batch_size`` messages or ``batch_window_s``) and
  validates them (pure, no store), one batch ahead of the writer;
- ``write_loop`` drops duplicates and replays (store look-ups, after every earlier batch was
  written), writes one ``WriteBatch`` and only then acks every message of the batch. While the
  store is unavailable nothing is acked and the write is retried with the protocol's backoff. A
  batch the store refuses for good is bisected (``isolate``): the rest is written, the refused
  records become ``store_refused`` rejections, and the batch is acked, so no message can stop ingest.

When ``stopping`` is set the loops finish what was received, unless the store is unavailable: then
the batch is left unacked for redelivery.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from ronde.ingest.heap import HeapTrim
from ronde.ingest.isolate import Refused, without, write_isolating
from ronde.ingest.pipeline import BatchOutcome, BatchProcessor, Counters, Incoming, Validated
from ronde.ingest.window import ReceiveWindow
from ronde.protocol.backoff import Backoff
from ronde.store.port import Store, StoreUnavailable
from ronde.store.records import Rejection, RejectReason, StoredVisit, WriteBatch

log = logging.getLogger("ronde.ingest.consumer")  # the worker's log, as before the split
T = TypeVar("T")
STATS_EVERY_S = 60.0  # counters to the log (per reason rejections, duplicates, retries)
STORE_RETRY_BASE_S = 0.2


class Aborted(Exception):
    """Stopping while the store is unavailable: the batch stays unacked for redelivery."""


class BatchWriter:
    """Batches of ``Incoming`` → ``processor`` → ``store.write`` → ``ack`` of each message."""

    def __init__(
        self,
        processor: BatchProcessor,
        store: Store,
        ack: Callable[[Incoming], bool],
        stopping: threading.Event,
        *,
        counters: Counters,
        batch_size: int,
        batch_window_s: float,
        retry_max_s: float,
        ack_many: Callable[[list[Incoming]], int] | None = None,
        window: ReceiveWindow | None = None,
    ) -> None:
        """``ack_many``, when the source has it: a batch's acks in one go (``PahoSource.ack_many``: one write of
        all its PUBACKs instead of one wake-up of paho's loop and one ``send`` per message); else ``ack`` of each.
        ``window`` counts the messages taken and not yet written and acked (``ronde.ingest.window``: the source
        reads no more while it is full); unbounded by default."""
        self.processor = processor
        self.store = store
        self.ack = ack
        self.ack_many = ack_many
        self.counters = counters
        self.batch_size = batch_size
        self.batch_window_s = batch_window_s
        self.retry_max_s = retry_max_s
        self._stopping = stopping
        self._queue: queue.SimpleQueue[Incoming] = queue.SimpleQueue()  # C-implemented: the hot hand-off
        # validated batches waiting for the writer: one, so validation overlaps the previous write
        self._prepared: queue.Queue[tuple[list[Incoming], Validated]] = queue.Queue(maxsize=1)
        self.validated_all = threading.Event()
        self.written_all = threading.Event()
        self.window = window if window is not None else ReceiveWindow()  # taken, not yet written and acked
        self.heap = HeapTrim(batch_size)  # the heap's free pages back once per batch_size messages written
        self._last_stats = time.monotonic()

    def put(self, message: Incoming) -> None:
        """Take a message (any thread): it will be written, then acked."""
        self.window.take()
        self._queue.put(message)

    @property
    def pending(self) -> int:
        return self.window.held

    def abandon(self) -> None:
        """Another loop failed: let both loops and their waiters go, acking nothing more."""
        self.written_all.set()
        self.validated_all.set()

    # ---- the two loops --------------------------------------------------------------------------

    def validate_loop(self) -> None:
        """Batches in, validated batches out: runs ahead of the writer by at most one batch."""
        try:
            while not self.written_all.is_set():
                batch = self._collect()
                if not batch:
                    if self._stopping.is_set():
                        return
                    continue
                validated = self.processor.prepare(batch)
                item = (_ack_handles(batch), validated)
                batch = []  # its payloads go now, not after the wait for the writer below
                while not self.written_all.is_set():
                    try:
                        self._prepared.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        continue
        finally:
            self.validated_all.set()

    def write_loop(self) -> None:
        """Opens the store (waiting for it), then writes and acks batch after batch."""
        try:
            try:
                self._until_done("opening the store", self.store.open)
            except Aborted:
                return
            while True:
                try:
                    batch, validated = self._prepared.get(timeout=0.2)
                except queue.Empty:
                    if self.validated_all.is_set() and self._prepared.empty():
                        return
                    continue
                try:
                    self.write_and_ack(batch, validated)
                except Aborted:
                    log.info("stopping with the store unavailable: %d messages left for redelivery", len(batch))
                    return
        finally:
            self.written_all.set()

    def _collect(self) -> list[Incoming]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.batch_window_s
        while len(batch) < self.batch_size:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    # ---- one batch ------------------------------------------------------------------------------

    def write_and_ack(self, batch: list[Incoming], validated: Validated) -> None:
        log.debug("batch of %d messages validated: checking duplicates, then writing", len(batch))
        outcome = self._until_done("deduplication", lambda: self.processor.finish(validated))
        if len(outcome.batch):
            refused = write_isolating(outcome.batch, self._write)
            if refused:
                outcome = self._record_refused(outcome, refused, validated)
        self.counters.record(outcome)
        for r in outcome.batch.rejections:
            log.info(
                "rejected %s from %s: %s (sha256 %s…)", r.reason.value, r.gateway_id, r.detail, r.payload_sha256[:12]
            )
        if self.ack_many is not None:
            self.ack_many(batch)  # the messages of a dropped connection are not acked: they are redelivered
        else:
            for m in batch:
                self.ack(m)  # refused (not sent) for a message of a dropped connection: it is redelivered
        self.window.release(len(batch))
        self.heap.written(len(batch))
        now = time.monotonic()
        if now - self._last_stats >= STATS_EVERY_S:
            self._last_stats = now
            log.info("counters: %s", json.dumps(self.counters.snapshot(), sort_keys=True))

    def _until_done(self, what: str, fn: Callable[[], T]) -> T:
        backoff = Backoff(STORE_RETRY_BASE_S, max(STORE_RETRY_BASE_S, self.retry_max_s))
        while True:
            try:
                return fn()
            except StoreUnavailable as exc:
                if self._stopping.is_set():
                    raise Aborted() from exc
                self.counters.retry()
                delay = backoff.next_delay()
                log.warning("store unavailable during %s (%s): nothing acked, retrying in %.1f s", what, exc, delay)
                self._stopping.wait(delay)

    def _write(self, batch: WriteBatch) -> None:
        """One durable write, retried while the store is unavailable; StoreRejected propagates."""
        self._until_done("write", lambda: self.store.write(batch))

    def _record_refused(self, outcome: BatchOutcome, refused: list[Refused], validated: Validated) -> BatchOutcome:
        """The rest of the batch is written: record each refused record as a ``store_refused``
        rejection of its message (once: a redelivery finds it stored), so the batch can be acked.

        The detail and the log say which kind of record and gateway, never the store's message,
        which may quote the record (InfluxDB's 400 quotes the line, badge included)."""
        rejections = _refusals(refused, validated)
        duplicates = 0
        if rejections:
            lookback = self.processor.rejection_lookback
            known = self._until_done("deduplication", lambda: self.store.known_rejections(rejections, lookback))
            fresh = [x for x in rejections if (x.topic, x.payload_sha256) not in known]
            duplicates = len(rejections) - len(fresh)
            unwritable = write_isolating(WriteBatch(rejections=tuple(fresh)), self._write)
            for u in unwritable:
                log.error("the store refused a store_refused rejection for good; dropped (%s)", type(u.error).__name__)
            rejections = [x for x in fresh if all(x is not u.record for u in unwritable)]
        kept = without(outcome.batch, refused)
        written = dataclasses.replace(kept, rejections=kept.rejections + tuple(rejections))
        return BatchOutcome(written, outcome.duplicates + duplicates)


def _ack_handles(batch: list[Incoming]) -> list[Incoming]:
    """The batch without its payloads, for the acks that follow its write: once validated, nothing reads a payload
    again (verdicts carry its digest), and up to two batches wait for the writer (one validated, one being
    written), a thousand payloads each, about 1 MB of a worker's peak."""
    return [Incoming(m.topic, b"", m.received_at, m.mid, m.qos, m.generation) for m in batch]


def _refusals(refused: list[Refused], validated: Validated) -> list[Rejection]:
    """A ``store_refused`` rejection for the message of each refused record."""
    now = datetime.now(UTC)
    rejections: list[Rejection] = []
    for r in refused:
        origin = validated.origin(r.record)
        if origin is None:  # our own records (a rejection): nothing to record them as; a bug to fix
            log.error("the store refused a %s record of ingest's own for good; dropped", type(r.record).__name__)
            continue
        record = origin.record
        rejections.append(
            Rejection(
                at=record.received_at if isinstance(record, StoredVisit) else now,
                reason=RejectReason.STORE_REFUSED,
                detail=f"the store refused this {type(record).__name__} for good (a value it cannot hold)",
                topic=origin.topic,
                gateway_id=record.gateway_id,
                payload_sha256=origin.payload_sha256,
                event_id=record.event_id if isinstance(record, StoredVisit) else None,
            )
        )
    return rejections
