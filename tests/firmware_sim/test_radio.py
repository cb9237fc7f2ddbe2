"""The radio model's pieces behave as the literature they come from says."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from ronde.firmware_sim.radio import (
    ANDROID_BALANCED,
    ENVIRONMENTS,
    Carry,
    Environment,
    RadioParams,
    ScanConfig,
    Shadowing,
    body_loss_db,
    collision_survival,
    max_range_m,
    mean_path_loss_db,
    reception_probability,
    rician_fading_db,
    rssi_at_1m,
)


def test_log_distance_path_loss_per_environment() -> None:
    hall = ENVIRONMENTS[Environment.STAIRWELL_HALL]
    out = ENVIRONMENTS[Environment.OUTDOOR]
    assert mean_path_loss_db(1.0, out) == 0.0
    assert mean_path_loss_db(10.0, out) == pytest.approx(10 * out.exponent)
    assert mean_path_loss_db(10.0, hall) < mean_path_loss_db(10.0, out)  # waveguiding indoors: smaller n
    assert mean_path_loss_db(0.1, out) == mean_path_loss_db(0.5, out)  # near field: flat
    assert ENVIRONMENTS[Environment.UNDERGROUND_CAR_PARK].entry_loss_db > hall.entry_loss_db > 0


def test_calibrated_power_conventions() -> None:
    assert rssi_at_1m(-59, eddystone=False) == -59
    assert rssi_at_1m(-18, eddystone=True) == -59  # Eddystone Tx power is at 0 m: minus 41 dB


def test_shadowing_is_log_normal_and_correlated_in_space() -> None:
    rng = random.Random(3)
    s = Shadowing(6.0, 10.0, 1e9)
    still = [s.sample(rng, float(i), 0.0) for i in range(200)]
    assert max(still) - min(still) < 0.1  # nobody moved, (almost) no time decorrelation: same value
    walked = [s.sample(rng, 0.0, 0.5 * i) for i in range(20000)]
    assert statistics.pstdev(walked) == pytest.approx(6.0, rel=0.15)
    lag1 = statistics.correlation(walked[:-1], walked[1:])
    assert lag1 == pytest.approx(math.exp(-0.05), abs=0.03)  # Gudmundson: exp(-Δd/d_corr)
    far = statistics.correlation(walked[:-100], walked[100:])  # 50 m apart
    assert abs(far) < 0.1


def test_shadowing_decorrelates_in_time_when_standing() -> None:
    rng = random.Random(4)
    s = Shadowing(4.0, 2.0, 20.0)
    vals = [s.sample(rng, float(i), 0.0) for i in range(20000)]
    assert statistics.correlation(vals[:-1], vals[1:]) == pytest.approx(math.exp(-1 / 20), abs=0.03)


def test_rician_fading_has_unit_mean_power() -> None:
    rng = random.Random(5)
    gains = [10 ** (rician_fading_db(rng, 6.0) / 10) for _ in range(50000)]
    assert statistics.mean(gains) == pytest.approx(1.0, abs=0.02)
    deep = sum(1 for g in gains if g < 0.1) / len(gains)
    rayleigh = [10 ** (rician_fading_db(rng, -30.0) / 10) for _ in range(50000)]
    assert sum(1 for g in rayleigh if g < 0.1) / len(rayleigh) == pytest.approx(1 - math.exp(-0.1), abs=0.01)
    assert deep < 0.02  # a strong line of sight makes deep fades rare


def test_body_shadowing_only_in_a_pocket_and_worst_from_behind() -> None:
    radio = RadioParams()
    assert body_loss_db(Carry.SHOULDER, 0.0, math.pi, radio) == 0.0
    front = body_loss_db(Carry.POCKET, 0.0, 0.0, radio)
    behind = body_loss_db(Carry.POCKET, 0.0, math.pi, radio)
    assert front == radio.body_loss_min_db
    assert behind == radio.body_loss_max_db


def test_reception_cliff_and_loss() -> None:
    radio = RadioParams()
    assert reception_probability(-60, radio) == pytest.approx(1 - radio.base_loss)
    assert reception_probability(radio.sensitivity_dbm, radio) == pytest.approx(0.5 * (1 - radio.base_loss))
    assert reception_probability(-120, radio) < 1e-6
    assert collision_survival(0.0) == 1.0
    assert collision_survival(1000.0) == pytest.approx(math.exp(-2 * 376e-6 * 1000))


def test_scan_duty_cycle() -> None:
    assert ScanConfig().duty == 1.0
    assert all(ScanConfig().listening(t / 7) for t in range(100))
    heard = sum(ANDROID_BALANCED.listening(t * 0.0137) for t in range(100000)) / 100000
    assert heard == pytest.approx(0.25, abs=0.01)


def test_max_range_is_a_safe_bound() -> None:
    radio = RadioParams()
    out = ENVIRONMENTS[Environment.OUTDOOR]
    r = max_range_m(-59, radio, out)
    best = -59 - mean_path_loss_db(r, out) + 4 * out.shadowing_sigma_db + 6
    assert reception_probability(best, radio) < 0.01
