"""The estate as a walkable graph in local metres.

Nodes are checkpoints. Edges are the file's explicit ``paths`` when it has any; otherwise each
checkpoint is linked to its nearest neighbours on the same estate and the components are joined
by their closest pairs, which approximates footpaths between neighbouring entrances. Underground
car parks are dead ends (reached by their ramp, never crossed on the way elsewhere).
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass

from ronde.protocol.estate import Checkpoint, CheckpointKind, Registry

EARTH_RADIUS_M = 6_371_000.0
NEIGHBOURS = 3


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float

    def distance(self, other: Point) -> float:
        return math.hypot(self.x - other.x, self.y - other.y)


class EstateGraph:
    def __init__(self, registry: Registry, neighbours: int = NEIGHBOURS) -> None:
        self.registry = registry
        cps = sorted(registry.checkpoints.values(), key=lambda c: c.id)
        self.checkpoints: dict[str, Checkpoint] = {c.id: c for c in cps}
        lat0 = sum(c.lat for c in cps) / len(cps)
        lon0 = sum(c.lon for c in cps) / len(cps)
        self._lat0, self._lon0 = lat0, lon0
        self.pos: dict[str, Point] = {c.id: self.project(c.lat, c.lon) for c in cps}
        self.adj: dict[str, dict[str, float]] = {c.id: {} for c in cps}
        if registry.paths:
            for a, b in registry.paths:
                self._link(a, b)
        else:
            self._nearest_links(neighbours)
        self._join_components()

    def project(self, lat: float, lon: float) -> Point:
        x = math.radians(lon - self._lon0) * math.cos(math.radians(self._lat0)) * EARTH_RADIUS_M
        y = math.radians(lat - self._lat0) * EARTH_RADIUS_M
        return Point(x, y)

    def distance(self, a: str, b: str) -> float:
        return self.pos[a].distance(self.pos[b])

    def _link(self, a: str, b: str) -> None:
        if a != b:
            d = max(1.0, self.distance(a, b))
            self.adj[a][b] = d
            self.adj[b][a] = d

    def is_dead_end(self, cid: str) -> bool:
        return self.checkpoints[cid].kind is CheckpointKind.CAR_PARK_UNDERGROUND

    def _nearest_links(self, k: int) -> None:
        ids = list(self.checkpoints)
        for a in ids:
            ca = self.checkpoints[a]
            others = sorted(
                (self.distance(a, b), b)
                for b in ids
                if b != a and self.checkpoints[b].estate == ca.estate and not self.is_dead_end(b)
            )
            n = 1 if self.is_dead_end(a) else k
            for _, b in others[:n]:
                self._link(a, b)

    def _components(self) -> list[set[str]]:
        seen: set[str] = set()
        comps: list[set[str]] = []
        for start in self.checkpoints:
            if start in seen:
                continue
            comp = {start}
            stack = [start]
            while stack:
                for nxt in self.adj[stack.pop()]:
                    if nxt not in comp:
                        comp.add(nxt)
                        stack.append(nxt)
            seen |= comp
            comps.append(comp)
        return comps

    def _join_components(self) -> None:
        comps = self._components()
        while len(comps) > 1:
            first = comps[0]
            best: tuple[float, str, str] | None = None
            for other in comps[1:]:
                for a in first:
                    if self.is_dead_end(a):
                        continue
                    for b in other:
                        if self.is_dead_end(b):
                            continue
                        d = self.distance(a, b)
                        if best is None or d < best[0]:
                            best = (d, a, b)
            if best is None:
                raise ValueError("estate graph cannot be connected (only underground car parks?)")
            self._link(best[1], best[2])
            comps = self._components()

    def shortest_path(self, a: str, b: str) -> list[str]:
        """Dijkstra; never passes *through* a dead end."""
        if a == b:
            return [a]
        dist = {a: 0.0}
        prev: dict[str, str] = {}
        heap = [(0.0, a)]
        while heap:
            d, node = heapq.heappop(heap)
            if node == b:
                break
            if d > dist.get(node, math.inf) or (node != a and self.is_dead_end(node)):
                continue
            for nxt, w in sorted(self.adj[node].items()):
                nd = d + w
                if nd < dist.get(nxt, math.inf):
                    dist[nxt] = nd
                    prev[nxt] = node
                    heapq.heappush(heap, (nd, nxt))
        if b not in prev:
            raise ValueError(f"no walkable path from {a!r} to {b!r}")
        path = [b]
        while path[-1] != a:
            path.append(prev[path[-1]])
        return path[::-1]

    def path_length(self, path: list[str]) -> float:
        return sum(self.adj[x][y] for x, y in itertools.pairwise(path))
