"""Tonight's figures when only ``now`` moved: what does not depend on the window's end is kept per checkpoint.

Why: the window of the evening in progress is cut at ``now``, so with a clock that moves between requests (the
real one) every checkpoint's row of tonight and its figures over the period move at every request, though between
two requests nearly every checkpoint heard nothing new and has no visit going on at the cut. ``ronde.coverage
.evening`` then made each row and figure again from its passes: at city scale (2,500 checkpoints) ~50 ms of CPU a
warm request beside ~25 with a fixed ``now`` (docs/performance.md, "Evening in progress, December 6"). What moves
with the window's end alone is the trailing gap: the row's worst and mean idleness, and tonight's step of the
idleness fold. Here the rest is kept (a row's squared gaps but the last, the fold's state after tonight's leading
gap is joined), and a request computes only what moved: the same float operations, in the same order, on the
same values as ``daily.day_figures`` and ``idleness.fold_state`` over the whole (``sum`` over the same squares,
``max`` over the same gaps), so the figures are equal to the bit (``tests/coverage/test_moving.py`` sweeps
``now`` across an evening against the path without these shapes, and ``tests/coverage/test_monthly.py`` against
the whole tail).

A row's clipped parts hold while no pass starts or ends between the two cuts (a pass going on at the cut, or
begun since, is computed whole again).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ronde.coverage.idleness import FoldState, Segment, segment_of
from ronde.protocol.frozen import fast_new
from ronde.store.records import DailyRollup

Window = tuple[datetime, datetime]
_rollup = fast_new(DailyRollup)  # ``records`` cannot take ``fast_init``: it is part of the bench data sets' key


@dataclass(frozen=True, slots=True)
class RowShape:
    """A checkpoint's row of tonight without its window's end: its passes (to tell whether their clipped parts
    hold at another cut), the squares of its gaps but the trailing one, in ``day_figures``' order, their
    largest, and the end of its last part (None: no part in the window)."""

    start: datetime
    passes: tuple[tuple[datetime, datetime], ...]
    squares: tuple[float, ...]
    worst: float
    last: datetime | None

    def holds(self, before: Window, after: Window) -> bool:
        """The same clipped parts in both windows: the same start, and no pass ends at or after the earlier cut
        while it starts (clipped) before the later one."""
        if before[0] != after[0] or before[0] != self.start:
            return False
        lo_cut, hi_cut = min(before[1], after[1]), max(before[1], after[1])
        start = self.start
        return all(hi < lo_cut or max(lo, start) >= hi_cut for lo, hi in self.passes)

    def idle(self, end: datetime) -> tuple[float, float]:
        """The row's ``max_idle_s`` and ``mean_idle_s`` for a window ending at ``end`` (``day_figures``')."""
        window = max(0.0, (end - self.start).total_seconds())
        if self.last is None:
            return window, window / 2.0
        trail = (end - self.last).total_seconds()
        mean = sum((*self.squares, trail * trail)) / (2.0 * window) if window > 0 else 0.0
        return max(self.worst, trail), mean


def row_shape(
    passes: tuple[tuple[datetime, datetime], ...], parts: Sequence[tuple[datetime, datetime]], start: datetime
) -> RowShape:
    """The shape of a row whose passes clipped to a window starting at ``start`` are ``parts`` (any order): the
    gaps as ``day_figures`` walks them."""
    ordered = sorted(parts)
    if not ordered:
        return RowShape(start, passes, (), 0.0, None)
    gaps = [(ordered[0][0] - start).total_seconds()]
    cur_hi = ordered[0][1]
    for lo, hi in ordered[1:]:
        if lo > cur_hi:
            gaps.append((lo - cur_hi).total_seconds())
            cur_hi = hi
        else:
            gaps.append(0.0)
            cur_hi = max(cur_hi, hi)
    return RowShape(start, passes, tuple(g * g for g in gaps), max(gaps), cur_hi)


def moved_row(row: DailyRollup, shape: RowShape, end: datetime) -> DailyRollup:
    """``row`` with the idleness of a window ending at ``end`` (its clipped parts holding)."""
    worst, mean = shape.idle(end)
    r = row
    return _rollup(
        r.service_day,
        r.checkpoint_id,
        r.kind,
        r.building,
        r.estate,
        r.landlord,
        r.visits,
        r.expected,
        r.covered,
        r.first_seen,
        r.last_seen,
        r.presence_s,
        worst,
        mean,
        r.chain_digest,
    )


@dataclass(frozen=True, slots=True)
class FoldShape:
    """``fold_state`` of tonight's row resumed from the closed evenings' state, up to what the window's end moves:
    the state after tonight's leading gap is joined (``ld`` is that gap; ``last`` the row's last seen), for a row
    with these ``visits``, first and last seen and presence."""

    start: datetime
    state: FoldState
    visits: int
    first_seen: datetime | None
    last_seen: datetime | None
    presence_s: float
    ld: float

    def fits(self, r: DailyRollup, window: Window) -> bool:
        return (
            window[0] == self.start
            and r.visits == self.visits
            and r.first_seen == self.first_seen
            and r.last_seen == self.last_seen
            and r.presence_s == self.presence_s
        )

    def segment(self, r: DailyRollup, end: datetime) -> Segment:
        """``segment_of(fold_state(((start, end, r),), fold))`` for a row that ``fits``."""
        total, seen, lead, trail, n, s1, s2, worst = self.state
        w = (end - self.start).total_seconds()
        if w < 0:
            w = 0.0
        total += w
        last = self.last_seen
        if self.visits <= 0 or self.first_seen is None or last is None:
            return segment_of((total, seen, lead, trail + w, n, s1, s2, worst))
        ld = self.ld
        tr = max(0.0, (end - last).total_seconds())
        i2 = max(0.0, 2.0 * r.mean_idle_s * w - ld * ld - tr * tr)
        i1 = max(0.0, (w - r.presence_s) - ld - tr)
        return segment_of((total, seen, lead, tr, n, s1 + i1, s2 + i2, max(worst, r.max_idle_s)))


def fold_shape(fold: FoldState, r: DailyRollup, start: datetime) -> FoldShape:
    """The ``FoldShape`` of tonight's row ``r`` in a window starting at ``start``, resumed from ``fold``:
    ``fold_state``'s loop for one day up to the trailing gap."""
    total, seen, lead, trail, n, s1, s2, worst = fold
    first, last = r.first_seen, r.last_seen
    if r.visits <= 0 or first is None or last is None:
        return FoldShape(start, fold, r.visits, first, last, r.presence_s, 0.0)
    ld = max(0.0, (first - start).total_seconds())
    if seen:
        joined = trail + ld
        n += 1
        s1 += joined
        s2 += joined * joined
        worst = max(worst, joined)
    else:
        lead = trail + ld
        seen = True
    n += r.visits - 1
    return FoldShape(start, (total, seen, lead, trail, n, s1, s2, worst), r.visits, first, last, r.presence_s, ld)
