"""Per-beacon visit detection: smoothed RSSI, enter/exit hysteresis, learned away timeout.

Pure and synchronous; fed advertisements in time order. Reasoning behind every default is in
``docs/detection.md``. In short:

* RSSI is normalised to a reference beacon calibrated at -59 dBm at 1 m when the frame says how
  loud the beacon is, so one threshold fits beacons of different power settings.
* Smoothing is a time-bounded sliding window with a trimmed mean (ESPresense-style outlier trimming):
  multipath fades and body shadowing are heavy-tailed, which a Kalman filter's Gaussian model handles badly.
* A visit opens when the smoothed RSSI reaches ``enter_dbm`` over at least ``min_samples`` samples and
  closes when it falls under the lower ``exit_dbm`` or when the beacon has not been heard for longer than
  its away timeout: the largest gap among its last 16 advertisements plus a margin (Home Assistant's
  habluetooth rule), or a fallback until 16 have been heard.
* A visit is reported from its first to its last strong advertisement (raw RSSI at or above the enter
  level): hysteresis decides whether a visit goes on, the enter level where it starts and ends.
* Visits shorter than ``min_dwell_s`` are dropped.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType

from ronde.gateway.frames import BeaconIdentity

REFERENCE_POWER_1M = -59
"""Thresholds are written for a beacon whose calibrated power at 1 m is this (the iBeacon default)."""
PLAUSIBLE_POWER_1M = (-100, -20)
"""Calibrated powers outside this range (0, +26 ... seen on air) are ignored: no normalisation."""
ADVERTISING_TIMES_NEEDED = 16
"""Timestamps needed before the learned interval replaces the fallback (habluetooth's value)."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Detection settings for one beacon (or kind of checkpoint).

    RSSI thresholds are in dBm for a beacon calibrated at ``REFERENCE_POWER_1M`` at 1 m; the detector
    shifts them by the beacon's own calibrated power when the frame carries a plausible one.
    """

    enter_dbm: float = -85.0
    exit_dbm: float = -91.0
    min_samples: int = 3
    window_s: float = 5.0
    window_n: int = 8
    trim_fraction: float = 0.2
    min_dwell_s: float = 5.0
    min_pass_s: float = 15.0
    """A visit shorter than this once its fragments are merged is dropped, unless its peak reached
    ``pass_strong_dbm``: short and weak is a neighbouring beacon heard through a gap between buildings;
    short and strong is a real pass close by (see docs/detection.md)."""
    pass_strong_dbm: float = -74.0
    away_fallback_s: float = 12.0
    away_margin_s: float = 5.0
    max_away_s: float = 30.0
    normalise: bool = True

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.exit_dbm > self.enter_dbm:
            problems.append(f"exit_dbm ({self.exit_dbm}) must not be above enter_dbm ({self.enter_dbm})")
        if self.min_samples < 1:
            problems.append("min_samples must be at least 1")
        if self.window_n < max(1, self.min_samples):
            problems.append("window_n must hold at least min_samples samples")
        if self.window_s <= 0:
            problems.append("window_s must be positive")
        if not 0 <= self.trim_fraction < 0.5:  # noqa: PLR2004 - a trimmed mean keeps more than half
            problems.append("trim_fraction must be in [0, 0.5)")
        if self.min_dwell_s < 0 or self.min_pass_s < 0:
            problems.append("min_dwell_s and min_pass_s must not be negative")
        if self.away_fallback_s <= 0 or self.away_margin_s < 0:
            problems.append("away_fallback_s must be positive and away_margin_s not negative")
        if self.max_away_s < self.away_fallback_s:
            problems.append("max_away_s must not be below away_fallback_s")
        if problems:
            raise ValueError("invalid detection thresholds: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class DetectionConfig:
    """Default thresholds plus overrides keyed by beacon-key prefix (longest prefix wins).

    A prefix can be a whole key (``ibeacon:<uuid>:1:4``: one beacon, e.g. set from its checkpoint kind),
    a family (``ibeacon:<uuid>:2:``) or a format (``eddystone_eid:``).
    """

    default: Thresholds = field(default_factory=Thresholds)
    overrides: Mapping[str, Thresholds] = field(default_factory=lambda: MappingProxyType({}))
    forget_after_s: float = 600.0
    max_tracked: int = 10_000
    max_visit_s: float = 3600.0
    merge_gap_s: float = 180.0
    """Fragments of one beacon closer than this are one visit (see ``merge``); 0 turns merging off."""
    accept_prefixes: tuple[str, ...] = ()
    """Only beacons whose key starts with one of these are tracked (empty: all). Set it from the estate
    file (its beacon keys, plus ``eddystone_eid:``) so strangers' beacons are neither tracked nor reported."""

    def __post_init__(self) -> None:
        if self.forget_after_s <= 0 or self.max_tracked < 1 or self.max_visit_s <= 0:
            raise ValueError("forget_after_s, max_tracked and max_visit_s must be positive")
        if self.merge_gap_s < 0:
            raise ValueError("merge_gap_s must not be negative")
        if any(not p for p in self.accept_prefixes):
            raise ValueError("accept_prefixes must not contain an empty prefix (leave the tuple empty to accept all)")
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))
        object.__setattr__(self, "accept_prefixes", tuple(self.accept_prefixes))

    def accepts(self, key: str) -> bool:
        return not self.accept_prefixes or key.startswith(self.accept_prefixes)

    def thresholds_for(self, key: str) -> Thresholds:
        best, best_len = self.default, -1
        for prefix, th in self.overrides.items():
            if len(prefix) > best_len and key.startswith(prefix):
                best, best_len = th, len(prefix)
        return best


@dataclass(frozen=True, slots=True)
class DetectedVisit:
    """A closed visit. Times are epoch seconds of the first/last advertisement counted in it."""

    identity: BeaconIdentity
    key: str
    first_seen: float
    last_seen: float
    count: int
    rssi_max: int
    rssi_mean: float

    @property
    def dwell_s(self) -> float:
        return self.last_seen - self.first_seen


@cache
def _trim_counts(window_n: int, trim_fraction: float) -> tuple[int, ...]:
    """Samples trimmed from each end of a window of n, for n = 0..window_n: ``int(n * trim_fraction)``, once per
    thresholds instead of once per advertisement (one tuple shared by the beacons that use them)."""
    return tuple(int(n * trim_fraction) for n in range(window_n + 1))


class _BeaconState:
    """Everything the detector remembers about one beacon: bounded by window_n and 16 timestamps."""

    __slots__ = (
        "enter_raw",
        "exit_raw",
        "first_seen",
        "gap_max",
        "gaps",
        "identity",
        "in_visit",
        "key",
        "last_heard",
        "power_1m",
        "rssi_max",
        "rssi_sum",
        "tail_count",
        "tail_max",
        "tail_sum",
        "th",
        "timeout",
        "trim",
        "visit_count",
        "visit_last",
        "win_r",
        "win_t",
    )

    def __init__(self, key: str, identity: BeaconIdentity, th: Thresholds) -> None:
        self.key = key
        self.identity = identity
        self.th = th
        self.trim = _trim_counts(th.window_n, th.trim_fraction)
        self.power_1m: int | None = None
        self.enter_raw = th.enter_dbm
        self.exit_raw = th.exit_dbm
        self.win_t: deque[float] = deque(maxlen=th.window_n)
        self.win_r: deque[int] = deque(maxlen=th.window_n)
        self.gaps: deque[float] = deque(maxlen=ADVERTISING_TIMES_NEEDED - 1)
        self.gap_max = 0.0  # max(gaps) once the deque is full (learn_gap)
        self.timeout = th.away_fallback_s
        self.last_heard = float("-inf")
        self.in_visit = False
        self.first_seen = 0.0
        self.visit_last = 0.0
        self.visit_count = 0
        self.rssi_max = -128
        self.rssi_sum = 0
        self.tail_count = 0
        self.tail_sum = 0
        self.tail_max = -128

    def calibrate(self, power_1m: int | None) -> None:
        self.power_1m = power_1m
        shift = 0
        if self.th.normalise and power_1m is not None and PLAUSIBLE_POWER_1M[0] <= power_1m <= PLAUSIBLE_POWER_1M[1]:
            shift = power_1m - REFERENCE_POWER_1M
        self.enter_raw = self.th.enter_dbm + shift
        self.exit_raw = self.th.exit_dbm + shift

    def learn_gap(self, gap: float) -> None:
        """An advertising interval heard (not an absence: the caller checked ``gap <= timeout``). The away timeout
        comes from the largest of the last 15: ``max(gaps)`` kept as the window slides (O(1) unless the largest
        gap just left it), the value ``max`` gives (``tests/gateway/test_detection.py``)."""
        gaps = self.gaps
        if len(gaps) < ADVERTISING_TIMES_NEEDED - 1:
            gaps.append(gap)
            if len(gaps) == ADVERTISING_TIMES_NEEDED - 1:
                self._learn(max(gaps), False)
            return
        evicted = gaps[0]
        gaps.append(gap)  # a full deque: drops ``evicted``
        top = self.gap_max
        if top != top or gap != gap:  # noqa: PLR0124 - a NaN in the window: max() depends on where it sits
            self._learn(max(gaps), False)
        elif gap > top:
            self._learn(gap, True)
        elif evicted == top:
            self._learn(max(gaps), True)
        # else the largest gap, hence the timeout, is unchanged

    def _learn(self, top: float, nan_free: bool) -> None:
        """``top`` is ``max(gaps)``; ``gap_max`` keeps it, or NaN while a NaN gap is in the window (it makes
        ``learn_gap`` ask ``max`` again until the NaN has left). ``nan_free``: the caller knows there is none."""
        self.gap_max = top if nan_free or not any(g != g for g in self.gaps) else math.nan  # noqa: PLR0124 - NaN
        th = self.th
        self.timeout = min(top + th.away_margin_s, th.max_away_s)

    def smoothed(self) -> float:
        values = sorted(self.win_r)
        n = len(values)
        k = self.trim[n]
        if k:
            values = values[k : n - k]
        return sum(values) / len(values)

    def open_visit(self) -> None:
        """Start from the window already heard, so first_seen does not lag by the smoothing window."""
        self.restart_visit()
        for t, r in zip(self.win_t, self.win_r, strict=True):
            self.count(t, r)

    def restart_visit(self) -> None:
        """An empty open visit; the next strong sample sets first_seen (also splits over-long visits)."""
        self.in_visit = True
        self.visit_count = 0
        self.rssi_sum = 0
        self.rssi_max = -128
        self.tail_count = 0
        self.tail_sum = 0
        self.tail_max = -128

    def count(self, t: float, rssi: int) -> None:
        """A visit spans its first to last *strong* sample (raw RSSI >= enter level).

        Weaker samples between strong ones belong to the visit; weak ones at its edges are held in a
        tail and dropped at close: hysteresis decides whether a visit goes on, not where it ends.
        """
        if rssi >= self.enter_raw:
            if not self.visit_count:
                self.first_seen = t
            elif self.tail_count:
                self.visit_count += self.tail_count
                self.rssi_sum += self.tail_sum
                self.rssi_max = max(self.rssi_max, self.tail_max)
                self.tail_count = self.tail_sum = 0
                self.tail_max = -128
            self.visit_last = t
            self.visit_count += 1
            self.rssi_sum += rssi
            if rssi > self.rssi_max:  # noqa: PLR1730 - max() is a call per advertisement; same result
                self.rssi_max = rssi
        elif self.visit_count:
            self.tail_count += 1
            self.tail_sum += rssi
            if rssi > self.tail_max:  # noqa: PLR1730 - as above
                self.tail_max = rssi

    def close_visit(self) -> DetectedVisit | None:
        self.in_visit = False
        th = self.th
        if self.visit_count < th.min_samples or self.visit_last - self.first_seen < th.min_dwell_s:
            return None
        return DetectedVisit(
            identity=self.identity,
            key=self.key,
            first_seen=self.first_seen,
            last_seen=self.visit_last,
            count=self.visit_count,
            rssi_max=self.rssi_max,
            rssi_mean=round(self.rssi_sum / self.visit_count, 1),
        )


class VisitDetector:
    """Turns a time-ordered stream of (beacon, RSSI, time) into closed visits."""

    __slots__ = ("_config", "_states")

    def __init__(self, config: DetectionConfig | None = None) -> None:
        self._config = config or DetectionConfig()
        self._states: dict[str, _BeaconState] = {}

    @property
    def config(self) -> DetectionConfig:
        return self._config

    @property
    def open_count(self) -> int:
        return sum(1 for s in self._states.values() if s.in_visit)

    @property
    def tracked_count(self) -> int:
        return len(self._states)

    def is_open(self, key: str) -> bool:
        """Whether the beacon is in a visit now (a later fragment of a held visit may be growing)."""
        state = self._states.get(key)
        return state is not None and state.in_visit

    def observe(  # noqa: PLR0912 - the per-advert hot path, kept in one function
        self, key: str, identity: BeaconIdentity, rssi: int, t: float, power_1m: int | None = None
    ) -> list[DetectedVisit]:
        out: list[DetectedVisit] = []
        state = self._states.get(key)
        if state is None:
            if not self._config.accepts(key):
                return out
            if len(self._states) >= self._config.max_tracked:
                self._evict()
            state = self._states[key] = _BeaconState(key, identity, self._config.thresholds_for(key))
            state.calibrate(power_1m)
        elif power_1m != state.power_1m:
            state.calibrate(power_1m)
        last = state.last_heard
        if last > t:  # noqa: PLR1730 - max(t, last) without the call
            t = last  # clock stepped back: keep the stream monotonic for this beacon
        gap = t - last
        if gap > state.timeout:
            # Not heard for longer than its away timeout: whatever was open ended at its last sample.
            if state.in_visit:
                visit = state.close_visit()
                if visit is not None:
                    out.append(visit)
            state.win_t.clear()
            state.win_r.clear()
            state.gaps.clear()  # that gap was an absence, not an advertising interval
        else:
            state.learn_gap(gap)
        state.last_heard = t

        win_t, win_r = state.win_t, state.win_r
        win_t.append(t)
        win_r.append(rssi)
        horizon = t - state.th.window_s
        while win_t[0] < horizon:
            win_t.popleft()
            win_r.popleft()

        if state.in_visit:
            if state.smoothed() >= state.exit_raw:
                state.count(t, rssi)
                if t - state.first_seen >= self._config.max_visit_s:
                    visit = state.close_visit()
                    if visit is not None:
                        out.append(visit)
                    state.restart_visit()
            else:
                visit = state.close_visit()
                if visit is not None:
                    out.append(visit)
        elif len(win_r) >= state.th.min_samples and state.smoothed() >= state.enter_raw:
            state.open_visit()
        return out

    def expire(self, now: float) -> list[DetectedVisit]:
        """Close visits of beacons not heard within their away timeout; forget long-idle beacons."""
        out: list[DetectedVisit] = []
        forget = self._config.forget_after_s
        stale: list[str] = []
        for key, state in self._states.items():
            idle = now - state.last_heard
            if state.in_visit:
                if idle > state.timeout:
                    visit = state.close_visit()
                    if visit is not None:
                        out.append(visit)
                    state.win_t.clear()
                    state.win_r.clear()
            elif idle > forget:
                stale.append(key)
        for key in stale:
            del self._states[key]
        return out

    def close_all(self, now: float) -> list[DetectedVisit]:  # noqa: ARG002 - called like the pipeline's, with the time
        """End of service or shutdown: close every open visit as it stands and forget all state."""
        out: list[DetectedVisit] = []
        for state in self._states.values():
            if state.in_visit:
                visit = state.close_visit()
                if visit is not None:
                    out.append(visit)
        self._states.clear()
        return out

    def _evict(self) -> None:
        """At the tracking cap: drop the idle beacons heard least recently (never an open visit)."""
        idle = sorted((s.last_heard, k) for k, s in self._states.items() if not s.in_visit)
        for _, key in idle[: max(1, len(idle) // 4)]:
            del self._states[key]
