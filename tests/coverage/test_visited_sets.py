"""Visited sets: each closed day's visited checkpoints per landlord (and for every landlord), folded by maintenance.

The scripted year of ``test_monthly`` on SQLite and a real influxd: maintenance (``VisitedSetScheduler``) folds
them; then for every scope and day they equal the rollups' (``rollup_visited``), and ``visited_days`` answers the
same with them as without, reading no rollup for a day whose set stands. A day re-rolled (its marks moved) is read
from its rollups until the next pass folds it again, and only it; an edit around the store (its marks kept on
InfluxDB) is folded again once the rollup check reports the day.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import cast

import pytest

from ronde.coverage.query import CoverageCache
from ronde.coverage.visited import VisitedCache, visited_days
from ronde.coverage.visited_sets import EVERY, visited_from_sets
from ronde.ingest.config import IngestConfig
from ronde.ingest.maintenance import MaintenanceRunner
from ronde.ingest.visited_fold import VisitedSetScheduler
from ronde.store.influx import InfluxStore
from ronde.store.port import Store, VisitedSet
from ronde.store.records import RetentionPolicy
from ronde.store.sqlite import SqliteStore
from tests.coverage.factory import local
from tests.coverage.test_monthly import CAL, FIRST, LAST, REG, _write_year
from tests.coverage.test_suffix import LANDLORDS
from tests.coverage.test_visited import _Counting
from tests.coverage.written_once import KEEP_THE_YEAR
from tests.support.stores import edit_rollup_around_the_store, store_of_kind

DAY = local(LAST, 13, 0).astimezone(UTC)  # before the last evening: every begun one rolled up
SCOPES: tuple[str | None, ...] = LANDLORDS  # every landlord, and each
OCTOBER_DAY = date(2026, 10, 17)  # a Saturday: one version of each rollup, every landlord visited


@pytest.fixture(params=["sqlite", pytest.param("influx", marks=pytest.mark.influx)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with store_of_kind(request, tmp_path, retry_budget_s=5.0, retention=KEEP_THE_YEAR) as s:
        _write_year(s)
        yield s


def _scheduler(store: Store) -> VisitedSetScheduler:
    return VisitedSetScheduler(store, CAL, reach_days=(LAST - FIRST).days + 30)


def _rollups(store: Store, lo: date, hi: date, landlord: str | None) -> dict[date, frozenset[str]]:
    return {d: frozenset(c) for d, c in store.rollup_visited(lo, hi, landlord=landlord).items()}


def test_sets_equal_the_rollups_for_every_scope_and_stand_for_them(store: Store) -> None:
    """One pass folds a set per day with rollups and scope; they equal the rollups', a second pass writes none, and
    ``visited_days`` (as the API asks, by month and by year) answers the same without reading a settled rollup."""
    marks = store.rollup_marks(FIRST - timedelta(days=10), LAST, landlord=None)
    days = {d for d, _ in marks}
    assert _scheduler(store).run(DAY) == len(marks) + len(days)  # each landlord's sets, and every landlord's
    assert _scheduler(store).run(DAY) == 0
    for landlord in SCOPES:
        served, unserved = visited_from_sets(store, FIRST, LAST, landlord)
        assert unserved == []
        assert served == _rollups(store, FIRST, LAST, landlord), landlord
    for first in (LAST - timedelta(days=29), FIRST):
        for landlord in SCOPES:
            want = visited_days(store, REG, CAL, first, LAST, landlord=landlord, now=DAY)  # no cache: the rollups
            counting = _Counting(store)
            got = visited_days(
                cast("Store", counting),
                REG,
                CAL,
                first,
                LAST,
                landlord=landlord,
                now=DAY,
                cache=VisitedCache(),
                coverage=CoverageCache(),
            )
            assert got == want, (first, landlord)
            assert counting.calls["rollup_visited"] == 0, (first, landlord)


def test_a_day_rolled_up_again_is_read_from_its_rollups_until_folded_again(store: Store) -> None:
    """A rollup written again through the store (a late event re-rolled): its day's marks moved, so that day, and
    only it, is read from the rollups (equal to them), and the next pass folds its landlord's and every landlord's
    sets again, nothing else."""
    scheduler = _scheduler(store)
    scheduler.run(DAY)
    [was] = [r for r in store.rollups(OCTOBER_DAY, OCTOBER_DAY, landlord="paris-habitat") if r.visits > 0][:1]
    store.write_rollups([replace(was, visits=0)])
    for landlord in (None, "paris-habitat"):
        served, unserved = visited_from_sets(store, OCTOBER_DAY - timedelta(days=5), OCTOBER_DAY, landlord)
        assert unserved == [OCTOBER_DAY], landlord
        assert OCTOBER_DAY not in served
    other = "other"
    assert visited_from_sets(store, OCTOBER_DAY, OCTOBER_DAY, other)[1] == []  # its marks did not move
    lo = OCTOBER_DAY - timedelta(days=29)
    now = local(LAST, 13, 0).astimezone(UTC)
    got = visited_days(
        store, REG, CAL, lo, OCTOBER_DAY, landlord=None, now=now, cache=VisitedCache(), coverage=CoverageCache()
    )
    assert was.checkpoint_id not in got[OCTOBER_DAY]
    assert got == visited_days(store, REG, CAL, lo, OCTOBER_DAY, landlord=None, now=now)
    assert scheduler.run(DAY) == 2  # paris-habitat's and every landlord's set of that day
    for landlord in (None, "paris-habitat"):
        served, unserved = visited_from_sets(store, OCTOBER_DAY, OCTOBER_DAY, landlord)
        assert unserved == []
        assert served == _rollups(store, OCTOBER_DAY, OCTOBER_DAY, landlord)


def test_an_edit_around_the_store_is_folded_again_once_the_check_reports_it(store: Store) -> None:
    """A set whose rollups changed without their marks moving (an edit around InfluxDB: its marks are kept), here
    made by writing the set stale under the day's current mark: it stands until the rollup check reports the day
    (``edited``), and the next pass folds every scope of that day again, equal to the rollups. On SQLite an edit
    around the store moves the marks itself: the day is read from its rollups at once, and folded next pass."""
    scheduler = _scheduler(store)
    scheduler.run(DAY)
    truth = _rollups(store, OCTOBER_DAY, OCTOBER_DAY, "paris-habitat")
    [current] = store.visited_sets(OCTOBER_DAY, OCTOBER_DAY, landlord="paris-habitat").values()
    store.write_visited_sets([replace(current, checkpoints=("not-a-checkpoint",))])
    assert visited_from_sets(store, OCTOBER_DAY, OCTOBER_DAY, "paris-habitat") == (
        {OCTOBER_DAY: frozenset({"not-a-checkpoint"})},
        [],
    )  # stale: nothing the marks show
    assert scheduler.run(DAY) == 0
    scheduler.edited([OCTOBER_DAY])
    assert scheduler.run(DAY) == len(SCOPES)  # the day's sets, every scope
    assert visited_from_sets(store, OCTOBER_DAY, OCTOBER_DAY, "paris-habitat") == (truth, [])
    assert scheduler.run(DAY) == 0
    if isinstance(store, SqliteStore):
        cid = sorted(truth[OCTOBER_DAY])[0]
        edit_rollup_around_the_store(store, OCTOBER_DAY, cid, 0)
        assert visited_from_sets(store, OCTOBER_DAY, OCTOBER_DAY, "paris-habitat") == ({}, [OCTOBER_DAY])
        assert scheduler.run(DAY) == 2  # paris-habitat's and every landlord's
        served = visited_from_sets(store, OCTOBER_DAY, OCTOBER_DAY, "paris-habitat")[0]
        assert served == {OCTOBER_DAY: truth[OCTOBER_DAY] - {cid}}


def test_maintenance_as_configured_folds_the_sets(store: Store) -> None:
    """The maintenance role as configured (``MaintenanceRunner.from_config``) has the step, over the proof's reach
    (the scripted year's days within a year of ``DAY``)."""
    runner = MaintenanceRunner.from_config(IngestConfig.model_validate({"name": "m1"}), store, REG, CAL)
    assert runner.visited is not None
    runner.maintain(DAY)
    written = store.visited_set_marks(FIRST, LAST)
    assert {d for d, _ in written} == {d for d, _ in store.rollup_marks(LAST - timedelta(days=365), LAST)}


def test_retention_deletes_old_sets(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Sets are proof: a SQLite store deletes those older than its proof retention (InfluxDB's retention policy
    does the same there)."""
    with store_of_kind(request, tmp_path, kind="sqlite", retention=KEEP_THE_YEAR) as s:
        s.write_visited_sets([VisitedSet(date(2026, 3, 1), "x", "m", ("a",)), VisitedSet(LAST, "x", "m", ("b",))])
        s.apply_retention(RetentionPolicy(raw_days=30, proof_days=100, rejections_days=30), DAY)
        assert set(s.visited_set_marks(date(2026, 1, 1), LAST)) == {(LAST, "x")}


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("influx", marks=pytest.mark.influx)])
def test_a_large_set_round_trips_and_a_smaller_one_replaces_it(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """5,000 ids of 40 characters (InfluxDB: several points, each under 64 KB) read back equal; written again with
    fewer, the newer set is read (the older write's extra parts do not match it); a write whose parts are not all
    there is not a set (the reader then reads the rollups)."""
    big = VisitedSet(LAST, "paris-habitat", "m1", tuple(sorted(f"checkpoint-{i:05d}-{'x' * 28}" for i in range(5000))))
    small = VisitedSet(LAST, "paris-habitat", "m2", ("a", "b"))
    every = VisitedSet(LAST, EVERY, "m3", ("a", "b", "c"))
    with store_of_kind(request, tmp_path, kind=kind, retention=KEEP_THE_YEAR) as s:
        s.write_visited_sets([big, every])
        assert s.visited_sets(LAST, LAST) == {(LAST, "paris-habitat"): big, (LAST, EVERY): every}
        assert s.visited_sets(LAST, LAST, landlord=EVERY) == {(LAST, EVERY): every}
        s.write_visited_sets([small])
        assert s.visited_sets(LAST, LAST, landlord="paris-habitat") == {(LAST, "paris-habitat"): small}
        assert s.visited_set_marks(LAST, LAST) == {(LAST, "paris-habitat"): "m2", (LAST, EVERY): "m3"}
        if isinstance(s, InfluxStore):
            from ronde.store import influx_visited
            from ronde.store.schema import RetentionClass

            lines = influx_visited.lines([replace(big, day=LAST - timedelta(days=1))], 10**13)
            assert len(lines) > 5
            s.write_lines(RetentionClass.PROOF, lines[:2] + lines[3:])  # a part missing
            assert s.visited_sets(LAST - timedelta(days=1), LAST - timedelta(days=1)) == {}
