"""The simulator's own encoders against real published frames (``tests/vectors/frames.json``).

Decoded fields as the sources publish them are encoded again and must give the published bytes; and
the gateway's decoders (written independently) must read back what the encoders write.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ronde.firmware_sim import encoders
from ronde.gateway.frames import (
    EddystoneEidFrame,
    EddystoneTlmFrame,
    EddystoneUidFrame,
    EddystoneUrlFrame,
    IBeaconFrame,
    decode_eddystone,
    decode_manufacturer,
)
from tests.support.vectors import load_vectors

FRAMES: list[dict[str, Any]] = load_vectors("frames.json")


def _of_kind(kind: str) -> list[dict[str, Any]]:
    return [f for f in FRAMES if f["kind"] == kind and f.get("expect_decoded") is True]


def _power(expected: dict[str, Any]) -> int | None:
    for name in ("txpower", "tx_power", "power", "measured power"):
        if name in expected:
            return int(expected[name])
    return None


IBEACONS = [
    f
    for f in _of_kind("ibeacon")
    if "uuid" in f["expected"]
    and "major" in f["expected"]
    and "minor" in f["expected"]
    and _power(f["expected"]) is not None
]
UIDS = [f for f in _of_kind("eddystone_uid") if {"namespace", "instance", "tx_power"} <= f["expected"].keys()]
TLMS = [
    f
    for f in _of_kind("eddystone_tlm")
    if {"vbatt_mV", "temp_C", "adv_cnt", "sec_cnt_raw"} <= f["expected"].keys()
    or {"voltage", "temperature", "advertising_count", "seconds_since_boot"} <= f["expected"].keys()
]
EIDS = [f for f in _of_kind("eddystone_eid") if "tx_power" in f["expected"] and "eid" in f["expected"]]
URLS = [f for f in _of_kind("eddystone_url") if {"tx_power", "url"} <= f["expected"].keys()]
URL_BODIES = [f for f in _of_kind("eddystone_url_body") if "url" in f["expected"]]


def test_there_are_vectors_of_every_kind() -> None:
    assert len(IBEACONS) >= 4
    assert len(UIDS) >= 2
    assert len(TLMS) >= 2
    assert EIDS
    assert URLS
    assert URL_BODIES


@pytest.mark.parametrize("entry", IBEACONS, ids=lambda e: e["id"])
def test_ibeacon_bytes(entry: dict[str, Any]) -> None:
    e = entry["expected"]
    power = _power(e)
    assert power is not None
    payload = encoders.ibeacon(e["uuid"].replace("-", ""), e["major"], e["minor"], power)
    assert payload.hex() == entry["payload_hex"].lower()


@pytest.mark.parametrize("entry", UIDS, ids=lambda e: e["id"])
def test_eddystone_uid_bytes(entry: dict[str, Any]) -> None:
    e = entry["expected"]
    with_rfu = len(bytes.fromhex(entry["payload_hex"])) == 20
    payload = encoders.eddystone_uid(e["tx_power"], e["namespace"], e["instance"], rfu=with_rfu)
    published = bytes.fromhex(entry["payload_hex"])
    if with_rfu and published[18:] != b"\x00\x00":
        published = published[:18] + b"\x00\x00"  # RFU set by the source on purpose: we always send zeros
    assert payload == published


@pytest.mark.parametrize("entry", TLMS, ids=lambda e: e["id"])
def test_eddystone_tlm_bytes(entry: dict[str, Any]) -> None:
    e = entry["expected"]
    if "vbatt_mV" in e:
        fields = (e["vbatt_mV"], e["temp_C"], e["adv_cnt"], e["sec_cnt_raw"])
    else:  # beacontools: seconds_since_boot is the raw 0.1 s count (see SOURCES.md)
        fields = (e["voltage"], e["temperature"], e["advertising_count"], e["seconds_since_boot"])
    temp = None if e.get("temp_supported") is False else fields[1]
    payload = encoders.eddystone_tlm(fields[0], temp, fields[2], fields[3])
    assert payload.hex() == entry["payload_hex"].lower()


@pytest.mark.parametrize("entry", EIDS, ids=lambda e: e["id"])
def test_eddystone_eid_bytes(entry: dict[str, Any]) -> None:
    e = entry["expected"]
    payload = encoders.eddystone_eid(e["tx_power"], bytes.fromhex(e["eid"]))
    assert payload.hex() == entry["payload_hex"].lower()


@pytest.mark.parametrize("entry", URLS, ids=lambda e: e["id"])
def test_eddystone_url_bytes(entry: dict[str, Any]) -> None:
    e = entry["expected"]
    assert encoders.eddystone_url(e["tx_power"], e["url"]).hex() == entry["payload_hex"].lower()


@pytest.mark.parametrize("entry", URL_BODIES, ids=lambda e: e["id"])
def test_eddystone_url_body_bytes(entry: dict[str, Any]) -> None:
    assert encoders.eddystone_url_body(entry["expected"]["url"]).hex() == entry["payload_hex"].lower()


def test_temperature_not_supported_and_negative() -> None:
    assert encoders.eddystone_tlm(3000, None, 1, 1)[4:6] == b"\x80\x00"
    assert encoders.eddystone_tlm(3000, -1.0, 1, 1)[4:6] == b"\xff\x00"
    assert encoders.eddystone_tlm(3000, 21.5, 1, 1)[4:6] == b"\x15\x80"


def test_out_of_range_fields_are_refused() -> None:
    with pytest.raises(ValueError, match=r"major/minor must be 0\.\.65535"):
        encoders.ibeacon("00" * 16, 70000, 1, -59)
    with pytest.raises(ValueError, match="does not fit a signed byte"):
        encoders.eddystone_uid(-200, "00" * 10, "00" * 6)
    with pytest.raises(ValueError, match="an EID is 8 bytes"):
        encoders.eddystone_eid(-18, b"short")
    with pytest.raises(ValueError, match="URL scheme not encodable"):
        encoders.eddystone_url(0, "ftp://example.com")


hexes = st.binary(min_size=1, max_size=1)
power = st.integers(-100, 20)


@given(
    uuid=st.binary(min_size=16, max_size=16),
    major=st.integers(0, 65535),
    minor=st.integers(0, 65535),
    p=st.integers(-100, -20),
)
def test_gateway_decodes_what_the_simulator_encodes_ibeacon(uuid: bytes, major: int, minor: int, p: int) -> None:
    frame = decode_manufacturer(0x004C, encoders.ibeacon(uuid.hex(), major, minor, p))
    assert isinstance(frame, IBeaconFrame)
    assert (frame.uuid, frame.major, frame.minor, frame.measured_power) == (uuid.hex(), major, minor, p)


@given(ns=st.binary(min_size=10, max_size=10), inst=st.binary(min_size=6, max_size=6), p=power, rfu=st.booleans())
def test_gateway_decodes_uid(ns: bytes, inst: bytes, p: int, rfu: bool) -> None:
    frame = decode_eddystone(encoders.eddystone_uid(p, ns.hex(), inst.hex(), rfu=rfu))
    assert isinstance(frame, EddystoneUidFrame)
    assert (frame.namespace, frame.instance, frame.tx_power) == (ns.hex(), inst.hex(), p)


@given(
    mv=st.integers(0, 65535),
    temp=st.one_of(st.none(), st.floats(-127, 127)),
    adv=st.integers(0, 2**32 - 1),
    ds=st.integers(0, 2**32 - 1),
)
def test_gateway_decodes_tlm(mv: int, temp: float | None, adv: int, ds: int) -> None:
    frame = decode_eddystone(encoders.eddystone_tlm(mv, temp, adv, ds))
    assert isinstance(frame, EddystoneTlmFrame)
    assert frame.adv_count == adv
    assert frame.uptime_s == pytest.approx(ds / 10)
    if temp is None:
        assert frame.temperature_c is None
    else:
        assert frame.temperature_c == pytest.approx(temp, abs=1 / 256)


@given(eid=st.binary(min_size=8, max_size=8), p=power)
def test_gateway_decodes_eid(eid: bytes, p: int) -> None:
    frame = decode_eddystone(encoders.eddystone_eid(p, eid))
    assert isinstance(frame, EddystoneEidFrame)
    assert (frame.eid, frame.tx_power) == (eid.hex(), p)


@given(host=st.from_regex(r"[a-z]{1,6}", fullmatch=True), tld=st.sampled_from([".com", ".org/", ".fr", ""]))
def test_gateway_decodes_url(host: str, tld: str) -> None:
    url = f"https://{host}{tld}"
    frame = decode_eddystone(encoders.eddystone_url(-10, url))
    assert isinstance(frame, EddystoneUrlFrame)
    assert frame.url == url
