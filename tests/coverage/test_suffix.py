"""Suffix letters: a period's first, partial month read as one row per checkpoint, equal to folding its days.

The scripted year of ``test_monthly`` (late events re-rolled, a dead beacon, DST changes, closures), its settled
months folded as maintenance does, their suffix letters beside them: a year (and a month's tail) whose first
month comes from its suffix equals (``==``) the same period computed without it, on SQLite and on a real influxd;
a re-rolled day refolds the suffixes (through ``RollupScheduler``); retention deletes them with the months. The
month in progress's month-to-date letter has suffixes too: a period from within it reads its settled days as one row
a checkpoint, equal to folding them, and maintenance writes those of the API's default period.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from ronde.coverage.monthly import LetterFold, basis, figures_through, month_bounds, service_days_of, settled
from ronde.coverage.query import CoverageCache, landlord_coverage
from ronde.coverage.settled import fold_month_to_date, recorded_coverage
from ronde.coverage.suffix import default_period_starts, fold_month_suffixes, suffix_letters
from ronde.ingest.rollup import RollupScheduler
from ronde.protocol.calendar import ServiceCalendar
from ronde.store.port import Store
from ronde.store.records import MonthlyFigures, RetentionPolicy, RollupFigures, WriteBatch
from tests.coverage.factory import local, visit
from tests.coverage.test_monthly import CAL, FIRST, LAST, NOW, REG, _View, _write_year
from tests.coverage.written_once import KEEP_THE_YEAR
from tests.support.stores import store_of_kind

LANDLORDS = (None, "paris-habitat", "other")
MARCH, OCTOBER = date(2026, 3, 1), date(2026, 10, 1)  # a dead beacon and spring DST; late events and autumn DST


@pytest.fixture(params=["sqlite", pytest.param("influx", marks=pytest.mark.influx)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with store_of_kind(request, tmp_path, retry_budget_s=5.0, retention=KEEP_THE_YEAR) as s:
        yield s


class _Suffixed(_View):
    """The letters view that reads suffix letters too (``suffixes``) or not; counts what it reads."""

    def __init__(self, store: Store, *, suffixes: bool) -> None:
        super().__init__(store, "monthly")
        self._suffixes = suffixes
        self.suffix_read = 0

    def suffix_figures(self, from_day: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        if not self._suffixes:
            return []
        figures = self._store.suffix_figures(from_day, landlord=landlord)
        self.suffix_read += len(figures)
        return figures

    def span_figures(self, from_day: date, through: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        return self._store.span_figures(from_day, through, landlord=landlord) if self._suffixes else []

    def rollup_figures(self, first: date, last: date, *, landlord: str | None = None) -> list[RollupFigures]:
        self.figures_read += 1
        self.figures_ranges.append((first, last))
        return self._store.rollup_figures(first, last, landlord=landlord)


def _fold_suffixes(store: Store) -> None:
    """Each settled month's suffix letters, as maintenance writes them beside its letters."""
    month = FIRST.replace(day=1)
    while settled(month, LAST):
        store.write_monthly_suffixes(month, fold_month_suffixes(store, REG, CAL, store.monthly_rollups(month), now=NOW))
        month = (month + timedelta(days=32)).replace(day=1)


def _year(
    store: Store, first: date, landlord: str | None, *, suffixes: bool, last: date = LAST, now: datetime = NOW
) -> tuple[_Suffixed, object]:
    view = _Suffixed(store, suffixes=suffixes)
    got = landlord_coverage(
        cast("Store", view), REG, CAL, first, last, landlord=landlord, now=now, cache=CoverageCache()
    )
    return view, got


def test_a_year_whose_first_month_comes_from_its_suffix_equals_the_year_without_it(store: Store) -> None:
    """Years (to the evening in progress) starting mid-March and mid-October: the first month from its suffix
    letters, no daily rollup of it read, equal (``==``) to the same year with that month folded from its rollup
    figures (and to the whole year from daily rollups)."""
    _write_year(store)
    _fold_suffixes(store)
    for first in (date(2026, 3, 10), date(2026, 10, 7), date(2026, 10, 25)):
        for landlord in LANDLORDS:
            case = (first, landlord)
            fast, got = _year(store, first, landlord, suffixes=True)
            slow, want = _year(store, first, landlord, suffixes=False)
            daily = landlord_coverage(
                cast("Store", _View(store, "daily")), REG, CAL, first, LAST, landlord=landlord, now=NOW,
                cache=CoverageCache(),
            )  # fmt: skip
            assert got == want, case
            assert got == daily, case
            piece = (first, month_bounds(first)[1])  # the first, partial month
            assert fast.suffix_read > 0, case  # the first month came from its suffix
            assert piece not in fast.figures_ranges, case  # and none of its rollups was read as figures
            assert slow.figures_ranges.count(piece) == 1, case


def test_every_suffix_of_a_month_equals_its_days_folded(store: Store) -> None:
    """Every service day of March and October as the start of a month's tail: the suffix letters folded
    (``LetterFold``, as ``CoverageCache`` folds them) equal to the bit the same days from their rollup figures
    with the recorded verdicts (``recorded_coverage``), each landlord scope."""
    _write_year(store)
    _fold_suffixes(store)
    wanted = basis(REG, CAL)
    for month in (MARCH, OCTOBER):
        lo, hi = month_bounds(month)
        starts = service_days_of(CAL, lo, hi, NOW)
        for d in [lo + timedelta(days=i) for i in range(1, (hi - lo).days + 1)]:
            for landlord in LANDLORDS:
                got = suffix_letters(store, CAL, d, hi, landlord, wanted, NOW)
                want = recorded_coverage(store, REG, CAL, d, hi, landlord=landlord, now=NOW)
                if d > starts[-1]:
                    assert got is None, (d, landlord)  # no service day left: nothing to read
                    assert want is not None, (d, landlord)
                    assert not want.checkpoints, (d, landlord)
                    continue
                assert got is not None, (d, landlord)
                assert want is not None, (d, landlord)
                fold = LetterFold(REG)
                fold.add_letters(got[0], d, got[1], landlord, hi)
                assert fold.result() == want, (d, landlord)


def test_a_re_rolled_day_refolds_the_suffixes(store: Store) -> None:
    """Maintenance (``RollupScheduler``) folds the settled months with their suffixes, a month folded before
    suffixes existed included; a late visit on a settled October evening re-rolls that day, and the next passes
    fold October again with its suffixes: the year from them shows the visit and equals the year without them."""
    _write_year(store)  # letters folded, no suffix yet
    scheduler = RollupScheduler(store, REG, CAL, lookback_days=40)

    def settle(now: datetime) -> None:
        for _ in range(30):
            scheduler.run(now)
            if scheduler.folded is None:
                return
        raise AssertionError("maintenance kept folding")

    settle(NOW)
    first = date(2026, 10, 7)
    days = service_days_of(CAL, first, month_bounds(first)[1], NOW)
    assert store.suffix_figures(first)  # written by maintenance, for a month folded before they existed
    before = store.suffix_figures(days[0], landlord="paris-habitat")
    late_day = days[-3]
    late = visit(REG, "a", late_day, local(late_day, 21, 0), local(late_day, 21, 3), badge="team-9", event_id="late")
    assert late.first_seen < NOW
    store.write(WriteBatch(visits=(late,)))
    settle(NOW + timedelta(minutes=61))  # the next hourly look at the whole look-back
    assert late_day in scheduler.rerolled or scheduler.folded is None
    after = store.suffix_figures(days[0], landlord="paris-habitat")
    a_before = next(f for f in before if f[0] == "a")
    a_after = next(f for f in after if f[0] == "a")
    assert a_after[8] == a_before[8] + 1  # the late visit, in the suffix's visits
    for landlord in LANDLORDS:
        fast, got = _year(store, first, landlord, suffixes=True)
        _, want = _year(store, first, landlord, suffixes=False)
        assert fast.suffix_read > 0, landlord
        assert got == want, landlord


def test_retention_deletes_the_suffixes_with_their_months(store: Store) -> None:
    """Proof retention of 200 days at the test's ``now`` (cutoff in May): March's suffixes go with its letters,
    October's stay."""
    _write_year(store)
    _fold_suffixes(store)
    march, october = date(2026, 3, 11), date(2026, 10, 7)  # service days (Wednesday to Sunday)
    assert store.suffix_figures(march)
    assert store.suffix_figures(october)
    store.apply_retention(RetentionPolicy(proof_days=200), NOW)
    assert store.suffix_figures(march) == []
    assert store.monthly_figures(MARCH) == []
    assert store.suffix_figures(october)
    assert store.monthly_figures(OCTOBER)


def test_a_refold_replaces_the_months_suffixes(store: Store) -> None:
    """Writing a month's suffixes again replaces them: identical rows read back once, a changed row wins."""
    _write_year(store)
    rows = fold_month_suffixes(store, REG, CAL, store.monthly_rollups(OCTOBER), now=NOW)
    store.write_monthly_suffixes(OCTOBER, rows)
    store.write_monthly_suffixes(OCTOBER, rows)  # a replay
    d = rows[0].from_day
    first = store.suffix_figures(d)
    assert [f[0] for f in first] == sorted({r.letter.checkpoint_id for r in rows if r.from_day == d})
    changed = replace(rows[0], letter=replace(rows[0].letter, visits=rows[0].letter.visits + 5))
    store.write_monthly_suffixes(OCTOBER, [changed, *rows[1:]])
    again = store.suffix_figures(d)
    assert again[0][8] == first[0][8] + 5
    assert again[1:] == first[1:]
    assert store.suffix_figures(d, landlord="other") == [f for f in again if f[4] == "other"]


THROUGH = LAST - timedelta(days=8)  # November's last settled day at ``NOW``: its month-to-date letter ends there


def test_every_suffix_of_a_month_to_date_letter_equals_its_days_folded(store: Store) -> None:
    """November in progress, its month-to-date letter through the 17th and a suffix from every service day up to
    it: each, folded as ``CoverageCache`` folds letters, equals to the bit the same days from their rollup figures
    with the recorded verdicts; a piece ending on another day than the letter's is not read from them."""
    _write_year(store)
    nov = THROUGH.replace(day=1)
    letters = fold_month_to_date(store, REG, CAL, THROUGH, now=NOW)
    store.write_monthly_rollups(letters)
    store.write_monthly_suffixes(nov, fold_month_suffixes(store, REG, CAL, letters, now=NOW))
    wanted = basis(REG, CAL)
    starts = service_days_of(CAL, nov, THROUGH, NOW)
    for d in [nov + timedelta(days=i) for i in range(1, (THROUGH - nov).days + 1)]:
        assert figures_through(nov, store.suffix_figures(d), wanted) in (THROUGH, None)
        for landlord in LANDLORDS:
            got = suffix_letters(store, CAL, d, THROUGH, landlord, wanted, NOW)
            want = recorded_coverage(store, REG, CAL, d, THROUGH, landlord=landlord, now=NOW)
            assert want is not None, (d, landlord)
            if d > starts[-1]:  # no service day left (the 16th and 17th are a Monday and a Tuesday)
                assert got is None, (d, landlord)
                assert not want.checkpoints, (d, landlord)
                continue
            assert got is not None, (d, landlord)
            fold = LetterFold(REG)
            fold.add_letters(got[0], d, got[1], landlord, THROUGH)
            assert fold.result() == want, (d, landlord)
            if d <= starts[-2]:  # a piece ending a service day earlier: the letter does not end there
                assert suffix_letters(store, CAL, d, starts[-2], landlord, wanted, NOW) is None, (d, landlord)
    for first in (date(2026, 11, 4), date(2026, 11, 11)):  # periods to the evening in progress
        for landlord in LANDLORDS:
            fast, got_p = _year(store, first, landlord, suffixes=True)
            slow, want_p = _year(store, first, landlord, suffixes=False)
            assert got_p == want_p, (first, landlord)
            assert fast.suffix_read > 0, (first, landlord)
            assert (first, THROUGH) not in fast.figures_ranges, (first, landlord)  # no rollup of its settled days
            assert (first, THROUGH) in slow.figures_ranges, (first, landlord)


def test_the_default_period_starts_are_those_of_the_last_three_service_days() -> None:
    """Wednesday to Sunday: on a Monday the periods ending Friday, Saturday and Sunday; on a Thursday those ending
    Sunday, Wednesday and Thursday; a closed day is not an end."""
    assert default_period_starts(CAL, date(2026, 12, 7)) == {date(2026, 11, 5), date(2026, 11, 6), date(2026, 11, 7)}
    assert default_period_starts(CAL, date(2026, 12, 3)) == {date(2026, 10, 31), date(2026, 11, 3), date(2026, 11, 4)}
    closed = ServiceCalendar(closed=frozenset({date(2026, 12, 6)}))
    assert default_period_starts(closed, date(2026, 12, 7)) == {date(2026, 11, 4), date(2026, 11, 5), date(2026, 11, 6)}


def test_maintenance_writes_the_month_to_date_suffixes_of_the_default_period(store: Store) -> None:
    """On Thursday December 3 (the data stops on November 25) November is not settled: maintenance folds its
    month-to-date letter through the 25th and the suffix from the default period's first service day (November 4,
    the period ending tonight), and only that one; that period then reads its settled days from it, equal to the
    same period without it."""
    _write_year(store)
    now = local(date(2026, 12, 3), 20, 0).astimezone(NOW.tzinfo)
    scheduler = RollupScheduler(store, REG, CAL, lookback_days=10, months_back=1)
    for _ in range(5):
        scheduler.run(now)
        if scheduler.folded is None:
            break
    through = date(2026, 11, 25)
    assert scheduler.folded_to_date == through
    wanted = basis(REG, CAL)
    written = store.suffix_figures(date(2026, 11, 4))
    assert written
    assert figures_through(date(2026, 11, 1), written, wanted) == through
    assert store.suffix_figures(date(2026, 11, 5)) == []  # not a start of the default period
    assert store.suffix_figures(date(2026, 11, 11)) == []
    for landlord in LANDLORDS:
        args = (store, date(2026, 11, 4), landlord)
        fast, got = _year(*args, suffixes=True, last=date(2026, 12, 3), now=now)
        slow, want = _year(*args, suffixes=False, last=date(2026, 12, 3), now=now)
        assert got == want, landlord
        assert fast.suffix_read > 0, landlord
        assert (date(2026, 11, 4), through) not in fast.figures_ranges, landlord
        assert (date(2026, 11, 4), through) in slow.figures_ranges, landlord
