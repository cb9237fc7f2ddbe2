"""Impossible walks: an EID heard by a gateway that was elsewhere, too far to have walked.

A relayed EID (recorded at one checkpoint, re-broadcast near a gateway somewhere else) resolves
inside its time window, so the window alone cannot catch it. The gateway's own track can: a
team cannot be at two checkpoints further apart than it could walk (``max_speed_mps``, 1.5 m/s)
in the time between the two visits, allowing each beacon ``radio_range_m`` of reach.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ronde.protocol.estate import Checkpoint, distance_m
from ronde.store.records import StoredVisit, TrackPoint


@dataclass(frozen=True, slots=True)
class ImpossibleWalk:
    visit: StoredVisit
    other: StoredVisit
    distance_m: float
    gap_s: float

    def describe(self) -> str:
        return (
            f"same gateway at {self.other.checkpoint_id} {self.gap_s:.0f} s apart, "
            f"{self.distance_m:.0f} m away: EID relayed, not walked"
        )


def time_gap_s(a: StoredVisit, b: StoredVisit) -> float:
    """Seconds between two visits' intervals (0 when they overlap)."""
    later_start = max(a.first_seen, b.first_seen)
    earlier_end = min(a.last_seen, b.last_seen)
    return max(0.0, (later_start - earlier_end).total_seconds())


def impossible_walk(
    visit: StoredVisit,
    track: Iterable[StoredVisit],
    checkpoints: Mapping[str, Checkpoint],
    *,
    max_speed_mps: float = 1.5,
    radio_range_m: float = 50.0,
) -> ImpossibleWalk | None:
    """The first visit of the same gateway that ``visit`` could not have walked to or from."""
    here = checkpoints.get(visit.checkpoint_id)
    if here is None:
        return None
    for other in track:
        if other.event_id == visit.event_id or other.gateway_id != visit.gateway_id:
            continue
        there = checkpoints.get(other.checkpoint_id)
        if there is None or there.id == here.id:
            continue
        d = distance_m(here, there)
        gap = time_gap_s(visit, other)
        if d - 2 * radio_range_m > max_speed_mps * gap:
            return ImpossibleWalk(visit, other, d, gap)
    return None


_MAX_PAIRS = 200_000  # distances kept (~58 bytes each: 12 MB at most); an evening of a city's EID visits needs ~40,000
_EARTH_M = 6_371_000.0  # as ronde.protocol.estate.distance_m


@dataclass(frozen=True, slots=True)
class Track:
    """One gateway's visits as ``(first_seen, last_seen, event_id, checkpoint_id)``, sorted by first_seen, and the
    longest of them (``WalkCheck.impossible`` reads only the part of the track that could matter)."""

    visits: list[tuple[float, float, str, str]]
    firsts: list[float]
    longest_s: float


class WalkCheck:
    """``impossible_walk`` for a batch: each gateway's track as plain numbers, distances computed once per pair of
    checkpoints, and only the visits close enough in time to matter read: no two checkpoints are further apart
    than the registry's bounding box, so a visit more than that walk away in time can flag nothing. Same verdicts
    (seconds as float timestamps, so a gap is exact to the microsecond)."""

    def __init__(
        self, checkpoints: Mapping[str, Checkpoint], *, max_speed_mps: float = 1.5, radio_range_m: float = 50.0
    ) -> None:
        self.checkpoints = checkpoints
        self.max_speed_mps = max_speed_mps
        self.reach_m = 2 * radio_range_m
        self._distances: dict[str, dict[str, float]] = {}  # from an EID visit's checkpoint to the others heard
        self._pairs = 0
        # ``distance_m`` scales longitude by a cosine (≤ 1): the box's spans bound every pair's distance
        lats = [c.lat for c in checkpoints.values()] or [0.0]
        lons = [c.lon for c in checkpoints.values()] or [0.0]
        widest = _EARTH_M * math.hypot(math.radians(max(lons) - min(lons)), math.radians(max(lats) - min(lats)))
        self.horizon_s = max(0.0, (widest - self.reach_m) / max_speed_mps) + 1.0  # 1 s against rounding

    def track(self, visits: Iterable[StoredVisit], stored: Iterable[TrackPoint] = ()) -> Track:
        """The track of ``visits`` and of the ``stored`` points of the same gateway (``Store.visit_track``), those of
        known checkpoints. A stored point's milliseconds over 1000 is the float ``timestamp()`` of the visit the store
        would answer (both are the correctly rounded quotient of the same integers)."""
        known = self.checkpoints
        rows = [
            (v.first_seen.timestamp(), v.last_seen.timestamp(), v.event_id, v.checkpoint_id)
            for v in visits
            if v.checkpoint_id in known
        ]
        rows += [(p[1] / 1000, p[2] / 1000, p[3], p[4]) for p in stored if p[4] in known]
        rows.sort()
        return Track(rows, [r[0] for r in rows], max((r[1] - r[0] for r in rows), default=0.0))

    def impossible(self, visit: StoredVisit, track: Track) -> bool:
        """True when a visit of ``track`` (the same gateway's) is further from ``visit`` than a walk could reach."""
        here = visit.checkpoint_id
        if here not in self.checkpoints:
            return False
        first, last = visit.first_seen.timestamp(), visit.last_seen.timestamp()
        lo = bisect_left(track.firsts, first - self.horizon_s - track.longest_s)
        hi = bisect_right(track.firsts, last + self.horizon_s)
        distances = self._distances_from(here)
        for other_first, other_last, event_id, there in track.visits[lo:hi]:
            if there == here or event_id == visit.event_id:
                continue
            d = distances.get(there)
            if d is None:
                d = distances[there] = distance_m(self.checkpoints[here], self.checkpoints[there])
                self._pairs += 1
            gap = max(0.0, max(first, other_first) - min(last, other_last))
            if d - self.reach_m > self.max_speed_mps * gap:
                return True
        return False

    def _distances_from(self, here: str) -> dict[str, float]:
        """The distances from ``here`` computed so far, keyed by the other checkpoint's id: one dict per checkpoint
        (a dict keyed by pairs held a tuple per pair, twice the memory). All are forgotten past ``_MAX_PAIRS``."""
        if self._pairs > _MAX_PAIRS:
            self._distances.clear()
            self._pairs = 0
        row = self._distances.get(here)
        if row is None:
            row = self._distances[here] = {}
        return row
