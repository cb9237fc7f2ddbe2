"""Teams on patrol: where a team of two mediators is, second by second, during one service window.

A patrol starts and ends at the team's reception office (briefing, debriefing), walks the estate
graph at about 1.2 m/s, stops at checkpoints for a time that depends on the kind (halls are where
residents stop them for a conversation of a few minutes), takes one break at the office, and is
sometimes pulled elsewhere by a request (a resident's call, a supervisor). The next checkpoint is
either the next one of a planned tour or the one nobody has seen for longest (staleness).
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ronde.firmware_sim.estate_graph import EstateGraph, Point
from ronde.firmware_sim.radio import ENCLOSED_KINDS
from ronde.protocol.estate import CheckpointKind

WALK_SPEED_MPS = 1.2
WANDER_SPEED_MPS = 0.6
FLOOR_HEIGHT_M = 3.0

# (min, max) seconds spent at a checkpoint of each kind on an ordinary pass.
DWELL_S: Mapping[CheckpointKind, tuple[float, float]] = {
    CheckpointKind.STAIRWELL_HALL: (60, 180),
    CheckpointKind.CAR_PARK_SURFACE: (60, 150),
    CheckpointKind.CAR_PARK_UNDERGROUND: (120, 300),
    CheckpointKind.GREEN_SPACE: (60, 180),
    CheckpointKind.PLAYGROUND: (60, 180),
    CheckpointKind.FOOTPATH: (30, 90),
    CheckpointKind.RECEPTION_OFFICE: (120, 300),
}
CONVERSATION_P = 0.25  # chance a hall stop turns into a conversation with residents
CONVERSATION_S = (180.0, 480.0)
BREAK_S = (1200.0, 1800.0)
REQUEST_RATE_PER_H = 0.4
REQUEST_DWELL_S = (300.0, 900.0)
WANDERING_KINDS = frozenset(
    {
        CheckpointKind.CAR_PARK_SURFACE,
        CheckpointKind.CAR_PARK_UNDERGROUND,
        CheckpointKind.GREEN_SPACE,
        CheckpointKind.PLAYGROUND,
    }
)


class RouteMode(StrEnum):
    TOUR = "tour"
    STALENESS = "staleness"


@dataclass(frozen=True, slots=True)
class Segment:
    """Straight-line motion (or standing still) from t0 to t1."""

    t0: float
    t1: float
    x0: float
    y0: float
    x1: float
    y1: float
    level: int
    space: str | None  # the enclosed checkpoint (hall, office, underground car park) the team is inside
    heading: float  # radians, where the wearer faces
    walked0: float  # metres walked since the start of the trajectory, at t0

    def at(self, t: float) -> tuple[float, float, float]:
        """(x, y, walked) at t."""
        span = self.t1 - self.t0
        f = 0.0 if span <= 0 else min(1.0, max(0.0, (t - self.t0) / span))
        dx, dy = self.x1 - self.x0, self.y1 - self.y0
        return self.x0 + f * dx, self.y0 + f * dy, self.walked0 + f * math.hypot(dx, dy)


@dataclass(frozen=True, slots=True)
class Stop:
    checkpoint_id: str
    arrive: float
    leave: float
    reason: str  # "tour", "staleness", "request", "break", "briefing", "scripted"


@dataclass(slots=True)
class Trajectory:
    segments: list[Segment] = field(default_factory=list)
    stops: list[Stop] = field(default_factory=list)
    _starts: list[float] = field(default_factory=list)

    @property
    def start(self) -> float:
        return self.segments[0].t0

    @property
    def end(self) -> float:
        return self.segments[-1].t1

    @property
    def walked(self) -> float:
        return 0.0 if not self.segments else self.segments[-1].at(self.segments[-1].t1)[2]

    def add(self, t1: float, p1: Point, level: int, space: str | None, heading: float | None = None) -> None:
        last = self.segments[-1]
        x0, y0 = last.x1, last.y1
        if heading is None:
            heading = math.atan2(p1.y - y0, p1.x - x0) if (p1.x, p1.y) != (x0, y0) else last.heading
        walked0 = last.walked0 + math.hypot(last.x1 - last.x0, last.y1 - last.y0)
        self.segments.append(Segment(last.t1, t1, x0, y0, p1.x, p1.y, level, space, heading, walked0))
        self._starts.append(last.t1)

    def begin(self, t0: float, p: Point, level: int, space: str | None, heading: float) -> None:
        self.segments.append(Segment(t0, t0, p.x, p.y, p.x, p.y, level, space, heading, 0.0))
        self._starts.append(t0)

    def index_at(self, t: float, hint: int = 0) -> int:
        """Index of the segment covering t (searching forward from ``hint``), -1 outside the trajectory."""
        segs = self.segments
        n = len(segs)
        i = hint
        if i < n and segs[i].t0 <= t:
            while i < n and segs[i].t1 < t:
                i += 1
        else:
            i = bisect.bisect_right(self._starts, t) - 1
            if i < 0:
                return -1
            while i < n and segs[i].t1 < t:
                i += 1
        if i >= n or segs[i].t0 > t:
            return -1
        return i


@dataclass(frozen=True, slots=True)
class PatrolPlan:
    base: str  # the team's reception office
    assigned: tuple[str, ...]  # checkpoints this team covers
    mode: RouteMode = RouteMode.TOUR
    requests: bool = True
    take_break: bool = True
    avoid: frozenset[str] = frozenset()  # never go there (skipped-car-park)
    speed_mps: float = WALK_SPEED_MPS


class Walker:
    """Builds a trajectory step by step on the graph."""

    def __init__(self, graph: EstateGraph, rng: random.Random, speed: float) -> None:
        self.graph = graph
        self.rng = rng
        self.speed = speed
        self.traj = Trajectory()
        self.node: str | None = None

    @property
    def t(self) -> float:
        return self.traj.end

    def place(self, t: float, node: str) -> None:
        self.node = node
        self.traj.begin(t, self.graph.pos[node], 0, None, self.rng.uniform(-math.pi, math.pi))

    def walk_to(self, target: str, arrive: float | None = None) -> None:
        """Walk the shortest path at walking speed; with ``arrive``, wait outside the target to arrive then."""
        assert self.node is not None
        path = self.graph.shortest_path(self.node, target)
        points = [self.graph.pos[n] for n in path[1:]]
        speed = self.speed * self.rng.uniform(0.9, 1.1)
        if arrive is not None:
            last = self.traj.segments[-1]
            here = Point(last.x1, last.y1)
            length = sum(a.distance(b) for a, b in zip([here, *points], points, strict=False))
            if length / speed >= arrive - self.t:
                speed = max(length, 0.1) / max(0.5, arrive - self.t)
            else:
                goal = points[-1] if points else here
                prev = points[-2] if len(points) > 1 else here
                d = goal.distance(prev)
                stand_off = self.graph.checkpoints[target].radius_m + 5.0
                if d > stand_off:
                    f = stand_off / d
                    wait_at = Point(goal.x + (prev.x - goal.x) * f, goal.y + (prev.y - goal.y) * f)
                    points = [*points[:-1], wait_at, goal]
                    for p in points[:-1]:
                        self._step(p, speed)
                    self.traj.add(max(self.t, arrive - stand_off / speed), wait_at, 0, None)
                    self.traj.add(arrive, goal, 0, None)
                    self.node = target
                    return
        for p in points:
            self._step(p, speed)
        if arrive is not None and self.t < arrive:
            self.traj.add(arrive, self.graph.pos[target], 0, None)
        self.node = target

    def _step(self, p: Point, speed: float) -> None:
        last = self.traj.segments[-1]
        self.traj.add(self.t + math.hypot(p.x - last.x1, p.y - last.y1) / speed, p, 0, None)

    def dwell(self, until: float, reason: str) -> None:
        """Stay at the current checkpoint until ``until``: inside it if enclosed, wandering if an area."""
        assert self.node is not None
        cp = self.graph.checkpoints[self.node]
        centre = self.graph.pos[self.node]
        enclosed = cp.kind in ENCLOSED_KINDS
        space = cp.id if enclosed else None
        level = cp.level if enclosed else 0
        arrive = self.t
        rng = self.rng
        first = True
        while True:
            last = self.traj.segments[-1]
            r_max = cp.radius_m * 0.8 if cp.kind in WANDERING_KINDS else min(2.5, cp.radius_m * 0.6)
            r = r_max * math.sqrt(rng.random()) if cp.kind in WANDERING_KINDS else rng.uniform(0.3, r_max)
            a = rng.uniform(-math.pi, math.pi)
            p = Point(centre.x + r * math.cos(a), centre.y + r * math.sin(a))
            move = math.hypot(p.x - last.x1, p.y - last.y1) / WANDER_SPEED_MPS
            back = r / WALK_SPEED_MPS
            if self.t + move + back > until:
                if not first:
                    break
                # a short stop: step just inside, turn round, step out
                scale = max(0.0, (until - self.t) / max(1e-9, move + back))
                p = Point(centre.x + (p.x - centre.x) * scale, centre.y + (p.y - centre.y) * scale)
                move = math.hypot(p.x - last.x1, p.y - last.y1) / WANDER_SPEED_MPS
                back = math.hypot(p.x - centre.x, p.y - centre.y) / WALK_SPEED_MPS
            first = False
            self.traj.add(self.t + move, p, level, space)
            hold_until = min(self.t + rng.uniform(20.0, 60.0), until - back)
            self.traj.add(max(self.t, hold_until), p, level, space, heading=rng.uniform(-math.pi, math.pi))
            if hold_until >= until - back - 1e-6:
                break
        # walk back to the checkpoint's door/centre (still inside); the next walk starts outside
        last = self.traj.segments[-1]
        back = math.hypot(centre.x - last.x1, centre.y - last.y1) / WALK_SPEED_MPS
        self.traj.add(max(self.t + back, until), centre, level, space)
        self.traj.stops.append(Stop(cp.id, arrive, self.t, reason))


def _tour_order(graph: EstateGraph, base: str, assigned: Sequence[str]) -> list[str]:
    """Greedy nearest-neighbour tour from the base: a plausible planned round."""
    left = set(assigned) - {base}
    order: list[str] = []
    here = base
    while left:
        nxt = min(sorted(left), key=lambda c: graph.distance(here, c))
        order.append(nxt)
        left.discard(nxt)
        here = nxt
    return order


def plan_evening(  # noqa: PLR0912,PLR0915 - one evening's plan, step by step
    graph: EstateGraph,
    plan: PatrolPlan,
    start: float,
    end: float,
    rng: random.Random,
    last_seen: dict[str, float] | None = None,
) -> Trajectory:
    """One team's evening from ``start`` to ``end`` (epoch s). ``last_seen`` carries staleness across days."""
    seen = last_seen if last_seen is not None else {}
    w = Walker(graph, rng, plan.speed_mps * rng.uniform(0.92, 1.08))
    w.place(start, plan.base)
    w.dwell(start + rng.uniform(300, 600), "briefing")
    tour = [c for c in _tour_order(graph, plan.base, plan.assigned) if c not in plan.avoid]
    tour_i = 0
    duration = end - start
    break_at = start + duration * rng.uniform(0.4, 0.55) if plan.take_break else math.inf
    requests: list[float] = []
    if plan.requests:
        t = start
        while True:
            t += rng.expovariate(REQUEST_RATE_PER_H / 3600.0)
            if t >= end - 1800:
                break
            requests.append(t)
    candidates = [c for c in graph.checkpoints if c not in plan.avoid and c != plan.base]

    def time_to(target: str) -> float:
        assert w.node is not None
        return graph.path_length(graph.shortest_path(w.node, target)) / w.speed

    def fits(target: str, dwell: float) -> bool:
        back = graph.path_length(graph.shortest_path(target, plan.base)) / w.speed
        return w.t + time_to(target) + dwell + back + 120 < end

    while True:
        reason: str
        if w.t >= break_at:
            target, dwell, reason = plan.base, rng.uniform(*BREAK_S), "break"
            break_at = math.inf
        elif requests and w.t >= requests[0]:
            requests.pop(0)
            target = rng.choice(sorted(candidates))
            dwell, reason = rng.uniform(*REQUEST_DWELL_S), "request"
        elif plan.mode is RouteMode.TOUR:
            if not tour:
                break
            target = tour[tour_i % len(tour)]
            tour_i += 1
            dwell, reason = _dwell_for(graph, target, rng), "tour"
        else:
            pool = [c for c in plan.assigned if c not in plan.avoid and c not in (plan.base, w.node)]
            if not pool:
                break
            target = max(pool, key=lambda c: (w.t - seen.get(c, -math.inf), -graph.distance(w.node or c, c)))
            dwell, reason = _dwell_for(graph, target, rng), "staleness"
        if not fits(target, dwell):
            break
        if target != w.node:
            w.walk_to(target)
        w.dwell(w.t + dwell, reason)
        seen[target] = w.t
    if w.node != plan.base:
        w.walk_to(plan.base)
    if w.t < end:
        w.dwell(end, "debriefing")
    return w.traj


def _dwell_for(graph: EstateGraph, cid: str, rng: random.Random) -> float:
    kind = graph.checkpoints[cid].kind
    dwell = rng.uniform(*DWELL_S[kind])
    if kind is CheckpointKind.STAIRWELL_HALL and rng.random() < CONVERSATION_P:
        dwell += rng.uniform(*CONVERSATION_S)
    return dwell


def scripted_trajectory(
    graph: EstateGraph, route: Sequence[tuple[str, float, float]], rng: random.Random
) -> Trajectory:
    """Exactly the given stops (checkpoint, arrive, leave), walking the graph between them."""
    if not route:
        raise ValueError("a scripted route needs at least one stop")
    for cid, _, _ in route:
        if cid not in graph.checkpoints:
            raise ValueError(f"unknown checkpoint {cid!r} in scripted route")
    w = Walker(graph, rng, WALK_SPEED_MPS)
    first, arrive0, _ = route[0]
    w.place(arrive0, first)
    for i, (cid, arrive, leave) in enumerate(route):
        if leave < arrive:
            raise ValueError(f"stop {i} at {cid!r} leaves before it arrives")
        if i:
            if arrive < w.t:
                raise ValueError(f"stop {i} at {cid!r} arrives before the team can leave the previous one")
            w.walk_to(cid, arrive=arrive)
        w.dwell(leave, "scripted")
    return w.traj
