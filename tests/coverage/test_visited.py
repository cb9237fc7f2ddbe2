"""``visited_days`` (a group's per-day "visited" counts without day detail) equals the detailed path's day rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from ronde.coverage.query import CoverageCache, landlord_coverage
from ronde.coverage.sensing import DEFAULT_HORIZON_DAYS
from ronde.coverage.settled import fold_month_to_date
from ronde.coverage.suffix import fold_month_suffixes
from ronde.coverage.visited import VisitedCache, visited_days
from ronde.coverage.visited_sets import EVERY, fold_visited_sets
from ronde.store.port import Store
from ronde.store.records import WriteBatch
from tests.coverage.factory import visit
from tests.coverage.test_monthly import CAL, LAST, NOW, REG, _write_year
from tests.coverage.test_suffix import _fold_suffixes
from tests.coverage.written_once import KEEP_THE_YEAR
from tests.support.stores import store_of_kind

PERIODS = [
    (LAST - timedelta(days=29), LAST),  # the month ending on the evening in progress
    (date(2026, 6, 1), date(2026, 6, 30)),  # late events re-rolled a day (the newest rollup counts)
    (date(2026, 10, 20), date(2026, 11, 2)),  # the autumn DST change
    (date(2026, 3, 12), date(2026, 3, 18)),  # a gateway dead until the 15th
    (LAST, LAST),  # the evening alone
]


@pytest.fixture(params=["sqlite", pytest.param("influx", marks=pytest.mark.influx)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with store_of_kind(request, tmp_path, retry_budget_s=5.0, retention=KEEP_THE_YEAR) as s:
        yield s


def _detailed(source: Store, first: date, last: date, landlord: str | None, now: datetime) -> set[tuple[str, date]]:
    """The (checkpoint, day) the detailed path gives a visit: through a cache (as the API asks) and without."""
    out = []
    for cache in (None, CoverageCache()):
        cov = landlord_coverage(
            source, REG, CAL, first, last, landlord=landlord, now=now, include_days=True, cache=cache
        )
        out.append({(c.checkpoint_id, d.day) for c in cov.checkpoints for d in c.days if d.visits > 0})
    assert out[0] == out[1]
    return out[0]


def _pairs(got: dict[date, frozenset[str]]) -> set[tuple[str, date]]:
    return {(cid, d) for d, cids in got.items() for cid in cids}


def test_visited_days_equal_the_day_rows_with_a_visit(store: Store) -> None:
    """For every landlord scope and period, the evening in progress cut at 18:00 then 20:00 (its raw visits), then
    ended without rollups (a closed day read raw): the same (checkpoint, day) pairs as the day rows', from the store's
    ``rollup_visited`` and from a coverage cache's figures (kept by a request just made, or read), afresh and through
    one ``VisitedCache`` kept over all the requests (``now`` moving between them)."""
    _write_year(store)
    kept, coverage = VisitedCache(), CoverageCache()
    tonight: list[set[tuple[str, date]]] = []
    for now in (NOW - timedelta(hours=2), NOW, NOW + timedelta(hours=5)):
        for landlord in (None, "paris-habitat", "other"):
            for first, last in PERIODS:
                want = _detailed(store, first, last, landlord, now)
                landlord_coverage(store, REG, CAL, first, last, landlord=landlord, now=now, cache=coverage)
                for cache, cov in ((None, None), (kept, None), (None, CoverageCache()), (kept, coverage)):
                    got = visited_days(
                        store, REG, CAL, first, last, landlord=landlord, now=now, cache=cache, coverage=cov
                    )
                    assert _pairs(got) == want, (now, landlord, first, cache, cov)
                if landlord is None and first == last == LAST:
                    tonight.append(want)
    assert tonight[0] < tonight[1] == tonight[2]  # the cut at 18:00 leaves out checkpoints first visited after it


def test_kept_visited_days_follow_a_rerolled_day_and_a_new_visit(store: Store) -> None:
    """Through the caches, a visit written tonight shows at once (the stamp of tonight's visits moved), a recent
    closed day's rollup rewritten without its visit too (its rollup mark moved), a settled day's after the coverage
    cache's time-to-live, as its shares do: then as a fresh computation, at 18:00 (some checkpoints not visited yet)."""
    _write_year(store)
    clock = [0.0]
    kept, coverage = VisitedCache(), CoverageCache(clock=lambda: clock[0])
    first, now = LAST - timedelta(days=29), NOW - timedelta(hours=2)
    quiet = LAST - timedelta(days=DEFAULT_HORIZON_DAYS + 1)

    def through_caches() -> set[tuple[str, date]]:
        landlord_coverage(store, REG, CAL, first, LAST, landlord=None, now=now, cache=coverage)
        got = visited_days(store, REG, CAL, first, LAST, landlord=None, now=now, cache=kept, coverage=coverage)
        return _pairs(got)

    before = through_caches()
    recent = min((c, d) for c, d in before if quiet < d < LAST)
    settled = min((c, d) for c, d in before if d <= quiet)
    for cid, day in (recent, settled):
        row = next(r for r in store.rollups(day, day) if r.checkpoint_id == cid)
        store.write_rollups([replace(row, visits=0, covered=False)])
    quiet_cp = sorted(set(REG.checkpoints) - {c for c, d in before if d == LAST})
    assert quiet_cp, "a checkpoint not visited tonight"
    w0 = CAL.window(LAST)[0]
    store.write(
        WriteBatch(visits=(visit(REG, quiet_cp[0], LAST, w0 + timedelta(minutes=5), w0 + timedelta(minutes=6)),))
    )
    assert through_caches() == before - {recent} | {(quiet_cp[0], LAST)}
    clock[0] += coverage.ttl_s + 1
    after = through_caches()
    assert after == before - {recent, settled} | {(quiet_cp[0], LAST)}
    assert after == _pairs(visited_days(store, REG, CAL, first, LAST, landlord=None, now=now))


class _Counting:
    """The store, its reads counted by name."""

    READS = (
        "rollup_marks",
        "visit_spans_kept",
        "rollup_figures_by_day",
        "rollup_figures",
        "rollup_visited",
        "visited_sets",
    )

    def __init__(self, store: Store) -> None:
        self._store = store
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        got = getattr(self._store, name)
        if name not in self.READS:
            return got

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return got(*args, **kwargs)

        return counted


def test_after_a_coverage_request_the_counts_read_only_what_the_letters_did_not(store: Store) -> None:
    """As the API asks (the shares, then the counts at the same ``now``), the month to the evening in progress with
    its settled days from letters (October's suffix, November's month-to-date letter and its suffix): the counts
    read the settled days' visits from their visited sets where maintenance folded them, else in one
    ``rollup_visited`` (none of their rollup figures), with one read of the rollups' marks (the sets are taken on
    them), then keep them; they read neither the marks nor tonight's visits again, and equal the day rows' visits,
    request after request, with and without the sets."""
    _write_year(store)
    _fold_suffixes(store)
    through = LAST - timedelta(days=DEFAULT_HORIZON_DAYS + 1)
    letters = fold_month_to_date(store, REG, CAL, through, now=NOW)
    store.write_monthly_rollups(letters)
    store.write_monthly_suffixes(through, fold_month_suffixes(store, REG, CAL, letters, now=NOW))
    counting = _Counting(store)
    source = cast("Store", counting)
    first = LAST - timedelta(days=29)
    for landlord, folded in ((None, False), ("paris-habitat", False), (None, True), ("paris-habitat", True)):
        if folded:
            fold_visited_sets(store, first - timedelta(days=30), LAST)  # once: the second time, none moved
            assert store.visited_sets(first, LAST, landlord=landlord or EVERY)
        kept, coverage = VisitedCache(), CoverageCache()
        want = _detailed(store, first, LAST, landlord, NOW)
        for n in range(2):
            counting.calls.clear()
            landlord_coverage(source, REG, CAL, first, LAST, landlord=landlord, now=NOW, cache=coverage)
            assert counting.calls["rollup_figures"] == 0, landlord  # no settled day's figures read for the shares
            shares = counting.calls.copy()
            got = visited_days(source, REG, CAL, first, LAST, landlord=landlord, now=NOW, cache=kept, coverage=coverage)
            assert _pairs(got) == want, (landlord, n)
            counts = counting.calls - shares
            assert counts["rollup_visited"] == (1 if n == 0 and not folded else 0), (landlord, n, counts)
            assert counts["rollup_marks"] == counts["visited_sets"] == (1 if n == 0 else 0), (landlord, n, counts)
            assert counts["visit_spans_kept"] == 0, (landlord, n, counts)
            assert counts["rollup_figures"] == counts["rollup_figures_by_day"] == 0, (landlord, n, counts)
