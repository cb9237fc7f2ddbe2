"""Idleness of a checkpoint over a period of service days, folded from per-day figures.

Idleness (Machado et al. 2002) at an instant is the service time since the end of the latest
visit. Over a period it accrues from the start of the period's first window; across days it
carries over in service time only (a gap from Wednesday 21:45 to Thursday 16:30 is 30 + 30 =
60 minutes: the night and closed days add nothing). So a period is the concatenation of its
windows on a "service clock", and its figures are:

- average idleness: time average of idleness over the period, ``Σ gap² / (2 · service time)``;
- worst idleness: the longest gap (the leading gap from the period start and the trailing gap
  to its end included);
- regularity: the coefficient of variation (σ/μ) of the gaps *between* consecutive visits
  (leading and trailing gaps excluded; overlapping visits give gaps of 0): 0 for a perfectly
  regular round, about 1 for visits at random, above 1 for bursts followed by long absences.

Day figures are composable: a daily rollup's first/last seen, presence and mean idleness are
enough to join the trailing gap of one day with the leading gap of the next, so a year is
computed from rollups without raw visits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from ronde.protocol.frozen import fast_init
from ronde.store.records import RollupFigures

# A coefficient of variation of the gaps needs at least two of them.
_MIN_GAPS_FOR_CV = 2


class DayLike(Protocol):
    """What the fold needs of one checkpoint-day: a DailyRollup has it."""

    @property
    def visits(self) -> int: ...
    @property
    def first_seen(self) -> datetime | None: ...
    @property
    def last_seen(self) -> datetime | None: ...
    @property
    def presence_s(self) -> float: ...
    @property
    def max_idle_s(self) -> float: ...
    @property
    def mean_idle_s(self) -> float: ...


@fast_init  # one a checkpoint a piece (ronde.protocol.frozen)
@dataclass(frozen=True, slots=True)
class Idleness:
    service_s: float  # service time of the period
    average_idle_s: float
    worst_idle_s: float
    gaps: int  # gaps between consecutive visits
    mean_gap_s: float | None
    gap_cv: float | None  # coefficient of variation of those gaps; None with fewer than 2


@fast_init  # one a checkpoint a piece, and a fold
@dataclass(frozen=True, slots=True)
class Segment:
    """Idleness summary of consecutive service windows; adjacent segments combine (a monoid), so
    a year is the combination of cached months and the days since."""

    service_s: float = 0.0
    seen: bool = False  # at least one visit
    lead_s: float = 0.0  # segment start → first visit (all of it if unseen)
    trail_s: float = 0.0  # last visit → segment end
    inner_n: int = 0  # gaps between consecutive visits
    inner_s1: float = 0.0  # their sum
    inner_s2: float = 0.0  # sum of their squares
    inner_worst: float = 0.0  # an upper bound of the inner gaps that never exceeds the true worst

    def then(self, later: Segment) -> Segment:
        """This segment followed (on the service clock) by ``later``."""
        if not later.seen:
            if not self.seen:
                total = self.service_s + later.service_s
                return Segment(total, False, total, total)
            return Segment(
                self.service_s + later.service_s,
                True,
                self.lead_s,
                self.trail_s + later.service_s,
                self.inner_n,
                self.inner_s1,
                self.inner_s2,
                self.inner_worst,
            )
        if not self.seen:
            return Segment(
                self.service_s + later.service_s,
                True,
                self.service_s + later.lead_s,
                later.trail_s,
                later.inner_n,
                later.inner_s1,
                later.inner_s2,
                later.inner_worst,
            )
        joined = self.trail_s + later.lead_s
        return Segment(
            self.service_s + later.service_s,
            True,
            self.lead_s,
            later.trail_s,
            self.inner_n + later.inner_n + 1,
            self.inner_s1 + later.inner_s1 + joined,
            self.inner_s2 + later.inner_s2 + joined * joined,
            max(self.inner_worst, later.inner_worst, joined),
        )

    def idleness(self) -> Idleness:
        s = self.service_s
        if not self.seen:
            return Idleness(s, s / 2.0, s, 0, None, None)
        sum_sq = self.lead_s * self.lead_s + self.inner_s2 + self.trail_s * self.trail_s
        worst = max(self.lead_s, self.inner_worst, self.trail_s)
        n = self.inner_n
        mean_gap = self.inner_s1 / n if n > 0 else None
        cv: float | None = None
        if n >= _MIN_GAPS_FOR_CV and mean_gap is not None and mean_gap > 0:
            cv = math.sqrt(max(0.0, self.inner_s2 / n - mean_gap * mean_gap)) / mean_gap
        return Idleness(s, sum_sq / (2.0 * s) if s > 0 else 0.0, worst, n, mean_gap, cv)


def day_segment(w_start: datetime, w_end: datetime, d: DayLike) -> Segment:
    """The segment of one checkpoint-day from its figures (a rollup) and the window they cover."""
    w = max(0.0, (w_end - w_start).total_seconds())
    first, last = d.first_seen, d.last_seen
    if d.visits <= 0 or first is None or last is None:
        return Segment(w, False, w, w)
    lead = max(0.0, (first - w_start).total_seconds())
    trail = max(0.0, (w_end - last).total_seconds())
    inner_s2 = max(0.0, 2.0 * d.mean_idle_s * w - lead * lead - trail * trail)
    inner_s1 = max(0.0, (w - d.presence_s) - lead - trail)
    # the day's worst may be its lead or trail: harmless, those only grow when joined
    return Segment(w, True, lead, trail, d.visits - 1, inner_s1, inner_s2, d.max_idle_s)


EMPTY = Segment()


# The fold's running figures: service time, seen, lead, trail, inner gaps' count, sum, sum of squares, worst.
FoldState = tuple[float, bool, float, float, int, float, float, float]
FOLD_START: FoldState = (0.0, False, 0.0, 0.0, 0, 0.0, 0.0, 0.0)


def fold_segments(days: Iterable[tuple[datetime, datetime, DayLike]]) -> Segment:
    """``day_segment`` of each day combined with ``then``, unrolled (the hot loop of a period)."""
    return segment_of(fold_state(days))


def segment_of(state: FoldState) -> Segment:
    """The segment a fold ended on."""
    total, seen, lead, trail, n, s1, s2, worst = state
    if not seen:
        return Segment(total, False, total, total)
    return Segment(total, True, lead, trail, n, s1, s2, worst)


def fold_state(days: Iterable[tuple[datetime, datetime, DayLike]], start: FoldState = FOLD_START) -> FoldState:
    """``fold_segments``' loop from ``start``: a fold resumed from the state of its first days gives the very
    same figures (the same float operations in the same order) as one fold over all of them."""
    total, seen, lead, trail, n, s1, s2, worst = start
    for w_start, w_end, d in days:
        w = (w_end - w_start).total_seconds()
        if w < 0:
            w = 0.0
        total += w
        first, last = d.first_seen, d.last_seen
        if d.visits <= 0 or first is None or last is None:
            trail += w
            continue
        ld = max(0.0, (first - w_start).total_seconds())
        tr = max(0.0, (w_end - last).total_seconds())
        i2 = max(0.0, 2.0 * d.mean_idle_s * w - ld * ld - tr * tr)
        i1 = max(0.0, (w - d.presence_s) - ld - tr)
        if seen:
            joined = trail + ld
            n += 1
            s1 += joined
            s2 += joined * joined
            worst = max(worst, joined)
        else:
            lead = trail + ld
            seen = True
        n += d.visits - 1
        s1 += i1
        s2 += i2
        worst = max(worst, d.max_idle_s)
        trail = tr
    return (total, seen, lead, trail, n, s1, s2, worst)


def fold_idleness(days: Iterable[tuple[datetime, datetime, DayLike]]) -> Idleness:
    """Fold ``(window start, window end, day figures)`` given in chronological order (one checkpoint).

    The window is the one the figures were computed on (cut at "now" for the evening in progress).
    """
    return fold_segments(days).idleness()


# An estate's window on a day as ``fold_figures`` needs it: start and end in microseconds since the epoch, and its
# length in seconds (``(end - start).total_seconds()``).
WindowMicros = Callable[[str, date], tuple[int, int, float]]


def fold_figures(days: Iterable[RollupFigures], window_of: WindowMicros) -> Segment:
    """``fold_segments`` on plain rollup figures (one checkpoint, in day order), instants in microseconds since the
    epoch: ``timedelta.total_seconds`` is the microseconds divided by 10**6, which is what this computes, so the
    same float operations in the same order (``max`` written as comparisons that pick the same operand)."""
    return segment_of(fold_figures_state(days, window_of))


def fold_figures_state(days: Iterable[RollupFigures], window_of: WindowMicros) -> FoldState:
    """``fold_figures``' state, where ``fold_state`` of the same days' rollups would end (a closed tail's running
    fold, ``tail.close_figures``)."""
    total = lead = trail = s1 = s2 = worst = 0.0
    seen = False
    n = 0
    for day, _, _, _, estate, _, v, _, _, f_us, l_us, p, mx, mean in days:
        ws, we, w = window_of(estate, day)
        if w < 0:
            w = 0.0
        total += w
        if v <= 0 or f_us is None or l_us is None:
            trail += w
            continue
        ld = (f_us - ws) / 10**6
        ld = ld if ld > 0.0 else 0.0
        tr = (we - l_us) / 10**6
        tr = tr if tr > 0.0 else 0.0
        i2 = 2.0 * mean * w - ld * ld - tr * tr
        i1 = (w - p) - ld - tr
        if seen:
            joined = trail + ld
            n += 1
            s1 += joined
            s2 += joined * joined
            if joined > worst:  # noqa: PLR1730 - a comparison, not a call to max, twice a row
                worst = joined
        else:
            lead = trail + ld
            seen = True
        n += v - 1
        s1 += i1 if i1 > 0.0 else 0.0
        s2 += i2 if i2 > 0.0 else 0.0
        if mx > worst:  # noqa: PLR1730 - as above
            worst = mx
        trail = tr
    return (total, seen, lead, trail, n, s1, s2, worst)
