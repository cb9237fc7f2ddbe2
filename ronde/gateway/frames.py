"""Beacon frame decoders: advertisement bytes -> typed frame, or None.

Pure functions, bounds-checked, never raising on radio garbage (the style of bluetooth-data-tools
``gap.py`` and ibeacon-ble). Policy choices where published decoders disagree are documented in
``docs/detection.md`` and pinned by the golden tests (``tests/gateway/test_frames.py``):

* iBeacon measured power is the signed byte as is, even when positive (Theengs reports a positive
  last byte as a voltage instead; that heuristic is not part of the format).
* Eddystone-UID is accepted with or without its 2 RFU bytes (service data of 18 or 20 bytes), as
  the spec allows for legacy beacons; RFU content is ignored.
* AltBeacon is accepted without its trailing MFG RESERVED byte (reported as 0), as the Android
  Beacon Library does.
* Eddystone-TLM version 0x00 is plain TLM; 0x01 is encrypted TLM (18 bytes, kept opaque) even though
  the Android Beacon Library writes plain fields under 0x01; any other version is rejected.
* Eddystone-URL bytes the spec reserves (0x0E-0x20, 0x7F-0xFF) are dropped, as aqulu's scanner does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

from ronde.gateway.wire import AltBeaconId, EddystoneEidId, EddystoneUidId, IBeaconId
from ronde.protocol.radio import APPLE_COMPANY_ID, EDDYSTONE_SERVICE_UUID, Advertisement

EDDYSTONE_16BIT_UUID = 0xFEAA
EDDYSTONE_0M_TO_1M_DB = 41
"""Eddystone calibrates Tx power at 0 m; the spec's rule of thumb is 41 dB of loss over the first metre."""

_UID, _URL, _TLM, _EID = 0x00, 0x10, 0x20, 0x30
_TLM_PLAIN, _TLM_ENCRYPTED = 0x00, 0x01
_URL_SCHEMES = ("http://www.", "https://www.", "http://", "https://")
_URL_EXPANSIONS = (
    ".com/",
    ".org/",
    ".edu/",
    ".net/",
    ".info/",
    ".biz/",
    ".gov/",
    ".com",
    ".org",
    ".edu",
    ".net",
    ".info",
    ".biz",
    ".gov",
)
_URL_MAX_ENCODED = 17
_BLUETOOTH_BASE_UUID_SUFFIX = "-0000-1000-8000-00805f9b34fb"


def _int8(b: int) -> int:
    return b - 256 if b > 127 else b


@dataclass(frozen=True, slots=True)
class IBeaconFrame:
    uuid: str  # 32 lowercase hex
    major: int
    minor: int
    measured_power: int  # dBm at 1 m


@dataclass(frozen=True, slots=True)
class AltBeaconFrame:
    manufacturer_id: int
    beacon_id: str  # 40 lowercase hex
    reference_rssi: int  # dBm at 1 m
    reserved: int


@dataclass(frozen=True, slots=True)
class EddystoneUidFrame:
    namespace: str  # 20 lowercase hex
    instance: str  # 12 lowercase hex
    tx_power: int  # dBm at 0 m

    @property
    def tx_power_1m(self) -> int:
        return self.tx_power - EDDYSTONE_0M_TO_1M_DB


@dataclass(frozen=True, slots=True)
class EddystoneUrlFrame:
    url: str
    tx_power: int  # dBm at 0 m


@dataclass(frozen=True, slots=True)
class EddystoneTlmFrame:
    """Plain TLM. ``None`` where the beacon says it does not measure the value."""

    battery_mv: int | None
    temperature_c: float | None
    adv_count: int
    uptime_s: float


@dataclass(frozen=True, slots=True)
class EddystoneEtlmFrame:
    """Encrypted TLM, kept opaque: decrypting needs the beacon's identity key (server side)."""

    encrypted: str  # 12 bytes, lowercase hex
    salt: int  # big-endian, as the spec says (beacontools reads it little-endian)
    mic: int


@dataclass(frozen=True, slots=True)
class EddystoneEidFrame:
    eid: str  # 16 lowercase hex
    tx_power: int  # dBm at 0 m


Frame: TypeAlias = (
    IBeaconFrame
    | AltBeaconFrame
    | EddystoneUidFrame
    | EddystoneUrlFrame
    | EddystoneTlmFrame
    | EddystoneEtlmFrame
    | EddystoneEidFrame
)
BeaconIdentity: TypeAlias = IBeaconId | AltBeaconId | EddystoneUidId | EddystoneEidId


# ---- manufacturer data -------------------------------------------------------------------------


def decode_ibeacon(payload: bytes) -> IBeaconFrame | None:
    """Apple manufacturer data (after the company id): 02 15, UUID16, major, minor, power.

    Bytes after the 21 declared ones (other Apple messages) are ignored.
    """
    if len(payload) < 23 or payload[0] != 0x02 or payload[1] != 0x15:
        return None
    return IBeaconFrame(
        uuid=payload[2:18].hex(),
        major=(payload[18] << 8) | payload[19],
        minor=(payload[20] << 8) | payload[21],
        measured_power=_int8(payload[22]),
    )


def decode_altbeacon(company_id: int, payload: bytes) -> AltBeaconFrame | None:
    """Any company id: BE AC, 20-byte beacon id, reference RSSI at 1 m, MFG RESERVED (optional)."""
    if len(payload) < 23 or payload[0] != 0xBE or payload[1] != 0xAC:
        return None
    return AltBeaconFrame(
        manufacturer_id=company_id & 0xFFFF,
        beacon_id=payload[2:22].hex(),
        reference_rssi=_int8(payload[22]),
        reserved=payload[23] if len(payload) > 23 else 0,
    )


def decode_manufacturer(company_id: int, payload: bytes) -> Frame | None:
    """``payload`` is the manufacturer data after the 2-byte company id, as bleak gives it."""
    if company_id == APPLE_COMPANY_ID:
        frame = decode_ibeacon(payload)
        if frame is not None:
            return frame
    return decode_altbeacon(company_id, payload)


# ---- Eddystone service data ---------------------------------------------------------------------


def decode_eddystone_url_body(body: bytes) -> str | None:
    """Scheme byte + encoded URL (service data from offset 2) -> URL, or None.

    No length limit here (the URL compressors' vectors exceed a frame); ``decode_eddystone`` bounds frames.
    """
    if not body or body[0] >= len(_URL_SCHEMES):
        return None
    parts = [_URL_SCHEMES[body[0]]]
    for b in body[1:]:
        if b < len(_URL_EXPANSIONS):
            parts.append(_URL_EXPANSIONS[b])
        elif 0x20 < b < 0x7F:
            parts.append(chr(b))
        # 0x0E-0x20 and 0x7F-0xFF are reserved: dropped (module docstring).
    return "".join(parts)


def _decode_uid(data: bytes) -> EddystoneUidFrame | None:
    if len(data) not in (18, 20):
        return None
    return EddystoneUidFrame(namespace=data[2:12].hex(), instance=data[12:18].hex(), tx_power=_int8(data[1]))


def _decode_url(data: bytes) -> EddystoneUrlFrame | None:
    if not 4 <= len(data) <= 3 + _URL_MAX_ENCODED:  # type, tx power, scheme, 1 to 17 URL bytes
        return None
    url = decode_eddystone_url_body(data[2:])
    return None if url is None else EddystoneUrlFrame(url=url, tx_power=_int8(data[1]))


def _decode_tlm(data: bytes) -> EddystoneTlmFrame | EddystoneEtlmFrame | None:
    if len(data) < 2:
        return None
    version = data[1]
    if version == _TLM_PLAIN:
        if len(data) < 14:
            return None
        vbatt = (data[2] << 8) | data[3]
        raw_temp = (data[4] << 8) | data[5]
        return EddystoneTlmFrame(
            battery_mv=vbatt or None,
            temperature_c=None if raw_temp == 0x8000 else (raw_temp - 0x10000 if raw_temp & 0x8000 else raw_temp) / 256,
            adv_count=int.from_bytes(data[6:10], "big"),
            uptime_s=int.from_bytes(data[10:14], "big") / 10,
        )
    if version == _TLM_ENCRYPTED:
        if len(data) < 18:
            return None
        return EddystoneEtlmFrame(
            encrypted=data[2:14].hex(), salt=(data[14] << 8) | data[15], mic=(data[16] << 8) | data[17]
        )
    return None


def _decode_eid(data: bytes) -> EddystoneEidFrame | None:
    if len(data) < 10:  # bytes after the EID are ignored: the spec says the frame is truncated there
        return None
    return EddystoneEidFrame(eid=data[2:10].hex(), tx_power=_int8(data[1]))


def decode_eddystone(service_data: bytes) -> Frame | None:
    """Service data of UUID 0xFEAA (starting with the frame type byte)."""
    if not service_data:
        return None
    kind = service_data[0]
    if kind == _UID:
        return _decode_uid(service_data)
    if kind == _URL:
        return _decode_url(service_data)
    if kind == _TLM:
        return _decode_tlm(service_data)
    if kind == _EID:
        return _decode_eid(service_data)
    return None


# ---- whole advertisements -------------------------------------------------------------------------


def _is_eddystone(uuid: str) -> bool:
    return uuid == EDDYSTONE_SERVICE_UUID or uuid.lower() == EDDYSTONE_SERVICE_UUID


def decode_advertisement(adv: Advertisement) -> list[Frame]:
    """Every beacon frame carried by one advertisement (usually zero or one)."""
    frames: list[Frame] = []
    for company_id, payload in adv.manufacturer_data.items():
        frame = decode_manufacturer(company_id, payload)
        if frame is not None:
            frames.append(frame)
    for uuid, data in adv.service_data.items():
        if _is_eddystone(uuid):
            frame = decode_eddystone(data)
            if frame is not None:
                frames.append(frame)
    return frames


def identity_of(frame: Frame) -> BeaconIdentity | None:
    """The beacon id a visit is keyed on; TLM and URL frames identify nothing."""
    if isinstance(frame, IBeaconFrame):
        return IBeaconId(uuid=frame.uuid, major=frame.major, minor=frame.minor)
    if isinstance(frame, EddystoneUidFrame):
        return EddystoneUidId(namespace=frame.namespace, instance=frame.instance)
    if isinstance(frame, EddystoneEidFrame):
        return EddystoneEidId(eid=frame.eid)
    if isinstance(frame, AltBeaconFrame):
        return AltBeaconId(beacon_id=frame.beacon_id)
    return None


def calibrated_power_1m(frame: Frame) -> int | None:
    """Expected RSSI at 1 m: iBeacon/AltBeacon as sent, Eddystone (0 m) minus 41 dB."""
    if isinstance(frame, IBeaconFrame):
        return frame.measured_power
    if isinstance(frame, AltBeaconFrame):
        return frame.reference_rssi
    if isinstance(frame, EddystoneUidFrame | EddystoneUrlFrame | EddystoneEidFrame):
        return frame.tx_power - EDDYSTONE_0M_TO_1M_DB
    return None


def eddystone_namespace_from_uuid(uuid_hex: str) -> str | None:
    """The Eddystone-UID README's 'elided UUID' namespace (bytes 0-3 and 10-15), e.g. from an iBeacon UUID."""
    cleaned = uuid_hex.replace("-", "").lower()
    if len(cleaned) != 32 or any(c not in "0123456789abcdef" for c in cleaned):
        return None
    return cleaned[:8] + cleaned[20:]


# ---- raw AD structures (HCI captures, test vectors) ----------------------------------------------


def parse_ad_structures(
    data: bytes,
) -> tuple[Mapping[int, bytes], Mapping[str, bytes], str | None, int | None]:
    """Raw advertising data -> (manufacturer data, service data, local name, tx power level).

    Lenient like BlueZ: stops at a zero length or at a structure running past the end, keeping what
    came before. 16-bit service UUIDs are expanded to the 128-bit strings bleak reports.
    """
    manufacturer: dict[int, bytes] = {}
    service: dict[str, bytes] = {}
    name: str | None = None
    tx_power: int | None = None
    i, n = 0, len(data)
    while i < n:
        length = data[i]
        if length == 0 or i + 1 + length > n:
            break
        ad_type, value = data[i + 1], data[i + 2 : i + 1 + length]
        i += 1 + length
        if ad_type == 0xFF and len(value) >= 2:
            manufacturer[value[0] | (value[1] << 8)] = value[2:]
        elif ad_type == 0x16 and len(value) >= 2:
            service[f"0000{value[1]:02x}{value[0]:02x}{_BLUETOOTH_BASE_UUID_SUFFIX}"] = value[2:]
        elif ad_type in (0x08, 0x09):
            name = value.decode("utf-8", errors="replace")
        elif ad_type == 0x0A and len(value) == 1:
            tx_power = _int8(value[0])
    return manufacturer, service, name, tx_power


def advertisement_from_ad(data: bytes, *, t: float, address: str, rssi: int) -> Advertisement:
    """An ``Advertisement`` as bleak would report the given raw advertising data."""
    manufacturer, service, name, tx_power = parse_ad_structures(data)
    return Advertisement(
        t=t,
        address=address,
        rssi=rssi,
        manufacturer_data=manufacturer,
        service_data=service,
        tx_power=tx_power,
        local_name=name,
    )
