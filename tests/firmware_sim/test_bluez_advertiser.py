"""A simulated beacon advertised through BlueZ's D-Bus LEAdvertisingManager1 (bluezoo on a private bus), heard
by the gateway's real bleak scanner on a second emulated adapter.

bluezoo 1.0.2 only carries ServiceData across (ManufacturerData keys are mistyped), so Eddystone UID+TLM and
EID beacons are exercised here; the iBeacon path (ManufacturerData ``a{qv}``) needs real BlueZ.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from ronde.firmware_sim import encoders
from ronde.firmware_sim.beacons import SimBeacon
from ronde.firmware_sim.drivers.bluez_advertiser import BluezBeacon
from ronde.gateway.frames import EddystoneEidFrame, EddystoneTlmFrame, EddystoneUidFrame, decode_eddystone
from ronde.gateway.scanner import BleakSource
from ronde.protocol.eid import compute_eid
from ronde.protocol.radio import EDDYSTONE_SERVICE_UUID, Advertisement
from tests.firmware_sim.support import beacon_at, checkpoint_of_format
from tests.gateway.bluez_support import BEACON, Bluezoo, PrivateBus

pytestmark = [pytest.mark.bluez]


def _fast(fmt: str) -> SimBeacon:
    """The estate's beacon, advertising every 300 ms so a TLM slot comes round every 3 s."""
    cp = checkpoint_of_format(fmt)
    cp = dataclasses.replace(cp, beacon=dataclasses.replace(cp.beacon, interval_ms=300))
    return beacon_at(cp, installed_at=time.time() - 86400)


async def _hear(beacon: BluezBeacon, until: int, within: float) -> list[Advertisement]:
    source = BleakSource("hci0", active=True, watchdog_s=30)
    seen: list[Advertisement] = []
    await beacon.start()
    runner = asyncio.create_task(beacon.run())
    stream = source.stream()
    try:
        async with asyncio.timeout(within):
            async for adv in stream:
                seen.append(adv)
                if len(seen) >= until:
                    break
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await beacon.stop()
    return seen


async def test_uid_beacon_with_interleaved_tlm_is_heard(bluez: tuple[PrivateBus, Bluezoo]) -> None:
    bus, _ = bluez
    sim = _fast("eddystone_uid")
    beacon = BluezBeacon(sim, "hci1", bus_address=bus.address)
    seen = await _hear(beacon, 4, 30)
    assert {a.address for a in seen} == {BEACON}
    frames = [decode_eddystone(a.service_data[EDDYSTONE_SERVICE_UUID]) for a in seen]
    uids = [f for f in frames if isinstance(f, EddystoneUidFrame)]
    tlms = [f for f in frames if isinstance(f, EddystoneTlmFrame)]
    assert uids
    assert tlms
    fields = dict(sim.checkpoint.beacon.fields)
    expected = encoders.eddystone_uid(sim.checkpoint.beacon.tx_power, str(fields["namespace"]), str(fields["instance"]))
    assert any(a.service_data[EDDYSTONE_SERVICE_UUID] == expected for a in seen)
    assert all(t.battery_mv is not None and 2800 < t.battery_mv <= 3000 for t in tlms)
    assert beacon.updates >= 2


async def test_eid_beacon_puts_the_current_eid_on_air(bluez: tuple[PrivateBus, Bluezoo]) -> None:
    bus, _ = bluez
    sim = _fast("eddystone_eid")
    spec = sim.checkpoint.beacon
    assert spec.identity_key is not None
    assert spec.rotation_exponent is not None
    beacon = BluezBeacon(sim, "hci1", bus_address=bus.address)
    seen = await _hear(beacon, 1, 30)
    frame = decode_eddystone(seen[0].service_data[EDDYSTONE_SERVICE_UUID])
    assert isinstance(frame, EddystoneEidFrame)
    now_counter = sim.eid_counter(time.time())
    windows = {now_counter >> spec.rotation_exponent, (now_counter >> spec.rotation_exponent) - 1}
    assert frame.eid in {
        compute_eid(spec.identity_key, spec.rotation_exponent, w << spec.rotation_exponent).hex() for w in windows
    }
