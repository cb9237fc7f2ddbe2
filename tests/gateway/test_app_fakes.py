"""The gateway's app and outbox publisher on an injected fake MQTT link: no broker, no radio, fast.

The real-broker behaviour (reconnects, sessions, TLS) is in test_app.py, test_publisher.py and test_tls.py;
here each branch of the wiring is driven on purpose: the window, PUBACKs, refusals, a link that does not take
a message, link up/down, the service gate, heartbeats, the depth alarm, storage errors and refused visits.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ronde.gateway.app import GatewayApp
from ronde.gateway.clock import AcceleratedClock, SystemClock
from ronde.gateway.detection import DetectedVisit
from ronde.gateway.indicator import IndicatorState
from ronde.gateway.mqtt_link import Connected, Disconnected, LinkEvent, LinkSettings, Published
from ronde.gateway.outbox import Outbox, OutgoingMessage
from ronde.gateway.publisher import OutboxPublisher
from ronde.gateway.service_gate import Override
from ronde.gateway.wire import IBeaconId
from ronde.protocol.topics import TopicKind, gateway_topic
from tests.gateway.support import UUID, PatrolSource, eventually, make_config

PARIS = ZoneInfo("Europe/Paris")
ALWAYS = Override(datetime.now(UTC) + timedelta(days=3650), "test patrol outside service hours")
SETTINGS = LinkSettings(host="fake", port=1, client_id="gw-fake", username="gw-fake")


class FakeLink:
    """An ``MqttLink`` in memory: records what is published, PUBACKs on request or at once."""

    def __init__(self, settings: LinkSettings, *, connected: bool = True, auto_ack: bool = True) -> None:
        self.settings = settings
        self._connected = connected
        self.auto_ack = auto_ack
        self.takes = True  # False: publish() does not take the message (paho's queue full, say)
        self.started = False
        self.closed = False
        self.last_words: tuple[str, bytes] | None = None
        self.published: list[tuple[str, bytes, int, bool]] = []
        self.mids: list[int] = []
        self.events: asyncio.Queue[LinkEvent] = asyncio.Queue()
        self._mid = 0

    @property
    def connected(self) -> bool:
        return self._connected

    def start(self) -> None:
        self.started = True
        if self._connected:
            self.events.put_nowait(Connected(session_present=False))

    def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool = False) -> int | None:
        if not self.takes:
            return None
        self._mid += 1
        self.published.append((topic, payload, qos, retain))
        self.mids.append(self._mid)
        if self.auto_ack and qos == 1:
            self.events.put_nowait(Published(self._mid, ok=True, reason="Success"))
        return self._mid

    async def next_event(self) -> LinkEvent:
        return await self.events.get()

    async def close(self, last_words: tuple[str, bytes] | None = None) -> None:
        self.closed = True
        self.last_words = last_words

    def up(self) -> None:
        self._connected = True
        self.events.put_nowait(Connected(session_present=True))

    def down(self, reason: str) -> None:
        self._connected = False
        self.events.put_nowait(Disconnected(reason))

    def on(self, kind: TopicKind) -> list[dict[str, Any]]:
        return [json.loads(p) for t, p, _q, _r in self.published if t.endswith("/" + kind.value)]


class RecordingIndicator:
    def __init__(self) -> None:
        self.states: list[IndicatorState] = []

    def show(self, state: IndicatorState) -> None:
        self.states.append(state)


# ---- the publisher ------------------------------------------------------------------------------------


def _outbox(tmp_path: Path, n: int) -> Outbox:
    outbox = Outbox(tmp_path / "outbox.db")
    for i in range(n):
        outbox.enqueue(OutgoingMessage(TopicKind.TELEMETRY, f"m{i}", None, str(i).encode()), 1.0)
    return outbox


@asynccontextmanager
async def running(pub: OutboxPublisher, *loops: Callable[[], Any]) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(loop()) for loop in (loops or (pub.run_sender, pub.run_events, pub.run_acks))]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_the_window_bounds_what_is_in_flight_and_a_puback_deletes_its_row(tmp_path: Path) -> None:
    outbox = _outbox(tmp_path, 5)
    link = FakeLink(SETTINGS, auto_ack=False)
    pub = OutboxPublisher(outbox, link, "gw-fake", SystemClock(), window=2, poll_s=0.01)
    await pub._fill()
    assert [p for _t, p, _q, _r in link.published] == [b"0", b"1"]
    await pub._fill()  # the window is full: nothing more is read from the outbox
    assert len(link.published) == 2
    assert len(pub.inflight) == 2
    async with running(pub):
        link.events.put_nowait(Published(link.mids[0], ok=True, reason="Success"))
        await eventually(lambda: pub.acked == 1 and len(link.published) == 3, 5, "one PUBACK frees one slot")
        assert outbox.depth() == 4
        link.auto_ack = True
        for mid in link.mids[1:]:
            link.events.put_nowait(Published(mid, ok=True, reason="Success"))
        await eventually(lambda: outbox.depth() == 0 and pub.acked == 5, 5, "every row acknowledged")
    assert [p for _t, p, _q, _r in link.published] == [b"0", b"1", b"2", b"3", b"4"]  # in order, once each
    assert {t for t, _p, _q, _r in link.published} == {gateway_topic("gw-fake", TopicKind.TELEMETRY)}
    assert {(q, r) for _t, _p, q, r in link.published} == {(1, False)}
    assert pub.acked == 5
    assert pub.rejected == 0


async def test_a_refused_row_is_set_aside_and_an_unknown_mid_is_ignored(tmp_path: Path) -> None:
    outbox = _outbox(tmp_path, 2)
    link = FakeLink(SETTINGS, auto_ack=False)
    pub = OutboxPublisher(outbox, link, "gw-fake", SystemClock(), window=5, poll_s=0.01)
    async with running(pub):
        await eventually(lambda: len(link.published) == 2, 5, "both rows sent")
        link.events.put_nowait(Published(999, ok=True, reason="Success"))  # a status: not an outbox row
        link.events.put_nowait(Published(link.mids[0], ok=False, reason="Not authorized"))
        link.events.put_nowait(Published(link.mids[1], ok=True, reason="Success"))
        await eventually(lambda: outbox.depth() == 0 and pub.acked == 1, 5, "one row rejected, one acknowledged")
    assert pub.rejected == 1
    assert pub.acked == 1
    assert outbox.rejected_count() == 1
    assert pub.inflight == {}


async def test_a_message_the_link_does_not_take_is_retried_from_the_same_row(tmp_path: Path) -> None:
    outbox = _outbox(tmp_path, 3)
    link = FakeLink(SETTINGS, auto_ack=False)
    link.takes = False
    pub = OutboxPublisher(outbox, link, "gw-fake", SystemClock(), window=5)
    await pub._fill()
    assert link.published == []
    assert pub.last_sent_pos == 0
    assert pub.inflight == {}
    link.takes = True
    await pub._fill()
    assert [p for _t, p, _q, _r in link.published] == [b"0", b"1", b"2"]


async def test_link_up_and_down_reach_the_callbacks_and_a_disconnected_link_gets_nothing(tmp_path: Path) -> None:
    outbox = _outbox(tmp_path, 2)
    link = FakeLink(SETTINGS, connected=False)
    ups: list[bool] = []
    downs: list[str] = []
    pub = OutboxPublisher(
        outbox,
        link,
        "gw-fake",
        SystemClock(),
        window=5,
        poll_s=0.01,
        on_connected=ups.append,
        on_disconnected=downs.append,
    )
    async with running(pub):
        link.down("network unreachable")
        await eventually(lambda: downs == ["network unreachable"], 5, "the disconnection reported")
        assert link.published == []  # the event loop has passed the sender's poll: still offline, nothing sent
        link.up()
        await eventually(lambda: ups == [True] and outbox.depth() == 0 and pub.acked == 2, 5, "connected, then drained")
    assert pub.acked == 2


async def test_flush_acks_deletes_what_was_acknowledged_but_not_yet_deleted(tmp_path: Path) -> None:
    outbox = _outbox(tmp_path, 2)
    link = FakeLink(SETTINGS)
    pub = OutboxPublisher(outbox, link, "gw-fake", SystemClock(), window=5)
    await pub.flush_acks()  # nothing to flush
    await pub._fill()
    async with running(pub, pub.run_events):  # no ack loop: the PUBACKs wait in memory
        await eventually(lambda: len(pub._acks) == 2, 5, "both PUBACKs received")
    assert outbox.depth() == 2
    await pub.flush_acks()
    assert outbox.depth() == 0
    assert pub.acked == 2


# ---- the app --------------------------------------------------------------------------------------------


class Gateway:
    """A GatewayApp on a fake link and an accelerated clock, started and stopped by ``async with``."""

    def __init__(
        self,
        tmp_path: Path,
        clock: AcceleratedClock,
        source: Any,
        *,
        connected: bool = True,
        override: Override | None = ALWAYS,
        **config: Any,
    ) -> None:
        self.links: list[FakeLink] = []
        self.indicator = RecordingIndicator()

        def factory(settings: LinkSettings) -> FakeLink:
            link = FakeLink(settings, connected=connected)
            self.links.append(link)
            return link

        self.app = GatewayApp(
            make_config(tmp_path, 1883, **config),
            source,
            clock,
            link_factory=factory,
            password="secret",
            override=override,
            indicator=self.indicator,
        )
        self.link = self.links[0]
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Gateway:
        self.task = asyncio.create_task(self.app.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.app.stop()
        await asyncio.wait_for(self.task, 10)


def _at(local: datetime) -> float:
    return local.replace(tzinfo=PARIS).timestamp()


async def test_a_patrol_is_recorded_signed_published_and_the_app_stops_cleanly(tmp_path: Path) -> None:
    # ×60: 20 s near a beacon is 0.33 s of wall time, room for a loaded CI worker to see several adverts of each
    # (at ×600 a stalled loop could pass a beacon on a single advert and the patrol would count two visits)
    clock = AcceleratedClock(time.time(), speed=60)
    source = PatrolSource(clock, [1, 2, 3], dwell_s=20, walk_s=15)
    gw = Gateway(tmp_path, clock, source)
    assert gw.link.settings.password == "secret"
    assert gw.link.settings.client_id == gw.app.config.client_id
    assert gw.link.settings.will is not None
    assert gw.link.settings.will[0] == gw.app.status_topic
    async with gw:
        await eventually(lambda: len(gw.link.on(TopicKind.VISIT)) >= 2, 10, "two visits published")
        assert gw.link.started
        assert gw.app.scanning
    assert gw.app.visits_recorded == 3  # the last open visit is closed and stored at shutdown
    assert [v["seq"] for v in gw.link.on(TopicKind.VISIT)] == list(range(1, len(gw.link.on(TopicKind.VISIT)) + 1))
    assert [v["beacon"]["minor"] for v in gw.link.on(TopicKind.VISIT)] == [1, 2, 3][: len(gw.link.on(TopicKind.VISIT))]
    online = gw.link.on(TopicKind.STATUS)
    assert online
    assert online[0]["state"] == "online"
    assert any(r for t, _p, _q, r in gw.link.published if t == gw.app.status_topic)  # statuses are retained
    assert gw.link.closed
    assert gw.link.last_words is not None
    last = json.loads(gw.link.last_words[1])
    assert last["state"] == "offline"
    assert last["reason"] == "gateway stopped"
    assert gw.indicator.states
    assert gw.indicator.states[-1].connected


async def test_outside_service_hours_nothing_is_scanned(tmp_path: Path) -> None:
    monday_noon = _at(datetime(2026, 12, 7, 12, 0))
    clock = AcceleratedClock(monday_noon, speed=1)
    source = PatrolSource(clock, [1])
    async with Gateway(tmp_path, clock, source, override=None) as gw:
        await eventually(lambda: bool(gw.link.on(TopicKind.STATUS)), 5, "a status")
        assert gw.app.gate_state is not None
        assert not gw.app.gate_state.open
        assert not gw.app.scanning
        assert not source.started.is_set()
    assert gw.link.on(TopicKind.STATUS)[0]["scanning"] is False


async def test_the_gate_closing_stops_the_scan_and_stores_the_open_visit(tmp_path: Path) -> None:
    wednesday_late = _at(datetime(2026, 12, 9, 22, 14, 0))  # service ends at 22:15
    clock = AcceleratedClock(wednesday_late, speed=60)
    source = PatrolSource(clock, [7], dwell_s=600, walk_s=0)  # still near the beacon when the window ends
    async with Gateway(tmp_path, clock, source, override=None) as gw:
        await eventually(lambda: gw.app.scanning, 5, "scanning in service hours")
        await eventually(lambda: gw.app.gate_state is not None and not gw.app.gate_state.open, 10, "the gate closes")
        await eventually(lambda: not gw.app.scanning and gw.app.visits_recorded == 1, 5, "open visit stored")
        await eventually(lambda: len(gw.link.on(TopicKind.VISIT)) == 1, 5, "the visit still published")
    statuses = gw.link.on(TopicKind.STATUS)
    assert statuses[0]["scanning"] is True
    assert statuses[-1]["scanning"] is False


async def test_heartbeats_flow_while_connected_and_the_depth_alarm_goes_with_the_status(tmp_path: Path) -> None:
    # ×60, not ×400: the alarm needs 11 of the 13 passes, and at ×400 a beacon's 20 s are 50 ms of wall time, which a
    # loaded CI worker's stalled loop could miss whole (CI saw the alarm never raised at load 15)
    clock = AcceleratedClock(time.time(), speed=60)
    source = PatrolSource(clock, list(range(1, 14)), dwell_s=20, walk_s=10)
    async with Gateway(tmp_path, clock, source, connected=False, heartbeat_s=30) as gw:
        # offline: visits pile up in the outbox until the alarm depth (10) is passed; no heartbeat goes out
        await eventually(lambda: gw.app.alarm.raised, 30, "the outbox depth alarm")
        assert gw.link.published == []
        assert any(s.alarm and not s.connected for s in gw.indicator.states)
        gw.link.up()
        await eventually(lambda: bool(gw.link.on(TopicKind.HEARTBEAT)), 10, "a heartbeat once connected")
        await eventually(lambda: gw.app.outbox.depth() == 0, 10, "the backlog drained")
    assert any("outbox alarm" in s["reason"] for s in gw.link.on(TopicKind.STATUS))
    beat = gw.link.on(TopicKind.HEARTBEAT)[0]
    assert beat["scanning"] is True
    assert "outbox_depth" in beat
    assert all(q == 0 for t, _p, q, _r in gw.link.published if t == gw.app.heartbeat_topic)


def _visit(minor: int) -> DetectedVisit:
    identity = IBeaconId(uuid=UUID, major=1, minor=minor)
    now = time.time()
    return DetectedVisit(identity, identity.key(), now - 30, now - 5, 20, -55, -61.5)


async def test_a_storage_error_is_retried_and_a_refused_visit_is_counted_not_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = AcceleratedClock(time.time(), speed=1)
    gw = Gateway(tmp_path, clock, PatrolSource(clock, []))
    app = gw.app
    real = app.outbox.enqueue_sequenced
    failures = [sqlite3.OperationalError("database or disk is full")]

    def flaky(build: Any, now: float) -> OutgoingMessage:
        if failures:
            raise failures.pop()
        return real(build, now)

    monkeypatch.setattr(app.outbox, "enqueue_sequenced", flaky)
    await app._record(_visit(4))
    assert app.visits_recorded == 1
    assert app.outbox.depth() == 1
    assert not failures

    def refuse(*args: Any, **kwargs: Any) -> OutgoingMessage:
        raise ValueError("rssi out of range")

    monkeypatch.setattr(app.events, "visit", refuse)
    await app._record(_visit(5))
    assert app.invalid_visits == 1
    assert app.visits_recorded == 1
    assert app.outbox.depth() == 1
    app.outbox.close()


async def test_the_sender_stops_when_cancelled_as_its_wait_ends(tmp_path: Path) -> None:
    """A cancellation that lands in the same loop step as a kick is never lost: Python 3.11's ``asyncio.wait_for``
    returned the kick and dropped the cancellation, the sender looped on, and the gateway's TaskGroup waited for it
    for ever (a stop that never ended: a 300 s test hang under load)."""
    outbox = Outbox(tmp_path / "o.db")
    publisher = OutboxPublisher(outbox, FakeLink(SETTINGS, connected=False), "gw-fake", SystemClock(), poll_s=30)
    try:
        for _ in range(20):
            sender = asyncio.create_task(publisher.run_sender())
            for _ in range(3):
                await asyncio.sleep(0)  # the sender is now waiting for a kick
            publisher.kick()
            sender.cancel()
            done, _ = await asyncio.wait([sender], timeout=2)
            assert done, "the sender ignored its cancellation"
            assert sender.cancelled()
    finally:
        outbox.close()
