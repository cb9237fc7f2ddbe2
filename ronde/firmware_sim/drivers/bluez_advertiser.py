# mypy: disable-error-code="valid-type,name-defined,misc,untyped-decorator,no-untyped-def"
"""Real BlueZ advertising through D-Bus ``org.bluez.LEAdvertisingManager1``: a Linux board becomes a test beacon.

The board advertises the exact frames the simulated beacon of a checkpoint would (iBeacon or
AltBeacon manufacturer data; Eddystone UID with interleaved TLM, or a rotating Eddystone-EID), on
the interval of the estate file. BlueZ schedules the radio events itself (``MinInterval`` /
``MaxInterval``); this process only changes the content when the beacon's frame changes (TLM slot,
EID rotation), by PropertiesChanged on the registered object, which BlueZ's advertising client
watches. ``reregister=True`` unregisters and registers again instead, for BlueZ versions that do not.

The D-Bus signatures below are dbus-fast annotations (strings), hence the mypy pragma above.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from dbus_fast import BusType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.constants import PropertyAccess
from dbus_fast.service import ServiceInterface, dbus_property, method

from ronde.firmware_sim.beacons import Frame, SimBeacon
from ronde.protocol.radio import EDDYSTONE_SERVICE_UUID

log = logging.getLogger(__name__)
BLUEZ = "org.bluez"
EDDYSTONE_UUID16 = "feaa"


class _Advertisement(ServiceInterface):
    """Fields common to both shapes; subclasses add ServiceData or ManufacturerData (never both:
    bluezoo mistypes ManufacturerData, and a beacon frame uses one container anyway)."""

    def __init__(self, interval_ms: int) -> None:
        super().__init__("org.bluez.LEAdvertisement1")
        self.interval_ms = interval_ms

    @method()
    def Release(self):
        log.info("BlueZ released the advertisement")

    @dbus_property(access=PropertyAccess.READ)
    def Type(self) -> s:  # noqa: F821
        return "broadcast"

    @dbus_property(access=PropertyAccess.READ)
    def Discoverable(self) -> b:  # noqa: F821
        """Flags AD 0x06 (LE General Discoverable, no BR/EDR), as iBeacon and Eddystone beacons send."""
        return True

    @dbus_property(access=PropertyAccess.READ)
    def MinInterval(self) -> u:  # noqa: F821
        return self.interval_ms

    @dbus_property(access=PropertyAccess.READ)
    def MaxInterval(self) -> u:  # noqa: F821
        return self.interval_ms


class EddystoneAdvertisement(_Advertisement):
    def __init__(self, frame: bytes, interval_ms: int) -> None:
        super().__init__(interval_ms)
        self.frame = frame

    @dbus_property(access=PropertyAccess.READ)
    def ServiceUUIDs(self) -> "as":  # noqa: F722
        return [EDDYSTONE_UUID16]

    @dbus_property(access=PropertyAccess.READ)
    def ServiceData(self) -> "a{sv}":  # noqa: F722
        return {EDDYSTONE_UUID16: Variant("ay", self.frame)}

    def update(self, frame: bytes) -> None:
        self.frame = frame
        self.emit_properties_changed({"ServiceData": {EDDYSTONE_UUID16: Variant("ay", frame)}})


class ManufacturerAdvertisement(_Advertisement):
    def __init__(self, company_id: int, payload: bytes, interval_ms: int) -> None:
        super().__init__(interval_ms)
        self.company_id = company_id
        self.payload = payload

    @dbus_property(access=PropertyAccess.READ)
    def ManufacturerData(self) -> "a{qv}":  # noqa: F722
        return {self.company_id: Variant("ay", self.payload)}

    def update(self, payload: bytes) -> None:
        self.payload = payload
        self.emit_properties_changed({"ManufacturerData": {self.company_id: Variant("ay", payload)}})


def _content(frame: Frame) -> tuple[int | None, bytes]:
    """(company id, payload) for manufacturer frames, (None, service data) for Eddystone."""
    if frame.service_data:
        return None, frame.service_data[EDDYSTONE_SERVICE_UUID]
    ((company_id, payload),) = frame.manufacturer_data.items()
    return company_id, payload


class BluezBeacon:
    """One simulated beacon advertised by a real (or emulated) BlueZ adapter."""

    def __init__(
        self,
        beacon: SimBeacon,
        adapter: str = "hci0",
        *,
        bus_address: str | None = None,
        clock: Callable[[], float] = time.time,
        reregister: bool = False,
    ) -> None:
        self.beacon = beacon
        self.adapter_path = f"/org/bluez/{adapter}"
        self.bus_address = bus_address
        self.clock = clock
        self.reregister = reregister
        self.path = f"/ronde/sim/beacon/{beacon.checkpoint.id.replace('-', '_')}"
        self.updates = 0
        self.event = 0
        self._bus: MessageBus | None = None
        self._manager: Any = None
        self._adv: EddystoneAdvertisement | ManufacturerAdvertisement | None = None
        self._content: tuple[int | None, bytes] | None = None

    @property
    def content(self) -> tuple[int | None, bytes] | None:
        """What is on air now: (company id or None for Eddystone, payload bytes)."""
        return self._content

    async def start(self) -> None:
        if self.bus_address is not None:
            bus = MessageBus(bus_address=self.bus_address, bus_type=BusType.SYSTEM)
        else:
            bus = MessageBus(bus_type=BusType.SYSTEM)
        self._bus = await bus.connect()
        intro = await self._bus.introspect(BLUEZ, self.adapter_path)
        self._manager = self._bus.get_proxy_object(BLUEZ, self.adapter_path, intro).get_interface(
            "org.bluez.LEAdvertisingManager1"
        )
        company_id, payload = self._content = _content(self.beacon.frame(self.clock(), self.event))
        interval = self.beacon.checkpoint.beacon.interval_ms
        if company_id is None:
            self._adv = EddystoneAdvertisement(payload, interval)
        else:
            self._adv = ManufacturerAdvertisement(company_id, payload, interval)
        self._bus.export(self.path, self._adv)
        await self._manager.call_register_advertisement(self.path, {})
        log.info("advertising %s on %s", self.beacon.checkpoint.id, self.adapter_path)

    async def step(self) -> bool:
        """Advance one advertising event; push the frame to BlueZ if it changed. True if it did."""
        self.event += 1
        now = self.clock()
        if not self.beacon.alive(now):
            return False
        content = _content(self.beacon.frame(now, self.event))
        if content == self._content:
            return False
        self._content = content
        assert self._adv is not None
        if self.reregister:
            await self._manager.call_unregister_advertisement(self.path)
            self._set(content)
            await self._manager.call_register_advertisement(self.path, {})
        elif isinstance(self._adv, EddystoneAdvertisement):
            self._adv.update(content[1])
        else:
            self._adv.update(content[1])
        self.updates += 1
        return True

    def _set(self, content: tuple[int | None, bytes]) -> None:
        if isinstance(self._adv, EddystoneAdvertisement):
            self._adv.frame = content[1]
        elif self._adv is not None:
            self._adv.payload = content[1]

    async def run(self, duration_s: float | None = None) -> None:
        """Step at the beacon's interval until cancelled (or for ``duration_s``)."""
        interval = self.beacon.interval_s
        end = None if duration_s is None else time.monotonic() + duration_s
        while end is None or time.monotonic() < end:
            await asyncio.sleep(interval)
            await self.step()

    async def stop(self) -> None:
        if self._bus is None:
            return
        with contextlib.suppress(Exception):
            await self._manager.call_unregister_advertisement(self.path)
        self._bus.unexport(self.path)
        self._bus.disconnect()
        self._bus = None


async def advertise(
    beacon: SimBeacon,
    adapter: str,
    duration_s: float | None,
    *,
    reregister: bool = False,
    bus_address: str | None = None,
) -> int:
    """Advertise until ``duration_s`` elapses (or forever); returns the number of content updates."""
    b = BluezBeacon(beacon, adapter, bus_address=bus_address, reregister=reregister)
    await b.start()
    try:
        await b.run(duration_s)
    finally:
        await b.stop()
    return b.updates
