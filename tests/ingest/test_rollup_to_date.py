"""The month-to-date letter follows the rollups' marks, on both engines (SQLite in tmp_path, a real influxd):
a late event re-rolled through the store folds it again, nothing changed folds nothing and reads no whole
fingerprint, and an edit around the store folds it again once maintenance's rollup check has found it.

Dates are relative to today (the 27th of a month a few weeks back) so the visits stay within raw retention."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from ronde.coverage.monthly import basis, letters_through
from ronde.ingest.maintenance import MaintenanceRunner
from ronde.ingest.rollup import RetentionScheduler, RollupScheduler, rollup_day
from ronde.ingest.rollup_check import RollupCheck
from ronde.protocol.calendar import ServiceCalendar
from ronde.store.influx import InfluxStore
from ronde.store.port import Store
from ronde.store.retention import DEFAULT_RETENTION
from tests.ingest.helpers import REGISTRY, ingest_evening
from tests.support.stores import edit_rollup_around_the_store, store_of_kind

EVENINGS = ServiceCalendar()  # Wed–Sun 16:00–22:15 Europe/Paris
_recent = next(d for d in (date.today() - timedelta(days=40 - i) for i in range(40)) if d.day == 27)
NOW = datetime.combine(_recent, time(12), tzinfo=EVENINGS.tz).astimezone(UTC)
THROUGH = _recent - timedelta(days=8)  # the last settled day (horizon 7 days): the 19th
MONTH = THROUGH.replace(day=1)
LATE_DAY = next(d for d in EVENINGS.service_days(MONTH.replace(day=10), THROUGH))


@pytest.fixture(params=["sqlite", pytest.param("influx", marks=pytest.mark.influx)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with store_of_kind(request, tmp_path) as s:
        yield s


@pytest.fixture
def fingerprint_reads(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[tuple[date, date]]:
    """The ranges of ``store.rollup_fingerprints`` calls (the real method runs: this only records them)."""
    calls: list[tuple[date, date]] = []
    real = store.rollup_fingerprints

    def recorded(first: date, last: date, *, landlord: str | None = None) -> dict[tuple[date, str], str]:
        calls.append((first, last))
        return real(first, last, landlord=landlord)

    monkeypatch.setattr(store, "rollup_fingerprints", recorded)
    return calls


def _rolled_month(store: Store) -> None:
    ingest_evening(store, EVENINGS, LATE_DAY, 2, after=100)
    for day in EVENINGS.service_days(MONTH, THROUGH):
        rollup_day(store, REGISTRY, EVENINGS, day)


def _letter_visits(store: Store) -> int:
    return sum(r.visits for r in store.monthly_rollups(MONTH))


def test_a_late_event_re_rolled_through_the_store_folds_the_letter_again_and_nothing_reads_no_fingerprint(
    store: Store, fingerprint_reads: list[tuple[date, date]]
) -> None:
    _rolled_month(store)
    sched = RollupScheduler(store, REGISTRY, EVENINGS, lookback_days=3, months_back=0)
    sched.run(NOW)
    assert (sched.folded, sched.folded_to_date) == (None, THROUGH)
    assert letters_through(store.monthly_rollups(MONTH), basis(REGISTRY, EVENINGS)) == THROUGH
    assert _letter_visits(store) == 2
    sched.run(NOW + timedelta(minutes=1))
    assert sched.folded_to_date is None  # nothing changed: not folded again
    ingest_evening(
        store, EVENINGS, LATE_DAY, 1, after=102
    )  # a late event, re-rolled by another process through the store
    rollup_day(store, REGISTRY, EVENINGS, LATE_DAY)
    sched.run(NOW + timedelta(minutes=2))
    assert sched.folded_to_date == THROUGH
    assert _letter_visits(store) == 3
    # the scheduler read marks only: InfluxDB's rollup_mark points; SQLite's marks are its whole fingerprints
    # (version triggers, as cheap), one read a pass
    assert fingerprint_reads == (
        [] if isinstance(store, InfluxStore) else [(MONTH - timedelta(days=7), _recent - timedelta(days=1))] * 3
    )


def test_an_edit_around_the_store_folds_the_letter_again_once_the_check_finds_it(store: Store) -> None:
    """SQLite's marks are its whole fingerprints: the next pass folds again. On influxd the edit keeps the marks:
    the pass whose rotating comparison reaches the day finds it (``RollupCheck.edited``), the next one folds."""
    _rolled_month(store)
    check = RollupCheck(store, REGISTRY, EVENINGS)
    sched = RollupScheduler(store, REGISTRY, EVENINGS, lookback_days=3, months_back=0)
    retention = RetentionScheduler(store, DEFAULT_RETENTION)
    runner = MaintenanceRunner(
        store, sched, retention, gap_window=timedelta(hours=1), gap_grace=timedelta(0), interval_s=60, check=check
    )
    runner.maintain(NOW)
    assert sched.folded_to_date == THROUGH
    cp = min(r.checkpoint_id for r in store.rollups(LATE_DAY, LATE_DAY) if r.visits)
    edit_rollup_around_the_store(store, LATE_DAY, cp, 7)
    passes: list[tuple[date | None, list[date]]] = []
    for minute in range(1, 40):
        runner.maintain(NOW + timedelta(minutes=minute))
        passes.append((sched.folded_to_date, check.edited))
        if sched.folded_to_date is not None:
            break
    if isinstance(store, InfluxStore):
        assert passes[-2:] == [(None, [LATE_DAY]), (THROUGH, [])]
        assert all(p == (None, []) for p in passes[:-2])
    else:
        assert passes == [(THROUGH, [])]
    assert _letter_visits(store) == sum(r.visits for r in store.rollups(MONTH, THROUGH)) == 2 - 1 + 7
