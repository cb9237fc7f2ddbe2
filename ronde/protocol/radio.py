"""What a BLE scanner reports: the contract between beacons (real or simulated) and the gateway."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
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


_FIELDS = ("t", "address", "rssi", "manufacturer_data", "service_data", "tx_power", "local_name")
if tuple(f.name for f in fields(Advertisement)) != _FIELDS:
    raise AssertionError("new_advertisement must set every field of Advertisement, in order")
_SET_T, _SET_ADDRESS, _SET_RSSI, _SET_MANUFACTURER, _SET_SERVICE, _SET_TX_POWER, _SET_NAME = (
    Advertisement.__dict__[name].__set__ for name in _FIELDS
)
_new = object.__new__


def new_advertisement(
    t: float,
    address: str,
    rssi: int,
    manufacturer_data: Mapping[int, bytes],
    service_data: Mapping[str, bytes],
    tx_power: int | None,
    local_name: str | None,
) -> Advertisement:
    """``Advertisement(...)`` for the scanner's callback, once per advertisement received, at half the CPU.

    A frozen dataclass's generated ``__init__`` sets each field through ``object.__setattr__`` (looked up and
    called by name, seven times); the slots' own setters do the same stores directly. Every field is given: the
    caller owns the defaults. The result is an ordinary, equal ``Advertisement`` (``tests/protocol/test_radio.py``).
    """
    adv: Advertisement = _new(Advertisement)
    _SET_T(adv, t)
    _SET_ADDRESS(adv, address)
    _SET_RSSI(adv, rssi)
    _SET_MANUFACTURER(adv, manufacturer_data)
    _SET_SERVICE(adv, service_data)
    _SET_TX_POWER(adv, tx_power)
    _SET_NAME(adv, local_name)
    return adv
