"""Span letters: a year's first, partial month and its whole settled months read as one row per checkpoint.

The scripted year of ``test_monthly`` (late events re-rolled, a dead beacon, DST changes, closures), its months and
their suffix letters folded as maintenance folds them, then the spans through October: a year whose settled part
comes from its span equals (``==``) the same year read month by month and the year from daily rollups, on SQLite
and on a real influxd; a letter written after a span makes it unread; maintenance (``RollupScheduler``) writes them
and writes them again after a late event; retention deletes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from ronde.coverage.monthly import month_bounds, service_days_of
from ronde.coverage.query import CoverageCache, landlord_coverage
from ronde.coverage.sensing import DEFAULT_HORIZON_DAYS
from ronde.coverage.settled import fold_month_to_date
from ronde.coverage.spans import fold_month_spans, latest_settled_month, span_starts
from ronde.coverage.suffix import fold_month_suffixes
from ronde.ingest.rollup import RollupScheduler
from ronde.store.port import Store
from ronde.store.records import MonthlyFigures, RetentionPolicy, WriteBatch
from tests.coverage.factory import local, visit
from tests.coverage.test_monthly import CAL, FIRST, LAST, NOW, REG, _View, _write_year
from tests.coverage.test_suffix import LANDLORDS, OCTOBER, _fold_suffixes
from tests.coverage.written_once import KEEP_THE_YEAR
from tests.support.stores import store_of_kind

H = DEFAULT_HORIZON_DAYS
NOVEMBER = date(2026, 11, 1)


@pytest.fixture(params=["sqlite", pytest.param("influx", marks=pytest.mark.influx)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with store_of_kind(request, tmp_path, retry_budget_s=5.0, retention=KEEP_THE_YEAR) as s:
        yield s


class _Letters(_View):
    """The letters' view, span letters read (``spans``) or not; counts the rows of each."""

    def __init__(self, store: Store, *, spans: bool, months: dict[date, list[MonthlyFigures]] | None = None) -> None:
        super().__init__(store, "monthly")
        self._spans = spans
        self._months = months or {}  # letters shown in place of the store's (a month's, altered)
        self.spans_read = 0

    def monthly_figures(self, month: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        if month in self._months:
            return [f for f in self._months[month] if landlord is None or f[4] == landlord]
        return super().monthly_figures(month, landlord=landlord)

    def span_figures(self, from_day: date, through: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        if not self._spans:
            return []
        figures = self._store.span_figures(from_day, through, landlord=landlord)
        self.spans_read += len(figures)
        return figures


def _settle(store: Store) -> None:
    """The year as maintenance leaves it on the evening of ``LAST``: months, suffixes, month to date, spans."""
    _write_year(store)
    _fold_suffixes(store)
    store.write_monthly_rollups(fold_month_to_date(store, REG, CAL, LAST - timedelta(days=H + 1), now=NOW))
    store.write_month_spans(OCTOBER, fold_month_spans(store, REG, CAL, OCTOBER, now=NOW, horizon_days=H))


def _year(store: Store, first: date, landlord: str | None, view: _Letters) -> object:
    del store
    return landlord_coverage(
        cast("Store", view), REG, CAL, first, LAST, landlord=landlord, now=NOW, cache=CoverageCache()
    )


def test_the_spans_run_through_the_last_settled_month_from_the_days_a_year_starts_on() -> None:
    """On the evening of ``LAST`` (25 November) October is the last settled month; a year ending before November
    settles (8 December) starts from about 26 November to 8 December of the year before, and its spans start there."""
    assert latest_settled_month(LAST, H) == OCTOBER
    assert latest_settled_month(date(2026, 12, 8), H) == NOVEMBER  # 30 November + 7 days ended
    assert latest_settled_month(date(2026, 12, 7), H) == OCTOBER
    starts = span_starts(CAL, OCTOBER, H, NOW)
    for end in (LAST, date(2026, 11, 8), date(2026, 12, 7)):
        first = service_days_of(CAL, end - timedelta(days=364), end, NOW)[0]
        assert first in starts, end
    assert all(d.day != 1 and d < OCTOBER for d in starts)


def test_a_year_from_its_span_equals_the_year_month_by_month_and_from_days(store: Store) -> None:
    """Years to the evening in progress starting on four days of the spans' range, each landlord scope: the settled
    part from one span row a checkpoint (no monthly letter of the spanned months read), equal (``==``) to the year
    read month by month and to the year folded from daily rollups."""
    _settle(store)
    for first in (FIRST, date(2025, 11, 30), date(2025, 12, 4), date(2025, 12, 10)):
        for landlord in LANDLORDS:
            case = (first, landlord)
            fast = _Letters(store, spans=True)
            slow = _Letters(store, spans=False)
            got, want = _year(store, first, landlord, fast), _year(store, first, landlord, slow)
            daily = landlord_coverage(
                cast("Store", _View(store, "daily")), REG, CAL, first, LAST, landlord=landlord, now=NOW,
                cache=CoverageCache(),
            )  # fmt: skip
            assert got == want, case
            assert got == daily, case
            assert fast.spans_read > 0, case
            assert fast.months == [NOVEMBER], case  # only the month to date's letters: the rest came from the span
            assert len(slow.months) >= 11, case


def test_a_checkpoint_missing_from_a_month_is_spanned_with_its_days_unlettered(store: Store) -> None:
    """A checkpoint without a letter in June (a registry change, say): its span has ``-`` for June's days, and the
    year from the spans equals the year read month by month from the same letters, groups included."""
    _settle(store)
    june = date(2026, 6, 1)
    without = [f for f in store.monthly_figures(june) if f[0] != "a"]
    view = _Letters(store, spans=False, months={june: without})
    spans = fold_month_spans(cast("Store", view), REG, CAL, OCTOBER, now=NOW, horizon_days=H)
    assert spans
    store.write_month_spans(OCTOBER, spans)
    a = next(s.letter for s in spans if s.letter.checkpoint_id == "a" and s.from_day == FIRST)
    days = service_days_of(CAL, FIRST, month_bounds(OCTOBER)[1], NOW)
    june_days = [i for i, d in enumerate(days) if d.replace(day=1) == june]
    assert len(a.states) == len(days)
    assert {a.states[i] for i in june_days} == {"-"}
    for landlord in LANDLORDS:
        fast = _Letters(store, spans=True, months={june: without})
        got = _year(store, FIRST, landlord, fast)
        want = _year(store, FIRST, landlord, _Letters(store, spans=False, months={june: without}))
        assert fast.spans_read > 0, landlord
        assert got == want, landlord


def test_a_checkpoint_that_moved_leaves_its_days_without_spans(store: Store) -> None:
    """A checkpoint filed under another building in June: no span is folded from a day before June (its letters
    would count for two buildings): a reader then takes the year month by month."""
    _settle(store)
    june = date(2026, 6, 1)
    moved = [(*f[:2], "elsewhere", *f[3:]) if f[0] == "a" else f for f in store.monthly_figures(june)]
    view = _Letters(store, spans=False, months={june: moved})
    assert fold_month_spans(cast("Store", view), REG, CAL, OCTOBER, now=NOW, horizon_days=H) == []


def test_a_letter_written_after_a_span_makes_it_unread(store: Store) -> None:
    """A month's letter or suffix letter written again after the spans (changed): the spans reaching that month are
    not read (SQLite drops them, InfluxDB reads the letters' marks), until maintenance writes them again. The month
    to date's letters (after the spans' months) leave them."""
    _settle(store)
    assert store.span_figures(FIRST, OCTOBER)
    store.write_monthly_rollups(fold_month_to_date(store, REG, CAL, LAST - timedelta(days=H), now=NOW))
    assert store.span_figures(FIRST, OCTOBER)
    june = store.monthly_rollups(date(2026, 6, 1))
    store.write_monthly_rollups([replace(june[0], visits=june[0].visits + 1), *june[1:]])
    assert store.span_figures(FIRST, OCTOBER) == []
    store.write_month_spans(OCTOBER, fold_month_spans(store, REG, CAL, OCTOBER, now=NOW, horizon_days=H))
    spans = store.span_figures(FIRST, OCTOBER)
    assert spans
    assert store.span_figures(FIRST, OCTOBER, landlord="other") == [f for f in spans if f[4] == "other"]
    d = span_starts(CAL, OCTOBER, H, NOW)[-1]
    suffixes = store.suffix_figures(d)
    assert suffixes
    rows = fold_month_suffixes(store, REG, CAL, store.monthly_rollups(d.replace(day=1)), now=NOW)
    changed = [replace(r, letter=replace(r.letter, visits=r.letter.visits + 1)) for r in rows]
    store.write_monthly_suffixes(d.replace(day=1), changed)
    assert store.span_figures(d, OCTOBER) == []


def test_spans_of_another_month_are_refused(store: Store) -> None:
    """``write_month_spans`` takes the letters through the month it is given, nothing else."""
    _settle(store)
    spans = fold_month_spans(store, REG, CAL, OCTOBER, now=NOW, horizon_days=H)
    with pytest.raises(ValueError, match="another month"):
        store.write_month_spans(NOVEMBER, spans)


def test_maintenance_writes_the_spans_and_writes_them_again_after_a_late_event(store: Store) -> None:
    """``RollupScheduler`` folds the months and their suffixes, then (a pass with no month left to fold) the spans
    through October; a late visit on a settled October evening re-rolls it, October is folded again (its spans
    unread meanwhile) and then its spans: the year from them shows the visit and equals the year month by month."""
    _write_year(store)
    scheduler = RollupScheduler(store, REG, CAL, lookback_days=40)
    spanned: list[date] = []

    def settle(now: datetime) -> None:
        for _ in range(30):
            scheduler.run(now)
            if scheduler.spanned is not None:
                spanned.append(scheduler.spanned)
            if scheduler.folded is None:
                return
        raise AssertionError("maintenance kept folding")

    settle(NOW)
    assert spanned == [OCTOBER]
    before = {f[0]: f for f in store.span_figures(FIRST, OCTOBER)}
    assert before
    settle(NOW + timedelta(minutes=1))
    assert spanned == [OCTOBER]  # nothing moved: not folded again
    late_day = service_days_of(CAL, *month_bounds(OCTOBER), NOW)[-3]
    late = visit(REG, "a", late_day, local(late_day, 21, 0), local(late_day, 21, 3), badge="team-9", event_id="late")
    store.write(WriteBatch(visits=(late,)))
    settle(NOW + timedelta(minutes=61))  # the next hourly look at the whole look-back
    assert spanned == [OCTOBER, OCTOBER]
    after = {f[0]: f for f in store.span_figures(FIRST, OCTOBER)}
    assert after["a"][8] == before["a"][8] + 1
    for landlord in LANDLORDS:
        fast = _Letters(store, spans=True)
        got = _year(store, FIRST, landlord, fast)
        assert fast.spans_read > 0, landlord
        assert got == _year(store, FIRST, landlord, _Letters(store, spans=False)), landlord


def test_a_new_maintenance_process_keeps_the_spans_it_finds(store: Store) -> None:
    """A ``RollupScheduler`` started on a store maintained before (a restarted worker, its look-back within the
    month in progress) finds the months folded and the spans current: it writes no span; one started after a
    month's letter changed around it folds them again."""
    _settle(store)

    def passes(scheduler: RollupScheduler) -> list[date]:
        spanned = []
        for _ in range(30):
            scheduler.run(NOW)
            if scheduler.spanned is not None:
                spanned.append(scheduler.spanned)
            if scheduler.folded is None:
                return spanned
        raise AssertionError("maintenance kept folding")

    assert passes(RollupScheduler(store, REG, CAL, lookback_days=3)) == []
    june = store.monthly_rollups(date(2026, 6, 1))
    store.write_monthly_rollups([replace(june[0], visits=june[0].visits + 1), *june[1:]])
    assert store.span_figures(FIRST, OCTOBER) == []
    assert passes(RollupScheduler(store, REG, CAL, lookback_days=3)) == [OCTOBER]
    assert store.span_figures(FIRST, OCTOBER)


def test_retention_deletes_the_spans_with_their_days(store: Store) -> None:
    """Proof retention of 300 days at the test's ``now`` (cutoff at the end of January): the spans starting in
    November and December 2025 go."""
    _settle(store)
    assert store.span_figures(FIRST, OCTOBER)
    store.apply_retention(RetentionPolicy(proof_days=300), NOW)
    assert store.span_figures(FIRST, OCTOBER) == []
