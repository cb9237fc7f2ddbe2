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
COVER_MARGIN_S = 3600.0  # each pass over the beacons makes an hour either side of the clock asked about ready
_KEPT_COVERS = 8


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
        self._covers: list[tuple[float, float]] = []  # gateway clocks for which every beacon's periods are computed

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
        self._cover(t)
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
        wanted = ((self._wanted(b, t - COVER_MARGIN_S), self._wanted(b, t + COVER_MARGIN_S)) for b in self._beacons)
        self._index.reserve(sum(late[1] - early[0] for early, late in wanted))
        self._cover(t)

    def _cover(self, t: float) -> None:
        """Every beacon's periods for a gateway clock ``t`` computed. Checking each beacon for each EID visit cost
        0.8 ms at city scale (500 beacons), so a pass makes ``COVER_MARGIN_S`` either side of ``t`` ready and
        remembers it: a beacon's wanted periods only move forward with the clock (``_wanted``), so having those of
        both ends covers every clock between them, unless the cap on periods per beacon switches in between (then
        only ``t`` itself is made ready). A pass that drops periods forgets what earlier passes made ready."""
        if any(lo <= t <= hi for lo, hi in self._covers):
            return
        early, late = t - COVER_MARGIN_S, t + COVER_MARGIN_S
        dropped = False
        for i, b in enumerate(self._beacons):
            dropped |= self._ensure(i, b, early)
            dropped |= self._ensure(i, b, late)
        if dropped:
            self._covers.clear()
        if all(self._covers_between(b, early, late) for b in self._beacons):
            self._covers = [*self._covers[-_KEPT_COVERS + 1 :], (early, late)]
            return
        for i, b in enumerate(self._beacons):
            if self._ensure(i, b, t):
                self._covers.clear()

    def _covers_between(self, b: _BeaconCache, early: float, late: float) -> bool:
        """Whether ``b``'s periods cover what every clock from ``early`` to ``late`` wants."""
        first, last = self._wanted(b, early), self._wanted(b, late)
        return first[2] == last[2] and b.lo <= first[0] and last[1] <= b.hi

    def _wanted(self, b: _BeaconCache, t: float) -> tuple[int, int, bool]:
        """The periods ``[lo, hi)`` of beacon ``b`` to have computed for a gateway clock ``t``, and whether the cap
        on periods per beacon cut them. Within one of the two cases, both ends only move forward as ``t`` does."""
        quantum = 1 << b.k
        span = self.replay_horizon_s + self.tolerance_s(b.epoch, b.k, t) + quantum
        want_lo = max(0, int((t - b.epoch - span) // quantum))
        want_hi = max(0, int((t - b.epoch + span) // quantum) + 1)
        if want_hi - want_lo > self.max_periods:  # cap memory: keep the periods nearest t
            mid = int((t - b.epoch) // quantum)
            return max(0, mid - self.max_periods // 2), max(0, mid + self.max_periods // 2), True
        return want_lo, want_hi, False

    def _ensure(self, i: int, b: _BeaconCache, t: float) -> bool:
        """Compute what ``t`` wants of beacon ``b``; True if periods were dropped on the way."""
        want_lo, want_hi, _ = self._wanted(b, t)
        if b.lo <= want_lo and want_hi <= b.hi:
            return False
        dropped = False
        if want_hi <= b.lo or want_lo >= b.hi or b.hi - b.lo == 0:
            self._drop(i, b, b.lo, b.hi)
            dropped = b.hi > b.lo
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
            dropped = True
        return dropped

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
