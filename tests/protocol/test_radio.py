"""``new_advertisement``, the scanner callback's constructor: an ordinary ``Advertisement``, field for field."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from ronde.protocol.radio import EDDYSTONE_SERVICE_UUID, Advertisement, new_advertisement

CASES = [
    (1.5, "aa:bb", -70, MappingProxyType({0x004C: b"\x02\x15"}), MappingProxyType({}), None, None),
    (2.0, "cc:dd", -91, MappingProxyType({}), MappingProxyType({EDDYSTONE_SERVICE_UUID: b"\x00"}), -4, "beacon"),
    (0.0, "", 127, {1: b""}, {"x": b"y"}, 0, ""),
]


@pytest.mark.parametrize("fields", CASES)
def test_new_advertisement_is_the_dataclass_one(fields: tuple[object, ...]) -> None:
    made = new_advertisement(*fields)  # type: ignore[arg-type]
    expected = Advertisement(*fields)  # type: ignore[arg-type]
    assert type(made) is Advertisement
    assert made == expected
    assert repr(made) == repr(expected)
    assert all(getattr(made, f.name) is getattr(expected, f.name) for f in dataclasses.fields(Advertisement))


def test_new_advertisement_stays_frozen() -> None:
    adv = new_advertisement(1.0, "aa", -60, MappingProxyType({}), MappingProxyType({}), None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        adv.rssi = -50  # type: ignore[misc]
    assert dataclasses.replace(adv, rssi=-50) == Advertisement(1.0, "aa", -50)
