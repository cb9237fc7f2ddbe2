"""The ingest worker: MQTT in, store out, ack only after the durable write.

``IngestWorker`` composes the parts and supervises their threads (one failing stops the worker;
what was not yet written is never acked, the broker redelivers it):

- ``ingest-mqtt``: the ``MessageSource`` (``ronde.ingest.source``; ``PahoSource`` by default: the
  durable MQTT v5 session, subscriptions, reconnects) hands each message to the writer, and once
  stopping, after the writer's last acks, disconnects.
- ``ingest-validate`` and ``ingest-writer``: the ``BatchWriter`` (``ronde.ingest.writer``): batches,
  validation one batch ahead, deduplication, one durable write per batch, then the acks.
- ``ingest-maintenance``: the ``MaintenanceRunner`` (``ronde.ingest.maintenance``): sequence gaps,
  rollups of closed days, retention (all idempotent), when ``config.maintenance``.
- ``ingest-retire``, with ``retire=True``: stops the worker once its session is drained.
- ``ingest-registry``, with a ``RegistryFollower`` (``ronde.ingest.registry_follow``: the operational database):
  polls the registry version row and swaps in a new validation context when it moved.

A message received on a connection that has since dropped is not acked (its packet id belongs
to the old connection); the broker redelivers it and deduplication drops it.

paho's property tables (``ronde.ingest.paho_tables``) are not patched here: the entry points that
run a worker as its own process (``ronde ingest run``) install them.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt

from ronde.ingest.config import IngestConfig
from ronde.ingest.pipeline import BatchProcessor, Counters, Incoming, ReplayCheck
from ronde.ingest.registry_follow import Reference, RegistryFollower
from ronde.ingest.source import BrokerRefused, MessageSource, PahoSource, SourceFactory
from ronde.ingest.validate import ValidationContext
from ronde.ingest.window import ReceiveWindow
from ronde.ingest.writer import BatchWriter
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.protocol.gateways import GatewayRegistry
from ronde.store.port import Store

if TYPE_CHECKING:  # imported when a worker runs maintenance: rollups, gaps and their coverage maths (issue 17 item 1)
    from ronde.ingest.maintenance import MaintenanceRunner

__all__ = ["IngestWorker", "MessageSource", "PahoSource"]

log = logging.getLogger(__name__)


def build_context(
    config: IngestConfig, registry: Registry, calendar: ServiceCalendar, gateways: GatewayRegistry
) -> ValidationContext:
    """The validation context as ``config`` sets it (a fresh EID resolver over ``registry``, primed for now)."""
    context = ValidationContext.build(
        registry,
        calendar,
        gateways,
        drift_ppm=config.eid_drift_ppm,
        min_periods=config.eid_min_periods,
        replay_horizon=timedelta(days=config.eid_replay_horizon_days),
        accept_unknown_gateways=config.accept_unknown_gateways,
        max_visit=timedelta(seconds=config.max_visit_s),
        max_payload_bytes=config.max_payload_bytes,
        max_future=timedelta(seconds=config.max_future_s),
        max_age=timedelta(days=config.retention.raw_days),
    )
    context.eid.prime(datetime.now(UTC))
    return context


def build_processor(
    config: IngestConfig, store: Store, registry: Registry, calendar: ServiceCalendar, gateways: GatewayRegistry
) -> BatchProcessor:
    """Validation, deduplication and replay checks as ``config`` sets them."""
    context = build_context(config, registry, calendar, gateways)
    replay = ReplayCheck(
        config.max_walk_speed_mps, config.radio_range_m, timedelta(seconds=config.replay_check_window_s)
    )
    return BatchProcessor(context, store, replay)


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
        source_factory: SourceFactory = PahoSource,
        maintenance: MaintenanceRunner | None = None,
        follower: RegistryFollower | None = None,
    ) -> None:
        """``retire=True``: take this worker out of the group for good (scale-in). It leaves the
        shared subscriptions, writes and acks what its session still holds, and once nothing has
        come for ``retire_idle_s`` disconnects with Session Expiry 0, so the broker drops the session
        instead of queueing the group's messages for a worker that will never return.

        ``source_factory(config, retire)`` builds the message source (tests pass a fake one);
        ``maintenance`` replaces the runner built from ``config`` when ``config.maintenance``.

        ``follower`` (the operational database, ``ronde.ingest.registry_follow``): registry, calendar and gateways
        are followed by polling its version row; each change goes through ``apply_reference``."""
        self.config = config
        self.retire = retire
        self.retire_idle_s = retire_idle_s
        self.store = store
        self.registry = registry
        self.calendar = calendar if calendar is not None else ServiceCalendar()
        self.gateways = gateways if gateways is not None else GatewayRegistry()
        self.counters = counters or Counters()
        self.processor = build_processor(config, store, registry, self.calendar, self.gateways)
        self.context = self.processor.context
        self._stopping = threading.Event()
        self.source: MessageSource = source_factory(config, retire)
        window = ReceiveWindow(config.receive_maximum)  # held messages: the source reads no more once it is full
        hold_back = getattr(self.source, "hold_back", None)
        if hold_back is not None:
            hold_back(window)
        self.writer = BatchWriter(
            self.processor,
            store,
            self.source.ack,
            self._stopping,
            counters=self.counters,
            batch_size=config.batch_size,
            batch_window_s=config.batch_window_ms / 1000,
            retry_max_s=config.store_retry_max_s,
            ack_many=getattr(self.source, "ack_many", None),
            window=window,
        )
        if maintenance is None and config.maintenance and not retire:
            from ronde.ingest.maintenance import MaintenanceRunner

            maintenance = MaintenanceRunner.from_config(config, store, registry, self.calendar)
        self.maintenance = None if retire else maintenance
        self.follower = follower
        self._reload_lock = threading.Lock()
        self._last_message = time.monotonic()
        self._threads: list[threading.Thread] = []
        self._failure: BaseException | None = None

    # ---- public ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._threads:
            raise RuntimeError("worker already started")
        loops: list[tuple[str, Callable[[], None]]] = [
            ("ingest-mqtt", self._receive_loop),
            ("ingest-validate", self.writer.validate_loop),
            ("ingest-writer", self.writer.write_loop),
        ]
        if self.maintenance is not None:
            maintenance = self.maintenance
            loops.append(("ingest-maintenance", lambda: maintenance.run(self._stopping)))
        if self.retire:
            loops.append(("ingest-retire", self._retire_watch))
        if self.follower is not None:
            follower = self.follower
            loops.append(("ingest-registry", lambda: follower.run(self._stopping, self.apply_reference)))
        for name, target in loops:
            t = threading.Thread(target=self._supervised, args=(name, target), name=name, daemon=True)
            self._threads.append(t)
            t.start()
        log.info(
            "ingest worker %s started: broker %s:%d, batch %d, receive maximum %d",
            self.config.client_id,
            self.config.broker_host,
            self.config.broker_port,
            self.config.batch_size,
            self.config.receive_maximum,
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
        return self.source.wait_ready(timeout)

    @property
    def connected(self) -> bool:
        return self.source.ready

    @property
    def connections(self) -> int:
        """Successful connections so far (reconnects included)."""
        return self.source.connections

    @property
    def client(self) -> mqtt.Client:
        """The paho client of a ``PahoSource`` (tests spy on its acks); AttributeError otherwise."""
        if not isinstance(self.source, PahoSource):
            raise AttributeError(f"{type(self.source).__name__} has no paho client")  # noqa: TRY004 - a property: hasattr() works
        return self.source.client

    @property
    def failure(self) -> BaseException | None:
        return self._failure

    @property
    def pending(self) -> int:
        """Messages received and not yet written and acked."""
        return self.writer.pending

    def apply_reference(self, reference: Reference) -> None:
        """A new registry, calendar and gateways (the operational database moved): one validation context
        built aside, then swapped in by one attribute assignment, so each batch is validated under one
        picture. The EID resolver (and its cache) is kept when the registry itself did not change."""
        with self._reload_lock:
            if reference.registry == self.registry and reference.calendar == self.calendar:
                context = dataclasses.replace(self.context, gateways=reference.gateways)
            else:
                context = build_context(self.config, reference.registry, reference.calendar, reference.gateways)
            self.registry, self.calendar, self.gateways = reference.registry, reference.calendar, reference.gateways
            self.context = context
            self.processor.context = context
            if self.maintenance is not None:  # rollups of the days still to close use the registry in force
                self.maintenance.rollups.registry = reference.registry
                self.maintenance.rollups.calendar = reference.calendar

    # ---- supervision -------------------------------------------------------------------------

    def _supervised(self, name: str, target: Callable[[], None]) -> None:
        try:
            target()
        except BrokerRefused as exc:
            log.error("%s; stopping the worker", exc)  # noqa: TRY400 - refused for good: a message, no traceback
            self._failed(exc)
        except BaseException as exc:
            log.exception("%s failed; stopping the worker (unacked messages will be redelivered)", name)
            self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        if self._failure is None:
            self._failure = exc
        self._stopping.set()
        self.writer.abandon()

    # ---- the loops the worker owns ---------------------------------------------------------------

    def _receive_loop(self) -> None:
        """The source until stopping; then, once the writer's last acks are out, disconnect."""
        clean = False
        try:
            self.source.run(self._take, self._stopping)
            clean = True
        finally:
            self._stopping.set()
            self.writer.written_all.wait(60)
            self.source.close(forget_session=clean and self.retire and self._failure is None)

    def _take(self, message: Incoming) -> None:
        if self._stopping.is_set():
            return  # not acked: the broker redelivers it to this session (or its successor)
        self._last_message = time.monotonic()
        self.writer.put(message)

    def _retire_watch(self) -> None:
        """Stop once connected, the session drained and nothing new for ``retire_idle_s``."""
        while not self._stopping.wait(0.2):
            idle = time.monotonic() - self._last_message
            if self.source.ready and self.writer.pending == 0 and idle > self.retire_idle_s:
                log.info("retired %s: session drained", self.config.client_id)
                self._stopping.set()
