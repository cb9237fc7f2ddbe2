"""A cold request's reads made ahead on influxd (``CoverageCache._reads_ahead``, ``Store.reading_ahead``).

On a real influxd with the scripted year of ``test_monthly`` (the evening of 25 November in progress): a cold year
starts its span and month-to-date letters, the tail's daily figures, the heard days around it and tonight's visits
on the read-ahead threads, and takes each of them: the same requests as without read-ahead, none made twice, and
the same answer; a warm request starts nothing. A cold month with its per-day "visited" counts (the API's
``scoped_coverage``) reads its settled days' visits ahead too, and the week before its tail heard from them; by day,
with its tail's letters folded, those letters and the tail's visited checkpoints, not its rows.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ronde.coverage.query import CoverageCache, landlord_coverage
from ronde.coverage.visited import VisitedCache, visited_days, visited_reads_ahead
from ronde.coverage.visited_sets import fold_visited_sets
from ronde.ingest.tail_fold import TailScheduler
from ronde.store.influx import InfluxStore
from ronde.store.influx_http import InfluxQL
from ronde.store.port import Store
from ronde.store.read_ahead import ReadAhead
from tests.coverage.factory import local
from tests.coverage.test_monthly import CAL, FIRST, LAST, NOW, REG
from tests.coverage.test_spans import _settle
from tests.coverage.written_once import KEEP_THE_YEAR
from tests.support.stores import store_of_kind

pytestmark = pytest.mark.influx


@pytest.fixture(params=["influx"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with store_of_kind(request, tmp_path, retry_budget_s=5.0, retention=KEEP_THE_YEAR) as s:
        yield s


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every InfluxQL request: its statements and the thread that made it."""
    seen: list[tuple[str, str]] = []
    inner = InfluxQL.results

    def spied(self: InfluxQL, statements: Sequence[str], *, rp: str | None = None) -> list[Mapping[str, Any]]:
        seen.append((";".join(statements), threading.current_thread().name))
        return inner(self, statements, rp=rp)

    monkeypatch.setattr(InfluxQL, "results", spied)
    return seen


def _year(store: Store, cache: CoverageCache) -> object:
    return landlord_coverage(store, REG, CAL, FIRST, LAST, landlord="paris-habitat", now=NOW, cache=cache)


def test_a_cold_year_reads_its_tail_ahead_once_each_and_answers_the_same(
    store: Store, requests: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _settle(store)
    requests.clear()
    cache = CoverageCache()
    got = _year(store, cache)
    ahead = [s for s, thread in requests if thread.startswith("ronde-read-ahead")]
    with_ahead = sorted(s for s, _ in requests)
    assert len(ahead) >= 6  # span, letters, the tail's figures, the heard days around it (marks, rows), the visits
    assert any('FROM "visit"' in s for s in ahead)
    assert any('FROM "checkpoint_letter_span"' in s for s in ahead)  # the settled part's letters too
    assert any('FROM "checkpoint_letter"' in s for s in ahead)

    requests.clear()
    assert _year(store, cache) == got
    assert not [t for _, t in requests if t.startswith("ronde-read-ahead")]  # warm: nothing started

    def nothing_ahead(self: InfluxStore, reads: Sequence[ReadAhead]) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    monkeypatch.setattr(InfluxStore, "reading_ahead", nothing_ahead)
    requests.clear()
    want = _year(store, CoverageCache())
    assert got == want
    assert with_ahead == sorted(s for s, _ in requests)  # the same reads, none made twice


def _month_counted(
    store: Store, cache: CoverageCache, kept: VisitedCache, now: datetime = NOW
) -> tuple[object, object]:
    """As ``api.coverage_data.scoped_coverage`` with the counts: their read started, then the shares, the counts."""
    first = LAST - timedelta(days=29)
    args = (store, CAL, first, LAST)
    ahead = visited_reads_ahead(*args, landlord="paris-habitat", now=now, cache=kept, coverage=cache)
    with store.reading_ahead(ahead):
        cov = landlord_coverage(store, REG, CAL, first, LAST, landlord="paris-habitat", now=now, cache=cache)
        days = visited_days(store, REG, CAL, first, LAST, landlord="paris-habitat", now=now, cache=kept, coverage=cache)
    return cov, days


def test_a_cold_month_reads_its_counts_settled_days_ahead_once_and_answers_the_same(
    store: Store, requests: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _settle(store)
    assert fold_visited_sets(store, FIRST, LAST) > 0  # maintenance's visited sets
    cache, kept = CoverageCache(), VisitedCache()
    assert visited_reads_ahead(
        store, CAL, LAST - timedelta(days=29), LAST, landlord="paris-habitat", now=NOW, cache=kept, coverage=cache
    ) == [
        ReadAhead(method, LAST - timedelta(days=29), NOW.astimezone(CAL.tz).date() - timedelta(days=8), "paris-habitat")
        for method in ("rollup_marks", "visited_sets")
    ]
    requests.clear()
    got = _month_counted(store, cache, kept)
    sets = [t for s, t in requests if 'FROM "visited_set"' in s]
    with_ahead = sorted(s for s, _ in requests)
    assert len(sets) == 1
    assert sets[0].startswith("ronde-read-ahead")  # the counts' settled days
    assert any(t.startswith("ronde-read-ahead") for s, t in requests if 'FROM "rollup_mark"' in s)  # their marks

    requests.clear()
    assert _month_counted(store, cache, kept) == got
    assert not [t for _, t in requests if t.startswith("ronde-read-ahead")]  # warm: nothing started

    def nothing_ahead(self: InfluxStore, reads: Sequence[ReadAhead]) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    monkeypatch.setattr(InfluxStore, "reading_ahead", nothing_ahead)
    requests.clear()
    assert _month_counted(store, CoverageCache(), VisitedCache()) == got
    without = sorted(s for s, _ in requests)
    assert with_ahead == without  # the counts from the sets: the same reads with read-ahead and without


def test_a_cold_month_by_day_reads_its_tail_letters_and_counts_ahead_not_its_rows(
    store: Store, requests: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 13:00, the tail's letters and the visited sets folded by maintenance: the letters and the visited sets of
    the settled days and of the tail are read on the read-ahead threads, the tail's rows, the heard days around it
    and the rollups' rows for the counts not at all; the same reads and answer as without read-ahead."""
    _settle(store)
    day = local(LAST, 13, 0).astimezone(UTC)
    assert TailScheduler(store, REG, CAL).run(day) is not None
    assert fold_visited_sets(store, FIRST, LAST) > 0
    requests.clear()
    cache, kept = CoverageCache(), VisitedCache()
    got = _month_counted(store, cache, kept, day)
    ahead = [s for s, t in requests if t.startswith("ronde-read-ahead")]
    assert any('FROM "checkpoint_letter_tail"' in s for s in ahead)
    assert any('FROM "checkpoint_letter_suffix"' in s for s in ahead)  # the settled part from within October
    assert not [s for s, t in requests if "checkpoint_letter_suffix" in s and not t.startswith("ronde-read-ahead")]
    assert sum('FROM "visited_set"' in s for s in ahead) == 2  # the settled days' sets, the tail's
    assert not [s for s, t in requests if 'FROM "visited_set"' in s and not t.startswith("ronde-read-ahead")]
    assert not [s for s in ahead if 'FROM "estate_day_figures"' in s]  # no rollup row read for the counts
    with_ahead = sorted(s for s, _ in requests)
    requests.clear()
    assert _month_counted(store, cache, kept, day) == got
    assert not [t for _, t in requests if t.startswith("ronde-read-ahead")]  # warm: nothing started
    assert len(requests) <= 3  # the latest sensing records and every landlord's marks: the stamp

    def nothing_ahead(self: InfluxStore, reads: Sequence[ReadAhead]) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    monkeypatch.setattr(InfluxStore, "reading_ahead", nothing_ahead)
    requests.clear()
    assert _month_counted(store, CoverageCache(), VisitedCache(), day) == got
    assert with_ahead == sorted(s for s, _ in requests)
