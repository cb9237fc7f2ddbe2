"""Ground truth: when each team was really within each checkpoint's radius.

Computed exactly from the trajectory: for each straight segment, the times when the team is within
``radius_m`` of the checkpoint (a quadratic in time) on the checkpoint's level. Intervals separated
by less than ``MERGE_GAP_S`` (stepping out of a car park's circle and back) are one visit. A team
inside an enclosed checkpoint (hall, office, underground car park) is at that checkpoint only, not
at the green space whose circle happens to reach the building; outdoors it is at every street-level
checkpoint whose circle it is in (including a hall, when at its door).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ronde.firmware_sim.estate_graph import EstateGraph
from ronde.firmware_sim.patrol import Trajectory
from ronde.protocol.messages import format_time, parse_time

MERGE_GAP_S = 30.0


@dataclass(frozen=True, slots=True)
class TrueVisit:
    team_id: str
    checkpoint_id: str
    start: datetime
    end: datetime

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()

    def to_json(self) -> dict[str, Any]:
        return {
            "team_id": self.team_id,
            "checkpoint_id": self.checkpoint_id,
            "start": format_time(self.start),
            "end": format_time(self.end),
            "duration_s": round(self.duration_s, 3),
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> TrueVisit:
        return cls(str(obj["team_id"]), str(obj["checkpoint_id"]), parse_time(obj["start"]), parse_time(obj["end"]))


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(round(t, 3), UTC)


def _inside(
    seg_x0: float, seg_y0: float, vx: float, vy: float, cx: float, cy: float, r: float, span: float
) -> tuple[float, float] | None:
    """Sub-interval [a, b] of [0, span] where |p0 + v·τ − c| ≤ r."""
    dx, dy = seg_x0 - cx, seg_y0 - cy
    a = vx * vx + vy * vy
    c = dx * dx + dy * dy - r * r
    if a < 1e-12:  # noqa: PLR2004 - a segment of zero length (float tolerance)
        return (0.0, span) if c <= 0 else None
    b = 2 * (dx * vx + dy * vy)
    disc = b * b - 4 * a * c
    if disc < 0:
        return None
    root = math.sqrt(disc)
    lo, hi = (-b - root) / (2 * a), (-b + root) / (2 * a)
    lo, hi = max(lo, 0.0), min(hi, span)
    return (lo, hi) if lo <= hi else None


def true_visits(team_id: str, traj: Trajectory, graph: EstateGraph) -> list[TrueVisit]:
    out: list[TrueVisit] = []
    for cid in sorted(graph.checkpoints):
        cp = graph.checkpoints[cid]
        centre = graph.pos[cid]
        r = cp.radius_m
        intervals: list[tuple[float, float]] = []
        for s in traj.segments:
            if s.space is not None and s.space != cid:
                continue  # inside another enclosed space (a hall): not at this checkpoint
            if s.space is None and cp.level != 0:
                continue  # street level, the checkpoint is underground (or upstairs)
            if min(s.x0, s.x1) > centre.x + r or max(s.x0, s.x1) < centre.x - r:
                continue
            if min(s.y0, s.y1) > centre.y + r or max(s.y0, s.y1) < centre.y - r:
                continue
            span = s.t1 - s.t0
            if span <= 0:
                continue
            hit = _inside(s.x0, s.y0, (s.x1 - s.x0) / span, (s.y1 - s.y0) / span, centre.x, centre.y, r, span)
            if hit is None:
                continue
            a, b = s.t0 + hit[0], s.t0 + hit[1]
            if intervals and a - intervals[-1][1] <= MERGE_GAP_S:
                intervals[-1] = (intervals[-1][0], max(intervals[-1][1], b))
            else:
                intervals.append((a, b))
        out.extend(TrueVisit(team_id, cid, _utc(a), _utc(b)) for a, b in intervals if b > a)
    out.sort(key=lambda v: (v.start, v.team_id, v.checkpoint_id))
    return out


def write_truth(path: Path, visits: Iterable[TrueVisit], meta: dict[str, Any] | None = None) -> None:
    doc = {"format": "ronde-sim-truth", "version": 1, **(meta or {}), "visits": [v.to_json() for v in visits]}
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def read_truth(path: Path) -> list[TrueVisit]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or doc.get("format") != "ronde-sim-truth":
        raise ValueError(f"{path}: not a ronde-sim-truth file")
    return [TrueVisit.from_json(v) for v in doc["visits"]]
