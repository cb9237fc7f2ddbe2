"""Advertisements in, visits and beacon telemetry out: decode + detection, synchronous and fast.

The simulator runs this in process at 100x real time and the async gateway runtime wraps it, so the
hot path avoids pydantic: each distinct payload is decoded once (bounded cache keyed by the raw bytes)
and each beacon's protocol identity model is built once per key.
"""

from __future__ import annotations

from dataclasses import dataclass

from ronde.gateway.detection import DetectedVisit, DetectionConfig, VisitDetector
from ronde.gateway.frames import (
    BeaconIdentity,
    EddystoneTlmFrame,
    Frame,
    calibrated_power_1m,
    decode_eddystone,
    decode_manufacturer,
    identity_of,
)
from ronde.gateway.merge import VisitMerger
from ronde.protocol.radio import EDDYSTONE_SERVICE_UUID, Advertisement

DECODE_CACHE_SIZE = 4096
"""Distinct payloads remembered; a crowd of phones rotating payloads just refills it."""
RSSI_RANGE = (-127, 20)
"""RSSI the HCI spec allows (and the visit wire format accepts); others are counted and skipped."""
_RSSI_MIN, _RSSI_MAX = RSSI_RANGE
ADDRESS_MEMORY = 4096
"""Addresses whose last identity is remembered for TLM association (beacons only)."""


@dataclass(frozen=True, slots=True)
class TelemetryReading:
    """Eddystone TLM of an identified beacon (TLM carries no id: it is matched by address)."""

    identity: BeaconIdentity
    t: float
    battery_mv: int | None
    temperature_c: float | None
    adv_count: int
    uptime_s: float


class _Decoded:
    """A decoded payload with everything the hot path needs, resolved once."""

    __slots__ = ("frame", "identity", "key", "power_1m")

    def __init__(self, frame: Frame | None, identity: BeaconIdentity | None, power_1m: int | None) -> None:
        self.frame = frame
        self.identity = identity
        self.key = identity.key() if identity is not None else ""
        self.power_1m = power_1m


_NOTHING = _Decoded(None, None, None)


class ScanPipeline:
    """One scanner's stream: decode, associate TLM with its beacon, detect visits."""

    __slots__ = (
        "_by_address",
        "_decoded",
        "_detector",
        "_identities",
        "_last_telemetry",
        "_merger",
        "adverts_bad_rssi",
        "adverts_seen",
        "frames_decoded",
        "telemetry_period_s",
    )

    def __init__(self, config: DetectionConfig | None = None, telemetry_period_s: float = 600) -> None:
        if telemetry_period_s < 0:
            raise ValueError("telemetry_period_s must not be negative")
        config = config or DetectionConfig()
        self._detector = VisitDetector(config)
        self._merger = VisitMerger(config.merge_gap_s, config.max_visit_s, config.thresholds_for)
        self.telemetry_period_s = float(telemetry_period_s)
        self._decoded: dict[tuple[int | str, bytes], _Decoded] = {}
        self._identities: dict[str, BeaconIdentity] = {}
        self._by_address: dict[str, BeaconIdentity] = {}
        self._last_telemetry: dict[str, float] = {}
        self.adverts_seen = 0
        self.adverts_bad_rssi = 0
        self.frames_decoded = 0

    @property
    def detector(self) -> VisitDetector:
        return self._detector

    @property
    def open_count(self) -> int:
        """Visits not emitted yet: open in the detector, or closed and waiting for a possible merge."""
        return self._detector.open_count + len(self._merger)

    def _decode(self, cache_key: tuple[int | str, bytes], frame: Frame | None) -> _Decoded:
        if frame is None:
            decoded = _NOTHING
        else:
            identity = identity_of(frame)
            if identity is not None and not self._detector.config.accepts(identity.key()):
                identity = None  # not one of ours (accept_prefixes): ignored, its TLM too
                frame = None
            if identity is not None:
                # One model per beacon key, shared by every payload variant (power byte, RFU...).
                identity = self._identities.setdefault(identity.key(), identity)
            decoded = _Decoded(frame, identity, None if frame is None else calibrated_power_1m(frame))
        if len(self._decoded) >= DECODE_CACHE_SIZE:
            self._decoded.clear()
        self._decoded[cache_key] = decoded
        return decoded

    def feed(self, adv: Advertisement) -> list[DetectedVisit | TelemetryReading]:
        self.adverts_seen += 1
        out: list[DetectedVisit | TelemetryReading] = []
        if not _RSSI_MIN <= adv.rssi <= _RSSI_MAX:
            self.adverts_bad_rssi += 1  # 127 is HCI's "RSSI not available"; nothing to measure a visit with
            return out
        cache = self._decoded
        manufacturer, service = adv.manufacturer_data, adv.service_data
        if manufacturer:  # a beacon fills one of the two: skip the other's (empty) iteration
            for company_id, payload in manufacturer.items():
                ck: tuple[int | str, bytes] = (company_id, payload)
                d = cache.get(ck)
                if d is None:
                    d = self._decode(ck, decode_manufacturer(company_id, payload))
                if d.identity is not None:
                    self._identify(adv, d, out)
        if service:
            for uuid, data in service.items():
                if uuid != EDDYSTONE_SERVICE_UUID and uuid.lower() != EDDYSTONE_SERVICE_UUID:
                    continue
                ck = (EDDYSTONE_SERVICE_UUID, data)
                d = cache.get(ck)
                if d is None:
                    d = self._decode(ck, decode_eddystone(data))
                if d.identity is not None:
                    self._identify(adv, d, out)
                elif isinstance(d.frame, EddystoneTlmFrame):
                    self.frames_decoded += 1
                    self._telemetry(adv, d.frame, out)
        return out

    def _identify(self, adv: Advertisement, d: _Decoded, out: list[DetectedVisit | TelemetryReading]) -> None:
        self.frames_decoded += 1
        identity = d.identity
        assert identity is not None
        by_address = self._by_address
        if by_address.get(adv.address) is not identity:
            if len(by_address) >= ADDRESS_MEMORY:
                by_address.clear()
            by_address[adv.address] = identity
        visits = self._detector.observe(d.key, identity, adv.rssi, adv.t, d.power_1m)
        if visits:
            out.extend(self._merger.add(visits))

    def _telemetry(
        self, adv: Advertisement, frame: EddystoneTlmFrame, out: list[DetectedVisit | TelemetryReading]
    ) -> None:
        identity = self._by_address.get(adv.address)
        if identity is None:
            return  # TLM before any identity frame from this address: nothing to attach it to yet
        key = identity.key()
        last = self._last_telemetry.get(key)
        if last is not None and adv.t - last < self.telemetry_period_s:
            return
        if len(self._last_telemetry) >= ADDRESS_MEMORY:
            horizon = adv.t - self.telemetry_period_s
            self._last_telemetry = {k: v for k, v in self._last_telemetry.items() if v > horizon}
        self._last_telemetry[key] = adv.t
        out.append(
            TelemetryReading(
                identity=identity,
                t=adv.t,
                battery_mv=frame.battery_mv,
                temperature_c=frame.temperature_c,
                adv_count=frame.adv_count,
                uptime_s=frame.uptime_s,
            )
        )

    def tick(self, now: float) -> list[DetectedVisit]:
        """Call about once a second: closes visits of beacons that went away."""
        out = self._merger.add(self._detector.expire(now))
        out.extend(self._merger.due(now, self._detector.is_open))
        return out

    def close_all(self, now: float) -> list[DetectedVisit]:
        out = self._merger.add(self._detector.close_all(now))
        out.extend(self._merger.flush())
        return out
