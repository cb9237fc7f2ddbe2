"""What a BLE scanner reports: the contract between beacons (real or simulated) and the gateway."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

EDDYSTONE_SERVICE_UUID = "0000feaa-0000-1000-8000-00805f9b34fb"
APPLE_COMPANY_ID = 0x004C


@dataclass(frozen=True, slots=True)
class Advertisement:
    """One received advertisement, as bleak's AdvertisementData gives it.

    ``manufacturer_data`` maps the company id to the bytes after it; ``service_data`` maps
    the 128-bit lowercase service UUID string to the bytes after the UUID. ``t`` is the
    receive time in UTC epoch seconds (the simulator's clock, or the wall clock).
    """

    t: float
    address: str
    rssi: int
    manufacturer_data: Mapping[int, bytes] = field(default_factory=lambda: MappingProxyType({}))
    service_data: Mapping[str, bytes] = field(default_factory=lambda: MappingProxyType({}))
    tx_power: int | None = None
    local_name: str | None = None
