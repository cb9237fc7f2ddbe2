"""Tail letters: the open tail's closed evenings folded by maintenance, read while their evidence holds.

The scripted year of ``test_monthly`` (late events re-rolled, a dead beacon, DST changes, closures), seen at 13:00 on
its last day (25 November, before that evening): maintenance (``TailScheduler``) folds the tail of that day, the
last ``horizon_days`` evenings; a month, a year and the tail alone, for every landlord scope, then equal (``==``)
the same periods with the tail folded from its days and the periods folded from daily rollups, and their per-day
"visited" counts equal too, on SQLite and on a real influxd, without reading the tail's daily rollups. A late event
in the tail, a heartbeat on a new day, the next date or an evening in progress make the reader fold the days (still
equal); maintenance folds them again only when that evidence moved.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from ronde.coverage.monthly import basis
from ronde.coverage.query import CoverageCache, landlord_coverage
from ronde.coverage.sensing import DEFAULT_HORIZON_DAYS
from ronde.coverage.tail_letters import tail_first
from ronde.coverage.visited import VisitedCache, visited_days
from ronde.ingest.config import IngestConfig
from ronde.ingest.maintenance import MaintenanceRunner
from ronde.ingest.tail_fold import TailScheduler
from ronde.store.port import Store
from ronde.store.records import GatewayStateRecord, MonthlyFigures, RetentionPolicy, RollupFigures, WriteBatch
from tests.coverage.factory import local
from tests.coverage.test_monthly import CAL, FIRST, LAST, REG, _View, _write_year
from tests.coverage.test_suffix import LANDLORDS
from tests.coverage.written_once import KEEP_THE_YEAR
from tests.support.stores import store_of_kind

H = DEFAULT_HORIZON_DAYS
DAY = local(LAST, 13, 0).astimezone(UTC)  # before the last evening: every begun one rolled up
TAIL = tail_first(LAST, H)


@pytest.fixture(params=["sqlite", pytest.param("influx", marks=pytest.mark.influx)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with store_of_kind(request, tmp_path, retry_budget_s=5.0, retention=KEEP_THE_YEAR) as s:
        _write_year(s)
        yield s


class _Tails:
    """The store with its tail letters read (counted) or hidden, the ranges of daily figures read recorded."""

    def __init__(self, store: Store, *, letters: bool) -> None:
        self._store = store
        self._letters = letters
        self.tail_read = 0
        self.figures_ranges: list[tuple[date, date]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def tail_figures(self, from_day: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        if not self._letters:
            return []
        got = self._store.tail_figures(from_day, landlord=landlord)
        self.tail_read += len(got)
        return got

    def rollup_figures_by_day(self, first: date, last: date, *, landlord: str | None = None) -> list[RollupFigures]:
        self.figures_ranges.append((first, last))
        return self._store.rollup_figures_by_day(first, last, landlord=landlord)


def _periods() -> list[tuple[date, date]]:
    return [(LAST - timedelta(days=29), LAST), (FIRST, LAST), (TAIL, LAST)]


def _answers(store: Store, first: date, landlord: str | None, *, letters: bool, now: datetime = DAY) -> tuple[
    object, object, _Tails
]:  # fmt: skip
    """The period's coverage and its per-day visited checkpoints, as the API asks them (a fresh cache)."""
    view = _Tails(store, letters=letters)
    seen, cache = cast("Store", view), CoverageCache()
    cov = landlord_coverage(seen, REG, CAL, first, LAST, landlord=landlord, now=now, cache=cache)
    kept = VisitedCache()
    days = visited_days(seen, REG, CAL, first, LAST, landlord=landlord, now=now, cache=kept, coverage=cache)
    hits = cache.hits
    again = landlord_coverage(seen, REG, CAL, first, LAST, landlord=landlord, now=now, cache=cache)
    assert again == cov  # warm: the whole answer kept
    assert cache.hits > hits
    assert visited_days(seen, REG, CAL, first, LAST, landlord=landlord, now=now, cache=kept, coverage=cache) == days
    return cov, days, view


def _assert_equal_either_way(store: Store, *, read: bool, now: datetime = DAY) -> None:
    for first, last in _periods():
        for landlord in LANDLORDS:
            case = (first, landlord)
            got, got_days, view = _answers(store, first, landlord, letters=True, now=now)
            want, want_days, _ = _answers(store, first, landlord, letters=False, now=now)
            daily = landlord_coverage(
                cast("Store", _Tails(cast("Store", _View(store, "daily")), letters=False)), REG, CAL, first, last,
                landlord=landlord, now=now, cache=CoverageCache(),
            )  # fmt: skip
            assert got == want, case
            assert got == daily, case
            assert got_days == want_days, case
            tail_rows_read = any(hi >= TAIL for _, hi in view.figures_ranges)
            assert (view.tail_read > 0 and not tail_rows_read) is read, case


def test_maintenance_folds_the_tail_and_periods_ending_today_read_it_equal(store: Store) -> None:
    """Once folded, a month, a year and the tail alone, of each landlord scope, come from the letters without
    reading the tail's daily rollups, equal to the same periods with the tail folded from days and to the periods
    folded from daily rollups only."""
    tails = TailScheduler(store, REG, CAL)
    assert tails.run(DAY) == TAIL
    assert tails.run(DAY + timedelta(minutes=5)) is None  # nothing moved: not folded again
    assert TailScheduler(store, REG, CAL).run(DAY) is None  # another process finds them in the store
    letters = store.tail_figures(TAIL)
    assert letters == sorted(letters)
    assert {f[4] for f in letters} == {"paris-habitat", "other"}
    assert store.tail_figures(TAIL, landlord="other") == [f for f in letters if f[4] == "other"]
    _assert_equal_either_way(store, read=True)


def test_a_late_event_in_the_tail_makes_the_days_read_until_maintenance_folds_again(store: Store) -> None:
    """A rollup of the tail rewritten (a late event re-rolled) moves its marks: the letters no longer stand for the
    tail, the days are folded (equal); the next maintenance pass folds the letters again, read again."""
    tails = TailScheduler(store, REG, CAL)
    assert tails.run(DAY) == TAIL
    day = next(d for d in CAL.service_days(TAIL, LAST) if d < LAST)
    row = store.rollups(day, day, landlord="other")[0]
    store.write_rollups([replace(row, visits=row.visits + 1, presence_s=row.presence_s + 60.0)])
    _assert_equal_either_way(store, read=False)
    assert tails.run(DAY) == TAIL
    _assert_equal_either_way(store, read=True)


def test_a_heartbeat_on_a_new_day_or_the_next_date_moves_the_evidence(store: Store) -> None:
    """A gateway state in an evening of the tail no record was evidence for: other evidence, so the days are folded
    (equal) and maintenance folds the letters again; the next day's tail is another (its letters not read)."""
    tails = TailScheduler(store, REG, CAL)
    assert tails.run(DAY) == TAIL
    evening = local(next(d for d in CAL.service_days(TAIL, LAST) if d < LAST), 18, 0).astimezone(UTC)
    beat = GatewayStateRecord(at=evening, gateway_id="gw-new", online=True, scanning=True)
    store.write(WriteBatch(gateway_states=(beat,)))
    _assert_equal_either_way(store, read=False)
    assert tails.run(DAY) == TAIL
    _assert_equal_either_way(store, read=True)
    tomorrow = DAY + timedelta(days=1)
    _, _, view = _answers(store, TAIL + timedelta(days=1), "paris-habitat", letters=True, now=tomorrow)
    assert view.tail_read == 0  # another tail (from the next day): no letter of it, the days folded


def test_no_letters_stand_for_an_evening_in_progress(store: Store) -> None:
    """At 20:00 the last evening is in progress (its raw visits count): maintenance folds nothing and a request
    folds its days, equal as ever."""
    evening = local(LAST, 20, 0).astimezone(UTC)
    tails = TailScheduler(store, REG, CAL)
    assert tails.run(evening) is None
    assert tails.run(DAY) == TAIL
    got, got_days, view = _answers(store, LAST - timedelta(days=29), "paris-habitat", letters=True, now=evening)
    want, want_days, _ = _answers(store, LAST - timedelta(days=29), "paris-habitat", letters=False, now=evening)
    assert (got, got_days) == (want, want_days)
    assert view.tail_read == 0


def test_retention_deletes_old_tail_letters(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Tail letters are proof: a SQLite store deletes those older than its proof retention (InfluxDB's retention
    policy does it there)."""
    with store_of_kind(request, tmp_path, kind="sqlite", retention=KEEP_THE_YEAR) as s:
        _write_year(s)
        assert TailScheduler(s, REG, CAL).run(DAY) == TAIL
        assert s.tail_figures(TAIL)
        s.apply_retention(RetentionPolicy(raw_days=30, proof_days=3, rejections_days=30), DAY)
        assert s.tail_figures(TAIL) == []


def test_ingest_maintenance_folds_the_tail_after_the_rollups(store: Store) -> None:
    """The maintenance role as configured (``MaintenanceRunner.from_config``) has the step: a pass by day leaves
    the tail's letters, which a month then reads."""
    config = IngestConfig.model_validate({"name": "m1"})
    runner = MaintenanceRunner.from_config(config, store, REG, CAL)
    assert runner.tails is not None
    runner.maintain(DAY)
    assert {f[6].rpartition(" tail=")[0] for f in store.tail_figures(TAIL)} == {basis(REG, CAL, H)}
    _, _, view = _answers(store, LAST - timedelta(days=29), "paris-habitat", letters=True)
    assert view.tail_read > 0


def test_a_rollup_edited_around_the_store_makes_maintenance_fold_again(store: Store) -> None:
    """The rollup check finds a day edited without its marks moving (InfluxDB): a day the tail reaches makes the
    next pass fold it again, same digest or not; an older day does not."""
    tails = TailScheduler(store, REG, CAL)
    assert tails.run(DAY) == TAIL
    tails.edited([TAIL - timedelta(days=3 * H)])
    assert tails.run(DAY) is None
    tails.edited([TAIL + timedelta(days=1)])
    assert tails.run(DAY) == TAIL
    assert tails.run(DAY) is None
