"""A scripted year: coverage from monthly rollups = from daily rollups = from raw visits, exactly.

The year has what bends the figures: late events re-rolled after their day closed, a beacon dead
for weeks (no data) and one for days (not visited), an estate without any gateway for days, a
gateway heartbeat on a quiet evening, calendar closures, both DST changes, visits across the
window's edges, two teams at once, fragments of one pass, and the evening in progress. Every
figure (idleness, passes, presence, states, shares per day and per period) must be equal, on
SQLite and on a real influxd 1.6.7.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from ronde.coverage.compute import compute_coverage
from ronde.coverage.daily import day_rollups
from ronde.coverage.monthly import (
    LetterFold,
    basis,
    coverage_from_monthly,
    letters_through,
    month_bounds,
    partial_basis,
    service_days_of,
    settled,
)
from ronde.coverage.period import PeriodCoverage, combine_periods
from ronde.coverage.query import CoverageCache, landlord_coverage
from ronde.coverage.settled import fold_month_to_date, fold_settled_month, recorded_coverage
from ronde.ingest.rollup import rollup_day
from ronde.protocol.calendar import ServiceCalendar
from ronde.store.port import Store
from ronde.store.records import (
    DailyRollup,
    GatewayStateRecord,
    MonthlyFigures,
    MonthlyRollup,
    RollupFigures,
    StoredVisit,
    WriteBatch,
    monthly_figures_of,
    rollup_figures_of,
)
from tests.coverage.factory import local, registry, sequence_from, visit
from tests.coverage.written_once import KEEP_THE_YEAR, write_once
from tests.support.stores import store_of_kind

REG = registry()
CAL = ServiceCalendar(closed=frozenset({date(2026, 5, 1), date(2026, 7, 14), date(2025, 12, 25)}))
LAST = date(2026, 11, 25)  # a Wednesday: the evening in progress
NOW = local(LAST, 20, 0).astimezone(UTC)
FIRST = LAST - timedelta(days=364)
LATE = (date(2026, 3, 28), date(2026, 6, 12), date(2026, 10, 24))  # days that get late events


@pytest.fixture(params=["sqlite", pytest.param("influx", marks=pytest.mark.influx)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with store_of_kind(request, tmp_path, retry_budget_s=5.0, retention=KEEP_THE_YEAR) as s:
        yield s


def _evening(rnd: random.Random, day: date) -> list[StoredVisit]:
    """One evening's visits, with the year's accidents."""
    out: list[StoredVisit] = []
    w0, w1 = CAL.window(day)
    for cid in sorted(REG.checkpoints):
        if cid == "b" and date(2026, 2, 1) <= day <= date(2026, 3, 15):
            continue  # dead beacon for six weeks: no data
        if cid == "u" and date(2026, 8, 5) <= day <= date(2026, 8, 8):
            continue  # silent for days: not visited
        if cid == "c" and date(2026, 9, 10) <= day <= date(2026, 9, 20):
            continue  # estate e2 without any gateway
        if cid == "u" and LAST - timedelta(days=7) <= day < LAST:
            continue  # silent a week, heard again tonight: evidence for the evening a horizon back
        if cid == "u" and day == LAST:
            out.append(visit(REG, cid, day, w0 + timedelta(minutes=10), w0 + timedelta(minutes=11)))
        for team in range(rnd.randint(0, 3)):
            start = w0 + timedelta(seconds=rnd.randint(-600, int((w1 - w0).total_seconds())))
            end = start + timedelta(seconds=rnd.randint(5, 900), milliseconds=rnd.randint(0, 999))
            out.append(visit(REG, cid, day, start, end, badge=f"team-{team}", event_id=f"{cid}-{start.isoformat()}"))
            if rnd.random() < 0.2:  # the same pass heard in two fragments
                s2 = end + timedelta(seconds=rnd.randint(1, 250))
                out.append(visit(REG, cid, day, s2, s2 + timedelta(seconds=30), badge=f"team-{team}"))
    return out


def _write_year(store: Store, hold: Callable[[StoredVisit], bool] | None = None) -> list[StoredVisit]:
    """The scripted year written; the visits ``hold`` picks are not, and are returned. The whole year is written
    once per test process and copied after (``written_once``)."""
    if hold is None:
        write_once("scripted-year", store, _build_year)
        return []
    return _build_year(store, hold)


def _build_year(store: Store, hold: Callable[[StoredVisit], bool] = lambda v: False) -> list[StoredVisit]:
    with sequence_from(1_000_000_000):  # the same year in every process: copies of it equal it (written_once)
        return _build_year_numbered(store, hold)


def _build_year_numbered(store: Store, hold: Callable[[StoredVisit], bool]) -> list[StoredVisit]:
    rnd = random.Random(17)
    days = list(CAL.service_days(FIRST - timedelta(days=10), LAST))
    every = [v for d in days for v in _evening(rnd, d) if v.first_seen < NOW]
    visits = [v for v in every if not hold(v)]
    for i in range(0, len(visits), 5000):
        store.write(WriteBatch(visits=tuple(visits[i : i + 5000])))
    beat = local(date(2026, 9, 15), 18, 0).astimezone(UTC)  # e2's quiet evenings: one heartbeat heard
    store.write(
        WriteBatch(gateway_states=(GatewayStateRecord(at=beat, gateway_id="gw-9", online=True, scanning=True),))
    )
    for day in days[:-1]:
        rollup_day(store, REG, CAL, day)
    late = [v for d in LATE for v in _evening(random.Random(d.toordinal()), d)]
    store.write(WriteBatch(visits=tuple(late)))  # a gateway's outbox, after its days were rolled
    for day in [d for d in days[:-1] if d >= LATE[0]]:
        rollup_day(store, REG, CAL, day)
    month = FIRST.replace(day=1)
    while settled(month, LAST):
        store.write_monthly_rollups(fold_settled_month(store, REG, CAL, month, now=NOW))
        month = (month + timedelta(days=32)).replace(day=1)
    return [v for v in every if hold(v)]


class _View:
    """The store seen through one source of figures (the rest delegated unchanged)."""

    def __init__(self, store: Store, source: str) -> None:
        self._store = store
        self._source = source
        self.monthly_read = 0
        self.first_read: date | None = None  # the earliest day of rollups read
        self.ranges: list[tuple[date, date]] = []  # every range of daily rollups read
        self.months: list[date] = []  # the months whose letters were found
        self.figures_read = 0  # reads of plain rollup figures (the first, partial month's)
        self.figures_ranges: list[tuple[date, date]] = []  # every range read as plain figures, either way
        self.letters_read = 0  # letters read as plain figures (``monthly_figures``, the settled months')

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def monthly_rollups(self, month: date, *, landlord: str | None = None) -> list[MonthlyRollup]:
        if self._source != "monthly":
            return []
        rows = self._store.monthly_rollups(month, landlord=landlord)
        self.monthly_read += len(rows)
        if rows:
            self.months.append(month)
        return rows

    def monthly_figures(self, month: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        if self._source != "monthly":
            return []
        figures = self._store.monthly_figures(month, landlord=landlord)
        self.monthly_read += len(figures)
        self.letters_read += len(figures)
        if figures:
            self.months.append(month)
        return figures

    def span_figures(self, from_day: date, through: date, *, landlord: str | None = None) -> list[MonthlyFigures]:
        """Span letters stand for letters: read only by the letters' view."""
        if self._source != "monthly":
            return []
        return self._store.span_figures(from_day, through, landlord=landlord)

    def rollups(self, first: date, last: date, *, landlord: str | None = None) -> list[DailyRollup]:
        self.first_read = first if self.first_read is None else min(self.first_read, first)
        self.ranges.append((first, last))
        if self._source != "raw":
            return self._store.rollups(first, last, landlord=landlord)
        closed = [d for d in CAL.service_days(first, min(last, LAST - timedelta(days=1)))]
        by_day: dict[date, list[StoredVisit]] = {d: [] for d in closed}
        for v in self._store.visits_of_days(closed):
            by_day[v.service_day].append(v)
        rows = [r for d in closed for r in day_rollups(REG, CAL, d, by_day[d], landlord=landlord)]
        return sorted(rows, key=lambda r: (r.service_day, r.checkpoint_id))

    def rollup_figures(self, first: date, last: date, *, landlord: str | None = None) -> list[RollupFigures]:
        self.figures_read += 1
        self.figures_ranges.append((first, last))
        return [rollup_figures_of(r) for r in self.rollups(first, last, landlord=landlord)]

    def rollup_figures_by_day(self, first: date, last: date, *, landlord: str | None = None) -> list[RollupFigures]:
        """What a period without day detail reads (the open tail), from this view's source; not a partial month's
        ``figures_read``."""
        self.figures_ranges.append((first, last))
        return [rollup_figures_of(r) for r in self.rollups(first, last, landlord=landlord)]

    def heard_days(self, first: date, last: date, *, landlord: str | None = None) -> dict[str, tuple[date, date]]:
        """``Store.heard_days`` of this view's source (its rollups, raw visits' for "raw"), read as a range."""
        out: dict[str, tuple[date, date]] = {}
        for r in self.rollups(first, last, landlord=landlord):
            if r.visits > 0:
                seen = out.get(r.checkpoint_id)
                out[r.checkpoint_id] = (r.service_day, r.service_day) if seen is None else (seen[0], r.service_day)
        return out


def _through_views(
    store: Store, names: tuple[str, ...], first: date, landlord: str | None, include_days: bool
) -> tuple[dict[str, _View], dict[str, PeriodCoverage]]:
    """The period ``first``..LAST read through each named view of the store (fresh cache each), and the views."""
    views = {name: _View(store, name) for name in names}
    got = {
        name: landlord_coverage(
            cast("Store", view),
            REG,
            CAL,
            first,
            LAST,
            landlord=landlord,
            now=NOW,
            include_days=include_days,
            cache=CoverageCache(),
        )
        for name, view in views.items()
    }
    return views, got


def test_a_year_from_monthly_rollups_equals_daily_rollups_and_raw_visits(store: Store) -> None:
    _write_year(store)
    assert len(store.monthly_rollups(date(2026, 3, 1))) == len(REG.checkpoints)
    for landlord in (None, "paris-habitat", "other"):
        views = {name: _View(store, name) for name in ("monthly", "daily", "raw")}
        got = {
            name: landlord_coverage(
                cast("Store", view), REG, CAL, FIRST, LAST, landlord=landlord, now=NOW, cache=CoverageCache()
            )
            for name, view in views.items()
        }
        assert views["monthly"].monthly_read > 0  # the settled months did come from monthly rollups
        assert got["monthly"] == got["daily"], landlord
        assert got["daily"] == got["raw"], landlord
        cov = got["monthly"]
        whole = landlord_coverage(store, REG, CAL, FIRST, LAST, landlord=landlord, now=NOW)  # one fold, no cache
        assert cov.groups == whole.groups, landlord  # states and shares: exactly
        for x, y in zip(cov.checkpoints, whole.checkpoints, strict=True):
            assert (x.checkpoint_id, x.visits, x.covered_days, x.not_visited_days, x.no_data_days) == (
                y.checkpoint_id,
                y.visits,
                y.covered_days,
                y.not_visited_days,
                y.no_data_days,
            )
            # months joined by Segment.then add in another order than one fold: equal to the last bits
            assert math.isclose(x.presence_s, y.presence_s, rel_tol=1e-12)
            assert math.isclose(x.idleness.average_idle_s, y.idleness.average_idle_s, rel_tol=1e-12)
            assert x.idleness.worst_idle_s == y.idleness.worst_idle_s
        assert cov.partial_day == LAST
        states = {(c.no_data_days > 0, c.not_visited_days > 0) for c in cov.checkpoints}
        assert (True, True) in states or landlord == "other"  # the accidents show as states
        for c in cov.checkpoints:
            assert c.idleness.gap_cv is not None
            assert c.service_days == c.covered_days + c.not_visited_days + c.no_data_days


def test_a_month_from_monthly_rollups_keeps_its_day_shares(store: Store) -> None:
    """March 2026 (spring DST change, a dead beacon): day shares per group from the letters."""
    _write_year(store)
    lo, hi = month_bounds(date(2026, 3, 1))
    monthly = _View(store, "monthly")
    a = landlord_coverage(cast("Store", monthly), REG, CAL, lo, hi, landlord=None, now=NOW, cache=CoverageCache())
    b = landlord_coverage(store, REG, CAL, lo, hi, landlord=None, now=NOW)  # folded from days, no cache
    assert monthly.monthly_read == len(REG.checkpoints)
    assert a.groups == b.groups
    assert [(c.checkpoint_id, c.visits, c.presence_s, c.segment) for c in a.checkpoints] == [
        (c.checkpoint_id, c.visits, c.presence_s, c.segment) for c in b.checkpoints
    ]
    assert any(s.no_data for g in a.groups for _, s in g.days)


def test_partial_and_detailed_months_take_their_verdicts_from_monthly_rollups(store: Store) -> None:
    """The first, partial month of a period, and the settled months of a detailed (per-day) period: figures
    from their daily rollups, verdicts from the letters maintenance recorded, so no evidence week is read
    before the period; equal to judging each day again (the partial month starts in the dead beacon's
    weeks, before the spring DST change)."""
    _write_year(store)
    for landlord in (None, "paris-habitat"):
        for first, include_days in ((date(2026, 3, 10), False), (date(2026, 3, 10), True), (FIRST, True)):
            views, got = _through_views(store, ("monthly", "daily"), first, landlord, include_days)
            assert got["monthly"] == got["daily"], (landlord, first, include_days)
            assert views["monthly"].monthly_read > 0
            assert views["monthly"].first_read == first  # no evidence days before the period
            assert views["daily"].first_read == first - timedelta(days=7)
            if include_days:
                assert all(len(c.days) == c.service_days for c in got["monthly"].checkpoints)
            assert any(c.no_data_days for c in got["monthly"].checkpoints) or landlord is not None


def test_a_partial_month_from_plain_figures_equals_its_rollup_objects(store: Store) -> None:
    """The first, partial month of a year (no day detail) is folded from ``rollup_figures`` tuples, not
    ``DailyRollup`` objects: the store gives the same figures both ways (instants to the microsecond), and the
    piece equals, to the bit, the same days folded from the objects with the same letters (the detailed path,
    its days dropped) and judged again from daily rollups with their evidence week; starts on a dead beacon's
    week in March (DST change), in October from the 7th (the 24th re-rolled
    after late events, then the autumn DST change); in the month in progress, without letters, None."""
    _write_year(store)
    lo, hi = date(2026, 3, 10), date(2026, 3, 31)
    autumn = (date(2026, 10, 7), date(2026, 10, 31))
    for first, last in ((lo, hi), autumn):
        assert store.rollup_figures(first, last) == [rollup_figures_of(r) for r in store.rollups(first, last)]
    mine = store.rollup_figures(*autumn, landlord="paris-habitat")
    assert {f[5] for f in mine} == {"paris-habitat"}
    assert any(f[9] is None for f in mine)  # unseen days
    assert any(f[9] is not None for f in mine)
    for landlord in (None, "paris-habitat", "other"):
        for first, last in ((lo, hi), autumn):
            plain = recorded_coverage(store, REG, CAL, first, last, landlord=landlord, now=NOW)
            objects = recorded_coverage(store, REG, CAL, first, last, landlord=landlord, now=NOW, include_days=True)
            judged = landlord_coverage(store, REG, CAL, first, last, landlord=landlord, now=NOW)
            assert plain is not None, (landlord, first)
            assert objects is not None, (landlord, first)
            assert plain.checkpoints, (landlord, first)
            stripped = replace(objects, checkpoints=tuple(replace(c, days=()) for c in objects.checkpoints))
            assert plain == stripped, (landlord, first)
            assert plain == judged, (landlord, first)
    assert recorded_coverage(store, REG, CAL, date(2026, 11, 3), date(2026, 11, 10), landlord=None, now=NOW) is None
    views, got = _through_views(store, ("monthly", "daily"), lo, "paris-habitat", False)
    assert got["monthly"] == got["daily"]
    assert date(2026, 3, 1) in views["monthly"].months  # the letters' path (``recorded_coverage``) took March
    for view in views.values():  # the first, partial month read once as plain figures, through the request's reader
        assert view.figures_ranges.count((lo, hi)) == 1


@pytest.mark.parametrize("through", [date(2026, 11, 17), date(2026, 11, 12)])
def test_a_month_to_date_letter_equals_its_days_and_raw_visits(store: Store, through: date) -> None:
    """November 2026, the month in progress: its settled days (up to the 17th, 8 days before the evening in
    progress) folded into a month-to-date letter, as maintenance does, current (the 17th) or a few days old
    (the 12th: the reader folds the 13th to the 17th from their rollups). A year, a month and a detailed month
    read through the letter equal the same periods from daily rollups and from raw visits, and the letter's
    days older than the horizon are not read again day by day."""
    _write_year(store)
    store.write_monthly_rollups(fold_month_to_date(store, REG, CAL, through, now=NOW))
    nov = date(2026, 11, 1)
    letters = store.monthly_rollups(nov)
    assert len(letters) == len(REG.checkpoints)
    assert letters_through(letters, basis(REG, CAL)) == through
    assert {len(r.states) for r in letters} == {len(service_days_of(CAL, nov, through, NOW))}
    for landlord in (None, "paris-habitat"):
        for first, include_days in ((FIRST, False), (LAST - timedelta(days=29), False), (nov, True)):
            views, got = _through_views(store, ("monthly", "daily", "raw"), first, landlord, include_days)
            case = (landlord, first, include_days)
            assert got["daily"] == got["raw"], case
            if through == date(2026, 11, 17):  # the letter ends where the period's settled part does
                assert got["monthly"] == got["daily"], case
            else:  # one more piece joined (letter, then the 13th to the 17th): sums added in another order
                _assert_equal_to_the_last_bits(got["monthly"], got["daily"])
            assert nov in views["monthly"].months, case  # the letter was read
            if first == FIRST:  # the letter's days before the tail's evidence week are never read by the day
                assert not any(lo <= through - timedelta(days=7) and hi >= nov for lo, hi in views["monthly"].ranges)
                assert any(lo <= nov <= hi for lo, hi in views["daily"].ranges)


def _assert_equal_to_the_last_bits(a: PeriodCoverage, b: PeriodCoverage) -> None:
    """Equal, the idleness segments' float sums to the last bits (joined from other pieces, added in another order)."""
    assert (a.first, a.last, a.days, a.partial_day, a.groups) == (b.first, b.last, b.days, b.partial_day, b.groups)
    assert len(a.checkpoints) == len(b.checkpoints)
    for x, y in zip(a.checkpoints, b.checkpoints, strict=True):
        assert replace(x, idleness=y.idleness, segment=y.segment) == y
        for f in ("service_s", "lead_s", "trail_s", "inner_s1", "inner_s2", "inner_worst"):
            assert math.isclose(getattr(x.segment, f), getattr(y.segment, f), rel_tol=1e-12), (x.checkpoint_id, f)
        assert (x.segment.seen, x.segment.inner_n) == (y.segment.seen, y.segment.inner_n)


def test_letters_through_refuses_mixed_foreign_or_malformed_marks() -> None:
    """A whole month's letters end on its last day, a month-to-date letter on its mark; letters under another
    basis, of mixed bases, or with a mark that is not a day of their month (a corrupted or forged row) are not
    used (None: the reader folds the days)."""
    wanted = basis(REG, CAL)
    row = MonthlyRollup(
        month=date(2026, 11, 1),
        checkpoint_id="a",
        kind="stairwell_hall",
        building=None,
        estate="e1",
        landlord="paris-habitat",
        expected=1,
        basis=wanted,
        states="C",
        visits=1,
        presence_s=1.0,
        first_seen=None,
        last_seen=None,
        service_s=1.0,
        seen=True,
        lead_s=0.0,
        trail_s=0.0,
        inner_n=0,
        inner_s1=0.0,
        inner_s2=0.0,
        inner_worst=0.0,
    )

    def marked(text: str) -> MonthlyRollup:
        return replace(row, basis=text)

    assert letters_through([row], wanted) == date(2026, 11, 30)
    assert letters_through([marked(partial_basis(wanted, date(2026, 11, 17)))], wanted) == date(2026, 11, 17)
    assert letters_through([], wanted) is None
    assert letters_through([marked("other")], wanted) is None
    assert letters_through([row, marked(partial_basis(wanted, date(2026, 11, 17)))], wanted) is None
    assert letters_through([marked(partial_basis("other", date(2026, 11, 17)))], wanted) is None
    assert letters_through([marked(partial_basis(wanted, date(2026, 12, 2)))], wanted) is None
    assert letters_through([marked(wanted + "~through=not-a-day")], wanted) is None
    assert letters_through([marked(wanted + "~through=")], wanted) is None


def test_the_letters_fold_equals_combining_each_pieces_coverage(store: Store) -> None:
    """``LetterFold`` (what ``CoverageCache`` folds a period's settled part with) against the previous path: one
    ``PeriodCoverage`` per month from its letters, joined by ``combine_periods`` after the period's first, partial
    month computed from days. Equal to the bit, for a fold of one piece too (either kind)."""
    _write_year(store)
    wanted = basis(REG, CAL)
    months = []
    month = date(2026, 1, 1)
    while settled(month, LAST):
        rows = store.monthly_rollups(month)
        if letters_through(rows, wanted) == month_bounds(month)[1]:
            months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    assert len(months) >= 6
    start = months[0] - timedelta(days=20)  # the last 20 days of the month before: from days
    for landlord in (None, "paris-habitat", "other"):
        head = landlord_coverage(store, REG, CAL, start, months[0] - timedelta(days=1), landlord=landlord, now=NOW)
        pieces = [head]
        fold, alone = LetterFold(REG), LetterFold(REG)
        fold.add(head)
        alone.add(head)
        assert alone.result() is head
        for m in months:
            days = service_days_of(CAL, m, month_bounds(m)[1], NOW)
            rows = store.monthly_rollups(m, landlord=landlord)
            figures = store.monthly_figures(m, landlord=landlord)
            assert figures == [monthly_figures_of(r) for r in rows], (landlord, m)
            pieces.append(coverage_from_monthly(REG, days, rows, landlord))
            fold.add_letters(days, m, figures, landlord, month_bounds(m)[1])
            if m == months[0]:
                one = LetterFold(REG)
                one.add_letters(days, m, figures, landlord, month_bounds(m)[1])
                assert one.result() == pieces[-1], landlord
        assert fold.result() == combine_periods(pieces), landlord
        assert combine_periods(pieces).groups  # shares per day were folded too


def test_the_settled_months_letters_read_as_plain_figures(store: Store) -> None:
    """A period's settled months are read as ``monthly_figures`` tuples (on SQLite the driver's rows: instants
    scaled to microseconds in the query, no month, no ``MonthlyRollup`` or ``datetime`` a row): the store gives
    the same figures as its monthly rollups (both stores, each landlord, seen and unseen checkpoints), and a year
    folded from them equals, to the bit, the same year from daily rollups and from the letters as objects."""
    _write_year(store)
    month = date(2026, 10, 1)  # late events re-rolled, the autumn DST change
    every = store.monthly_figures(month)
    assert every == [monthly_figures_of(r) for r in store.monthly_rollups(month)]
    assert len(every) == len(REG.checkpoints)
    assert all(type(f[10]) is int and f[10] % 1000 == 0 for f in every if f[10] is not None)
    assert any(f[10] is not None for f in every)
    assert {type(f[13]) for f in every} == {int}  # seen: 0 or 1, as ``monthly_figures_of`` gives it
    mine = store.monthly_figures(month, landlord="paris-habitat")
    assert mine
    assert {f[4] for f in mine} == {"paris-habitat"}
    assert mine == [f for f in every if f[4] == "paris-habitat"]
    assert store.monthly_figures(date(2025, 1, 1)) == []  # a month never folded
    for landlord in (None, "paris-habitat", "other"):
        views, got = _through_views(store, ("monthly", "daily"), FIRST, landlord, False)
        assert got["monthly"] == got["daily"], landlord
        assert views["monthly"].letters_read > 0, landlord  # the settled months came from plain figures
        assert views["daily"].letters_read == 0
        fold, objects = LetterFold(REG), LetterFold(REG)
        wanted = basis(REG, CAL)
        m = date(2026, 2, 1)
        while settled(m, LAST):
            rows = store.monthly_rollups(m, landlord=landlord)
            if letters_through(rows, wanted) == month_bounds(m)[1]:
                days = service_days_of(CAL, m, month_bounds(m)[1], NOW)
                fold.add_letters(days, m, store.monthly_figures(m, landlord=landlord), landlord, month_bounds(m)[1])
                objects.add_letters(days, m, [monthly_figures_of(r) for r in rows], landlord, month_bounds(m)[1])
            m = (m + timedelta(days=32)).replace(day=1)
        assert fold.result() == objects.result(), landlord


def test_a_whole_answer_is_kept_until_what_it_was_computed_from_moves(store: Store) -> None:
    """Once every begun evening of the period is rolled up (the morning after), ``CoverageCache`` keeps the whole
    answer: a warm request gives the very object a fresh cache equals (``==``) and reads no rollup; a late event
    re-rolled on a closed evening of the tail, and a gateway's new state, make the next request compute again; an
    evening in progress is never kept (its visits and ``now`` move). Year and detailed month, each landlord scope
    ("other" has an estate of its own, quiet on some evenings: its other landlords' rollups are read as evidence)."""
    _write_year(store)
    rollup_day(store, REG, CAL, LAST)  # the last evening closed: the next morning has no evening in progress
    morning = local(LAST + timedelta(days=1), 10, 0).astimezone(UTC)
    view = _View(store, "monthly")
    cache = CoverageCache()
    lands = (None, "paris-habitat", "other")
    cases = [(lo, ll, lo != FIRST) for lo in (FIRST, LAST - timedelta(days=28)) for ll in lands]

    def served(now: datetime, lo: date, landlord: str | None, include_days: bool) -> PeriodCoverage:
        """The cached answer, checked equal to a fresh cache's."""
        last = LAST + timedelta(days=1)
        args = (REG, CAL, lo, last)
        got = landlord_coverage(
            cast("Store", view), *args, landlord=landlord, now=now, include_days=include_days, cache=cache
        )
        fresh = landlord_coverage(
            store, *args, landlord=landlord, now=now, include_days=include_days, cache=CoverageCache()
        )
        assert got == fresh, (lo, landlord, include_days)
        return got

    first = {case: served(morning, *case) for case in cases}
    read = len(view.ranges)
    for case in cases:
        assert served(morning, *case) is first[case], case  # kept
    assert len(view.ranges) == read  # and no rollup read
    sunday = LAST - timedelta(days=3)  # a closed evening of the tail: a late event, re-rolled by maintenance
    late = visit(REG, "a", sunday, local(sunday, 21, 0), local(sunday, 21, 3), badge="team-9", event_id="late-sunday")
    store.write(WriteBatch(visits=(late,)))
    rollup_day(store, REG, CAL, sunday)
    second = {case: served(morning, *case) for case in cases}
    for case in cases:
        assert second[case] is not first[case], case
        assert (second[case] != first[case]) is (case[1] != "other"), case  # the late pass shows
        assert served(morning, *case) is second[case], case
    beat = local(sunday, 18, 0).astimezone(UTC)
    store.write(
        WriteBatch(gateway_states=(GatewayStateRecord(at=beat, gateway_id="gw-8", online=True, scanning=True),))
    )
    for case in cases:
        assert served(morning, *case) is not second[case], case
    thursday = LAST + timedelta(days=1)  # its evening in progress: computed at each request
    evening = local(thursday, 20, 0).astimezone(UTC)
    store.write(WriteBatch(visits=(visit(REG, "a", thursday, local(thursday, 17), local(thursday, 17, 2)),)))
    before = {case: served(evening, *case) for case in cases}
    store.write(WriteBatch(visits=(visit(REG, "b", thursday, local(thursday, 19), local(thursday, 19, 2)),)))
    for case in cases:
        got = served(evening, *case)
        assert got is not before[case], case
        assert (got != before[case]) is (case[1] != "other"), case  # tonight's new visit shows


def test_the_closed_evenings_of_an_evening_in_progress_are_kept_and_judged_again_when_tonight_turns_one(
    store: Store,
) -> None:
    """During the evening, ``CoverageCache`` keeps the tail's closed evenings (``ronde.coverage.tail``) and
    computes tonight only: equal (``==``) to computing the tail whole (``keep_evenings=False``), year and detailed
    month, each landlord scope, as tonight's visits arrive. Beacon ``u`` was silent the whole week: its evening a
    horizon back is "no data" until it is heard tonight, which turns it to "not visited": then the closed evenings
    are judged again, not served as kept."""
    held = _write_year(store, hold=lambda v: v.checkpoint_id == "u" and v.service_day == LAST)
    assert held
    kept, whole = CoverageCache(), CoverageCache(keep_evenings=False)
    cases = [
        (lo, ll, lo != FIRST) for lo in (FIRST, LAST - timedelta(days=28)) for ll in (None, "paris-habitat", "other")
    ]

    def both(lo: date, landlord: str | None, include_days: bool, now: datetime = NOW) -> PeriodCoverage:
        args = (store, REG, CAL, lo, LAST)
        got = landlord_coverage(*args, landlord=landlord, now=now, include_days=include_days, cache=kept)
        ref = landlord_coverage(*args, landlord=landlord, now=now, include_days=include_days, cache=whole)
        assert got == ref, (lo, landlord, include_days)
        if lo > LAST - timedelta(days=8):  # no settled piece (else its months are folded in another order)
            assert got == landlord_coverage(*args, landlord=landlord, now=now, include_days=include_days), lo
        return got

    def u_no_data(cov: PeriodCoverage) -> int:
        return next(c.no_data_days for c in cov.checkpoints if c.checkpoint_id == "u")

    before = {case: both(*case) for case in cases}
    closed = dict(kept._evenings)  # the kept closed evenings (one entry per scope and tail)
    assert len(closed) == len(cases)
    hits = kept.hits
    tonight = visit(REG, "a", LAST, local(LAST, 19, 0), local(LAST, 19, 2), badge="team-7", event_id="a-tonight")
    store.write(WriteBatch(visits=(tonight,)))  # a beacon already heard tonight: the closed evenings hold
    for case in cases:
        got = both(*case)
        assert (got != before[case]) is (case[1] != "other"), case
    assert kept.hits > hits
    assert all(kept._evenings[k] is v for k, v in closed.items())
    store.write(WriteBatch(visits=tuple(held)))  # ``u`` heard tonight: its evening a horizon back turns too
    for case in cases:
        got = both(*case)
        if case[1] != "other":
            assert u_no_data(before[case]) - u_no_data(got) == 2, case  # tonight, and a horizon back
    assert all(kept._evenings[k] is not v for k, v in closed.items() if k[2] != "other")
    _tonight_moves(store, kept, cases, both)


def _tonight_moves(
    store: Store,
    kept: CoverageCache,
    cases: list[tuple[date, str | None, bool]],
    both: Callable[..., PeriodCoverage],
) -> None:
    """Tonight's rows and figures are kept between requests (``ronde.coverage.evening``) and made again only for the
    checkpoints that moved: a new visit on a checkpoint heard tonight, a late one (heard earlier in the evening than
    what is stored), one on a checkpoint not heard before (not in the registry either), a late event on a closed
    evening re-rolled, and ``now`` moving; each answer equal to the whole path's, and to no cache at all for a
    period that is the tail alone (the last week)."""
    cases = cases + [
        (LAST - timedelta(days=6), ll, include) for ll in (None, "paris-habitat") for include in (False, True)
    ]
    for case in cases:
        both(*case)

    def rows() -> dict[tuple[object, ...], dict[str, DailyRollup]]:
        return {k: {cid: kept_row[3] for cid, kept_row in m.rows.items()} for k, m in kept._tonight_rows.items()}

    def moved(before: dict[tuple[object, ...], dict[str, DailyRollup]]) -> set[str]:
        """The checkpoints whose kept row is another object now (any scope)."""
        after = rows()
        assert after.keys() == before.keys()
        return {cid for k in after for cid, r in after[k].items() if before[k].get(cid) is not r}

    steps = [
        ("a", visit(REG, "a", LAST, local(LAST, 19, 30), local(LAST, 19, 33), badge="team-8", event_id="a-new")),
        ("b", visit(REG, "b", LAST, local(LAST, 17, 5), local(LAST, 17, 9), badge="team-3", event_id="b-late")),
        ("z", replace(visit(REG, "a", LAST, local(LAST, 19, 40), local(LAST, 19, 41)), checkpoint_id="z")),
    ]

    def figures() -> dict[tuple[object, ...], dict[str, object]]:
        """Each period's kept figures per checkpoint (a year and a month asked in turn keep theirs)."""
        return {k: {cid: m[3] for cid, m in memo.merged.items()} for k, memo in kept._tonight.items()}

    for cid, v in steps:
        before = rows()
        answers = {case: both(*case) for case in cases}
        made = figures()
        store.write(WriteBatch(visits=(v,)))
        for case in cases:
            got = both(*case)
            assert (got != answers[case]) is (case[1] != "other"), (cid, case)
        assert moved(before) == {cid}, cid
        now_kept = figures()
        assert len(made) == len(cases)
        assert now_kept.keys() == made.keys()
        for k, per_cp in made.items():
            assert {c for c, f in per_cp.items() if now_kept[k][c] is not f} <= {cid}, (cid, k)
    assert any(c.checkpoint_id == "z" for c in both(FIRST, "paris-habitat", False).checkpoints)
    sunday = LAST - timedelta(days=3)  # a closed evening of the tail: a late event, re-rolled by maintenance
    late = visit(REG, "b", sunday, local(sunday, 21, 0), local(sunday, 21, 3), badge="team-9", event_id="late-sun")
    store.write(WriteBatch(visits=(late,)))
    rollup_day(store, REG, CAL, sunday)
    for case in cases:
        both(*case)
    later = NOW + timedelta(minutes=7)  # the window's cut moves: every row of tonight moves
    before = rows()
    for case in cases:
        both(*case, now=later)
    assert moved(before) == set(REG.checkpoints) | {"z"}


def test_a_kept_row_of_tonight_is_judged_again_when_its_estate_is_heard(store: Store) -> None:
    """Hall ``c`` (estate ``e2``) is not heard tonight, nor anything else on ``e2``: "no data" tonight. A visit to a
    checkpoint of ``e2`` not in the registry is a gateway alive there: ``c``'s row is the same (kept, no visit), its
    verdict turns to "not visited", and the answer is equal to the whole path's."""
    _write_year(store, hold=lambda v: v.service_day == LAST and v.checkpoint_id == "c")
    kept, whole = CoverageCache(), CoverageCache(keep_evenings=False)
    cases = [(lo, ll, d) for lo in (FIRST, LAST - timedelta(days=6)) for ll in (None, "other") for d in (False, True)]

    def both(lo: date, landlord: str | None, include_days: bool) -> PeriodCoverage:
        args = (store, REG, CAL, lo, LAST)
        got = landlord_coverage(*args, landlord=landlord, now=NOW, include_days=include_days, cache=kept)
        assert got == landlord_coverage(*args, landlord=landlord, now=NOW, include_days=include_days, cache=whole)
        return got

    def c_of(cov: PeriodCoverage) -> tuple[int, int]:
        c = next(c for c in cov.checkpoints if c.checkpoint_id == "c")
        return c.not_visited_days, c.no_data_days

    before = {case: both(*case) for case in cases}
    rows = {k: m.rows["c"][3] for k, m in kept._tonight_rows.items()}
    stray = replace(visit(REG, "c", LAST, local(LAST, 19, 40), local(LAST, 19, 41)), checkpoint_id="z")
    store.write(WriteBatch(visits=(stray,)))
    for case in cases:
        nv, nd = c_of(before[case])
        assert c_of(both(*case)) == (nv + 1, nd - 1), case
    assert all(kept._tonight_rows[k].rows["c"][3] is r for k, r in rows.items())


def test_a_period_without_day_detail_folded_from_plain_figures_equals_its_rollup_objects(store: Store) -> None:
    """A period without day detail (a cold request's open tail, a piece without letters) is read and folded as plain
    ``rollup_figures`` tuples with its sensing evidence (``figures_period.figures_period_coverage``): equal, to the bit
    and to the ``repr`` (time zones of the instants included), to the same period folded from ``DailyRollup`` objects
    (the detailed path, its days dropped). Periods: the open tail with the evening in progress (a live day from raw
    visits) and a beacon silent the week before it; e2 without any gateway (other landlords' rollups read for evidence);
    late events re-rolled and the autumn DST change. Through a cache too (its reader keeps the figures: a warm request
    after the time-to-live reads them again, equal)."""
    _write_year(store)
    for landlord in (None, "paris-habitat"):
        by_day = store.rollup_figures_by_day(FIRST, LAST, landlord=landlord)
        ordered = store.rollup_figures(FIRST, LAST, landlord=landlord)
        assert sorted(by_day, key=lambda f: (f[0], f[1])) == ordered, landlord  # the same figures, by day
        assert [f[0] for f in by_day] == [f[0] for f in ordered], landlord
    periods = [
        (LAST - timedelta(days=10), LAST),
        (date(2026, 9, 5), date(2026, 9, 25)),
        (date(2026, 10, 20), date(2026, 11, 2)),
        (date(2026, 8, 5), date(2026, 8, 8)),  # u silent throughout: heard only in the horizon before and after
        (date(2026, 8, 7), date(2026, 8, 10)),  # u silent, then heard: the days before the period decide
        (date(2026, 3, 12), date(2026, 3, 18)),  # b dead six weeks until the 15th: nothing heard in the week before
    ]
    clock = [0.0]
    for landlord in (None, "paris-habitat", "other"):
        for first, last in periods:
            plain = landlord_coverage(store, REG, CAL, first, last, landlord=landlord, now=NOW)
            objects = landlord_coverage(store, REG, CAL, first, last, landlord=landlord, now=NOW, include_days=True)
            assert any(c.days for c in objects.checkpoints), (landlord, first)
            stripped = replace(objects, checkpoints=tuple(replace(c, days=()) for c in objects.checkpoints))
            assert plain == stripped, (landlord, first)
            assert repr(plain) == repr(stripped), (landlord, first)
            if first == date(2026, 8, 5) and landlord != "other":  # the horizon's days judged u
                u = next(c for c in plain.checkpoints if c.checkpoint_id == "u")
                assert u.visits == 0
                assert u.not_visited_days == u.service_days > 0
        tail = (LAST - timedelta(days=10), LAST)
        assert landlord_coverage(store, REG, CAL, *tail, landlord=landlord, now=NOW).partial_day == LAST
        year = landlord_coverage(store, REG, CAL, FIRST, LAST, landlord=landlord, now=NOW, cache=CoverageCache())
        cache = CoverageCache(keep_evenings=False, clock=lambda: clock[0])
        for _ in range(2):
            assert landlord_coverage(store, REG, CAL, FIRST, LAST, landlord=landlord, now=NOW, cache=cache) == year
            clock[0] += cache.ttl_s + 1


def test_an_open_tail_joined_to_its_settled_part_in_one_pass_equals_combine_periods(store: Store) -> None:
    """``compute_coverage(..., before=settled)`` (a cold request's tail folded from figures and joined checkpoint by
    checkpoint, ``figures_period.figures_period_coverage``) is ``combine_periods([settled, tail])``, to the bit and
    to the ``repr``: b's first seen known in the tail only (dead until mid-March), the evening in progress's partial
    day the tail's, groups and days joined; and settled parts cut to leave a checkpoint in the tail only, or given
    one the tail does not have. With day detail the same call falls back to ``combine_periods``."""
    _write_year(store)
    cuts = [
        (date(2026, 8, 1), date(2026, 8, 20), date(2026, 9, 3)),
        (date(2026, 3, 1), date(2026, 3, 14), date(2026, 3, 18)),
        (LAST - timedelta(days=40), LAST - timedelta(days=11), LAST),
    ]
    for landlord in (None, "paris-habitat", "other"):
        for first, cut, last in cuts:
            for include_days in (False, True):
                args: dict[str, Any] = {"landlord": landlord, "now": NOW, "horizon_days": 14}
                settled = compute_coverage(store, REG, CAL, first, cut, include_days=include_days, **args)
                tail = compute_coverage(
                    store, REG, CAL, cut + timedelta(days=1), last, include_days=include_days, **args
                )
                assert settled.checkpoints, (landlord, first)
                extra = replace(settled.checkpoints[0], checkpoint_id="zz")
                for before in (
                    settled,
                    replace(settled, checkpoints=settled.checkpoints[1:]),
                    replace(settled, checkpoints=(*settled.checkpoints, extra)),
                ):
                    joined = compute_coverage(
                        store, REG, CAL, cut + timedelta(days=1), last, include_days=include_days, before=before, **args
                    )
                    whole = combine_periods([before, tail])
                    assert joined == whole, (landlord, first, include_days)
                    assert repr(joined) == repr(whole), (landlord, first, include_days)
