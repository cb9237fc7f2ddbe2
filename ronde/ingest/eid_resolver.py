"""Eddystone-EID resolution on the server, with replay detection.

The server holds each EID beacon's identity key. An observed EID is resolved against the EIDs
each beacon would broadcast in a window around the gateway's clock (the visit's first_seen). The
window tolerates the beacon's clock drift: ``drift_ppm`` of the time elapsed since its
``clock_epoch`` (a 32 kHz crystal is ±150 ppm: ~65 min a year), and never less than
``min_periods`` rotation periods. An EID that belongs to a beacon but to a period outside that
window was recorded and replayed: flagged, never counted as presence.

EIDs are precomputed per beacon and per rotation period in a sliding cache around the times
being asked about (``replay_horizon`` either side), so each period costs two AES blocks once.
Each beacon keeps its periods' EIDs end to end in one ``bytearray`` (8 bytes a period), and the index
(``EidTable``, flat arrays) maps each EID to one int, ``beacon index << 32 | period``: about 31 bytes an EID, where
Python objects (a dict per beacon, a dict for the index, the ``bytes`` and ints in them) cost ~170, that is ~100 MB
of every worker's resident memory for a city's 500 EID beacons (~600,000 EIDs; issue 17, item 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ronde.ingest.eid_table import EidTable
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
    eids: bytearray = field(default_factory=bytearray)  # period p's EID at (p - lo) * 8

    def eid(self, period: int) -> bytes:
        at = (period - self.lo) * _EID_BYTES
        return bytes(self.eids[at : at + _EID_BYTES])


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
        self._index = EidTable()  # eid → beacon index << 32 | period

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
        replay: EidReplay | None = None
        for packed in self._index.get(eid):
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
        self._index.reserve(sum(hi - lo for lo, hi in (self._wanted(b, t) for b in self._beacons)))
        for i, b in enumerate(self._beacons):
            self._ensure(i, b, t)

    def _wanted(self, b: _BeaconCache, t: float) -> tuple[int, int]:
        """The periods ``[lo, hi)`` of beacon ``b`` to have computed for a gateway clock ``t``."""
        quantum = 1 << b.k
        span = self.replay_horizon_s + self.tolerance_s(b.epoch, b.k, t) + quantum
        want_lo = max(0, int((t - b.epoch - span) // quantum))
        want_hi = max(0, int((t - b.epoch + span) // quantum) + 1)
        if want_hi - want_lo > self.max_periods:  # cap memory: keep the periods nearest t
            mid = int((t - b.epoch) // quantum)
            want_lo, want_hi = max(0, mid - self.max_periods // 2), max(0, mid + self.max_periods // 2)
        return want_lo, want_hi

    def _ensure(self, i: int, b: _BeaconCache, t: float) -> None:
        want_lo, want_hi = self._wanted(b, t)
        if b.lo <= want_lo and want_hi <= b.hi:
            return
        if want_hi <= b.lo or want_lo >= b.hi or b.hi - b.lo == 0:
            self._drop(i, b, b.lo, b.hi)
            b.lo, b.hi, b.eids = want_lo, want_lo, bytearray()
        # extend to cover [want_lo, want_hi), then trim beyond the cap
        if want_lo < b.lo:
            b.eids[0:0] = self._computed(i, b, want_lo, b.lo)
            b.lo = want_lo
        if want_hi > b.hi:
            b.eids += self._computed(i, b, b.hi, want_hi)
            b.hi = want_hi
        if b.hi - b.lo > 2 * self.max_periods:
            self._drop(i, b, b.lo, want_lo)
            self._drop(i, b, want_hi, b.hi)
            del b.eids[(want_hi - b.lo) * _EID_BYTES :]
            del b.eids[: (want_lo - b.lo) * _EID_BYTES]
            b.lo, b.hi = want_lo, want_hi

    def _computed(self, i: int, b: _BeaconCache, lo: int, hi: int) -> bytes:
        """The EIDs of periods ``[lo, hi)`` end to end, each indexed (a period past the 32-bit counter: zeros, not
        indexed)."""
        out = bytearray()
        for period in range(lo, hi):
            counter = period << b.k
            if counter > _COUNTER_MAX:
                out += bytes(_EID_BYTES)
                continue
            eid = compute_eid(b.key, b.k, counter)
            out += eid
            self._index.add(eid, i << 32 | period)  # period = counter >> k <= _COUNTER_MAX
        return bytes(out)

    def _drop(self, i: int, b: _BeaconCache, lo: int, hi: int) -> None:
        """Un-index the periods ``[lo, hi)`` (within ``[b.lo, b.hi)``); the caller trims ``b.eids``."""
        for period in range(max(lo, b.lo), min(hi, b.hi)):
            if period << b.k <= _COUNTER_MAX:
                self._index.remove(b.eid(period), i << 32 | period)
