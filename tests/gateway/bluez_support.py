# mypy: disable-error-code="valid-type,name-defined,misc,untyped-decorator"
"""BlueZ without a radio: a private D-Bus daemon, bluezoo (BlueZ's D-Bus API emulated) on it, and virtual
beacons registered through ``org.bluez.LEAdvertisingManager1`` on a second emulated adapter.

Reusable by other tests (e.g. the simulator's): ``private_system_bus()``, ``run_bluezoo()``,
``VirtualBeacon``, ``eddystone_uid_frame`` / ``eddystone_tlm_frame``.

Known limits of bluezoo 1.0.2: ManufacturerData keys are mistyped, so only ServiceData frames
(Eddystone) cross it; every device's RSSI is fixed (0); a peer's advertisement is reported once per
``scan_interval`` and only *changes* reach bleak, so a beacon interleaves UID and TLM frames (as real
Eddystone beacons do) to be heard repeatedly.
"""

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbus_fast import BusType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.constants import PropertyAccess
from dbus_fast.service import ServiceInterface, dbus_property, method

EDDYSTONE_UUID16 = "feaa"
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def bluez_available() -> str | None:
    """Why the BlueZ emulation cannot run here, or None if it can."""
    if shutil.which("dbus-daemon") is None:
        return "dbus-daemon is not installed (apt-get install dbus)"
    try:
        import bluezoo  # noqa: F401
    except ImportError:
        return "bluezoo is not installed (pip install bluezoo==1.0.2)"
    return None


@dataclass
class PrivateBus:
    address: str
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def private_system_bus() -> Iterator[PrivateBus]:
    """A throw-away dbus-daemon with a permissive policy; use its address as DBUS_SYSTEM_BUS_ADDRESS."""
    with tempfile.TemporaryDirectory(prefix="ronde-dbus-") as tmp:
        socket = Path(tmp) / "bus"
        config = Path(tmp) / "bus.conf"
        config.write_text(BUS_CONFIG.format(socket=socket))
        proc = subprocess.Popen(
            ["dbus-daemon", f"--config-file={config}", "--nofork", "--nopidfile"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 10
            while not socket.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise RuntimeError(f"dbus-daemon did not start: {err}")
                time.sleep(0.02)
            yield PrivateBus(f"unix:path={socket}", proc)
        finally:
            proc.terminate()
            proc.wait(5)


@dataclass
class Bluezoo:
    process: subprocess.Popen[bytes]
    adapters: list[str]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextlib.contextmanager
def run_bluezoo(bus: PrivateBus, adapters: list[str], scan_interval: int = 1) -> Iterator[Bluezoo]:
    """bluezoo serving ``org.bluez`` on ``bus`` with powered adapters hci0, hci1... at ``adapters``."""
    args = [
        sys.executable,
        "-c",
        "import sys; from bluezoo import bluezoo; sys.exit(bluezoo.main())",
        "-v",
        "--auto-enable",
        "--scan-interval",
        str(scan_interval),
    ]
    for address in adapters:
        args += ["-a", address]
    env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": bus.address}
    with tempfile.TemporaryDirectory(prefix="ronde-bluezoo-") as tmp:
        log_path = Path(tmp) / "bluezoo.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            asyncio.run(_wait_for_adapters(bus.address, len(adapters), proc))
            yield Bluezoo(proc, adapters, log_path)
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


async def _wait_for_adapters(address: str, count: int, proc: subprocess.Popen[bytes]) -> None:
    bus = await MessageBus(bus_address=address, bus_type=BusType.SYSTEM).connect()
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("bluezoo exited")
            with contextlib.suppress(Exception):
                intro = await bus.introspect("org.bluez", "/")
                om = bus.get_proxy_object("org.bluez", "/", intro).get_interface("org.freedesktop.DBus.ObjectManager")
                objects = await om.call_get_managed_objects()  # type: ignore[attr-defined]
                powered = [
                    p
                    for p, ifaces in objects.items()
                    if "org.bluez.Adapter1" in ifaces and ifaces["org.bluez.Adapter1"]["Powered"].value
                ]
                if len(powered) >= count:
                    return
            await asyncio.sleep(0.1)
        raise TimeoutError("bluezoo adapters not ready")
    finally:
        bus.disconnect()


SCANNER, BEACON = "00:00:00:00:00:01", "00:00:00:00:00:02"  # the two emulated adapters' addresses


def eddystone_uid_frame(namespace: str, instance: str, power_0m: int = -18) -> bytes:
    head = b"\x00" + (power_0m & 0xFF).to_bytes(1, "big")
    return head + bytes.fromhex(namespace) + bytes.fromhex(instance) + bytes(2)


def eddystone_tlm_frame(battery_mv: int, temperature_c: float, adv_count: int, uptime_s: float) -> bytes:
    temp = round(temperature_c * 256) & 0xFFFF
    return (
        b"\x20\x00"
        + battery_mv.to_bytes(2, "big")
        + temp.to_bytes(2, "big")
        + adv_count.to_bytes(4, "big")
        + int(uptime_s * 10).to_bytes(4, "big")
    )


class _Advertisement(ServiceInterface):
    """org.bluez.LEAdvertisement1, exported by the beacon's process (as a real peripheral app would)."""

    def __init__(self, frame: bytes, name: str) -> None:
        super().__init__("org.bluez.LEAdvertisement1")
        self.frame = frame
        self.local_name = name

    @method()
    def Release(self) -> "":  # noqa: F722 - D-Bus signature annotations
        return None

    @dbus_property(access=PropertyAccess.READ)
    def Type(self) -> "s":  # noqa: F821
        return "broadcast"

    @dbus_property(access=PropertyAccess.READ)
    def ServiceUUIDs(self) -> "as":  # noqa: F722
        return [EDDYSTONE_UUID16]

    @dbus_property(access=PropertyAccess.READ)
    def ServiceData(self) -> "a{sv}":  # noqa: F722
        return {EDDYSTONE_UUID16: Variant("ay", self.frame)}

    @dbus_property(access=PropertyAccess.READ)
    def Discoverable(self) -> "b":  # noqa: F821
        return True

    @dbus_property(access=PropertyAccess.READ)
    def LocalName(self) -> "s":  # noqa: F821
        return self.local_name


class VirtualBeacon:
    """An Eddystone beacon on an emulated adapter: UID frames interleaved with TLM frames."""

    def __init__(
        self,
        bus_address: str,
        adapter: str,
        namespace: str,
        instance: str,
        *,
        period_s: float = 0.35,
        name: str = "ronde-beacon",
    ) -> None:
        self.bus_address = bus_address
        self.adapter_path = f"/org/bluez/{adapter}"
        self.uid = eddystone_uid_frame(namespace, instance)
        self.period_s = period_s
        self.adv = _Advertisement(self.uid, name)
        self.path = f"/ronde/beacon/{namespace}{instance}"
        self.frames_sent = 0
        self._bus: MessageBus | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._bus = await MessageBus(bus_address=self.bus_address, bus_type=BusType.SYSTEM).connect()
        self._bus.export(self.path, self.adv)
        intro = await self._bus.introspect("org.bluez", self.adapter_path)
        manager = self._bus.get_proxy_object("org.bluez", self.adapter_path, intro).get_interface(
            "org.bluez.LEAdvertisingManager1"
        )
        await manager.call_register_advertisement(self.path, {})  # type: ignore[attr-defined]
        self._task = asyncio.create_task(self._interleave(), name="virtual-beacon")

    async def _interleave(self) -> None:
        started = time.monotonic()
        while True:
            await asyncio.sleep(self.period_s)
            self.frames_sent += 1
            if self.frames_sent % 2:
                frame = eddystone_tlm_frame(3000, 21.5, self.frames_sent, time.monotonic() - started)
            else:
                frame = self.uid
            self.adv.frame = frame
            self.adv.emit_properties_changed({"ServiceData": {EDDYSTONE_UUID16: Variant("ay", frame)}})

    async def stop(self) -> None:
        """Stop advertising (unregister) and leave the bus: the beacon has gone out of range."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._bus is not None:
            with contextlib.suppress(Exception):
                intro = await self._bus.introspect("org.bluez", self.adapter_path)
                manager = self._bus.get_proxy_object("org.bluez", self.adapter_path, intro).get_interface(
                    "org.bluez.LEAdvertisingManager1"
                )
                await manager.call_unregister_advertisement(self.path)  # type: ignore[attr-defined]
            self._bus.disconnect()
            self._bus = None


@contextlib.asynccontextmanager
async def advertising(beacon: VirtualBeacon) -> AsyncIterator[VirtualBeacon]:
    await beacon.start()
    try:
        yield beacon
    finally:
        await beacon.stop()


def describe(obj: Any) -> str:
    return repr(obj)
