"""A crowd of other BLE devices around the scanner: phones, earbuds, watches, trackers, shop beacons.

Devices come and go around the team (a dense area: market day, school gates, a busy square); each
has a private random address that it keeps while in range, a realistic payload for its class, its
own advertising interval, and a pocket/body loss of its own. They matter twice: their
advertisements flood the gateway, and their packets collide with the beacons' on the listened
channel (``interference_rate``), which is where a dense area really costs recall.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import math
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ronde.firmware_sim import encoders
from ronde.firmware_sim.radio import (
    ENVIRONMENTS,
    PDU_AIRTIME_S,
    Environment,
    RadioParams,
    ScanConfig,
    mean_path_loss_db,
    rician_parts,
)
from ronde.protocol.radio import APPLE_COMPANY_ID, EDDYSTONE_SERVICE_UUID, Advertisement

EPOCH_S = 10.0
FAST_PAIR_UUID = "0000fe2c-0000-1000-8000-00805f9b34fb"
TILE_UUID = "0000feed-0000-1000-8000-00805f9b34fb"
MICROSOFT = 0x0006
SAMSUNG = 0x0075
GARMIN = 0x0087

_Payload = tuple[Mapping[int, bytes], Mapping[str, bytes], str | None]
_EMPTY_M: Mapping[int, bytes] = MappingProxyType({})
_EMPTY_S: Mapping[str, bytes] = MappingProxyType({})


def _rand(rng: random.Random, n: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(n))


def _apple_nearby(rng: random.Random) -> _Payload:
    return MappingProxyType({APPLE_COMPANY_ID: b"\x10\x05" + _rand(rng, 5)}), _EMPTY_S, None


def _apple_findmy(rng: random.Random) -> _Payload:
    return MappingProxyType({APPLE_COMPANY_ID: b"\x12\x19" + _rand(rng, 25)}), _EMPTY_S, None


def _apple_airpods(rng: random.Random) -> _Payload:
    return MappingProxyType({APPLE_COMPANY_ID: b"\x07\x19\x01\x0e\x20" + _rand(rng, 22)}), _EMPTY_S, None


def _apple_nearby_action(rng: random.Random) -> _Payload:
    payload = b"\x0f\x05" + _rand(rng, 5) + b"\x10\x02" + _rand(rng, 2)
    return MappingProxyType({APPLE_COMPANY_ID: payload}), _EMPTY_S, None


def _microsoft_cdp(rng: random.Random) -> _Payload:
    return MappingProxyType({MICROSOFT: b"\x01\x09\x20\x02" + _rand(rng, 23)}), _EMPTY_S, None


def _samsung(rng: random.Random) -> _Payload:
    name = "[TV] Samsung" if rng.random() < 0.1 else None  # noqa: PLR2004 - a simulated crowd's share of named TVs
    return MappingProxyType({SAMSUNG: b"\x42\x04\x01\x80" + _rand(rng, 20)}), _EMPTY_S, name


def _fast_pair(rng: random.Random) -> _Payload:
    return _EMPTY_M, MappingProxyType({FAST_PAIR_UUID: _rand(rng, 3)}), None


def _tile(rng: random.Random) -> _Payload:
    return _EMPTY_M, MappingProxyType({TILE_UUID: b"\x02\x00" + _rand(rng, 8)}), None


def _watch(rng: random.Random) -> _Payload:
    return MappingProxyType({GARMIN: _rand(rng, rng.randint(4, 20))}), _EMPTY_S, None


def _foreign_ibeacon(rng: random.Random) -> _Payload:
    """A shop's or a bus's iBeacon: well-formed, but not one of the estate's."""
    uuid = hashlib.sha256(b"foreign" + _rand(rng, 4)).hexdigest()[:32]
    payload = encoders.ibeacon(uuid, rng.randrange(65536), rng.randrange(65536), -59)
    return MappingProxyType({APPLE_COMPANY_ID: payload}), _EMPTY_S, None


def _garbage(rng: random.Random) -> _Payload:
    """Malformed frames that real radios do pick up: truncated Eddystone, odd company ids."""
    if rng.random() < 0.5:  # noqa: PLR2004 - half of the malformed frames are truncated Eddystone
        return (
            _EMPTY_M,
            MappingProxyType(
                {EDDYSTONE_SERVICE_UUID: bytes([rng.choice((0x00, 0x20, 0x30, 0x40))]) + _rand(rng, rng.randint(0, 6))}
            ),
            None,
        )
    return MappingProxyType({rng.randrange(65536): _rand(rng, rng.randint(0, 27))}), _EMPTY_S, None


@dataclass(frozen=True, slots=True)
class DeviceClass:
    name: str
    share: float
    interval_s: tuple[float, float]
    p1m_dbm: tuple[float, float]
    payload: Callable[[random.Random], _Payload]


CLASSES: tuple[DeviceClass, ...] = (
    DeviceClass("iphone-nearby", 0.30, (0.3, 1.2), (-62, -52), _apple_nearby),
    DeviceClass("apple-findmy", 0.10, (1.8, 2.2), (-64, -56), _apple_findmy),
    DeviceClass("airpods", 0.06, (0.15, 0.4), (-66, -58), _apple_airpods),
    DeviceClass("apple-nearby-action", 0.04, (0.3, 1.0), (-62, -54), _apple_nearby_action),
    DeviceClass("windows-cdp", 0.06, (0.8, 1.2), (-64, -56), _microsoft_cdp),
    DeviceClass("samsung", 0.14, (0.3, 1.2), (-62, -52), _samsung),
    DeviceClass("fast-pair", 0.12, (0.2, 0.6), (-64, -56), _fast_pair),
    DeviceClass("tile", 0.05, (2.0, 8.0), (-70, -62), _tile),
    DeviceClass("watch", 0.09, (0.8, 2.0), (-70, -60), _watch),
    DeviceClass("foreign-ibeacon", 0.02, (0.1, 1.0), (-62, -55), _foreign_ibeacon),
    DeviceClass("garbage", 0.02, (0.5, 3.0), (-70, -55), _garbage),
)


@dataclass(frozen=True, slots=True)
class CrowdSpec:
    density: int = 500  # devices within ``radius_m`` of the scanner at any time (market day: ~1 per 5 m²)
    radius_m: float = 30.0
    mean_stay_s: float = 180.0  # a device stays in range this long on average (people walk past)


@dataclass(frozen=True, slots=True)
class _Device:
    arrive: float
    leave: float
    address: str
    interval_s: float
    mean_rssi: float  # at the scanner, before fading
    fading_k_db: float
    manufacturer_data: Mapping[int, bytes]
    service_data: Mapping[str, bytes]
    local_name: str | None


def _address(rng: random.Random) -> str:
    raw = bytearray(_rand(rng, 6))
    raw[0] = (raw[0] & 0x3F) | 0x40  # resolvable private address: most significant bits 01
    return ":".join(f"{b:02X}" for b in raw)


class CrowdField:
    """The whole population of a crowd over [start, end], drawn once from a seed."""

    def __init__(self, spec: CrowdSpec, start: float, end: float, seed: str, radio: RadioParams) -> None:
        self.spec = spec
        self.start, self.end = start, end
        self.radio = radio
        rng = random.Random(f"crowd|{seed}")
        outdoor = ENVIRONMENTS[Environment.OUTDOOR]
        weights = [c.share for c in CLASSES]
        devices: list[_Device] = []
        arrival_rate = spec.density / spec.mean_stay_s

        def new(at: float, stay: float) -> None:
            cls = rng.choices(CLASSES, weights)[0]
            d = spec.radius_m * math.sqrt(rng.uniform(0.01, 1.0))
            body = rng.uniform(0.0, 10.0)  # in someone's pocket or bag
            mean = rng.uniform(*cls.p1m_dbm) - mean_path_loss_db(d, outdoor) - body
            mean += rng.gauss(0.0, outdoor.shadowing_sigma_db)
            m, s, name = cls.payload(rng)
            devices.append(
                _Device(
                    at,
                    min(end, at + stay),
                    _address(rng),
                    rng.uniform(*cls.interval_s),
                    mean,
                    outdoor.rician_k_db,
                    m,
                    s,
                    name,
                )
            )

        for _ in range(spec.density):  # already there at the start
            new(start, rng.expovariate(1.0 / spec.mean_stay_s))
        t = start
        while True:
            t += rng.expovariate(arrival_rate)
            if t >= end:
                break
            new(t, rng.expovariate(1.0 / spec.mean_stay_s))
        self.devices = devices
        # Per epoch: interferers sorted by mean RSSI and the cumulative packet rate above each.
        n_epochs = math.ceil((end - start) / EPOCH_S) + 1
        buckets: list[list[tuple[float, float]]] = [[] for _ in range(n_epochs)]
        for dev in devices:
            first = int((dev.arrive - start) // EPOCH_S)
            last = int((dev.leave - start) // EPOCH_S)
            for k in range(max(0, first), min(n_epochs - 1, last) + 1):
                buckets[k].append((dev.mean_rssi, 1.0 / dev.interval_s))
        self._levels: list[list[float]] = []
        self._rate_above: list[list[float]] = []
        for bucket in buckets:
            bucket.sort()
            levels = [r for r, _ in bucket]
            above = [0.0] * (len(bucket) + 1)
            for i in range(len(bucket) - 1, -1, -1):
                above[i] = above[i + 1] + bucket[i][1]
            self._levels.append(levels)
            self._rate_above.append(above)

    def interference_rate(self, t: float, wanted_dbm: float) -> float:
        """Packets/s on the listened channel strong enough to destroy a packet received at ``wanted_dbm``."""
        k = int((t - self.start) // EPOCH_S)
        if not 0 <= k < len(self._levels):
            return 0.0
        i = bisect.bisect_left(self._levels[k], wanted_dbm - self.radio.capture_db)
        return self._rate_above[k][i]

    def stream(self, rng: random.Random, scan: ScanConfig, rx_offset_db: float) -> Iterator[Advertisement]:
        """Each device's packets the scanner receives, time-ordered.

        The loop runs for millions of packets an evening (8.5 M in the 90-minute ``crowd`` scenario), so
        ``rician_fading_db``, ``reception_probability``, ``interference_rate`` and ``collision_survival`` are
        written inline here, their per-device constants computed once: the same arithmetic, in the same order,
        from the same draws of ``rng`` (tests/firmware_sim/test_crowd.py compares it with those functions)."""
        radio = self.radio
        heap: list[tuple[float, int]] = []
        sens_floor = radio.sensitivity_dbm - 6 * radio.sensitivity_width_db - 12
        for i, dev in enumerate(self.devices):
            phase = rng.uniform(0.0, dev.interval_s)
            if dev.mean_rssi >= sens_floor:  # the others only ever matter as interferers
                heapq.heappush(heap, (dev.arrive + phase, i))
        fading = {k: rician_parts(k) for k in {dev.fading_k_db for dev in self.devices}}
        gauss, draw, uniform = rng.gauss, rng.random, rng.uniform
        heappop, heappush, log10, exp, bisect_left = (
            heapq.heappop,
            heapq.heappush,
            math.log10,
            math.exp,
            bisect.bisect_left,
        )
        always = scan.window_s >= scan.interval_s
        window, interval = scan.window_s, scan.interval_s
        sensitivity, width, survive = radio.sensitivity_dbm, radio.sensitivity_width_db, 1.0 - radio.base_loss
        capture, start, levels_of, above_of = radio.capture_db, self.start, self._levels, self._rate_above
        airtime = -2.0 * PDU_AIRTIME_S
        devices = self.devices
        while heap:
            t, i = heappop(heap)
            dev = devices[i]
            if t >= dev.leave:
                continue
            heappush(heap, (t + dev.interval_s + uniform(0.0, 0.010), i))
            if not always and (t % interval) >= window:
                continue
            los, s = fading[dev.fading_k_db]
            fi = los + gauss(0.0, s)
            fq = gauss(0.0, s)
            rssi = dev.mean_rssi + 10.0 * log10(max(fi * fi + fq * fq, 1e-6)) + rx_offset_db
            x = (rssi - sensitivity) / width
            cliff = 1.0 / (1.0 + exp(-x)) if x > -30 else 0.0  # noqa: PLR2004 - as reception_probability
            epoch = int((t - start) // EPOCH_S)
            rate = (
                above_of[epoch][bisect_left(levels_of[epoch], rssi - capture)] if 0 <= epoch < len(levels_of) else 0.0
            )
            if draw() < cliff * survive * exp(airtime * rate):
                yield Advertisement(
                    t=t,
                    address=dev.address,
                    rssi=max(-127, min(20, round(rssi))),
                    manufacturer_data=dev.manufacturer_data,
                    service_data=dev.service_data,
                    local_name=dev.local_name,
                )
