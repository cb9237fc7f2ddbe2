"""Radio model: what RSSI (if anything) a scanner reports for one advertising event.

Mean received power follows the log-distance model with a path-loss exponent per environment;
on top come correlated log-normal shadowing (Gudmundson's exponential autocorrelation, in
distance walked and in time), Rician small-scale fading per packet, wall/slab penetration when
beacon and scanner are in different spaces, body shadowing when the scanner is in a pocket,
receiver sensitivity, random packet loss, co-channel collisions with other advertisers (with
capture), and the scanner's scan window/interval. Values and their sources: docs/simulator.md.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from enum import StrEnum

from ronde.protocol.estate import CheckpointKind

EDDYSTONE_0M_TO_1M_DB = 41.0  # google/eddystone: "measure at 1 m and add 41 dBm"
PDU_AIRTIME_S = 376e-6  # 47-byte LE 1M advertising PDU (31-byte AD payload), 8 µs/byte


class Environment(StrEnum):
    OUTDOOR = "outdoor"
    STAIRWELL_HALL = "stairwell_hall"
    UNDERGROUND_CAR_PARK = "underground_car_park"
    OFFICE = "office"


@dataclass(frozen=True, slots=True)
class PropagationParams:
    exponent: float  # log-distance path-loss exponent n
    shadowing_sigma_db: float  # log-normal shadowing standard deviation
    decorrelation_m: float  # Gudmundson decorrelation distance
    rician_k_db: float  # small-scale fading K factor (LOS strength)
    entry_loss_db: float  # penetration loss between this space and outside


ENVIRONMENTS: dict[Environment, PropagationParams] = {
    Environment.OUTDOOR: PropagationParams(2.7, 6.0, 10.0, 6.0, 0.0),
    Environment.STAIRWELL_HALL: PropagationParams(1.8, 4.0, 2.0, 3.0, 12.0),
    Environment.UNDERGROUND_CAR_PARK: PropagationParams(2.2, 5.0, 4.0, 3.0, 25.0),
    Environment.OFFICE: PropagationParams(2.0, 4.0, 2.0, 3.0, 12.0),
}

KIND_ENVIRONMENT: dict[CheckpointKind, Environment] = {
    CheckpointKind.STAIRWELL_HALL: Environment.STAIRWELL_HALL,
    CheckpointKind.RECEPTION_OFFICE: Environment.OFFICE,
    CheckpointKind.CAR_PARK_UNDERGROUND: Environment.UNDERGROUND_CAR_PARK,
    CheckpointKind.CAR_PARK_SURFACE: Environment.OUTDOOR,
    CheckpointKind.GREEN_SPACE: Environment.OUTDOOR,
    CheckpointKind.PLAYGROUND: Environment.OUTDOOR,
    CheckpointKind.FOOTPATH: Environment.OUTDOOR,
}
ENCLOSED_KINDS = frozenset(
    {CheckpointKind.STAIRWELL_HALL, CheckpointKind.RECEPTION_OFFICE, CheckpointKind.CAR_PARK_UNDERGROUND}
)


class Carry(StrEnum):
    POCKET = "pocket"  # trouser/jacket pocket: the wearer's body sits between scanner and half the sky
    SHOULDER = "shoulder"  # shoulder bag/strap: mostly clear


@dataclass(frozen=True, slots=True)
class ScanConfig:
    """Scanner duty cycle. Default: continuous scanning (window = interval), as BlueZ discovery runs."""

    window_s: float = 0.01125
    interval_s: float = 0.01125

    @property
    def duty(self) -> float:
        return min(1.0, self.window_s / self.interval_s)

    def listening(self, t: float) -> bool:
        return self.window_s >= self.interval_s or (t % self.interval_s) < self.window_s


ANDROID_BALANCED = ScanConfig(window_s=1.024, interval_s=4.096)
ANDROID_LOW_POWER = ScanConfig(window_s=0.512, interval_s=5.12)


@dataclass(frozen=True, slots=True)
class RadioParams:
    sensitivity_dbm: float = -94.0  # 50 % packet error point
    sensitivity_width_db: float = 1.5  # logistic width of the reception cliff
    base_loss: float = 0.08  # i.i.d. loss: Wi-Fi/2.4 GHz interference, CRC errors
    body_loss_min_db: float = 3.0  # pocket, beacon in front
    body_loss_max_db: float = 15.0  # pocket, body between beacon and scanner
    capture_db: float = 8.0  # a stronger packet survives a weaker colliding one by this margin
    temporal_coherence_s: float = 20.0  # shadowing decorrelation when nobody moves (people, doors)
    scan: ScanConfig = field(default_factory=ScanConfig)


def rssi_at_1m(tx_power: int, eddystone: bool) -> float:
    """iBeacon measured power is RSSI at 1 m; Eddystone Tx power is calibrated at 0 m."""
    return float(tx_power) - (EDDYSTONE_0M_TO_1M_DB if eddystone else 0.0)


def mean_path_loss_db(distance_m: float, params: PropagationParams) -> float:
    """Loss relative to 1 m: 10 n log10(d); flat below 0.5 m (near field, antenna size)."""
    return 10.0 * params.exponent * math.log10(max(distance_m, 0.5))


def body_loss_db(carry: Carry, heading: float, bearing: float, radio: RadioParams) -> float:
    """Body shadowing; ``bearing`` is the direction scanner→beacon, ``heading`` where the wearer faces."""
    if carry is not Carry.POCKET:
        return 0.0
    behind = (1.0 - math.cos(bearing - heading)) / 2.0  # 0 in front, 1 behind
    return radio.body_loss_min_db + (radio.body_loss_max_db - radio.body_loss_min_db) * behind


def rician_parts(k_db: float) -> tuple[float, float]:
    """A Rician channel's line-of-sight amplitude and the σ of each scattered component, for K factor ``k_db``."""
    k = 10.0 ** (k_db / 10.0)
    return math.sqrt(k / (k + 1.0)), math.sqrt(1.0 / (2.0 * (k + 1.0)))


def rician_fading_db(rng: random.Random, k_db: float) -> float:
    """Power gain (dB, mean power 1) of a Rician channel with K factor ``k_db``."""
    los, s = rician_parts(k_db)
    i = los + rng.gauss(0.0, s)
    q = rng.gauss(0.0, s)
    return 10.0 * math.log10(max(i * i + q * q, 1e-6))


class Shadowing:
    """Log-normal shadowing for one beacon–scanner link, AR(1) in distance walked and time."""

    __slots__ = ("_last_d", "_last_t", "_value", "d_corr", "sigma", "t_corr")

    def __init__(self, sigma_db: float, decorrelation_m: float, coherence_s: float) -> None:
        self.sigma = sigma_db
        self.d_corr = decorrelation_m
        self.t_corr = coherence_s
        self._value: float | None = None
        self._last_t = 0.0
        self._last_d = 0.0

    def sample(self, rng: random.Random, t: float, walked_m: float) -> float:
        if self._value is None:
            self._value = rng.gauss(0.0, self.sigma)
        else:
            lag = abs(walked_m - self._last_d) / self.d_corr + (t - self._last_t) / self.t_corr
            rho = math.exp(-lag)
            self._value = rho * self._value + math.sqrt(max(0.0, 1.0 - rho * rho)) * rng.gauss(0.0, self.sigma)
        self._last_t, self._last_d = t, walked_m
        return self._value


def reception_probability(rssi_dbm: float, radio: RadioParams) -> float:
    """Sensitivity cliff (logistic) times the i.i.d. survival probability."""
    x = (rssi_dbm - radio.sensitivity_dbm) / radio.sensitivity_width_db
    cliff = 1.0 / (1.0 + math.exp(-x)) if x > -30 else 0.0  # noqa: PLR2004 - exp(30) and beyond: the cliff is 0
    return cliff * (1.0 - radio.base_loss)


def collision_survival(interferer_rate_hz: float) -> float:
    """Unslotted ALOHA on the listened channel: P(no overlapping PDU) = exp(-2·T·λ)."""
    return math.exp(-2.0 * PDU_AIRTIME_S * interferer_rate_hz)


def max_range_m(p1m_dbm: float, radio: RadioParams, params: PropagationParams) -> float:
    """Beyond this distance a packet is essentially never received (mean + 4σ + fading margin)."""
    margin = p1m_dbm - (radio.sensitivity_dbm - 6 * radio.sensitivity_width_db) + 4 * params.shadowing_sigma_db + 6
    return float(10.0 ** (max(margin, 0.0) / (10.0 * params.exponent)))
