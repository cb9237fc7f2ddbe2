"""Simulated beacons: timing, battery, temperature, counters, and the frames they put on air.

Each beacon gets its own hardware draws from the scenario seed: crystal drift (±150 ppm, which
both stretches its advertising interval and makes its EID clock run fast or slow), install date,
battery life and a static random address. Eddystone-UID beacons interleave one TLM frame every
``TLM_EVERY`` advertising events (typical vendor default); EID beacons do not send plain TLM
(it would link their rotating identities, so the spec asks for eTLM, which is not simulated).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from ronde.firmware_sim import encoders
from ronde.protocol.eid import compute_eid
from ronde.protocol.estate import Checkpoint, CheckpointKind
from ronde.protocol.radio import APPLE_COMPANY_ID, EDDYSTONE_SERVICE_UUID

TLM_EVERY = 10
ADV_DELAY_MAX_S = 0.010  # BLE advDelay: pseudo-random 0–10 ms added to every advertising event
MAX_DRIFT_PPM = 150.0
ALTBEACON_COMPANY_ID = 0x0118  # Radius Networks
BATTERY_FULL_MV = 3000
BATTERY_CUTOFF_MV = 2000
KNEE = 0.85  # fraction of life after which a lithium cell's voltage falls off


def _h(*parts: object) -> bytes:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()


def static_random_address(*parts: object) -> str:
    raw = bytearray(_h("static", *parts)[:6])
    raw[0] |= 0xC0  # static random: two most significant bits set
    return ":".join(f"{b:02X}" for b in raw)


def private_address(*parts: object) -> str:
    raw = bytearray(_h("nrpa", *parts)[:6])
    raw[0] &= 0x3F  # non-resolvable private address: two most significant bits clear
    return ":".join(f"{b:02X}" for b in raw)


def outdoor_temperature_c(t: float) -> float:
    """Île-de-France climate normal: seasonal + diurnal cosine (deterministic)."""
    dt = datetime.fromtimestamp(t, UTC)
    doy = dt.timetuple().tm_yday
    hour = dt.hour + dt.minute / 60
    return 12.5 + 7.5 * math.cos(2 * math.pi * (doy - 200) / 365.25) + 3.5 * math.cos(2 * math.pi * (hour - 14) / 24)


@dataclass(frozen=True, slots=True)
class BatteryChange:
    at: float  # epoch s when the old battery was pulled
    off_s: float = 120.0  # seconds without power during the swap


@dataclass(frozen=True, slots=True)
class Frame:
    address: str
    manufacturer_data: Mapping[int, bytes]
    service_data: Mapping[str, bytes]


@dataclass(slots=True)
class SimBeacon:
    checkpoint: Checkpoint
    drift_ppm: float
    installed_at: float
    battery_life_s: float
    address: str
    persist_period_s: float = 600.0  # how often the firmware saves its EID counter to flash
    battery_changes: tuple[BatteryChange, ...] = ()
    dies_at: float | None = None  # forced end of life (dead-beacon scenario)
    _frames: dict[tuple[int, int], Frame] = field(default_factory=dict)

    @property
    def format(self) -> str:
        return self.checkpoint.beacon.format

    @property
    def interval_s(self) -> float:
        return self.checkpoint.beacon.interval_ms / 1000.0 * (1.0 + self.drift_ppm * 1e-6)

    @property
    def eddystone(self) -> bool:
        return self.format.startswith("eddystone")

    def next_event(self, t: float, rng: random.Random) -> float:
        return t + self.interval_s + rng.uniform(0.0, ADV_DELAY_MAX_S)

    def skip_events(self, t: float, n: int, rng: random.Random) -> float:
        """Jump ``n`` events at once; the sum of n advDelays is drawn as its normal approximation."""
        delay = n * ADV_DELAY_MAX_S / 2 + rng.gauss(0.0, ADV_DELAY_MAX_S * math.sqrt(n / 12.0))
        return t + n * self.interval_s + max(0.0, delay)

    # ---- power ----------------------------------------------------------------------------

    def last_boot(self, t: float) -> float:
        boot = self.installed_at
        for change in self.battery_changes:
            if change.at + change.off_s <= t:
                boot = change.at + change.off_s
        return boot

    def _powered(self, t: float) -> bool:
        return not any(c.at <= t < c.at + c.off_s for c in self.battery_changes)

    def life_fraction(self, t: float) -> float:
        if self.dies_at is not None:
            boot = self.last_boot(t)
            if boot < self.dies_at:
                return (t - boot) / max(1.0, self.dies_at - boot)
        return (t - self.last_boot(t)) / self.battery_life_s

    def alive(self, t: float) -> bool:
        return t >= self.installed_at and self._powered(t) and self.life_fraction(t) < 1.0

    def battery_mv(self, t: float) -> int:
        f = min(1.0, max(0.0, self.life_fraction(t)))
        if f < KNEE:
            mv = BATTERY_FULL_MV - 200 * f / KNEE
        else:
            top = BATTERY_FULL_MV - 200
            mv = top - (top - BATTERY_CUTOFF_MV) * (f - KNEE) / (1 - KNEE)
        return int(mv)

    def temperature_c(self, t: float) -> float:
        out = outdoor_temperature_c(t)
        kind = self.checkpoint.kind
        if kind is CheckpointKind.CAR_PARK_UNDERGROUND:
            return 0.2 * out + 11.0
        if kind in (CheckpointKind.STAIRWELL_HALL, CheckpointKind.RECEPTION_OFFICE):
            return 0.4 * out + 11.0
        return out

    def adv_count(self, t: float) -> int:
        mean = self.interval_s + ADV_DELAY_MAX_S / 2
        return int((t - self.last_boot(t)) / mean)

    def uptime_ds(self, t: float) -> int:
        """TLM SEC_CNT: 0.1 s since boot, by the beacon's own (drifting) clock."""
        return int((t - self.last_boot(t)) * 10 * (1.0 + self.drift_ppm * 1e-6))

    # ---- EID clock ------------------------------------------------------------------------

    def eid_counter(self, t: float) -> int:
        """Seconds since ``clock_epoch`` by the beacon's crystal, across battery swaps.

        The firmware saves its counter to flash every ``persist_period_s``; after a swap it restores
        the saved value plus one period, so it never goes backwards (never repeats an EID it has
        already sent) but is then off real time by (period − time since last save − time unpowered).
        """
        epoch = self.checkpoint.beacon.clock_epoch or 0
        rate = 1.0 + self.drift_ppm * 1e-6
        counter = (t - epoch) * rate
        for change in self.battery_changes:
            if change.at + change.off_s <= t:
                since_save = ((change.at - epoch) * rate) % self.persist_period_s
                counter += self.persist_period_s - since_save - change.off_s * rate
        return max(0, int(counter)) & 0xFFFFFFFF

    # ---- frames ---------------------------------------------------------------------------

    def frame(self, t: float, event: int) -> Frame:
        spec = self.checkpoint.beacon
        fields = dict(spec.fields)
        if spec.format == "ibeacon":
            return self._cached(
                0,
                0,
                lambda: Frame(
                    self.address,
                    MappingProxyType(
                        {
                            APPLE_COMPANY_ID: encoders.ibeacon(
                                str(fields["uuid"]), int(fields["major"]), int(fields["minor"]), spec.tx_power
                            )
                        }
                    ),
                    MappingProxyType({}),
                ),
            )
        if spec.format == "altbeacon":
            return self._cached(
                0,
                0,
                lambda: Frame(
                    self.address,
                    MappingProxyType(
                        {ALTBEACON_COMPANY_ID: encoders.altbeacon(str(fields["beacon_id"]), spec.tx_power)}
                    ),
                    MappingProxyType({}),
                ),
            )
        if spec.format == "eddystone_uid":
            if event % TLM_EVERY == TLM_EVERY - 1:
                tlm = encoders.eddystone_tlm(
                    self.battery_mv(t), round(self.temperature_c(t) * 4) / 4, self.adv_count(t), self.uptime_ds(t)
                )
                return Frame(self.address, MappingProxyType({}), MappingProxyType({EDDYSTONE_SERVICE_UUID: tlm}))
            return self._cached(
                0,
                0,
                lambda: Frame(
                    self.address,
                    MappingProxyType({}),
                    MappingProxyType(
                        {
                            EDDYSTONE_SERVICE_UUID: encoders.eddystone_uid(
                                spec.tx_power, str(fields["namespace"]), str(fields["instance"])
                            )
                        }
                    ),
                ),
            )
        if spec.format == "eddystone_eid":
            assert spec.identity_key is not None
            assert spec.rotation_exponent is not None
            k = spec.rotation_exponent
            counter = self.eid_counter(t)
            window = counter >> k
            ik = spec.identity_key
            return self._cached(
                1,
                window,
                lambda: Frame(
                    private_address(ik.hex(), window),
                    MappingProxyType({}),
                    MappingProxyType(
                        {EDDYSTONE_SERVICE_UUID: encoders.eddystone_eid(spec.tx_power, compute_eid(ik, k, counter))}
                    ),
                ),
            )
        raise ValueError(f"unsupported beacon format {spec.format!r}")

    def _cached(self, kind: int, window: int, make: Callable[[], Frame]) -> Frame:
        key = (kind, window)
        cached = self._frames.get(key)
        if cached is None:
            cached = make()
            if len(self._frames) > 64:  # noqa: PLR2004 - a small cache, cleared past 64 frames
                self._frames.clear()
            self._frames[key] = cached
        return cached


def make_beacon(checkpoint: Checkpoint, seed: int | str, reference_t: float) -> SimBeacon:
    """Hardware draws for one beacon, reproducible from (seed, checkpoint id)."""
    rng = random.Random(f"beacon|{seed}|{checkpoint.id}")
    drift = rng.uniform(-MAX_DRIFT_PPM, MAX_DRIFT_PPM)
    epoch = checkpoint.beacon.clock_epoch
    installed = float(epoch) if epoch is not None else reference_t - rng.uniform(60, 300) * 86400
    installed = min(installed, reference_t - 7 * 86400)
    # CR2477-class cell at 1 Hz: two to three years; faster intervals drain proportionally faster.
    years = rng.uniform(2.0, 3.0) * min(2.0, checkpoint.beacon.interval_ms / 1000.0)
    return SimBeacon(
        checkpoint=checkpoint,
        drift_ppm=drift,
        installed_at=installed,
        battery_life_s=years * 365.25 * 86400,
        address=static_random_address(seed, checkpoint.id),
    )
