"""Outbox → MQTT: in order, QoS 1, a bounded window in flight, a row deleted only after its PUBACK.

The window (``mqtt.inflight_window``) is the back-pressure: nothing more is read from the outbox
until the broker has acknowledged something. The outbox itself absorbs outages on disk.
A PUBACK with a failure reason code (e.g. 0x87 not authorised) will not succeed by repetition:
that row moves to the outbox's ``rejected`` table with the reason, logged as an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from ronde.gateway.clock import Clock
from ronde.gateway.mqtt_link import Connected, Disconnected, MqttLink, Published
from ronde.gateway.outbox import Outbox
from ronde.protocol.topics import TopicKind, gateway_topic

log = logging.getLogger(__name__)


class OutboxPublisher:
    def __init__(
        self,
        outbox: Outbox,
        link: MqttLink,
        gateway_id: str,
        clock: Clock,
        *,
        window: int = 20,
        on_connected: Callable[[bool], None] | None = None,
        on_disconnected: Callable[[str], None] | None = None,
        poll_s: float = 1.0,
    ) -> None:
        self.outbox = outbox
        self.link = link
        self.gateway_id = gateway_id
        self.clock = clock
        self.window = window
        self.on_connected = on_connected
        self.on_disconnected = on_disconnected
        self.poll_s = poll_s
        self.inflight: dict[int, int] = {}  # mid → outbox pos
        self.last_sent_pos = 0
        self.acked = 0
        self.rejected = 0
        self._kick = asyncio.Event()
        self._acks: list[int] = []
        self._ack_kick = asyncio.Event()
        self._topics = {kind: gateway_topic(gateway_id, kind) for kind in TopicKind}

    def kick(self) -> None:
        """Something was enqueued (or acknowledged): look at the outbox again."""
        self._kick.set()

    async def run_sender(self) -> None:
        while True:
            if self.link.connected and len(self.inflight) < self.window:
                await self._fill()
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation that lands as the
            # wait ends, and this loop would then run on for ever inside a TaskGroup that waits for it (a gateway
            # that never stops; seen as a 300 s hang of a test under load)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_s):
                    await self._kick.wait()
            self._kick.clear()

    async def _fill(self) -> None:
        room = self.window - len(self.inflight)
        rows = await asyncio.to_thread(self.outbox.pending, self.last_sent_pos, room)
        for row in rows:
            mid = self.link.publish(self._topics[row.kind], row.payload, qos=1, retain=False)
            if mid is None:
                return  # not taken now: the next kick or poll retries from the same row
            self.inflight[mid] = row.pos
            self.last_sent_pos = row.pos
            log.debug("published %s seq=%s id=%s (mid %d)", row.kind.value, row.seq, row.msg_id, mid)

    async def run_events(self) -> None:
        while True:
            event = await self.link.next_event()
            if isinstance(event, Published):
                pos = self.inflight.pop(event.mid, None)
                if pos is None:
                    continue  # a status or heartbeat
                if event.ok:
                    self._acks.append(pos)
                    self._ack_kick.set()
                else:
                    self.rejected += 1
                    log.error("broker refused outbox row %d for good (%s): moved to 'rejected'", pos, event.reason)
                    await asyncio.to_thread(self.outbox.reject, pos, event.reason, self.clock.now())
                self._kick.set()
            elif isinstance(event, Connected):
                if self.on_connected is not None:
                    self.on_connected(event.session_present)
                self._kick.set()
            # On Disconnected, in-flight rows stay mapped: paho re-sends them with the same mid.
            elif isinstance(event, Disconnected) and self.on_disconnected is not None:
                self.on_disconnected(event.reason)

    async def run_acks(self) -> None:
        """Deletes acknowledged rows in batches (one fsync per burst of PUBACKs)."""
        while True:
            await self._ack_kick.wait()
            self._ack_kick.clear()
            batch, self._acks = self._acks, []
            if batch:
                await self._ack(batch)

    async def flush_acks(self) -> None:
        batch, self._acks = self._acks, []
        if batch:
            await self._ack(batch)

    async def _ack(self, batch: list[int]) -> None:
        # ``self.acked += await …`` would read the counter before the await and lose the other task's batch
        deleted = await asyncio.to_thread(self.outbox.ack, batch)
        self.acked += deleted
