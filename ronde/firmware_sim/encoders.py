"""Frame encoders: the exact bytes real beacons put on air.

Written from the specs (Apple iBeacon layout, AltBeacon spec, google/eddystone
``protocol-specification.md``, ``eddystone-uid``, ``eddystone-tlm/tlm-plain.md``,
``eddystone-eid``, ``eddystone-url``), deliberately independent of the gateway's decoders so
that a bug in one cannot hide a bug in the other. Multi-byte Eddystone fields are big-endian;
the BLE company id (not produced here: it is the ``manufacturer_data`` key) is little-endian on air.
"""

from __future__ import annotations

import math

IBEACON_PREFIX = b"\x02\x15"  # type 0x02, length 0x15 (21 bytes follow)
ALTBEACON_CODE = b"\xbe\xac"
EDDYSTONE_UID = 0x00
EDDYSTONE_URL = 0x10
EDDYSTONE_TLM = 0x20
EDDYSTONE_EID = 0x30
TEMP_NOT_SUPPORTED = 0x8000

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


def _int8(value: int, what: str) -> bytes:
    if not -128 <= value <= 127:
        raise ValueError(f"{what} {value} does not fit a signed byte")
    return (value & 0xFF).to_bytes(1, "big")


def _hex(value: str, size: int, what: str) -> bytes:
    raw = bytes.fromhex(value)
    if len(raw) != size:
        raise ValueError(f"{what} must be {size} bytes, got {len(raw)}")
    return raw


def ibeacon(uuid: str, major: int, minor: int, measured_power: int) -> bytes:
    """Apple manufacturer data after the company id 0x004C (23 bytes)."""
    if not (0 <= major <= 0xFFFF and 0 <= minor <= 0xFFFF):
        raise ValueError("major/minor must be 0..65535")
    return (
        IBEACON_PREFIX
        + _hex(uuid.replace("-", ""), 16, "uuid")
        + major.to_bytes(2, "big")
        + minor.to_bytes(2, "big")
        + _int8(measured_power, "measured power")
    )


def altbeacon(beacon_id: str, reference_rssi: int, mfg_reserved: int = 0) -> bytes:
    """AltBeacon manufacturer data after the company id (24 bytes)."""
    return (
        ALTBEACON_CODE
        + _hex(beacon_id, 20, "beacon id")
        + _int8(reference_rssi, "reference RSSI")
        + bytes([mfg_reserved & 0xFF])
    )


def eddystone_uid(tx_power: int, namespace: str, instance: str, *, rfu: bool = True) -> bytes:
    """Service data after 0xFEAA: frame type, Tx power at 0 m, 10-byte namespace, 6-byte instance, 2 RFU."""
    body = bytes([EDDYSTONE_UID]) + _int8(tx_power, "tx power") + _hex(namespace, 10, "namespace")
    body += _hex(instance, 6, "instance")
    return body + (b"\x00\x00" if rfu else b"")


def eddystone_eid(tx_power: int, eid: bytes) -> bytes:
    if len(eid) != 8:
        raise ValueError("an EID is 8 bytes")
    return bytes([EDDYSTONE_EID]) + _int8(tx_power, "tx power") + eid


def tlm_temperature(celsius: float | None) -> int:
    """Signed 8.8 fixed point; None → 0x8000 (not supported)."""
    if celsius is None:
        return TEMP_NOT_SUPPORTED
    raw = math.floor(celsius * 256 + 0.5)
    raw = max(-32767, min(32767, raw))
    return raw & 0xFFFF


def eddystone_tlm(battery_mv: int, temperature_c: float | None, adv_count: int, uptime_ds: int) -> bytes:
    """Unencrypted TLM (version 0). ``uptime_ds`` is SEC_CNT, in 0.1 s units since boot."""
    if not 0 <= battery_mv <= 0xFFFF:
        raise ValueError("battery voltage must be 0..65535 mV")
    return (
        bytes([EDDYSTONE_TLM, 0x00])
        + battery_mv.to_bytes(2, "big")
        + tlm_temperature(temperature_c).to_bytes(2, "big")
        + (adv_count & 0xFFFFFFFF).to_bytes(4, "big")
        + (uptime_ds & 0xFFFFFFFF).to_bytes(4, "big")
    )


def eddystone_url_body(url: str) -> bytes:
    """Scheme prefix byte + compressed URL (the URL frame from offset 2), any length."""
    code = next((i for i, scheme in enumerate(_URL_SCHEMES) if url[: len(scheme)].lower() == scheme), None)
    if code is None:
        raise ValueError(f"URL scheme not encodable in Eddystone-URL: {url!r}")
    rest = url[len(_URL_SCHEMES[code]) :]
    host, slash, path = rest.partition("/")
    rest = host.lower() + slash + path  # scheme and host are case-insensitive; the path is not
    out = bytearray([code])
    i = 0
    while i < len(rest):
        for exp_code, exp in enumerate(_URL_EXPANSIONS):
            if rest.startswith(exp, i):
                out.append(exp_code)
                i += len(exp)
                break
        else:
            ch = ord(rest[i])
            if not 0x21 <= ch <= 0x7E:
                raise ValueError(f"character {rest[i]!r} not encodable in Eddystone-URL")
            out.append(ch)
            i += 1
    return bytes(out)


def eddystone_url(tx_power: int, url: str) -> bytes:
    """A URL frame; the spec allows 17 bytes of encoded URL after the scheme byte."""
    body = eddystone_url_body(url)
    if len(body) > 18:
        raise ValueError(f"URL too long for an Eddystone-URL frame ({len(body) - 1} encoded bytes > 17)")
    return bytes([EDDYSTONE_URL]) + _int8(tx_power, "tx power") + body
