"""Joins the fragments of one stay: a team standing at an outdoor checkpoint for minutes is heard in
bursts (body shadowing, people and cars in between, the scanner in a pocket), so the detector closes
and reopens the same beacon several times. Coverage counts *passes*, so fragments of one beacon less
than ``merge_gap_s`` apart are one visit; the visit is emitted once that gap has passed without the
beacon coming back (at most ``merge_gap_s`` later than the detector closed it).
"""

from __future__ import annotations

from collections.abc import Callable

from ronde.gateway.detection import DetectedVisit, Thresholds


def combine(a: DetectedVisit, b: DetectedVisit) -> DetectedVisit:
    """One visit spanning both (``a`` first); RSSI mean weighted by advertisement count."""
    count = a.count + b.count
    mean = round((a.rssi_mean * a.count + b.rssi_mean * b.count) / count, 1)
    return DetectedVisit(
        identity=a.identity,
        key=a.key,
        first_seen=min(a.first_seen, b.first_seen),
        last_seen=max(a.last_seen, b.last_seen),
        count=count,
        rssi_max=max(a.rssi_max, b.rssi_max),
        rssi_mean=mean,
    )


class VisitMerger:
    __slots__ = ("max_visit_s", "merge_gap_s", "pending", "thresholds")

    def __init__(
        self, merge_gap_s: float, max_visit_s: float, thresholds: Callable[[str], Thresholds] | None = None
    ) -> None:
        if merge_gap_s < 0:
            raise ValueError("merge_gap_s must not be negative")
        self.merge_gap_s = merge_gap_s
        self.max_visit_s = max_visit_s
        self.thresholds = thresholds
        self.pending: dict[str, DetectedVisit] = {}

    def _passes(self, visits: list[DetectedVisit]) -> list[DetectedVisit]:
        if self.thresholds is None:
            return visits
        out = []
        for v in visits:
            th = self.thresholds(v.key)
            if v.dwell_s >= th.min_pass_s or v.rssi_max >= th.pass_strong_dbm:
                out.append(v)
        return out

    def __len__(self) -> int:
        return len(self.pending)

    def add(self, visits: list[DetectedVisit]) -> list[DetectedVisit]:
        """Takes closed fragments; returns visits that can no longer grow."""
        if self.merge_gap_s == 0:
            return self._passes(visits)
        out: list[DetectedVisit] = []
        for v in visits:
            held = self.pending.get(v.key)
            if held is None:
                self.pending[v.key] = v
            elif (
                v.first_seen - held.last_seen <= self.merge_gap_s
                and max(v.last_seen, held.last_seen) - held.first_seen <= self.max_visit_s
            ):
                self.pending[v.key] = combine(held, v)
            else:
                out.append(held)
                self.pending[v.key] = v
        return self._passes(out)

    def due(self, now: float, is_open: Callable[[str], bool] = lambda _key: False) -> list[DetectedVisit]:
        """Visits whose beacon has stayed away longer than the merge gap (and is not back in a visit
        that may still join them: ``is_open``)."""
        if not self.pending:
            return []
        done = [k for k, v in self.pending.items() if now - v.last_seen > self.merge_gap_s and not is_open(k)]
        return self._passes(sorted((self.pending.pop(k) for k in done), key=lambda v: (v.first_seen, v.key)))

    def flush(self) -> list[DetectedVisit]:
        out = sorted(self.pending.values(), key=lambda v: (v.first_seen, v.key))
        self.pending.clear()
        return self._passes(out)
