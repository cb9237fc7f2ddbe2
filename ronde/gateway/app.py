"""The gateway process: small parts wired together, each loop a named task in one TaskGroup.

    source ─▶ pipeline ─▶ results queue ─▶ recorder ─▶ outbox (SQLite) ─▶ publisher ─▶ MQTT
                ▲                                                            │
              gate (service hours: starts/stops the scan task)         link events (PUBACK → delete)

Everything time-related goes through the injected ``Clock``, so the simulator can drive a whole
evening at accelerated speed; the MQTT link runs in real time.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

from ronde.gateway.clock import Clock, SystemClock
from ronde.gateway.config import GatewayConfig, read_password
from ronde.gateway.detection import DetectedVisit
from ronde.gateway.events import EventFactory, utc
from ronde.gateway.indicator import ConsoleIndicator, Indicator, IndicatorState
from ronde.gateway.keys import load_key
from ronde.gateway.mqtt_link import LinkSettings, MqttLink, PahoLink
from ronde.gateway.outbox import Outbox
from ronde.gateway.pipeline import ScanPipeline, TelemetryReading
from ronde.gateway.publisher import OutboxPublisher
from ronde.gateway.scanner import AdvertisementSource
from ronde.gateway.service_gate import GateState, Override, ServiceGate
from ronde.gateway.status import BatteryProbe, DepthAlarm, NoBattery, ScanRate, heartbeat_payload, status_payload
from ronde.protocol.backoff import Backoff
from ronde.protocol.radio import Advertisement
from ronde.protocol.signing import Signer
from ronde.protocol.topics import TopicKind, gateway_topic

log = logging.getLogger(__name__)

LinkFactory = Callable[[LinkSettings], MqttLink]
TICK_S = 1.0
GATE_RECHECK_S = 60.0


def link_settings(config: GatewayConfig, password: str | None, will: tuple[str, bytes] | None) -> LinkSettings:
    m = config.mqtt
    return LinkSettings(
        host=m.host,
        port=m.port,
        client_id=config.client_id,
        username=config.mqtt_username,
        password=password,
        tls=m.tls,
        ca_file=_opt(m.ca_file),
        client_cert_file=_opt(m.client_cert_file),
        client_key_file=_opt(m.client_key_file),
        keepalive_s=m.keepalive_s,
        session_expiry_s=m.session_expiry_s,
        reconnect_initial_s=m.reconnect_initial_s,
        reconnect_max_s=m.reconnect_max_s,
        inflight_window=m.inflight_window,
        will=will,
        protocol=m.protocol,
    )


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


class _Stop(Exception):
    """Raised by the stop waiter to end the task group."""


class GatewayApp:
    def __init__(
        self,
        config: GatewayConfig,
        source: AdvertisementSource,
        clock: Clock | None = None,
        *,
        link_factory: LinkFactory = PahoLink,
        key: Signer | None = None,
        password: str | None = None,
        battery: BatteryProbe | None = None,
        indicator: Indicator | None = None,
        override: Override | None = None,
    ) -> None:
        self.config = config
        self.source = source
        self.clock: Clock = clock or SystemClock()
        self.gateway_id = config.gateway.id
        s = config.service
        if override is None and s.override_until is not None and s.override_reason is not None:
            override = Override(s.override_until, s.override_reason)
        self.gate = ServiceGate(s.calendar(), override)
        self.pipeline = ScanPipeline(config.detection_config(), config.telemetry.period_s)
        self.key = key or load_key(config.gateway.key_file)
        self.events = EventFactory(self.gateway_id, config.gateway.badge, self.key)
        self.outbox = Outbox(config.outbox.path)
        self.status_topic = gateway_topic(self.gateway_id, TopicKind.STATUS)
        self.heartbeat_topic = gateway_topic(self.gateway_id, TopicKind.HEARTBEAT)
        # signed now, published by the broker whenever the link dies: hence no time in it (at=None)
        will = status_payload(
            self.gateway_id, online=False, at=None, scanning=False, reason="connection lost", key=self.key
        )
        pw = password if password is not None else read_password(config)
        self.link = link_factory(link_settings(config, pw, (self.status_topic, will)))
        self.publisher = OutboxPublisher(
            self.outbox,
            self.link,
            self.gateway_id,
            self.clock,
            window=config.mqtt.inflight_window,
            on_connected=lambda _session: self._on_link_change(),
            on_disconnected=lambda _r: self._on_link_change(),
        )
        self.battery: BatteryProbe = battery or NoBattery()
        self.indicator: Indicator = indicator or ConsoleIndicator()
        self.alarm = DepthAlarm(config.outbox.alarm_depth)
        self.rate = ScanRate()
        self.results: asyncio.Queue[DetectedVisit | TelemetryReading] = asyncio.Queue(10_000)
        self.gate_state: GateState | None = None
        self.visits_recorded = 0
        self.invalid_visits = 0
        self._recording = 0  # items the recorder has taken from ``results`` and not stored yet
        self._scan_task: asyncio.Task[None] | None = None
        self._tg: asyncio.TaskGroup | None = None
        self._stop = asyncio.Event()
        self._depth = self.outbox.depth()

    # ---- lifecycle -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask ``run`` to finish: open visits are closed and stored, status goes offline, link closes."""
        self._stop.set()

    @property
    def scanning(self) -> bool:
        return self._scan_task is not None and not self._scan_task.done()

    async def run(self) -> None:
        log.info(
            "gateway %s starting: %d event(s) waiting in the outbox, next seq %d",
            self.gateway_id,
            self._depth,
            self.outbox.next_seq(),
        )
        self.link.start()
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                tg.create_task(self._gate_loop(), name="service-gate")
                tg.create_task(self._tick_loop(), name="detection-tick")
                tg.create_task(self._record_loop(), name="recorder")
                tg.create_task(self.publisher.run_sender(), name="outbox-sender")
                tg.create_task(self.publisher.run_events(), name="mqtt-events")
                tg.create_task(self.publisher.run_acks(), name="outbox-acks")
                tg.create_task(self._heartbeat_loop(), name="heartbeat")
                tg.create_task(self._stop_waiter(), name="stop-waiter")
        except* _Stop:
            pass
        finally:
            self._tg = None
            await self._shutdown()

    async def _stop_waiter(self) -> None:
        await self._stop.wait()
        raise _Stop

    async def _shutdown(self) -> None:
        now = self.clock.now()
        pending: list[DetectedVisit | TelemetryReading] = []
        while not self.results.empty():
            pending.append(self.results.get_nowait())
        pending.extend(self.pipeline.close_all(now))
        for item in pending:
            await self._record(item)
        await self.publisher.flush_acks()
        last = status_payload(
            self.gateway_id, online=False, at=now, scanning=False, reason="gateway stopped", key=self.key
        )
        await self.link.close((self.status_topic, last))
        self.outbox.close()
        log.info("gateway %s stopped (%d visit(s) recorded this run)", self.gateway_id, self.visits_recorded)

    # ---- service gate and scanning ----------------------------------------------------------------

    async def _gate_loop(self) -> None:
        while True:
            now = self.clock.now()
            state = self.gate.state(now)
            if self.gate_state is None or state.open != self.gate_state.open or state.reason != self.gate_state.reason:
                await self._apply_gate(state, now)
            await self.clock.sleep(min(max(state.next_change - now, 0.0) + 0.001, GATE_RECHECK_S))

    async def _apply_gate(self, state: GateState, now: float) -> None:
        self.gate_state = state
        if state.open and not self.scanning:
            assert self._tg is not None
            log.info("service gate open: %s; scanning starts", state.reason)
            self._scan_task = self._tg.create_task(self._scan_loop(), name="scanner")
        elif not state.open and self.scanning:
            log.info("service gate closed: %s; scanning stops (queued events keep draining)", state.reason)
            await self._stop_scanning(now)
        elif not state.open:
            log.info("service gate closed: %s; not scanning", state.reason)
        self._publish_status()

    async def _stop_scanning(self, now: float) -> None:
        task, self._scan_task = self._scan_task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # this task is being cancelled too (the gateway stops): never swallow that
        for visit in self.pipeline.close_all(now):
            await self.results.put(visit)

    async def _scan_loop(self) -> None:
        """Batches when the source gives them (``BleakSource.batches``: one wake-up per batch, not per advertisement),
        else one advertisement at a time."""
        batches = getattr(self.source, "batches", None)
        stream = batches() if batches is not None else _single(self.source.stream())
        try:
            async for batch in stream:
                self.rate.add(len(batch))
                feed, in_gate = self.pipeline.feed, self._in_gate
                for adv in batch:
                    if not in_gate(adv.t):
                        continue  # heard after the window closed, before the gate task stopped the scanner
                    for item in feed(adv):
                        await self.results.put(item)  # bounded: a stuck recorder slows the scan, never drops
        finally:
            await stream.aclose()  # an async generator: stop its scanner now, not at GC

    def _in_gate(self, t: float) -> bool:
        state = self.gate_state
        if state is None or not state.open:
            return False
        if t < state.next_change:
            return True
        return self.gate.state(t).open

    async def _tick_loop(self) -> None:
        while True:
            await self.clock.sleep(TICK_S)
            for visit in self.pipeline.tick(self.clock.now()):
                await self.results.put(visit)

    # ---- recording ------------------------------------------------------------------------------

    async def _record_loop(self) -> None:
        while True:
            item = await self.results.get()
            self._recording += 1
            try:
                await self._record(item)
            finally:
                self._recording -= 1

    @property
    def unrecorded(self) -> int:
        """Visits and readings not in the outbox yet: open (or held for a merge) in the pipeline, queued for
        the recorder, or being written. A caller waiting for "everything sent" must see this at 0 as well as
        the outbox empty: between the two, a visit is in neither."""
        return self.pipeline.open_count + self.results.qsize() + self._recording

    async def close_open_visits(self) -> int:
        """Close every open visit as it stands and queue it for recording, as the end of service does, without
        stopping: for a replay whose clock is held past its evening (the detection tick sleeps on that clock,
        so nothing else would close them). Returns how many were closed."""
        items = self.pipeline.close_all(self.clock.now())
        for item in items:
            await self.results.put(item)
        return len(items)

    async def _record(self, item: DetectedVisit | TelemetryReading) -> None:
        """Store durably, retrying storage errors forever (disk full is an alarm, not a reason to drop)."""
        backoff = Backoff(0.5, 30.0)
        while True:
            now = self.clock.now()
            try:
                if isinstance(item, DetectedVisit):
                    build = functools.partial(self.events.visit, item, now=now)
                    msg = await asyncio.to_thread(self.outbox.enqueue_sequenced, build, now)
                    self.visits_recorded += 1
                    log.info(
                        "visit %s seq=%d %s (%d adverts, %.0fs)",
                        msg.msg_id,
                        msg.seq,
                        item.key,
                        item.count,
                        item.last_seen - item.first_seen,
                    )
                else:
                    await asyncio.to_thread(self.outbox.enqueue, self.events.telemetry(item, now), now)
                break
            except ValueError as exc:  # the wire model refused it: record why, never crash
                self.invalid_visits += 1
                log.error("detector output not publishable, not recorded: %s (%r)", exc, item)  # noqa: TRY400 - an expected refusal: its message, no traceback
                return
            except sqlite3.Error as exc:
                delay = backoff.next_delay()
                log.error("cannot write the outbox (%s); retrying in %.1fs, event held in memory", exc, delay)  # noqa: TRY400 - an expected outage: its message, no traceback
                await asyncio.sleep(delay)
        self.publisher.kick()
        await self._check_depth()

    async def _check_depth(self) -> None:
        self._depth = await asyncio.to_thread(self.outbox.depth)
        if self.alarm.update(self._depth):
            self._publish_status()
        else:
            self._show()

    # ---- status ---------------------------------------------------------------------------------

    def _reason(self) -> str:
        reason = self.gate_state.reason if self.gate_state is not None else "starting"
        if self.alarm.raised:
            reason = f"{reason}; outbox alarm: {self._depth} events waiting"
        return reason

    def _show(self) -> None:
        self.indicator.show(
            IndicatorState(self.scanning, self._reason(), self.link.connected, self._depth, self.alarm.raised)
        )

    def _publish_status(self) -> None:
        self._show()
        if self.link.connected:
            payload = status_payload(
                self.gateway_id,
                online=True,
                at=self.clock.now(),
                scanning=self.scanning,
                reason=self._reason(),
                key=self.key,
            )
            self.link.publish(self.status_topic, payload, qos=1, retain=True)

    def _on_link_change(self) -> None:
        self._publish_status()

    async def _heartbeat_loop(self) -> None:
        self.rate.take(self.clock.now())
        while True:
            await self.clock.sleep(self.config.heartbeat_s)
            await self._check_depth()
            now = self.clock.now()
            if not self.link.connected:
                continue
            payload = heartbeat_payload(
                self.gateway_id,
                at=now,
                scanning=self.scanning,
                in_service=self.gate.calendar.in_service(utc(now)),
                outbox_depth=self._depth,
                next_seq=await asyncio.to_thread(self.outbox.next_seq),
                adverts_per_s=self.rate.take(now),
                battery_pct=self.battery.battery_pct(),
                key=self.key,
            )
            self.link.publish(self.heartbeat_topic, payload, qos=0)


async def _single(stream: AsyncIterator[Advertisement]) -> AsyncGenerator[list[Advertisement]]:
    """A one-at-a-time source as batches of one (its scanner stopped when this generator is closed)."""
    try:
        async for adv in stream:
            yield [adv]
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
