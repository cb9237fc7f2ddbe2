"""Where radio advertisements come from: one narrow protocol, and the one bleak adapter.

``BleakSource`` turns BleakScanner's detection callback into an async iterator in exactly one
place. It never gives up: BlueZ errors (``org.bluez.Error.InProgress``, adapter gone or powered
off, D-Bus hiccups) are retried with capped, jittered backoff, and a watchdog restarts scanning
after ``watchdog_s`` without a single advertisement (a wedged controller, not an empty street:
in a patrolled estate some beacon is always in range, and a restart costs under a second).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

from ronde.gateway.clock import Clock, SystemClock
from ronde.protocol.backoff import Backoff
from ronde.protocol.radio import Advertisement, new_advertisement

log = logging.getLogger(__name__)


class AdvertisementSource(Protocol):
    def stream(self) -> AsyncIterator[Advertisement]:
        """Advertisements until the consumer stops iterating (then scanning stops)."""
        ...


class BatchSource(AdvertisementSource, Protocol):
    def batches(self) -> AsyncIterator[list[Advertisement]]:
        """Advertisements in batches, oldest first (``BleakSource``): the gateway's scan loop prefers them."""
        ...


class ScannerLike(Protocol):
    """The part of ``bleak.BleakScanner`` we use (so tests can inject a failing one)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


ScannerFactory = Callable[[Callable[[Any, Any], None], bool, str | None], ScannerLike]


def beacon_or_patterns() -> list[Any]:
    """Passive scanning (BlueZ advertisement monitors) needs patterns: Eddystone, iBeacon, AltBeacon."""
    from bleak.args.bluez import OrPattern
    from bleak.assigned_numbers import AdvertisementDataType

    return [
        OrPattern(0, AdvertisementDataType.SERVICE_DATA_UUID16, b"\xaa\xfe"),
        OrPattern(0, AdvertisementDataType.MANUFACTURER_SPECIFIC_DATA, b"\x4c\x00\x02\x15"),
        OrPattern(2, AdvertisementDataType.MANUFACTURER_SPECIFIC_DATA, b"\xbe\xac"),
    ]


def bleak_scanner_factory(callback: Callable[[Any, Any], None], active: bool, adapter: str | None) -> ScannerLike:
    from bleak import BleakScanner
    from bleak.args.bluez import BlueZScannerArgs

    bluez: BlueZScannerArgs = {}
    if adapter:
        bluez["adapter"] = adapter
    if not active:
        bluez["or_patterns"] = beacon_or_patterns()
    scanner: ScannerLike = BleakScanner(
        detection_callback=callback, scanning_mode="active" if active else "passive", bluez=bluez
    )
    return scanner


_NO_MANUFACTURER: MappingProxyType[int, bytes] = MappingProxyType({})
_NO_SERVICE: MappingProxyType[str, bytes] = MappingProxyType({})


def to_advertisement(t: float, device: Any, data: Any) -> Advertisement:
    """bleak's (BLEDevice, AdvertisementData) → our radio contract, once per advertisement: values already of the
    contract's types (what bleak's BlueZ backend gives) are taken as they are, others converted; one shared empty
    mapping for the half a beacon leaves empty."""
    manufacturer, service, tx_power = data.manufacturer_data, data.service_data, data.tx_power
    address, rssi = device.address, data.rssi
    return new_advertisement(
        t,
        address if type(address) is str else str(address),
        rssi if type(rssi) is int else int(rssi),
        _manufacturer_copy(manufacturer) if manufacturer else _NO_MANUFACTURER,
        _service_copy(service) if service else _NO_SERVICE,
        None if tx_power is None else int(tx_power),
        data.local_name,
    )


def _manufacturer_copy(manufacturer: Mapping[Any, Any]) -> Mapping[int, bytes]:
    """A read-only copy keyed by int with bytes values (``int(k)``, ``bytes(v)`` unless they already are)."""
    for k, v in manufacturer.items():
        if type(k) is not int or type(v) is not bytes:
            return MappingProxyType({int(k): bytes(v) for k, v in manufacturer.items()})
    return MappingProxyType(dict(manufacturer))


def _service_copy(service: Mapping[Any, Any]) -> Mapping[str, bytes]:
    """A read-only copy keyed by the lowercase UUID string with bytes values (``str(k).lower()``, ``bytes(v)``)."""
    for k, v in service.items():
        if type(k) is not str or type(v) is not bytes or k != k.lower():
            return MappingProxyType({str(k).lower(): bytes(v) for k, v in service.items()})
    return MappingProxyType(dict(service))


def describe_error(exc: BaseException) -> str:
    name = getattr(exc, "dbus_error", None)
    return f"{name}: {exc}" if name else f"{type(exc).__name__}: {exc}"


@dataclass(slots=True)
class ScanStats:
    received: int = 0
    dropped: int = 0
    restarts: int = 0
    errors: int = 0


class BleakSource:
    def __init__(
        self,
        adapter: str | None = None,
        active: bool = False,
        *,
        clock: Clock | None = None,
        watchdog_s: float = 120.0,
        backoff: Backoff | None = None,
        queue_size: int = 4096,
        scanner_factory: ScannerFactory = bleak_scanner_factory,
    ) -> None:
        self.adapter = adapter
        self.active = active
        self.clock: Clock = clock or SystemClock()
        self.watchdog_s = watchdog_s
        self.backoff = backoff or Backoff(1.0, 30.0)
        self.queue_size = queue_size
        self.scanner_factory = scanner_factory
        self.stats = ScanStats()

    async def stream(self) -> AsyncIterator[Advertisement]:
        """One advertisement at a time (``batches``, unpacked): for consumers that want them so."""
        batches = self.batches()
        try:
            async for batch in batches:
                for adv in batch:
                    yield adv
        finally:
            await batches.aclose()  # type: ignore[attr-defined]

    async def batches(self) -> AsyncIterator[list[Advertisement]]:
        """Every advertisement received since the previous batch, oldest first, as soon as the loop is free: the
        callback only appends (no task, timer nor queue hand-off per advertisement), one wake-up per batch."""
        while True:
            detector = _Detector(self.clock, self.stats, self.queue_size)
            scanner = self.scanner_factory(detector.on_detect, self.active, self.adapter)
            try:
                try:
                    await scanner.start()
                except Exception as exc:  # noqa: BLE001 - bleak raises BleakError/BleakDBusError/OSError/EOFError...
                    self.stats.errors += 1
                    delay = self.backoff.next_delay()
                    log.warning(
                        "cannot start scanning on %s: %s; retrying in %.1fs",
                        self.adapter or "default adapter",
                        describe_error(exc),
                        delay,
                    )
                    await asyncio.sleep(delay)
                    continue
                mode = "active" if self.active else "passive"
                log.info("scanning on %s (%s)", self.adapter or "default adapter", mode)
                while True:
                    if not detector.pending:
                        try:
                            async with asyncio.timeout(self.watchdog_s):
                                await detector.ready.wait()
                        except TimeoutError:
                            self.stats.restarts += 1
                            log.warning("no advertisement for %.0fs: restarting the scanner", self.watchdog_s)
                            break
                    batch = detector.take()
                    self.backoff.reset()
                    self.stats.received += len(batch)
                    yield batch
            finally:
                detector.attached = False  # bleak has no public unregister: detach the callback, then stop
                try:
                    await asyncio.shield(scanner.stop())
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - whatever bleak raises, the next scanner starts
                    log.warning("stopping the scanner failed: %s", describe_error(exc))


class _Detector:
    """One scanning session's callback and buffer (a fresh one per restart, so a stale callback is inert).

    bleak calls ``on_detect`` on the event loop's thread: appending to a bounded deque and setting an event already
    set are all it costs; the consumer takes the whole buffer at once (``take``)."""

    def __init__(self, clock: Clock, stats: ScanStats, size: int) -> None:
        self.clock = clock
        self.stats = stats
        self.size = size
        self.pending: deque[Advertisement] = deque(maxlen=size)
        self.ready = asyncio.Event()
        self.attached = True

    def on_detect(self, device: Any, data: Any) -> None:
        if not self.attached:
            return
        try:
            adv = to_advertisement(self.clock.now(), device, data)
        except (TypeError, ValueError, AttributeError) as exc:
            self.stats.errors += 1
            log.debug("unusable advertisement from bleak: %s", exc)
            return
        pending = self.pending
        waiting = len(pending)
        if waiting == self.size:  # the consumer is behind: keep the freshest radio samples, count the rest
            self.stats.dropped += 1
            if self.stats.dropped % 1000 == 1:
                log.warning("scanner queue full: %d advertisements dropped so far", self.stats.dropped)
        pending.append(adv)  # a full deque drops its oldest
        if not waiting:  # the event is set exactly while advertisements wait (``take`` clears both)
            self.ready.set()

    def take(self) -> list[Advertisement]:
        batch = list(self.pending)
        self.pending.clear()
        self.ready.clear()
        return batch
