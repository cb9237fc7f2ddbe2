"""Publishing against a mosquitto with passwords and the production ACL (``pattern write ronde/v1/gw/%u/#``)."""

from __future__ import annotations

import asyncio
import io
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ronde.gateway.app import GatewayApp
from ronde.gateway.clock import AcceleratedClock, SystemClock
from ronde.gateway.indicator import ConsoleIndicator
from ronde.gateway.mqtt_link import Connected, LinkSettings, PahoLink, Published
from ronde.gateway.outbox import Outbox, OutgoingMessage
from ronde.gateway.publisher import OutboxPublisher
from ronde.gateway.service_gate import Override
from ronde.protocol.topics import TopicKind
from tests.gateway.support import Collector, PatrolSource, eventually, make_config
from tests.support.services import Mosquitto, run_mosquitto

pytestmark = [pytest.mark.mosquitto]


def secured_broker_config(tmp: Path) -> str:
    passwd = tmp / "passwd"
    passwd.touch()
    for user, pw in (("gw-acl-1", "pw-one"), ("collector", "pw-c")):
        subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, pw], check=True)
    acl = tmp / "acl"
    acl.write_text("user collector\ntopic read ronde/v1/gw/#\n\npattern write ronde/v1/gw/%u/#\n")
    return (
        "listener {port} 127.0.0.1\nallow_anonymous false\nuser root\n"
        f"password_file {passwd}\nacl_file {acl}\n"
        "persistence true\npersistence_location {workdir}/\nlog_dest stdout\n"
    )


def settings(port: int, username: str, password: str, client_id: str) -> LinkSettings:
    return LinkSettings(
        host="127.0.0.1",
        port=port,
        client_id=client_id,
        username=username,
        password=password,
        reconnect_initial_s=0.1,
        reconnect_max_s=0.5,
        keepalive_s=5,
    )


async def test_gateway_publishes_under_its_own_id_with_its_password(tmp_path: Path) -> None:
    with run_mosquitto(secured_broker_config(tmp_path)) as broker:
        (tmp_path / "mqtt-password").write_text("pw-one\n")
        config = make_config(
            tmp_path, broker.port, gateway_id="gw-acl-1", mqtt_extra=f'password_file = "{tmp_path}/mqtt-password"'
        )
        collector = await asyncio.to_thread(Collector, broker.port, "acl-collector", ("collector", "pw-c"))
        try:
            clock = AcceleratedClock(time.time(), speed=60)
            source = PatrolSource(clock, [1, 2, 3], dwell_s=15, walk_s=5)
            app = GatewayApp(
                config,
                source,
                clock,
                override=Override(datetime.now(UTC) + timedelta(days=1), "t"),
                indicator=ConsoleIndicator(io.StringIO()),
            )
            run = asyncio.create_task(app.run())
            # 60 s: an upper bound (3 visits take 1 s at ×60); at load 20 the gateway's first connection was lost once
            # and 20 s did not cover its reconnection
            await asyncio.to_thread(collector.wait, lambda: len(collector.of_kind("visit")) == 3, 60)
            app.stop()
            await asyncio.wait_for(run, 15)
            assert [v["seq"] for v in collector.of_kind("visit")] == [1, 2, 3]
            assert app.publisher.rejected == 0
        finally:
            await asyncio.to_thread(collector.close)


async def test_a_refused_message_is_set_aside_with_its_reason_and_the_queue_moves_on(tmp_path: Path) -> None:
    """The broker's PUBACK says 'not authorized' for a topic outside the gateway's ACL: repeating it would block
    every later event, so it moves to the outbox's rejected table, logged, and the next ones go through."""
    with run_mosquitto(secured_broker_config(tmp_path)) as broker:
        outbox = Outbox(tmp_path / "o.db")
        outbox.enqueue_sequenced(lambda s: OutgoingMessage(TopicKind.VISIT, "a", s, b'{"n":1}'), 0)
        outbox.enqueue_sequenced(lambda s: OutgoingMessage(TopicKind.VISIT, "b", s, b'{"n":2}'), 0)
        outbox.enqueue_sequenced(lambda s: OutgoingMessage(TopicKind.VISIT, "c", s, b'{"n":3}'), 0)
        link = PahoLink(settings(broker.port, "gw-acl-1", "pw-one", "gw-acl-1-test"))
        # A publisher configured with another gateway's id writes outside its ACL for every row:
        publisher = OutboxPublisher(outbox, link, "gw-other", SystemClock(), window=2)
        link.start()
        tasks = [asyncio.create_task(c) for c in (publisher.run_sender(), publisher.run_events(), publisher.run_acks())]
        try:
            await eventually(lambda: outbox.depth() == 0, 15, "every row settled")
            assert outbox.rejected_count() == 3
            assert publisher.rejected == 3
            assert publisher.acked == 0
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await link.close()
            outbox.close()


async def test_wrong_password_keeps_retrying_without_losing_anything(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with run_mosquitto(secured_broker_config(tmp_path)) as broker:
        link = PahoLink(settings(broker.port, "gw-acl-1", "wrong", "gw-acl-1-bad"))
        link.start()
        try:
            # the barrier: the broker has refused two CONNECTs (the first and a retry), not a fixed delay
            await eventually(lambda: _refusals(caplog) >= 2, 10, "two refused connections")
            assert not link.connected
        finally:
            await link.close()
        good = PahoLink(settings(broker.port, "gw-acl-1", "pw-one", "gw-acl-1-good"))
        good.start()
        event = await asyncio.wait_for(good.next_event(), 10)
        assert isinstance(event, Connected)
        mid = good.publish("ronde/v1/gw/gw-acl-1/heartbeat", b"{}", qos=1)
        event = await asyncio.wait_for(good.next_event(), 10)
        assert isinstance(event, Published)
        assert event.mid == mid
        assert event.ok
        await good.close()


def _refusals(caplog: pytest.LogCaptureFixture) -> int:
    return sum("refused the connection" in r.getMessage() for r in list(caplog.records))


async def test_mqtt_3_1_1_fallback_keeps_qos1_and_the_session(mosquitto: Mosquitto) -> None:
    """For a broker without MQTT 5 (the embedded demo broker): persistent session, QoS 1, PUBACK still awaited."""
    link = PahoLink(
        LinkSettings(
            host="127.0.0.1", port=mosquitto.port, client_id="gw-v311-test", username="gw-v311", protocol="v3.1.1"
        )
    )
    link.start()
    try:
        event = await asyncio.wait_for(link.next_event(), 10)
        assert isinstance(event, Connected)
        mid = link.publish("ronde/v1/gw/gw-v311/heartbeat", b"{}", qos=1)
        event = await asyncio.wait_for(link.next_event(), 10)
        assert isinstance(event, Published)
        assert event.mid == mid
        assert event.ok
    finally:
        await link.close()
