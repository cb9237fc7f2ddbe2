"""The ingest worker: MQTT v5 in, store out, ack only after the durable write.

Threads, supervised by ``IngestWorker.run``:

- ``ingest-mqtt``: connects (persistent session: clean_start=False + Session Expiry, client id
  ``ingest-{name}``, Receive Maximum = the window of unacked messages), re-subscribes on every
  connect (Mosquitto 2.0.11 forgets durable clients' ``$share`` subscriptions), reconnects with
  jittered, capped backoff. paho's own network thread runs inside it (``loop_start``).
- ``ingest-validate``: forms batches (up to ``batch_size`` or ``batch_window_ms``) and validates
  them (pure, no store), one batch ahead of the writer.
- ``ingest-writer``: drops duplicates and replays (store look-ups, after every earlier batch was
  written), writes one ``WriteBatch`` and only then acks every message of the batch. While the
  store is unavailable nothing is acked: the broker keeps the messages. A batch the store refuses
  for good is bisected (``isolate``): the rest is written, the refused records become
  ``store_refused`` rejections, and the batch is acked, so no message can stop ingest.
- ``ingest-maintenance``: sequence gaps, rollups of closed days, retention (all idempotent).

A message received on a connection that has since dropped is not acked (its packet id belongs
to the old connection); the broker redelivers it and deduplication drops it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import queue
import random
import ssl
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from ronde.ingest import paho_tables
from ronde.ingest.config import IngestConfig
from ronde.ingest.gaps import record_gaps
from ronde.ingest.gateways import GatewayRegistry
from ronde.ingest.isolate import Refused, without, write_isolating
from ronde.ingest.pipeline import BatchOutcome, BatchProcessor, Counters, Incoming, ReplayCheck, Validated
from ronde.ingest.rollup import RetentionScheduler, RollupScheduler
from ronde.ingest.validate import ValidationContext
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.protocol.topics import TopicKind, subscription
from ronde.store.port import Store, StoreUnavailable
from ronde.store.records import Rejection, RejectReason, StoredVisit, WriteBatch

log = logging.getLogger(__name__)
T = TypeVar("T")
# CONNACK reason codes that no retry will fix: bad credentials, not authorised, banned, bad client id
_PERMANENT_REFUSALS = frozenset({0x85, 0x86, 0x87, 0x8A})
STATS_EVERY_S = 60.0  # counters to the log (per reason rejections, duplicates, retries)
SUBSCRIBED_KINDS = (TopicKind.VISIT, TopicKind.STATUS, TopicKind.HEARTBEAT, TopicKind.TELEMETRY)


class Backoff:
    """Full-jitter exponential backoff: uniform(min, min·2ⁿ) capped at ``max_s``."""

    def __init__(self, min_s: float, max_s: float, rng: random.Random | None = None) -> None:
        self.min_s, self.max_s = min_s, max_s
        self.attempt = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        ceiling = min(self.max_s, self.min_s * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        return self._rng.uniform(self.min_s, max(self.min_s, ceiling))

    def reset(self) -> None:
        self.attempt = 0


class _Aborted(Exception):
    """Stopping while the store is unavailable: leave the batch unacked for redelivery."""


class IngestWorker:
    """One ingest worker. ``run()`` blocks; or ``start()`` then ``stop()`` (e.g. from a demo thread)."""

    def __init__(
        self,
        config: IngestConfig,
        store: Store,
        registry: Registry,
        calendar: ServiceCalendar | None = None,
        gateways: GatewayRegistry | None = None,
        *,
        counters: Counters | None = None,
        retire: bool = False,
        retire_idle_s: float = 5.0,
    ) -> None:
        """``retire=True``: take this worker out of the group for good (scale-in). It leaves the
        shared subscriptions, writes and acks what its session still holds, and once nothing has
        come for ``retire_idle_s`` disconnects with Session Expiry 0, so the broker drops the session
        instead of queueing the group's messages for a worker that will never return."""
        self.config = config
        self.retire = retire
        self.retire_idle_s = retire_idle_s
        self._last_message = time.monotonic()
        self._last_stats = time.monotonic()
        self.store = store
        self.registry = registry
        self.calendar = calendar or config.calendar.to_calendar()
        self.gateways = gateways if gateways is not None else GatewayRegistry()
        self.counters = counters or Counters()
        self.context = ValidationContext.build(
            registry, self.calendar, self.gateways,
            drift_ppm=config.eid_drift_ppm, min_periods=config.eid_min_periods,
            replay_horizon=timedelta(days=config.eid_replay_horizon_days),
            accept_unknown_gateways=config.accept_unknown_gateways, max_visit=timedelta(seconds=config.max_visit_s),
            max_payload_bytes=config.max_payload_bytes, max_future=timedelta(seconds=config.max_future_s),
            max_age=timedelta(days=config.retention.raw_days),
        )
        self.processor = BatchProcessor(
            self.context, store,
            ReplayCheck(
                config.max_walk_speed_mps, config.radio_range_m, timedelta(seconds=config.replay_check_window_s)
            ),
        )
        self._queue: queue.SimpleQueue[Incoming] = queue.SimpleQueue()  # C-implemented: the hot hand-off
        self._stopping = threading.Event()
        self._writer_done = threading.Event()
        self._validator_done = threading.Event()
        # validated batches waiting for the writer: one, so validation overlaps the previous write
        self._prepared: queue.Queue[tuple[list[Incoming], Validated]] = queue.Queue(maxsize=1)
        self._outstanding = 0  # received, not yet written and acked (or given up)
        self._connected = threading.Event()
        self._ready = threading.Event()  # connected and subscribed
        self.connections = 0  # successful connections so far (reconnects included)
        self._disconnected = threading.Event()
        self._generation = 0
        self._gen_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._failure: BaseException | None = None
        self._mqtt_backoff = Backoff(config.reconnect_min_s, config.reconnect_max_s)
        self.client = self._make_client()

    # ---- public ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._threads:
            raise RuntimeError("worker already started")
        loops: list[tuple[str, Callable[[], None]]] = [
            ("ingest-mqtt", self._mqtt_loop), ("ingest-validate", self._validate_loop),
            ("ingest-writer", self._writer_loop),
        ]
        if self.config.maintenance and not self.retire:
            loops.append(("ingest-maintenance", self._maintenance_loop))
        if self.retire:
            loops.append(("ingest-retire", self._retire_watch))
        for name, target in loops:
            t = threading.Thread(target=self._supervised, args=(name, target), name=name, daemon=True)
            self._threads.append(t)
            t.start()
        log.info(
            "ingest worker %s started: broker %s:%d, batch %d, receive maximum %d",
            self.config.client_id, self.config.broker_host, self.config.broker_port,
            self.config.batch_size, self.config.receive_maximum,
        )

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking messages, finish (write + ack) what was received, disconnect."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.1, deadline - time.monotonic()))

    def run(self) -> None:
        """Start and block until ``stop()`` (another thread, a signal handler) or a loop fails."""
        self.start()
        try:
            while not self._stopping.wait(0.5):
                pass
        finally:
            self.stop()
        if self._failure is not None:
            raise RuntimeError(f"ingest worker failed: {self._failure!r}") from self._failure

    def wait_connected(self, timeout: float) -> bool:
        """True once connected *and* subscribed (messages published from then on reach us)."""
        return self._ready.wait(timeout)

    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    @property
    def failure(self) -> BaseException | None:
        return self._failure

    def reload_gateways(self, gateways: GatewayRegistry) -> None:
        """Enrol or revoke gateways without a restart (SIGHUP in ``ronde ingest run``). Messages
        validated from now on see the new registry; the broker keeps every session meanwhile."""
        self.gateways = gateways
        self.context = dataclasses.replace(self.context, gateways=gateways)
        self.processor.context = self.context  # one attribute swap: the validator reads it per message
        log.info("gateways reloaded: %d enrolled, %d with an Ed25519 key", len(gateways),
                 sum(1 for e in gateways.entries.values() if e.public_key is not None))

    @property
    def pending(self) -> int:
        """Messages received and not yet written and acked."""
        return self._outstanding

    # ---- supervision -------------------------------------------------------------------------

    def _supervised(self, name: str, target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:
            log.exception("%s failed; stopping the worker (unacked messages will be redelivered)", name)
            if self._failure is None:
                self._failure = exc
            self._stopping.set()
            self._writer_done.set()
            self._validator_done.set()

    # ---- MQTT --------------------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        c = self.config
        paho_tables.install()  # a third of paho's CPU per message (see paho_tables)
        if c.mqtt_version == "5":
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=c.client_id, protocol=mqtt.MQTTv5,
                reconnect_on_failure=False, manual_ack=True,
            )
        else:  # a durable session the 3.1.1 way; the broker's own in-flight window applies
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=c.client_id, protocol=mqtt.MQTTv311, clean_session=False,
                reconnect_on_failure=False, manual_ack=True,
            )
        if c.username is not None:
            client.username_pw_set(c.username, c.password.get_secret_value() if c.password else None)
        if c.tls:
            client.tls_set(ca_certs=str(c.tls_ca) if c.tls_ca else None, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.max_inflight_messages_set(100)  # our own publishes only (none): not the receive window
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def _connect_properties(self) -> Properties:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.config.session_expiry_s
        props.ReceiveMaximum = self.config.receive_maximum
        return props

    def _mqtt_loop(self) -> None:
        c = self.config
        while not self._stopping.is_set():
            self._disconnected.clear()
            try:
                if c.mqtt_version == "5":
                    self.client.connect(
                        c.broker_host, c.broker_port, keepalive=c.keepalive_s, clean_start=False,
                        properties=self._connect_properties(),
                    )
                else:
                    self.client.connect(c.broker_host, c.broker_port, keepalive=c.keepalive_s)
            except (OSError, ssl.SSLError, ValueError) as exc:
                delay = self._mqtt_backoff.next()
                log.warning(
                    "broker %s:%d unreachable (%s); retrying in %.1f s", c.broker_host, c.broker_port, exc, delay
                )
                self._stopping.wait(delay)
                continue
            self.client.loop_start()
            while not self._disconnected.is_set() and not self._stopping.is_set():
                self._disconnected.wait(0.2)
            if self._stopping.is_set():
                break
            self.client.loop_stop()
            delay = self._mqtt_backoff.next()
            log.warning("disconnected from the broker; reconnecting in %.1f s", delay)
            self._stopping.wait(delay)
        # stopping: let the writer finish its batch and acks, then flush them and disconnect
        self._writer_done.wait(60)
        if self._connected.is_set():
            props = None
            if self.retire and self._failure is None and self.config.mqtt_version == "5":
                props = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
                props.SessionExpiryInterval = 0  # the broker forgets this session now
            self.client.disconnect(properties=props)
        self.client.loop_stop()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags, reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            if reason.value in _PERMANENT_REFUSALS:  # retrying cannot help: stop with a clear message
                if self._failure is None:
                    self._failure = ConnectionRefusedError(
                        f"broker refused {self.config.client_id} (user {self.config.username!r}): {reason}"
                    )
                self._stopping.set()
            return
        with self._gen_lock:
            self._generation += 1
        self.connections += 1
        self._mqtt_backoff.reset()
        shared = self.config.shared
        if self.retire:
            client.unsubscribe([subscription(kind, shared=shared) for kind in SUBSCRIBED_KINDS])
            log.info("retiring %s: left the shared subscriptions; draining its session", self.config.client_id)
            self._connected.set()
            self._ready.set()
            return
        # Subscribe on every connect, session present or not: Mosquitto < 2.0.12 does not restore
        # the $share subscriptions of a durable client, and re-subscribing is harmless elsewhere.
        topics = [(subscription(kind, shared=shared), 1) for kind in SUBSCRIBED_KINDS]
        result, _ = client.subscribe(topics)
        if result != MQTTErrorCode.MQTT_ERR_SUCCESS:
            log.error("subscribe failed: %s", result)
        log.info("connected as %s (session present: %s)", self.config.client_id, flags.session_present)
        self._connected.set()

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: list[ReasonCode], properties: Properties | None
    ) -> None:
        failed = [str(r) for r in reasons if r.is_failure]
        if failed:
            log.error("subscription refused by the broker (check its ACL): %s", ", ".join(failed))
        else:
            log.info("subscribed: %s", ", ".join(subscription(k, shared=self.config.shared) for k in SUBSCRIBED_KINDS))
            self._ready.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: mqtt.DisconnectFlags, reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._gen_lock:
            self._generation += 1
        self._connected.clear()
        self._ready.clear()
        self._disconnected.set()
        if not self._stopping.is_set():
            log.warning("connection lost: %s", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if self._stopping.is_set():
            return  # not acked: the broker redelivers it to this session (or its successor)
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = bytes(message._topic).decode("utf-8", "replace")
        self._last_message = time.monotonic()
        with self._gen_lock:
            self._outstanding += 1
        self._queue.put(
            Incoming(topic, bytes(message.payload), datetime.now(UTC), message.mid, message.qos, self._generation)
        )

    # ---- writing -----------------------------------------------------------------------------

    def _collect(self) -> list[Incoming]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.config.batch_window_ms / 1000
        while len(batch) < self.config.batch_size:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _until_done(self, what: str, fn: Callable[[], T]) -> T:
        backoff = Backoff(0.2, self.config.store_retry_max_s)
        while True:
            try:
                return fn()
            except StoreUnavailable as exc:
                if self._stopping.is_set():
                    raise _Aborted() from exc
                self.counters.retry()
                delay = backoff.next()
                log.warning("store unavailable during %s (%s): nothing acked, retrying in %.1f s", what, exc, delay)
                self._stopping.wait(delay)

    def _validate_loop(self) -> None:
        """Batches in, validated batches out: runs ahead of the writer by at most one batch."""
        try:
            while not self._writer_done.is_set():
                batch = self._collect()
                if not batch:
                    if self._stopping.is_set():
                        return
                    continue
                item = (batch, self.processor.prepare(batch))
                while not self._writer_done.is_set():
                    try:
                        self._prepared.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        continue
        finally:
            self._validator_done.set()

    def _writer_loop(self) -> None:
        try:
            try:
                self._until_done("opening the store", self.store.open)
            except _Aborted:
                return
            while True:
                try:
                    batch, validated = self._prepared.get(timeout=0.2)
                except queue.Empty:
                    if self._validator_done.is_set() and self._prepared.empty():
                        return
                    continue
                try:
                    self._write_and_ack(batch, validated)
                except _Aborted:
                    log.info("stopping with the store unavailable: %d messages left for redelivery", len(batch))
                    return
        finally:
            self._writer_done.set()

    def _write_and_ack(self, batch: list[Incoming], validated: Validated) -> None:
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
        with self._gen_lock:
            generation = self._generation
        for m in batch:
            if m.qos > 0 and m.generation == generation:
                self.client.ack(m.mid, m.qos)
        with self._gen_lock:
            self._outstanding -= len(batch)
        now = time.monotonic()
        if now - self._last_stats >= STATS_EVERY_S:
            self._last_stats = now
            log.info("counters: %s", json.dumps(self.counters.snapshot(), sort_keys=True))

    def _write(self, batch: WriteBatch) -> None:
        """One durable write, retried while the store is unavailable; StoreRejected propagates."""
        self._until_done("write", lambda: self.store.write(batch))

    def _record_refused(self, outcome: BatchOutcome, refused: list[Refused], validated: Validated) -> BatchOutcome:
        """The rest of the batch is written: record each refused record as a ``store_refused``
        rejection of its message (once: a redelivery finds it stored), so the batch can be acked.

        The detail and the log say which kind of record and gateway, never the store's message,
        which may quote the record (InfluxDB's 400 quotes the line, badge included)."""
        now = datetime.now(UTC)
        rejections: list[Rejection] = []
        for r in refused:
            origin = validated.origin(r.record)
            if origin is None:  # our own records (a rejection): nothing to record them as; a bug to fix
                log.error("the store refused a %s record of ingest's own for good; dropped", type(r.record).__name__)
                continue
            record = origin.record
            rejections.append(Rejection(
                at=record.received_at if isinstance(record, StoredVisit) else now,
                reason=RejectReason.STORE_REFUSED,
                detail=f"the store refused this {type(record).__name__} for good (a value it cannot hold)",
                topic=origin.topic, gateway_id=record.gateway_id, payload_sha256=origin.payload_sha256,
                event_id=record.event_id if isinstance(record, StoredVisit) else None,
            ))
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

    def _retire_watch(self) -> None:
        """Stop once connected, the session drained and nothing new for ``retire_idle_s``."""
        while not self._stopping.wait(0.2):
            idle = time.monotonic() - self._last_message
            if self._ready.is_set() and self._outstanding == 0 and idle > self.retire_idle_s:
                log.info("retired %s: session drained", self.config.client_id)
                self._stopping.set()

    # ---- maintenance -------------------------------------------------------------------------

    def _maintenance_loop(self) -> None:
        c = self.config
        rollups = RollupScheduler(
            self.store, self.registry, self.calendar,
            grace=timedelta(seconds=c.rollup_grace_s), lookback_days=c.rollup_lookback_days,
        )
        retention = RetentionScheduler(
            self.store, c.retention.to_policy(), every=timedelta(seconds=c.retention_interval_s)
        )
        while not self._stopping.wait(c.maintenance_interval_s):
            self.maintain(datetime.now(UTC), rollups, retention)

    def maintain(self, now: datetime, rollups: RollupScheduler, retention: RetentionScheduler) -> None:
        c = self.config
        steps: list[tuple[str, Callable[[], object]]] = [
            ("gaps", lambda: record_gaps(
                self.store, now, window=timedelta(hours=c.gap_window_h), grace=timedelta(seconds=c.gap_grace_s)
            )),
            ("rollups", lambda: rollups.run(now)),
            ("retention", lambda: retention.run(now)),
        ]
        for name, step in steps:
            try:
                step()
            except StoreUnavailable as exc:
                log.warning("maintenance %s postponed: store unavailable (%s)", name, exc)
            except Exception:
                log.exception("maintenance %s failed; ingest goes on", name)
