"""The real bleak scanner against BlueZ's D-Bus API emulated by bluezoo on a private bus (no radio here).

A virtual Eddystone beacon registered through LEAdvertisingManager1 on a second emulated adapter is
seen by ``BleakSource`` and becomes a signed visit on a real mosquitto, through the whole gateway.
"""

from __future__ import annotations

import asyncio
import io
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ronde.gateway.app import GatewayApp
from ronde.gateway.clock import SystemClock
from ronde.gateway.indicator import ConsoleIndicator
from ronde.gateway.scanner import BleakSource
from ronde.gateway.service_gate import Override
from ronde.protocol.calendar import WEEKDAYS
from ronde.protocol.radio import Advertisement
from tests.gateway.bluez_support import BEACON, Bluezoo, PrivateBus, VirtualBeacon, advertising
from tests.gateway.support import Collector, eventually, make_config
from tests.support.services import Mosquitto

pytestmark = [pytest.mark.bluez]
NAMESPACE, INSTANCE = "e2c56db5dffb48d2b060", "d0f5a71096e0"


async def test_bleak_source_sees_the_virtual_beacon(bluez: tuple[PrivateBus, Bluezoo]) -> None:
    bus, zoo = bluez
    source = BleakSource("hci0", active=True, watchdog_s=30)
    beacon = VirtualBeacon(bus.address, "hci1", NAMESPACE, INSTANCE)
    seen = []
    async with advertising(beacon):
        stream = source.stream()
        try:
            async with asyncio.timeout(20):
                async for adv in stream:
                    seen.append(adv)
                    if len(seen) >= 3:
                        break
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
    assert {a.address for a in seen} == {BEACON}
    frames = [a.service_data["0000feaa-0000-1000-8000-00805f9b34fb"] for a in seen]
    assert any(f[0] == 0x00 and f[2:12].hex() == NAMESPACE and f[12:18].hex() == INSTANCE for f in frames)
    assert all(abs(a.t - time.time()) < 30 for a in seen)
    assert "Stopping discovery on adapter[0]" in zoo.log(), "scanning stopped when the consumer left"


async def test_watchdog_restarts_scanning_when_the_air_goes_quiet(bluez: tuple[PrivateBus, Bluezoo]) -> None:
    _, zoo = bluez
    source = BleakSource("hci0", active=True, watchdog_s=2)
    stream = source.stream()
    task: asyncio.Task[Advertisement] = asyncio.create_task(anext(stream))  # type: ignore[arg-type]
    await eventually(lambda: source.stats.restarts >= 2, 15, "two watchdog restarts")
    # the third start follows the second restart: waited for while the stream still runs (cancelled right after
    # the count moved, the stream could stop before starting again); bluezoo writes its log from its own process
    await eventually(lambda: zoo.log().count("Starting discovery on adapter[0]") >= 3, 10, "three discovery starts")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await stream.aclose()  # type: ignore[attr-defined]
    assert source.stats.restarts >= 2


@pytest.mark.mosquitto
@pytest.mark.slow
async def test_virtual_beacon_becomes_a_published_visit(
    bluez: tuple[PrivateBus, Bluezoo], mosquitto: Mosquitto, tmp_path: Path
) -> None:
    bus, _ = bluez
    extra = """
[detection]
merge_gap_s = 3.0
[detection.default]
min_samples = 2
min_dwell_s = 2.0
min_pass_s = 2.0
away_fallback_s = 4.0
away_margin_s = 1.0
max_away_s = 6.0
[scanner]
adapter = "hci0"
active = true
watchdog_s = 30
"""
    config = make_config(tmp_path, mosquitto.port, gateway_id="gw-bluez-1", extra=extra)
    collector = await asyncio.to_thread(Collector, mosquitto.port, "bluez-collector")
    try:
        clock = SystemClock()
        source = BleakSource(
            config.scanner.adapter, config.scanner.active, clock=clock, watchdog_s=config.scanner.watchdog_s
        )
        override = Override(datetime.now(UTC) + timedelta(hours=1), "bluez integration test")
        app = GatewayApp(config, source, clock, override=override, indicator=ConsoleIndicator(io.StringIO()))
        run = asyncio.create_task(app.run())
        started = time.time()
        async with advertising(VirtualBeacon(bus.address, "hci1", NAMESPACE, INSTANCE)):
            await asyncio.sleep(9)
        await eventually(lambda: app.visits_recorded >= 1, 20, "the visit closed after the beacon left")
        assert app.visits_recorded == 1
        await asyncio.to_thread(
            collector.wait, lambda: any(v["gateway_id"] == "gw-bluez-1" for v in collector.of_kind("visit")), 10
        )
        app.stop()
        await asyncio.wait_for(run, 15)
        (visit,) = [v for v in collector.of_kind("visit") if v["gateway_id"] == "gw-bluez-1"]
        assert visit["beacon"] == {"format": "eddystone_uid", "namespace": NAMESPACE, "instance": INSTANCE}
        assert visit["seq"] == 1
        assert visit["count"] >= 2
        first = datetime.fromisoformat(visit["first_seen"]).timestamp()
        assert started - 1 <= first <= time.time()
        tlm = [t for t in collector.of_kind("telemetry") if t["gateway_id"] == "gw-bluez-1"]
        assert tlm
        assert tlm[0]["battery_mv"] == 3000
        assert tlm[0]["temperature_c"] == 21.5
    finally:
        await asyncio.to_thread(collector.close)


@pytest.mark.mosquitto
@pytest.mark.slow
def test_ronde_gateway_run_command_scans_publishes_and_stops_cleanly(
    bluez: tuple[PrivateBus, Bluezoo], mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """The installed command, as systemd runs it: config file, device key, BlueZ on the system bus, SIGTERM."""
    import os
    import signal
    import subprocess
    import sys

    from tests.gateway.support import config_text

    bus, zoo = bluez
    make_config(tmp_path, mosquitto.port, gateway_id="gw-cli-1")  # creates the device key
    cfg = tmp_path / "gateway.toml"
    override_until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    # Service only on another weekday than today in Paris, so the override (not the calendar) opens scanning
    # whatever time the suite runs at.
    other_day = WEEKDAYS[(datetime.now(ZoneInfo("Europe/Paris")).weekday() + 3) % 7]
    service = f'[service]\ndays = ["{other_day}"]\n'
    cfg.write_text(
        config_text(
            tmp_path,
            mosquitto.port,
            gateway_id="gw-cli-1",
            extra=f'[scanner]\nadapter = "hci0"\nactive = true\n{service}',
        )
    )
    collector = Collector(mosquitto.port, "cli-collector")
    log = tmp_path / "gw.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ronde.cli",
            "gateway",
            "run",
            "--config",
            str(cfg),
            "--override-until",
            override_until,
            "--override-reason",
            "integration test",
        ],
        env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": bus.address},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:

        def status() -> list[dict[str, object]]:
            return [s for s in collector.of_kind("status") if s["gateway_id"] == "gw-cli-1"]

        collector.wait(lambda: any(s["state"] == "online" and s["scanning"] for s in status()), 20)
        assert "integration test" in str(status()[-1]["reason"])
        collector.wait(lambda: "Starting discovery on adapter[0]" in zoo.log(), 10)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        collector.wait(lambda: status()[-1]["state"] == "offline", 10)
        assert status()[-1]["reason"] == "gateway stopped"
        text = log.read_text()
        assert "service-hours override until" in text
        assert "SCANNING" in text
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        collector.close()
