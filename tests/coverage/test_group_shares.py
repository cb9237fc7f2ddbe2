"""A landlord's shares counted from letters equal its group in the whole coverage, day by day.

The scripted year of ``test_monthly`` (late events re-rolled, a dead beacon, DST changes, closures) on SQLite and a
real influxd, maintenance run as configured (months, suffixes, spans, tail letters, visited sets): for each landlord,
periods ending today (a month, a year, the tail alone, from a month's first day), ending within the open tail or
settled, seen by day (the tail's letters stand) and in the evening (the tail's states judged with tonight's visits,
``evening_shares``; a beacon silent a week is heard again tonight), ``landlord_shares`` equals the
landlord's group in ``CoverageCache.coverage`` of the same period (its days, its period share) and lists the same
checkpoints; by day it reads no daily rollup; warm, it reads nothing but the tail's stamp; with the letters hidden
(maintenance not run yet) it takes the pieces from the coverage cache, equal as ever.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from ronde.coverage.group_shares import GroupShares, SharesCache, landlord_shares, of_coverage
from ronde.coverage.query import CoverageCache, landlord_coverage
from ronde.coverage.sensing import DEFAULT_HORIZON_DAYS
from ronde.coverage.shares import days_tuple
from ronde.coverage.tail_letters import tail_first
from ronde.ingest.config import IngestConfig
from ronde.ingest.maintenance import MaintenanceRunner
from ronde.store.port import Store
from ronde.store.records import DailyRollup, LetterStates, MonthlyFigures, RollupFigures
from tests.coverage.factory import local
from tests.coverage.test_monthly import CAL, FIRST, LAST, REG, _write_year
from tests.coverage.written_once import KEEP_THE_YEAR
from tests.support.stores import store_of_kind

DAY = local(LAST, 13, 0).astimezone(UTC)  # before the last evening: every begun one rolled up
EVENING = local(LAST, 20, 0).astimezone(UTC)  # the last evening in progress
TAIL = tail_first(LAST, DEFAULT_HORIZON_DAYS)
LANDLORDS = ("paris-habitat", "other")
PERIODS = (
    (LAST - timedelta(days=29), LAST),  # the API's default month
    (FIRST, LAST),  # a year
    (TAIL, LAST),  # the open tail alone
    (date(2026, 10, 1), LAST),  # from a month's first day
    (LAST - timedelta(days=40), LAST - timedelta(days=3)),  # ending within the open tail
    (date(2026, 8, 5), date(2026, 9, 20)),  # settled
)


@pytest.fixture(params=["sqlite", pytest.param("influx", marks=pytest.mark.influx)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with store_of_kind(request, tmp_path, retry_budget_s=5.0, retention=KEEP_THE_YEAR) as s:
        _write_year(s)
        _maintained(s)
        yield s


def _maintained(store: Store) -> None:
    """Maintenance's passes as configured until it has nothing left to fold (a month, or else the month to date and
    the spans, a pass)."""
    k = KEEP_THE_YEAR
    keep = {"raw_days": k.raw_days, "proof_days": k.proof_days, "rejections_days": k.rejections_days}
    config = IngestConfig.model_validate({"name": "m1", "retention": keep})  # the year kept whole, as the store
    runner = MaintenanceRunner.from_config(config, store, REG, CAL)
    for _ in range(20):
        runner.maintain(DAY)
        done = runner.rollups
        if done.folded is None and done.folded_to_date is None and done.spanned is None:
            return
    raise AssertionError("maintenance still folding after 20 passes")


class _Reads:
    """The store with its letters shown or hidden, its daily rollups' and letters' reads counted."""

    def __init__(self, store: Store, *, letters: bool = True, copies: bool = True) -> None:
        self._store = store
        self._letters = letters
        self._copies = copies  # False: the states' copy not known whole (None), as influxd before maintenance copies
        self.daily = 0
        self.letters = 0
        self.states = 0  # of the letters' reads, those of their states only
        self.ranges: list[tuple[date, date]] = []  # of daily rollups read

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def rollups(self, first: date, last: date, *, landlord: str | None = None) -> list[DailyRollup]:
        self.daily += 1
        self.ranges.append((first, last))
        return self._store.rollups(first, last, landlord=landlord)

    def rollup_figures_by_day(self, first: date, last: date, *, landlord: str | None = None) -> list[RollupFigures]:
        self.daily += 1
        self.ranges.append((first, last))
        return self._store.rollup_figures_by_day(first, last, landlord=landlord)

    def rollup_figures(self, first: date, last: date, *, landlord: str | None = None) -> list[RollupFigures]:
        self.daily += 1
        self.ranges.append((first, last))
        return self._store.rollup_figures(first, last, landlord=landlord)

    def _shown(self, got: list[MonthlyFigures]) -> list[MonthlyFigures]:
        self.letters += 1
        return got if self._letters else []

    def monthly_figures(self, month: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        return self._shown(self._store.monthly_figures(month, landlord=landlord))

    def suffix_figures(self, from_day: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        return self._shown(self._store.suffix_figures(from_day, landlord=landlord))

    def span_figures(self, from_day: date, through: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        return self._shown(self._store.span_figures(from_day, through, landlord=landlord))

    def tail_figures(self, from_day: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        return self._shown(self._store.tail_figures(from_day, landlord=landlord))

    def monthly_rollups(self, month: date, *, landlord: str | None = None) -> list[Any]:
        return self._store.monthly_rollups(month, landlord=landlord) if self._letters else []

    def _states(self, got: list[LetterStates] | None) -> list[LetterStates] | None:
        self.letters += 1
        self.states += 1
        return None if not self._copies else got if self._letters else []

    def monthly_states(self, month: date, *, landlord: str | None = None) -> list[LetterStates] | None:
        return self._states(self._store.monthly_states(month, landlord=landlord))

    def suffix_states(self, from_day: date, *, landlord: str | None = None) -> list[LetterStates] | None:
        return self._states(self._store.suffix_states(from_day, landlord=landlord))

    def tail_states(self, from_day: date, *, landlord: str | None = None) -> list[LetterStates] | None:
        return self._states(self._store.tail_states(from_day, landlord=landlord))

    def span_states(self, from_day: date, through: date, *, landlord: str | None = None) -> list[LetterStates] | None:
        return self._states(self._store.span_states(from_day, through, landlord=landlord))


def _whole(store: Store, period: tuple[date, date], landlord: str, now: datetime) -> GroupShares:
    cov = landlord_coverage(store, REG, CAL, *period, landlord=landlord, now=now, cache=CoverageCache())
    return of_coverage(cov, landlord)


def _assert_same(got: GroupShares, want: GroupShares, case: object) -> None:
    assert got.members == want.members, case
    assert (got.group is None) == (want.group is None), case
    if got.group is not None and want.group is not None:
        a, b = got.group, want.group
        assert (a.level, a.id, a.name, a.period) == (b.level, b.id, b.name, b.period), case
        assert days_tuple(a.days) == days_tuple(b.days), case


@pytest.mark.parametrize("now", [DAY, EVENING], ids=["day", "evening"])
def test_shares_from_letters_equal_the_whole_coverage(store: Store, now: datetime) -> None:
    """Every landlord and period, by day and in the evening: equal to the group the whole coverage makes; by day no
    daily rollup is read (the settled pieces and the tail from letters), and a warm request reads no letter."""
    for landlord in LANDLORDS:
        for period in PERIODS:
            case = (landlord, period, now)
            view = _Reads(store)
            cache, kept = CoverageCache(), SharesCache()
            args = (cast("Store", view), REG, CAL, *period)
            got = landlord_shares(*args, landlord=landlord, now=now, cache=cache, kept=kept)
            _assert_same(got, _whole(store, period, landlord, now), case)
            assert got.group is not None, case
            assert got.members, case
            if now == DAY and period[1] == LAST:  # the data set's first, partial month has no letters: days read
                assert all(hi < date(2025, 12, 1) for _, hi in view.ranges), case
                assert view.states, case  # the tail's letters (at least) read as states
            if now == EVENING and period[1] == LAST:  # the tail's states judged here, no coverage made of it
                assert len(kept.evenings) == 1, case
            letters = view.letters
            again = landlord_shares(*args, landlord=landlord, now=now, cache=cache, kept=kept)
            _assert_same(again, got, case)
            assert view.letters == letters, case  # warm: the settled part and the tail kept


def test_without_letters_the_pieces_come_from_the_coverage_cache(store: Store) -> None:
    """Maintenance has not folded anything yet (the letters hidden): every piece is asked of the coverage cache,
    its daily rollups read, equal as ever."""
    for landlord in LANDLORDS:
        for period in PERIODS[:2]:
            view = _Reads(store, letters=False)
            got = landlord_shares(
                cast("Store", view), REG, CAL, *period, landlord=landlord, now=DAY, cache=CoverageCache(),
                kept=SharesCache(),
            )  # fmt: skip
            _assert_same(got, _whole(store, period, landlord, DAY), (landlord, period))
            assert view.daily > 0


@pytest.mark.parametrize("now", [DAY, EVENING], ids=["day", "evening"])
def test_without_a_whole_copy_of_the_states_the_letters_are_read(store: Store, now: datetime) -> None:
    """A store that cannot tell its states' copy whole (influxd before maintenance copied what earlier code wrote):
    the letters' figures are read for every piece, equal as ever, and no daily rollup read by day."""
    for landlord in LANDLORDS:
        for period in PERIODS:
            view = _Reads(store, copies=False)
            got = landlord_shares(
                cast("Store", view), REG, CAL, *period, landlord=landlord, now=now, cache=CoverageCache(),
                kept=SharesCache(),
            )  # fmt: skip
            _assert_same(got, _whole(store, period, landlord, now), (landlord, period, now))
            assert view.letters - view.states >= view.states, (landlord, period)  # figures after each states' None
            if now == DAY and period[1] == LAST:
                assert all(hi < date(2025, 12, 1) for _, hi in view.ranges), (landlord, period)


def test_a_late_event_in_the_tail_is_counted_at_once(store: Store) -> None:
    """A rollup of the tail rewritten (a late event re-rolled) moves its marks: the kept tail no longer holds, the
    tail is taken from its days (its rollups read) until maintenance folds it again, equal to the whole coverage."""
    view = _Reads(store)
    cache, kept = CoverageCache(), SharesCache()
    period = (LAST - timedelta(days=29), LAST)
    args = (cast("Store", view), REG, CAL, *period)
    landlord_shares(*args, landlord="other", now=DAY, cache=cache, kept=kept)
    assert view.daily == 0  # every piece from letters
    day = next(d for d in CAL.service_days(TAIL, LAST) if d < LAST)
    row = store.rollups(day, day, landlord="other")[0]
    store.write_rollups([replace(row, visits=row.visits + 1, presence_s=row.presence_s + 60.0)])
    moved = landlord_shares(*args, landlord="other", now=DAY, cache=cache, kept=kept)
    _assert_same(moved, _whole(store, period, "other", DAY), "moved")
    assert view.daily > 0
