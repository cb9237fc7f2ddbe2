"""One batch of MQTT messages → one ``WriteBatch``: validate, drop duplicates, flag replays.

No state of its own between batches: duplicates are found in the store
(``Store.known_event_ids``; writes are idempotent for races between workers), and an EID visit's
walking plausibility is checked against the gateway's visits already stored plus this batch's.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from ronde.ingest.replay import WalkCheck
from ronde.ingest.validate import Accepted, Pending, ValidationContext, internal_error, validate_back, validate_front
from ronde.protocol.frozen import fast_init
from ronde.store.port import Store
from ronde.store.records import (
    BeaconTelemetryRecord,
    GatewayStateRecord,
    Rejection,
    RejectReason,
    StoredVisit,
    TrackPoint,
    WriteBatch,
)
from ronde.store.schema import ceil_ms

T = TypeVar("T")
PARALLEL_VERIFY_MIN = 64  # below this, one thread: handing over costs more than it saves
# messages taken through the three steps together: a batch of 1,000's pydantic models, signed bytes and digests were
# all alive at once, ~2.5 MB of the worker's peak (tracemalloc at the drain's peak, docs/performance.md); 250 at a
# time still peaked 1.4 MB over the batch's payloads, 100 at a time 0.95 MB (tracemalloc, bench_ingest's visits)
PREPARE_CHUNK = 100


@fast_init  # made twice per message (received, then its ack handle)
@dataclass(frozen=True, slots=True)
class Incoming:
    """A message as received; ``mid``/``generation`` tie it to its MQTT acknowledgement."""

    topic: str
    payload: bytes
    received_at: datetime
    mid: int = 0
    qos: int = 1
    generation: int = 0


@dataclass(slots=True)
class Counters:
    """Process-wide counters for logs and metrics (thread-safe; cumulative since start)."""

    accepted: Counter[str] = field(default_factory=Counter)  # by message kind
    rejected: Counter[str] = field(default_factory=Counter)  # by RejectReason value
    duplicates: int = 0
    batches: int = 0
    store_retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, outcome: BatchOutcome) -> None:
        with self._lock:
            self.batches += 1
            self.duplicates += outcome.duplicates
            b = outcome.batch
            self.accepted["visit"] += len(b.visits)
            self.accepted["telemetry"] += len(b.telemetry)
            self.accepted["gateway_state"] += len(b.gateway_states)
            for r in b.rejections:
                self.rejected[r.reason.value] += 1

    def retry(self) -> None:
        with self._lock:
            self.store_retries += 1

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "accepted": dict(self.accepted),
                "rejected": dict(self.rejected),
                "duplicates": self.duplicates,
                "batches": self.batches,
                "store_retries": self.store_retries,
            }


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    batch: WriteBatch
    duplicates: int


@dataclass(slots=True)
class Validated:
    """A batch after validation, before the store look-ups. ``origins`` maps each accepted record
    (by identity: the record objects travel unchanged into the ``WriteBatch``) to its message, so a
    record the store refuses can still be recorded as a rejection of that message."""

    visits: list[Accepted] = field(default_factory=list)
    telemetry: list[BeaconTelemetryRecord] = field(default_factory=list)
    states: list[GatewayStateRecord] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    origins: dict[int, Accepted] = field(default_factory=dict)

    def origin(self, record: object) -> Accepted | None:
        return self.origins.get(id(record))


@dataclass(frozen=True, slots=True)
class ReplayCheck:
    max_speed_mps: float = 1.5
    radio_range_m: float = 50.0
    window: timedelta = timedelta(minutes=15)


class BatchProcessor:
    def __init__(
        self,
        context: ValidationContext,
        store: Store,
        replay: ReplayCheck | None = None,
        *,
        rejection_lookback: timedelta = timedelta(days=1),
        verify_threads: int | None = None,
    ) -> None:
        """``rejection_lookback``: how far back a stored rejection makes the same bytes on the same
        topic a redelivery (the worker died between writing it and acking), not a new refusal.
        ``verify_threads``: threads checking a batch's signatures. One by default: libsodium releases the GIL, but
        each verification must take it back, and behind the worker's other busy threads (paho, the writer) that
        wait made the worker slower, not faster (bench/bench_ingest.py, docs/performance.md)."""
        self.context = context
        self.store = store
        self.replay = replay or ReplayCheck()
        self.rejection_lookback = rejection_lookback
        self.verify_threads = verify_threads if verify_threads is not None else 1
        self._pool: ThreadPoolExecutor | None = None
        self._walks: WalkCheck | None = None

    def process(self, messages: Sequence[Incoming]) -> BatchOutcome:
        """Raises StoreUnavailable if the store cannot answer the dedupe/replay look-ups."""
        return self.finish(self.prepare(messages))

    def prepare(self, messages: Sequence[Incoming]) -> Validated:
        """The pure half (no store): validation and enrichment. May run ahead of the writer.

        Each message goes through ``validate_front`` (every check before the signature), then the batch's signatures
        are checked together (``_verify_all``: libsodium releases the GIL, so on several threads they overlap each
        other and the Python around them), then ``validate_back``. Each message gets the verdict, and the reason,
        it would get from ``validate`` alone; the output keeps the messages' order. ``PREPARE_CHUNK`` messages at a
        time go through the three steps, so only theirs are alive at once."""
        out = Validated()
        context = self.context  # read once: a registry change swaps it between batches, never within one
        for start in range(0, len(messages), PREPARE_CHUNK):
            self._prepare_chunk(messages[start : start + PREPARE_CHUNK], context, out)
        return out

    def _prepare_chunk(self, messages: Sequence[Incoming], context: ValidationContext, out: Validated) -> None:
        steps = [_guarded(m, validate_front, m.topic, m.payload, m.received_at, context) for m in messages]
        pending = [s for s in steps if isinstance(s, Pending)]
        verdicts = dict(zip(map(id, pending), self._verify_all(pending), strict=True))
        for m, step in zip(messages, steps, strict=True):
            result = _guarded(m, validate_back, step, verdicts[id(step)]) if isinstance(step, Pending) else step
            if isinstance(result, Rejection):
                out.rejections.append(result)
                continue
            out.origins[id(result.record)] = result
            if isinstance(result.record, StoredVisit):
                out.visits.append(result)
            elif isinstance(result.record, BeaconTelemetryRecord):
                out.telemetry.append(result.record)
            else:
                out.states.append(result.record)

    def _walk_check(self) -> WalkCheck:
        """The replay check's ``WalkCheck`` for the registry in force (its distances kept while it stays)."""
        checkpoints = self.context.registry.checkpoints
        if self._walks is None or self._walks.checkpoints is not checkpoints:
            self._walks = WalkCheck(
                checkpoints, max_speed_mps=self.replay.max_speed_mps, radio_range_m=self.replay.radio_range_m
            )
        return self._walks

    def _verify_all(self, pending: list[Pending]) -> list[bool]:
        """``Pending.verify`` of each, in order: split over ``verify_threads`` threads when the batch is large."""
        if self.verify_threads <= 1 or len(pending) < PARALLEL_VERIFY_MIN:
            return [p.verify() for p in pending]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.verify_threads - 1, thread_name_prefix="ingest-verify")
        size = -(-len(pending) // self.verify_threads)
        chunks = [pending[i : i + size] for i in range(0, len(pending), size)]
        futures = [self._pool.submit(_verify_chunk, c) for c in chunks[1:]]
        verdicts = _verify_chunk(chunks[0])
        for f in futures:
            verdicts += f.result()
        return verdicts

    def finish(self, validated: Validated) -> BatchOutcome:
        """The store half: duplicates and replays, looked up after every earlier batch was written."""
        fresh, duplicates, read = self._drop_duplicates(validated.visits)
        kept, replays = self._flag_replays(fresh, read)
        rejections = _unique_rejections([*validated.rejections, *replays])
        if rejections:
            stored = self.store.known_rejections(rejections, self.rejection_lookback)
            duplicates += len(stored)
            rejections = [r for r in rejections if (r.topic, r.payload_sha256) not in stored]
        batch = WriteBatch(
            visits=tuple(a.record for a in kept if isinstance(a.record, StoredVisit)),
            rejections=tuple(rejections),
            telemetry=tuple(validated.telemetry),
            gateway_states=tuple(validated.states),
        )
        return BatchOutcome(batch, duplicates)

    def _drop_duplicates(self, visits: list[Accepted]) -> tuple[list[Accepted], int, list[TrackPoint]]:
        """The batch's new visits (one per id), how many were dropped, and the stored track points the replay check
        may read: with EID visits in the batch, the store reads the ids and the track of their gateways over the
        replay window together (``Store.known_event_ids_and_track``); ``_flag_replays`` then keeps what its own
        ``visit_track`` of the new visits would have answered, a part of this."""
        seen: dict[str, Accepted] = {}
        for a in visits:
            assert isinstance(a.record, StoredVisit)
            seen.setdefault(a.record.event_id, a)
        if not seen:
            return [], len(visits), []
        keys = [a.record.key for a in seen.values() if isinstance(a.record, StoredVisit)]
        window = self._track_window(list(seen.values()))
        read: list[TrackPoint] = []
        if window is None:
            known = self.store.known_event_ids(keys)
        else:
            known, read = self.store.known_event_ids_and_track(keys, *window)
        fresh = [a for eid, a in seen.items() if eid not in known]
        return fresh, len(visits) - len(fresh), read

    def _track_window(self, visits: list[Accepted]) -> tuple[datetime, datetime, list[str]] | None:
        """What the replay check reads of the store for these visits' EID ones: [start, end) and the gateways
        (``Store.visit_track``), or None without an EID visit."""
        records = [a.record for a in visits if a.eid is not None and isinstance(a.record, StoredVisit)]
        if not records:
            return None
        start = min(v.first_seen for v in records) - self.replay.window
        end = max(v.last_seen for v in records) + self.replay.window
        return start, end, sorted({v.gateway_id for v in records})

    def _flag_replays(self, visits: list[Accepted], read: list[TrackPoint]) -> tuple[list[Accepted], list[Rejection]]:
        """``read``: stored points covering at least what ``visit_track`` over these visits' own window would
        answer (``_drop_duplicates``); the points of that window and of these visits' gateways are kept, so the
        verdicts are those of reading it alone."""
        eid_visits = [a for a in visits if a.eid is not None]
        window = self._track_window(eid_visits)
        if window is None:
            return visits, []
        start, end, gateways = window
        tracks: dict[str, list[StoredVisit]] = {gateway: [] for gateway in gateways}  # each gateway's own visits
        stored: dict[str, list[TrackPoint]] = {gateway: [] for gateway in tracks}  # five columns, not whole visits
        lo, hi = ceil_ms(start), ceil_ms(end)  # first_seen in [start, end), as the store reads it
        for point in read:
            points = stored.get(point.gateway_id)
            if points is not None and lo <= point.first_seen_ms < hi:
                points.append(point)
        for a in visits:
            if isinstance(a.record, StoredVisit) and a.record.gateway_id in tracks:
                tracks[a.record.gateway_id].append(a.record)
        walks = self._walk_check()
        plain = {gateway: walks.track(track, stored[gateway]) for gateway, track in tracks.items()}
        flagged: dict[str, Rejection] = {}
        for a in eid_visits:
            v = a.record
            assert isinstance(v, StoredVisit)
            if walks.impossible(v, plain[v.gateway_id]):
                flagged[v.event_id] = Rejection(  # not walk.describe(): where the team was is not for the log
                    at=v.received_at,
                    reason=RejectReason.EID_REPLAY,
                    detail=f"further from this gateway's other visits than a {self.replay.max_speed_mps:g} m/s walk: "
                    "EID relayed, not walked",
                    topic=a.topic,
                    gateway_id=v.gateway_id,
                    payload_sha256=a.payload_sha256,
                    event_id=v.event_id,
                )
        kept = [a for a in visits if not (isinstance(a.record, StoredVisit) and a.record.event_id in flagged)]
        return kept, list(flagged.values())


def _verify_chunk(pending: list[Pending]) -> list[bool]:
    return [p.verify() for p in pending]


def _guarded(m: Incoming, step: Callable[..., T], *args: Any) -> T | Rejection:
    """``validate``'s last resort around one step: an unexpected error is one message's SCHEMA rejection."""
    try:
        return step(*args)
    except Exception as exc:  # noqa: BLE001 - a bug must not stop ingest nor lose the message
        return internal_error(m.topic, m.payload, m.received_at, exc)


def _unique_rejections(rejections: list[Rejection]) -> list[Rejection]:
    """One record per identical payload on one topic within a batch (a redelivery, not a new message)."""
    seen: set[tuple[str, str]] = set()
    out = []
    for r in rejections:
        key = (r.topic, r.payload_sha256)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out
