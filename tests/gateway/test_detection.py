"""Visit detection on hand-written RSSI traces (pure logic, no radio)."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable

import pytest

from ronde.gateway.detection import (
    ADVERTISING_TIMES_NEEDED,
    DetectedVisit,
    DetectionConfig,
    Thresholds,
    VisitDetector,
    _BeaconState,
)
from ronde.gateway.wire import IBeaconId

BEACON = IBeaconId(uuid="5f1c2a7e0d4b4e6a9c3b8d2f6a1e4b70", major=1, minor=4)
KEY = BEACON.key()
T0 = 1_774_800_000.0  # an evening in 2026, epoch seconds


def feed(det: VisitDetector, trace: Iterable[tuple[float, int]], power_1m: int | None = None) -> list[DetectedVisit]:
    out: list[DetectedVisit] = []
    for t, rssi in trace:
        out += det.observe(KEY, BEACON, rssi, T0 + t, power_1m)
    return out


def steady(start: float, seconds: int, rssi: int, period: float = 1.0) -> list[tuple[float, int]]:
    return [(start + i * period, rssi) for i in range(int(seconds / period))]


def test_hysteresis_prevents_flapping_at_the_enter_threshold() -> None:
    # 10 s slightly above, 10 s slightly below the enter threshold (-82), for four minutes.
    trace = []
    for i in range(240):
        above = (i // 10) % 2 == 0
        trace.append((float(i), (-80 if i % 2 else -81) if above else (-84 if i % 2 else -85)))

    with_hysteresis = VisitDetector(DetectionConfig(Thresholds(enter_dbm=-82, exit_dbm=-90)))
    visits = feed(with_hysteresis, trace)
    assert visits == []  # still in the same visit
    assert with_hysteresis.open_count == 1
    visits = with_hysteresis.expire(T0 + 239 + 60)
    assert len(visits) == 1
    # Reported from the first to the last strong sample: the trace ends with 10 s below the enter level.
    assert visits[0].first_seen == T0 + 0
    assert visits[0].last_seen == T0 + 229
    assert visits[0].count == 230

    # The same trace without hysteresis (exit == enter) flaps: that is what the exit threshold prevents.
    without = VisitDetector(DetectionConfig(Thresholds(enter_dbm=-82, exit_dbm=-82)))
    flapping = feed(without, trace) + without.expire(T0 + 239 + 60)
    assert len(flapping) >= 10


def test_single_deep_fades_do_not_end_a_visit() -> None:
    det = VisitDetector()
    trace = [(float(i), -100 if i % 7 == 3 else -70) for i in range(61)]  # a -100 dB fade every 7 s
    assert feed(det, trace) == []
    (visit,) = det.expire(T0 + 120)
    assert visit.count == 61  # the fades are part of the visit
    assert visit.rssi_max == -70


def test_walking_away_closes_on_the_exit_threshold_with_accurate_last_seen() -> None:
    det = VisitDetector()
    trace = steady(0, 30, -70) + steady(30, 20, -97)  # the team walks out of range but is still heard
    visits = feed(det, trace)
    assert len(visits) == 1
    v = visits[0]
    assert v.first_seen == T0
    # The trimmed 5 s window closes the visit a few seconds after the step, but the visit is reported
    # up to its last strong advertisement: the weak tail is not part of it.
    assert v.last_seen == T0 + 29
    assert v.count == 30
    assert det.open_count == 0


def test_beacon_that_stops_closes_after_its_learned_timeout() -> None:
    det = VisitDetector()
    feed(det, steady(0, 40, -65))  # 40 advertisements, 1 s apart: learned timeout = 1 s + 5 s margin
    last = T0 + 39
    assert det.expire(last + 5.9) == []
    (visit,) = det.expire(last + 6.1)
    assert visit.last_seen == last
    assert visit.first_seen == T0
    assert visit.count == 40


def test_learned_timeout_follows_the_largest_recent_gap() -> None:
    det = VisitDetector()
    # A 2 s beacon that loses packets: gaps of 2 and 4 s. Largest gap among the last 16 = 4 s.
    times, t = [], 0.0
    for i in range(30):
        times.append(t)
        t += 4.0 if i % 5 == 4 else 2.0
    feed(det, [(x, -65) for x in times])
    last = T0 + times[-1]
    assert det.expire(last + 8.9) == []
    assert len(det.expire(last + 9.1)) == 1  # 4 s + 5 s margin


def test_fallback_timeout_before_sixteen_advertisements() -> None:
    det = VisitDetector(DetectionConfig(Thresholds(away_fallback_s=12.0)))
    feed(det, steady(0, 8, -65))  # 8 advertisements: too few to learn
    last = T0 + 7
    assert det.expire(last + 11.9) == []
    (visit,) = det.expire(last + 12.1)
    assert visit.count == 8


def test_learned_timeout_is_capped() -> None:
    th = Thresholds(away_fallback_s=12.0, max_away_s=14.0, window_s=40.0)
    det = VisitDetector(DetectionConfig(th))
    # A beacon advertising every 10 s (gaps under the fallback): learned 10 + 5 = 15 s, capped at 14 s.
    feed(det, [(i * 10.0, -65) for i in range(20)])
    last = T0 + 190
    assert det.open_count == 1
    assert det.expire(last + 13.9) == []
    assert len(det.expire(last + 14.1)) == 1


def test_return_after_the_timeout_starts_a_new_visit_without_expire() -> None:
    det = VisitDetector()
    first = feed(det, steady(0, 20, -65))
    assert first == []
    # Nobody called expire(); the next advertisement after a long gap closes the old visit first.
    second = feed(det, steady(300, 20, -65))
    assert len(second) == 1
    assert second[0].first_seen == T0
    assert second[0].last_seen == T0 + 19
    (third,) = det.close_all(T0 + 400)
    assert third.first_seen == T0 + 300
    assert third.last_seen == T0 + 319


def test_minimum_dwell_drops_a_walk_past() -> None:
    det = VisitDetector(DetectionConfig(Thresholds(min_dwell_s=5.0)))
    feed(det, steady(0, 4, -65))  # 4 strong advertisements spanning 3 s
    assert det.open_count == 1
    assert det.expire(T0 + 60) == []
    assert det.open_count == 0

    det = VisitDetector(DetectionConfig(Thresholds(min_dwell_s=5.0)))
    feed(det, steady(0, 7, -65))  # 6 s
    assert len(det.expire(T0 + 60)) == 1


def test_min_samples_before_entering() -> None:
    det = VisitDetector(DetectionConfig(Thresholds(min_samples=3)))
    det.observe(KEY, BEACON, -60, T0)
    det.observe(KEY, BEACON, -60, T0 + 1)
    assert det.open_count == 0
    det.observe(KEY, BEACON, -60, T0 + 2)
    assert det.open_count == 1


def test_visit_statistics() -> None:
    det = VisitDetector(DetectionConfig(Thresholds(enter_dbm=-82, exit_dbm=-90, min_dwell_s=0)))
    # A far sample first: in the window at entry, but weak, so not counted. Weak samples between strong
    # ones are counted (-86); weak ones after the last strong one are not (-85, -87).
    trace = [(0.0, -99), (1.0, -70), (2.0, -86), (3.0, -71), (4.5, -66), (6.0, -75), (7.0, -85), (8.0, -87)]
    assert feed(det, trace) == []
    (v,) = det.close_all(T0 + 9)
    assert v.identity == BEACON
    assert v.key == KEY
    assert v.first_seen == T0 + 1.0
    assert v.last_seen == T0 + 6.0
    assert v.dwell_s == 5.0
    assert v.count == 5
    assert v.rssi_max == -66
    assert v.rssi_mean == round((-70 - 86 - 71 - 66 - 75) / 5, 1) == -73.6


def test_rssi_is_normalised_by_calibrated_power() -> None:
    weak_beacon = [(float(i), -88) for i in range(20)]  # -88 dBm heard from a beacon calibrated at -69 @ 1 m
    det = VisitDetector()
    assert feed(det, weak_beacon) == []
    assert det.open_count == 0  # as a -59 dBm beacon, -88 is far away
    det = VisitDetector()
    feed(det, weak_beacon, power_1m=-69)  # 10 dB quieter beacon: -88 is like -78, inside -85
    assert det.open_count == 1
    det = VisitDetector()
    feed(det, weak_beacon, power_1m=0)  # implausible calibration (seen on air): not used
    assert det.open_count == 0
    det = VisitDetector(DetectionConfig(Thresholds(normalise=False)))
    feed(det, weak_beacon, power_1m=-69)
    assert det.open_count == 0


def test_overrides_by_longest_key_prefix() -> None:
    hall = Thresholds(enter_dbm=-75, exit_dbm=-85)
    family = Thresholds(enter_dbm=-70, exit_dbm=-80)
    config = DetectionConfig(overrides={"ibeacon:": hall, KEY: family})
    assert config.thresholds_for(KEY) is family
    assert config.thresholds_for("ibeacon:00:1:5") is hall
    assert config.thresholds_for("eddystone_uid:aa:bb") is config.default
    det = VisitDetector(config)
    feed(det, steady(0, 10, -73))  # inside the default and "hall", outside this beacon's -70
    assert det.open_count == 0


def test_idle_beacons_are_forgotten_and_tracking_is_bounded() -> None:
    det = VisitDetector(DetectionConfig(forget_after_s=60, max_tracked=50))
    for i in range(200):
        ident = IBeaconId(uuid="00" * 16, major=9, minor=i)
        det.observe(ident.key(), ident, -99, T0 + i * 0.01)
    assert det.tracked_count <= 50
    det.expire(T0 + 100)
    assert det.tracked_count == 0


def test_open_visits_are_never_evicted() -> None:
    det = VisitDetector(DetectionConfig(max_tracked=4))
    feed(det, steady(0, 10, -60))
    for i in range(20):
        ident = IBeaconId(uuid="11" * 16, major=1, minor=i)
        det.observe(ident.key(), ident, -99, T0 + 10 + i * 0.1)
    assert det.open_count == 1
    (visit,) = det.close_all(T0 + 30)
    assert visit.key == KEY


def test_long_visits_are_split() -> None:
    det = VisitDetector(DetectionConfig(max_visit_s=60))
    visits = feed(det, steady(0, 150, -60))
    visits += det.close_all(T0 + 200)
    assert [(v.first_seen - T0, v.last_seen - T0) for v in visits] == [(0, 60), (61, 121), (122, 149)]
    assert sum(v.count for v in visits) == 150


def test_clock_stepping_back_does_not_break_ordering() -> None:
    det = VisitDetector(DetectionConfig(Thresholds(min_dwell_s=0)))
    feed(det, [(0.0, -60), (1.0, -60), (2.0, -60), (1.5, -60), (3.0, -60)])
    (v,) = det.close_all(T0 + 10)
    assert v.last_seen >= v.first_seen
    assert v.count == 5


@pytest.mark.parametrize(
    "kwargs",
    [
        {"enter_dbm": -90, "exit_dbm": -80},
        {"min_samples": 0},
        {"window_n": 2, "min_samples": 3},
        {"trim_fraction": 0.5},
        {"window_s": 0},
        {"away_fallback_s": 40, "max_away_s": 30},
    ],
)
def test_inconsistent_thresholds_fail_fast(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="invalid detection thresholds"):
        Thresholds(**kwargs)  # type: ignore[arg-type]


def test_accept_prefixes_limit_what_is_tracked() -> None:
    det = VisitDetector(DetectionConfig(accept_prefixes=("eddystone_eid:",)))
    assert feed(det, steady(0, 10, -60)) == []
    assert det.tracked_count == 0
    with pytest.raises(ValueError, match="empty prefix"):
        DetectionConfig(accept_prefixes=("",))


def _reference_timeout(gaps: list[float], th: Thresholds, timeout: float) -> float:
    """What the detector computed before keeping the largest gap as the window slides: max() over the last 15."""
    return min(max(gaps) + th.away_margin_s, th.max_away_s) if len(gaps) == ADVERTISING_TIMES_NEEDED - 1 else timeout


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@pytest.mark.parametrize("seed", range(6))
def test_learned_timeout_is_max_of_the_last_gaps_as_before(seed: int) -> None:
    """The learned away timeout equals ``max(gaps)`` recomputed each time (a shadow of the old rule), over streams
    whose largest gap often leaves the window, ties it, or comes back after an absence or a clock stepped back."""
    rng = random.Random(seed)
    th = Thresholds(away_fallback_s=12.0, max_away_s=30.0)
    det = VisitDetector(DetectionConfig(th))
    gaps: list[float] = []
    timeout, last, t = th.away_fallback_s, -math.inf, 0.0
    for _ in range(3000):
        t += rng.choice((0.5, 1.0, 1.0, 2.0, 2.0, 3.0, 7.5, 13.0)) if rng.random() > 0.01 else -4.0
        feed(det, [(t, rng.randint(-95, -55))])
        t_seen = max(T0 + t, last)
        gap = t_seen - last
        if gap > timeout:
            gaps.clear()
        else:
            gaps = [*gaps, gap][-(ADVERTISING_TIMES_NEEDED - 1) :]
            timeout = _reference_timeout(gaps, th, timeout)
        last = t_seen
        state = det._states[KEY]
        assert list(state.gaps) == gaps
        assert state.timeout == timeout


def test_learned_timeout_with_nan_gaps_is_what_max_gives() -> None:
    """A NaN among the gaps (a clock gone wrong): max() depends on where it sits; the detector gives the same."""
    th = Thresholds()
    state = _BeaconState(KEY, BEACON, th)
    rng = random.Random(7)
    gaps: list[float] = []
    for i in range(200):
        gap = math.nan if i in (20, 21, 60, 100, 101, 102) else rng.choice((1.0, 2.0, 2.0, 4.0))
        state.learn_gap(gap)
        gaps = [*gaps, gap][-(ADVERTISING_TIMES_NEEDED - 1) :]
        expected = _reference_timeout(gaps, th, state.timeout)
        assert _same(state.timeout, expected), (i, state.timeout, expected)


@pytest.mark.parametrize(("window_n", "trim"), [(8, 0.2), (5, 0.0), (16, 0.45), (3, 0.34), (40, 0.1)])
def test_trimmed_mean_as_before(window_n: int, trim: float) -> None:
    """The trim counts per window size are computed once; the trimmed mean is the one computed per call."""
    th = Thresholds(window_n=window_n, trim_fraction=trim, min_samples=1)
    state = _BeaconState(KEY, BEACON, th)
    rng = random.Random(window_n)
    for _ in range(500):
        state.win_r.append(rng.randint(-100, -40))
        values = sorted(state.win_r)
        k = int(len(values) * trim)
        kept = values[k : len(values) - k] if k else values
        assert state.smoothed() == sum(kept) / len(kept)
