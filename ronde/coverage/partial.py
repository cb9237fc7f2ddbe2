"""The first, partial month of a period folded from plain rollup figures and the month's recorded letters.

Why: a year ending today starts mid-month, and those ~25 days cannot come from the month's letter (its
idleness segment and presence are float sums over the whole month: subtracting the days before the
period's start would not give the same bits, and equality is the rule). So their daily rollups are read,
but as ``RollupFigures`` tuples (no ``DailyRollup`` object, no ``datetime`` per instant) and folded here in
one pass: the same additions in the same order as ``period.period_coverage`` with the recorded verdicts
(``settled.recorded_coverage``), so the result is equal to the bit. Instants are kept in microseconds since
the epoch: ``timedelta.total_seconds`` is that integer divided by 10**6, which is what this computes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from ronde.coverage.idleness import fold_figures
from ronde.coverage.period import CheckpointPeriod, PeriodCoverage
from ronde.coverage.sensing import DayState
from ronde.coverage.service_time import effective_window, period_windows
from ronde.coverage.shares import CheckpointDayRef, group_coverage
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.records import RollupFigures

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_STATE = {"C": DayState.COVERED, "N": DayState.NOT_VISITED, "X": DayState.NO_DATA}


def _instant(us: int | None) -> datetime | None:
    return None if us is None else _EPOCH + timedelta(microseconds=us)


class Windows:
    """Each (estate, day)'s window as microseconds since the epoch and its length in seconds (as
    ``period_coverage``'s ``window_of``: the estate's own window, else the calendar's)."""

    def __init__(
        self, calendar: ServiceCalendar, windows: dict[date, tuple[datetime, datetime]], now: datetime | None
    ) -> None:
        self._calendar = calendar
        self._windows = windows
        self._now = now
        self._known: dict[tuple[str, date], tuple[int, int, float]] = {}

    def of(self, estate: str, day: date) -> tuple[int, int, float]:
        key = (estate, day)
        got = self._known.get(key)
        if got is None:
            own = effective_window(self._calendar.for_estate(estate), day, self._now)
            start, end = own if own is not None else self._windows[day]
            got = self._known[key] = ((start - _EPOCH) // _US, (end - _EPOCH) // _US, (end - start).total_seconds())
        return got


def figures_coverage(
    registry: Registry,
    calendar: ServiceCalendar,
    lo: date,
    hi: date,
    figures: list[RollupFigures],
    letters: dict[str, str],
    index: dict[date, int],
    *,
    landlord: str | None,
    now: datetime,
) -> PeriodCoverage:
    """``lo..hi`` (no day detail) from its rollup figures (in the store's order: day, checkpoint) and the month's
    letters (``letters`` per checkpoint, ``index`` a day's position in them): equal to ``period_coverage`` of the
    same rollups with the recorded verdicts. The caller checked that every figure has its letter."""
    windows, partial = period_windows(calendar, lo, hi, now)
    rows: dict[str, list[RollupFigures]] = defaultdict(list)
    for f in figures:
        if f[0] in windows and (landlord is None or f[5] == landlord):
            rows[f[1]].append(f)
    of = Windows(calendar, windows, now).of
    refs: list[CheckpointDayRef] = []
    out = [checkpoint_of_figures(registry, cid, rows[cid], of, letters[cid], index, refs) for cid in sorted(rows)]
    return PeriodCoverage(
        lo, hi, landlord, tuple(sorted(windows)), partial, tuple(out), tuple(group_coverage(registry, refs))
    )


def checkpoint_of_figures(
    registry: Registry,
    cid: str,
    days: list[RollupFigures],
    window_of: Callable[[str, date], tuple[int, int, float]],
    letters: str,
    index: dict[date, int],
    refs: list[CheckpointDayRef],
) -> CheckpointPeriod:
    """``period._checkpoint_period`` on figures: the inline verdicts, else the recorded letter."""
    counts = dict.fromkeys(DayState, 0)
    visits = 0
    presence = 0.0
    first_us: int | None = None
    last_us: int | None = None
    for day, _, _, building, estate, owner, v, _, is_covered, f_us, l_us, p, _, _ in days:
        if is_covered:
            state = DayState.COVERED
        elif v > 0:
            state = DayState.NOT_VISITED
        else:
            state = _STATE[letters[index[day]]]
        counts[state] += 1
        refs.append((building, estate, owner, day, state))
        visits += v
        presence += p
        if f_us is not None and first_us is None:
            first_us = f_us
        if l_us is not None:
            last_us = l_us
    seg = fold_figures(days, window_of)
    sample = days[0]
    c = registry.checkpoints.get(cid)
    return CheckpointPeriod(
        checkpoint_id=cid,
        name=c.name if c is not None else cid,
        kind=sample[2],
        building=sample[3],
        estate=sample[4],
        landlord=sample[5],
        expected_per_day=c.expected_visits if c is not None else sample[7],
        service_days=len(days),
        visits=visits,
        covered_days=counts[DayState.COVERED],
        not_visited_days=counts[DayState.NOT_VISITED],
        no_data_days=counts[DayState.NO_DATA],
        presence_s=presence,
        first_seen=_instant(first_us),
        last_seen=_instant(last_us),
        idleness=seg.idleness(),
        segment=seg,
    )
