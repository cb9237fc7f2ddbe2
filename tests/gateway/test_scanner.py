"""BleakSource's retry/watchdog logic with a scripted scanner (BlueZ cannot be made to fail on demand
here; the real-BlueZ path is covered by test_scanner_bluez.py). The errors are bleak's own classes."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason, BleakDBusError

from ronde.gateway.scanner import BleakSource, ScannerLike, to_advertisement
from ronde.protocol.backoff import Backoff
from ronde.protocol.radio import Advertisement


def adv_data(rssi: int = -60, **kw: Any) -> AdvertisementData:
    return AdvertisementData(
        local_name=kw.get("local_name"),
        manufacturer_data=kw.get("manufacturer_data", {}),
        service_data=kw.get("service_data", {}),
        service_uuids=[],
        tx_power=kw.get("tx_power"),
        rssi=rssi,
        platform_data=(),
    )


DEVICE = BLEDevice("AA:BB:CC:DD:EE:FF", None, {})


class ScriptedScanner:
    def __init__(self, callback: Callable[[Any, Any], None], plan: list[Any], log: list[str]) -> None:
        self.callback = callback
        self.plan = plan
        self.log = log

    async def start(self) -> None:
        step = self.plan.pop(0) if self.plan else "quiet"
        self.log.append(f"start:{step if isinstance(step, str) else type(step).__name__}")
        if isinstance(step, BaseException):
            raise step
        if step == "adverts":
            for i in range(3):
                self.callback(DEVICE, adv_data(rssi=-60 - i))

    async def stop(self) -> None:
        self.log.append("stop")


def factory(plan: list[Any], log: list[str], made: list[ScriptedScanner]) -> Any:
    def make(callback: Callable[[Any, Any], None], active: bool, adapter: str | None) -> ScannerLike:
        scanner = ScriptedScanner(callback, plan, log)
        made.append(scanner)
        return scanner

    return make


def fast_backoff() -> Backoff:
    return Backoff(0.01, 0.05, rng=random.Random(1))


async def test_bluez_errors_are_retried_with_backoff_never_raised() -> None:
    in_progress = BleakDBusError("org.bluez.Error.InProgress", ["Operation already in progress"])
    not_ready = BleakDBusError("org.bluez.Error.NotReady", ["Resource Not Ready"])
    unavailable = BleakBluetoothNotAvailableError("adapter gone", BleakBluetoothNotAvailableReason.NO_BLUETOOTH)
    log: list[str] = []
    made: list[ScriptedScanner] = []
    source = BleakSource(
        "hci0",
        False,
        backoff=fast_backoff(),
        watchdog_s=5,
        scanner_factory=factory(
            [in_progress, in_progress, not_ready, unavailable, OSError("EIO"), "adverts"], log, made
        ),
    )
    got = []
    async with asyncio.timeout(5), contextlib.aclosing(source.stream()) as stream:  # type: ignore[type-var]
        async for adv in stream:
            got.append(adv)
            if len(got) == 3:
                break
    assert [a.rssi for a in got] == [-60, -61, -62]
    assert source.stats.errors == 5
    assert log[:2] == ["start:BleakDBusError", "stop"]
    assert log[-2:] == ["start:adverts", "stop"], "the scanner is stopped when the consumer leaves"


async def test_watchdog_restarts_a_silent_scanner_and_detaches_the_old_callback() -> None:
    log: list[str] = []
    made: list[ScriptedScanner] = []
    source = BleakSource(
        None,
        True,
        backoff=fast_backoff(),
        watchdog_s=0.1,
        scanner_factory=factory(["quiet", "quiet", "adverts"], log, made),
    )
    got = []
    async with asyncio.timeout(5), contextlib.aclosing(source.stream()) as stream:  # type: ignore[type-var]
        async for adv in stream:
            got.append(adv)
            if len(got) == 3:
                break
    assert source.stats.restarts == 2
    assert log == ["start:quiet", "stop", "start:quiet", "stop", "start:adverts", "stop"]
    made[0].callback(DEVICE, adv_data())  # a late callback from a stopped session goes nowhere
    assert source.stats.received == 3


async def test_a_slow_consumer_loses_radio_samples_counted_not_silently() -> None:
    class Burst(ScriptedScanner):
        async def start(self) -> None:
            for i in range(10):
                self.callback(DEVICE, adv_data(rssi=-50 - i))

    made: list[ScriptedScanner] = []

    def make(callback: Callable[[Any, Any], None], active: bool, adapter: str | None) -> ScannerLike:
        s = Burst(callback, [], [])
        made.append(s)
        return s

    source = BleakSource(None, True, queue_size=4, watchdog_s=5, scanner_factory=make)
    stream = source.stream()
    first = await anext(stream)
    await stream.aclose()  # type: ignore[attr-defined]
    assert source.stats.dropped == 6
    assert first.rssi == -56  # the freshest samples are kept


def test_conversion_from_bleak_types() -> None:
    data = adv_data(
        rssi=-71,
        manufacturer_data={0x004C: bytearray(b"\x02\x15")},
        service_data={"0000FEAA-0000-1000-8000-00805F9B34FB": b"\x00"},
        tx_power=-12,
        local_name="b",
    )
    adv = to_advertisement(1234.5, DEVICE, data)
    assert adv.t == 1234.5
    assert adv.address == "AA:BB:CC:DD:EE:FF"
    assert adv.rssi == -71
    assert adv.manufacturer_data[0x004C] == b"\x02\x15"
    assert isinstance(adv.manufacturer_data[0x004C], bytes)
    assert adv.service_data == {"0000feaa-0000-1000-8000-00805f9b34fb": b"\x00"}
    assert adv.tx_power == -12
    assert adv.local_name == "b"


@pytest.mark.parametrize("active", [True, False])
def test_real_bleak_scanner_is_built_for_both_modes(active: bool) -> None:
    from ronde.gateway.scanner import bleak_scanner_factory

    scanner = bleak_scanner_factory(lambda d, a: None, active, "hci0")
    assert hasattr(scanner, "start")
    assert hasattr(scanner, "stop")


def _reference_conversion(t: float, device: Any, data: Any) -> Advertisement:
    """The conversion as it was written before its fast path for values bleak already gives in our types."""
    manufacturer, service, tx_power = data.manufacturer_data, data.service_data, data.tx_power
    return Advertisement(
        t,
        str(device.address),
        int(data.rssi),
        MappingProxyType({int(k): bytes(v) for k, v in manufacturer.items()}) if manufacturer else MappingProxyType({}),
        MappingProxyType({str(k).lower(): bytes(v) for k, v in service.items()}) if service else MappingProxyType({}),
        None if tx_power is None else int(tx_power),
        data.local_name,
    )


class _Address(str):
    __slots__ = ()


CONVERSIONS: list[tuple[Any, dict[str, Any]]] = [
    (DEVICE, {"manufacturer_data": {0x004C: b"\x02\x15" + bytes(21)}}),
    (DEVICE, {"service_data": {"0000feaa-0000-1000-8000-00805f9b34fb": b"\x00\xee" + bytes(18)}, "tx_power": -4}),
    (DEVICE, {"manufacturer_data": {0x0118: bytearray(b"\xbe\xac"), 0x004C: b"\x02"}, "local_name": "x"}),
    (DEVICE, {"manufacturer_data": {True: b"\x01"}, "rssi": -60.7}),
    (DEVICE, {"service_data": {"0000FEAA-0000-1000-8000-00805F9B34FB": memoryview(b"\x20\x00")}}),
    (
        DEVICE,
        {
            "service_data": {
                "0000feaa-0000-1000-8000-00805f9b34fb": b"\x10",
                "0000FEAA-0000-1000-8000-00805F9B34FB": b"\x20",
            }
        },
    ),
    (DEVICE, {"service_data": {"0000180f-0000-1000-8000-00805f9b34fb": b"\x64", "12345678": b""}}),
    (BLEDevice(_Address("11:22:33:44:55:66"), None, {}), {"rssi": True, "tx_power": 3.0}),
    (DEVICE, {}),
]


@pytest.mark.parametrize(("device", "kw"), CONVERSIONS)
def test_conversion_equals_the_plain_one(device: Any, kw: dict[str, Any]) -> None:
    """Values already of our types are taken as they are, others converted: the result is the one the plain
    conversion gives, of the exact types (``str``, ``int``, ``bytes`` keys and values), and read-only."""
    data = adv_data(**kw)
    adv, expected = to_advertisement(9.5, device, data), _reference_conversion(9.5, device, data)
    assert adv == expected
    assert type(adv.address) is str
    assert type(adv.rssi) is int
    assert all(type(k) is int and type(v) is bytes for k, v in adv.manufacturer_data.items())
    assert all(type(k) is str and type(v) is bytes for k, v in adv.service_data.items())
    assert isinstance(adv.manufacturer_data, MappingProxyType)
    assert isinstance(adv.service_data, MappingProxyType)
    assert adv.manufacturer_data is not data.manufacturer_data
    assert adv.service_data is not data.service_data
    data.manufacturer_data[0x0059] = b"later"  # bleak's dicts changing afterwards do not reach the advertisement
    assert 0x0059 not in adv.manufacturer_data


@pytest.mark.parametrize("bad", [{"manufacturer_data": {"x": b""}}, {"service_data": {"u": 5.5}}, {"rssi": None}])
def test_unusable_values_fail_as_before(bad: dict[str, Any]) -> None:
    data = adv_data(**bad)
    with pytest.raises((TypeError, ValueError)):
        _reference_conversion(1.0, DEVICE, data)
    with pytest.raises((TypeError, ValueError)):
        to_advertisement(1.0, DEVICE, data)
