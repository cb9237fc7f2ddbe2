"""Settled months read from the letters maintenance folded, and the folds it writes (``ronde.ingest.rollup``).

A whole settled month is read from its monthly rollups (letters); the days of a month-to-date letter's month after
its last day are folded from their rollups; a settled piece within a folded month takes its recorded verdicts.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from operator import itemgetter

from ronde.coverage.compute import RollupReader, compute_coverage, figures_reader
from ronde.coverage.monthly import (
    NO_ROLLUP,
    STATE_LETTER,
    basis,
    coverage_from_monthly,
    figures_through,
    fold_month,
    letters_through,
    month_bounds,
    partial_basis,
    service_days_of,
)
from ronde.coverage.partial import figures_coverage
from ronde.coverage.period import PeriodCoverage, combine_periods, period_coverage
from ronde.coverage.sensing import DEFAULT_HORIZON_DAYS, DayState
from ronde.coverage.suffix import suffix_letters
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.port import Store
from ronde.store.records import (
    DailyRollup,
    MonthlyFigures,
    MonthlyRollup,
)


def letters_of(
    store: Store, calendar: ServiceCalendar, lo: date, hi: date, landlord: str | None, wanted: str, now: datetime
) -> tuple[list[date], list[MonthlyFigures]] | None:
    """The service days and letters (as plain figures) of ``lo..hi`` when one month's letters (basis ``wanted``)
    cover exactly that piece: a whole month, or a month-to-date letter ending on ``hi``. None otherwise (the
    caller folds it). A piece from within a month to its end (a period's first month) reads its suffix letters."""
    if lo != month_bounds(lo)[0]:
        return suffix_letters(store, calendar, lo, hi, landlord, wanted, now)
    figures = store.monthly_figures(lo, landlord=landlord)
    if figures_through(lo, figures, wanted) != hi:
        return None
    days = service_days_of(calendar, lo, hi, now)
    n = len(days)
    if any(len(f[7]) != n for f in figures):
        return None
    return days, figures


def monthly_coverage(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    lo: date,
    hi: date,
    *,
    landlord: str | None,
    now: datetime,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    read: RollupReader | None = None,
) -> PeriodCoverage | None:
    """``lo..hi`` from the start of a month read from its letters: a whole settled month, or a month-to-date
    letter (``partial_basis``) followed by the days after its last one, folded from their rollups. None when the
    month was not folded (or under another basis), or its letters reach past ``hi``: the caller folds the days."""
    m_lo, m_hi = month_bounds(lo)
    if lo != m_lo or hi > m_hi:
        return None
    rows = store.monthly_rollups(lo, landlord=landlord)
    through = letters_through(rows, basis(registry, calendar, horizon_days))
    if through is None or through > hi:
        return None
    days = service_days_of(calendar, lo, through, now)
    if any(len(r.states) != len(days) for r in rows):
        return None
    head = coverage_from_monthly(registry, days, rows, landlord, through if through < m_hi else None)
    if through == hi:
        return head
    rest = compute_coverage(
        store,
        registry,
        calendar,
        through + timedelta(days=1),
        hi,
        landlord=landlord,
        now=now,
        horizon_days=horizon_days,
        include_days=False,
        read=read,
    )
    return replace(combine_periods([head, rest]), first=lo, last=hi)


class _RecordedVerdicts:
    """The sensing verdicts a settled month's monthly rollups recorded (``states``, one letter a day)."""

    __slots__ = ("_index", "_letters")

    def __init__(self, letters: dict[str, str], index: dict[date, int]) -> None:
        self._letters = letters
        self._index = index

    def state(self, rollup: DailyRollup, *, today: date, horizon_days: int = DEFAULT_HORIZON_DAYS) -> DayState:
        del today, horizon_days  # the letter was judged with them when the month was folded
        return _STATE_OF[self._letters[rollup.checkpoint_id][self._index[rollup.service_day]]]


_STATE_OF = {letter: state for state, letter in STATE_LETTER.items()}


def recorded_coverage(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    lo: date,
    hi: date,
    *,
    landlord: str | None,
    now: datetime,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    include_days: bool = False,
    read: RollupReader | None = None,
) -> PeriodCoverage | None:
    """Days ``lo..hi`` of one settled, folded month, or within a month-to-date letter (with day detail if asked):
    figures from their daily rollups, the sensing verdicts from the month's monthly rollups (the letters
    maintenance recorded), so neither the evidence days around them (a week each side) are read nor a verdict
    judged again. What the first, partial month of a period and a detailed month cost otherwise. None when the
    month was not folded under this basis, or a day or checkpoint of ``lo..hi`` is not in its fold (a day past a
    month-to-date letter included): the caller folds the days."""
    m_lo = month_bounds(lo)[0]
    rows = store.monthly_rollups(m_lo, landlord=landlord)
    through = letters_through(rows, basis(registry, calendar, horizon_days))
    if through is None or hi > through:
        return None
    days = service_days_of(calendar, m_lo, through, now)
    if any(len(r.states) != len(days) for r in rows):
        return None
    letters = {r.checkpoint_id: r.states for r in rows}
    index = {d: i for i, d in enumerate(days)}
    wanted = service_days_of(calendar, lo, hi, now)
    if not include_days:  # plain figures, folded in one pass (``partial``): the same sums, without an object a row
        # through the request's reader (kept: the same days' figures serve the tail's evidence and the API's per-day
        # "visited" counts, ``ronde.coverage.visited``), in ``rollup_figures``' order (day, then checkpoint)
        figures = sorted(figures_reader(store, read)(lo, hi, landlord), key=itemgetter(0, 1))
        found = _recorded([(f[0], f[1]) for f in figures], letters, index, wanted)
        return (
            figures_coverage(registry, calendar, lo, hi, figures, letters, index, landlord=landlord, now=now)
            if found
            else None
        )
    rollups = read(lo, hi, landlord) if read else store.rollups(lo, hi, landlord=landlord)
    if not _recorded([(r.service_day, r.checkpoint_id) for r in rollups], letters, index, wanted):
        return None
    return period_coverage(
        registry,
        calendar,
        lo,
        hi,
        rollups=rollups,
        now=now,
        landlord=landlord,
        evidence=_RecordedVerdicts(letters, index),
        horizon_days=horizon_days,
        include_days=include_days,
    )


def _recorded(
    rolled: list[tuple[date, str]], letters: dict[str, str], index: dict[date, int], days: list[date]
) -> bool:
    """Each service day ``days`` has rollups (``rolled``: day, checkpoint), and each rollup its recorded letter."""
    if {day for day, _ in rolled} != set(days):
        return False  # a service day without rollups: its raw visits, as ``compute_coverage`` reads them
    for day, cid in rolled:
        st = letters.get(cid)
        if st is None or st[index[day]] == NO_ROLLUP:
            return False
    return True


def fold_settled_month(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    month: date,
    *,
    now: datetime,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> list[MonthlyRollup]:
    """The monthly rollups of a settled ``month`` (all landlords), folded from its daily rollups
    (and raw visits for any service day left without rollups): what maintenance writes."""
    lo, hi = month_bounds(month)
    cov = compute_coverage(
        store, registry, calendar, lo, hi, landlord=None, now=now, horizon_days=horizon_days, include_days=True
    )
    return fold_month(cov, store.rollups(lo, hi), basis(registry, calendar, horizon_days))


def fold_month_to_date(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    through: date,
    *,
    now: datetime,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> list[MonthlyRollup]:
    """The month-to-date letters (all landlords) of the month of ``through``, its days up to ``through`` folded
    as ``fold_settled_month`` folds a whole month and marked partial (``partial_basis``): what maintenance writes
    for the month in progress, ``through`` being its last settled day (ended more than the horizon ago)."""
    lo = month_bounds(through)[0]
    cov = compute_coverage(
        store, registry, calendar, lo, through, landlord=None, now=now, horizon_days=horizon_days, include_days=True
    )
    return fold_month(cov, store.rollups(lo, through), partial_basis(basis(registry, calendar, horizon_days), through))
