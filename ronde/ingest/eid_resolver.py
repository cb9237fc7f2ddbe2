"""Eddystone-EID resolution on the server, with replay detection.

The server holds each EID beacon's identity key. An observed EID is resolved against the EIDs
each beacon would broadcast in a window around the gateway's clock (the visit's first_seen). The
window tolerates the beacon's clock drift: ``drift_ppm`` of the time elapsed since its
``clock_epoch`` (a 32 kHz crystal is ±150 ppm: ~65 min a year), and never less than
``min_periods`` rotation periods. An EID that belongs to a beacon but to a period outside that
window was recorded and replayed: flagged, never counted as presence.

EIDs are precomputed per beacon and per rotation period in a sliding cache around the times
being asked about (``replay_horizon`` either side), so each period costs two AES blocks once.
The index maps each EID to one int, ``beacon index << 32 | period`` (a list of them only on a collision): a
list of tuples per EID held about 150 bytes more each, 1.5 MB of a worker's resident memory for the sample
estate's 9 EID beacons (~10,800 EIDs) and ~90 MB for a city's 500 (issue 17, item 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ronde.protocol.eid import compute_eid
from ronde.protocol.estate import Checkpoint

_EID_BYTES = 8
_COUNTER_MAX = 0xFFFFFFFF  # the beacon time counter is 32 bits


@dataclass(frozen=True, slots=True)
class EidMatch:
    """Resolved inside its window: presence at ``checkpoint``."""

    checkpoint: Checkpoint
    period: int  # beacon counter >> K
    offset_s: float  # beacon period start minus the gateway's expected counter (drift seen)


@dataclass(frozen=True, slots=True)
class EidReplay:
    """A known beacon's EID, but for a period outside the window around the gateway's clock."""

    checkpoint: Checkpoint
    period: int
    offset_s: float


@dataclass(slots=True)
class _BeaconCache:
    checkpoint: Checkpoint
    key: bytes
    k: int
    epoch: int
    lo: int = 0  # computed periods: [lo, hi)
    hi: int = 0
    eids: dict[int, bytes] = field(default_factory=dict)


class EidResolver:
    def __init__(
        self,
        checkpoints: Iterable[Checkpoint],
        *,
        drift_ppm: float = 150.0,
        min_periods: int = 2,
        replay_horizon: timedelta = timedelta(days=7),
        max_periods_per_beacon: int = 20_000,
    ) -> None:
        self.drift_ppm = drift_ppm
        self.min_periods = min_periods
        self.replay_horizon_s = replay_horizon.total_seconds()
        self.max_periods = max_periods_per_beacon
        self._beacons: list[_BeaconCache] = []
        for c in checkpoints:
            b = c.beacon
            if b.format != "eddystone_eid" or b.identity_key is None:
                continue
            self._beacons.append(_BeaconCache(c, b.identity_key, b.rotation_exponent or 0, b.clock_epoch or 0))
        self._index: dict[bytes, int | list[int]] = {}  # eid → beacon index << 32 | period (a list if several)

    @property
    def beacon_count(self) -> int:
        return len(self._beacons)

    def tolerance_s(self, checkpoint_epoch: int, rotation_exponent: int, at: float) -> float:
        elapsed = max(0.0, at - checkpoint_epoch)
        return max(elapsed * self.drift_ppm * 1e-6, self.min_periods * (1 << rotation_exponent))

    def resolve(self, eid: bytes, observed_at: datetime) -> EidMatch | EidReplay | None:
        """``observed_at``: the gateway's clock when it heard the EID. None: no beacon of ours."""
        if len(eid) != _EID_BYTES or not self._beacons:
            return None
        t = observed_at.timestamp()
        for i, b in enumerate(self._beacons):
            self._ensure(i, b, t)
        hits = self._index.get(eid)
        if hits is None:
            return None
        replay: EidReplay | None = None
        for packed in (hits,) if isinstance(hits, int) else hits:
            i, period = packed >> 32, packed & _COUNTER_MAX
            b = self._beacons[i]
            quantum = 1 << b.k
            expected = t - b.epoch  # the counter the beacon should show now
            start = period * quantum
            # distance from the expected counter to the period [start, start + quantum)
            offset = (
                0.0
                if start <= expected < start + quantum
                else (start - expected if start > expected else expected - (start + quantum))
            )
            signed = start - expected
            if offset <= self.tolerance_s(b.epoch, b.k, t):
                return EidMatch(b.checkpoint, period, signed)
            if replay is None or abs(signed) < abs(replay.offset_s):
                replay = EidReplay(b.checkpoint, period, signed)
        return replay

    def prime(self, at: datetime) -> None:
        """Compute the EIDs of every beacon around ``at`` now (a worker's start-up, ~10,000 AES blocks for the
        sample estate) rather than on the first messages, whose batch it would hold up."""
        t = at.timestamp()
        for i, b in enumerate(self._beacons):
            self._ensure(i, b, t)

    def _ensure(self, i: int, b: _BeaconCache, t: float) -> None:
        quantum = 1 << b.k
        span = self.replay_horizon_s + self.tolerance_s(b.epoch, b.k, t) + quantum
        want_lo = max(0, int((t - b.epoch - span) // quantum))
        want_hi = max(0, int((t - b.epoch + span) // quantum) + 1)
        if want_hi - want_lo > self.max_periods:  # cap memory: keep the periods nearest t
            mid = int((t - b.epoch) // quantum)
            want_lo, want_hi = max(0, mid - self.max_periods // 2), max(0, mid + self.max_periods // 2)
        if b.lo <= want_lo and want_hi <= b.hi:
            return
        if want_hi <= b.lo or want_lo >= b.hi or b.hi - b.lo == 0:
            self._drop(i, b, b.lo, b.hi)
            b.lo, b.hi = want_lo, want_lo
        # extend to cover [want_lo, want_hi), then trim beyond the cap
        for p in range(want_lo, min(b.lo, want_hi)):
            self._add(i, b, p)
        for p in range(max(b.hi, want_lo), want_hi):
            self._add(i, b, p)
        lo, hi = min(b.lo, want_lo), max(b.hi, want_hi)
        if hi - lo > 2 * self.max_periods:
            keep_lo, keep_hi = want_lo, want_hi
            self._drop(i, b, lo, keep_lo)
            self._drop(i, b, keep_hi, hi)
            lo, hi = keep_lo, keep_hi
        b.lo, b.hi = lo, hi

    def _add(self, i: int, b: _BeaconCache, period: int) -> None:
        counter = period << b.k
        if counter > _COUNTER_MAX:
            return
        eid = compute_eid(b.key, b.k, counter)
        b.eids[period] = eid
        packed = i << 32 | period  # period = counter >> k <= _COUNTER_MAX
        hits = self._index.get(eid)
        if hits is None:
            self._index[eid] = packed
        elif isinstance(hits, int):
            self._index[eid] = [hits, packed]
        else:
            hits.append(packed)

    def _drop(self, i: int, b: _BeaconCache, lo: int, hi: int) -> None:
        for period in range(lo, hi):
            eid = b.eids.pop(period, None)
            hits = None if eid is None else self._index.get(eid)
            if eid is None or hits is None:
                continue
            packed = i << 32 | period
            rest = [h for h in ((hits,) if isinstance(hits, int) else hits) if h != packed]
            if not rest:
                del self._index[eid]
            else:
                self._index[eid] = rest[0] if len(rest) == 1 else rest
