"""Rollups when a service day closes (idempotent, in order), and retention, on the embedded store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ronde.coverage.monthly import basis, letters_through
from ronde.ingest.rollup import RetentionScheduler, RollupScheduler, closed_days, rollup_day
from ronde.protocol.calendar import ServiceCalendar
from ronde.store.records import DailyRollup, RetentionPolicy
from ronde.store.sqlite import SqliteStore
from tests.ingest.helpers import REGISTRY, ingest_evening

EVENINGS = ServiceCalendar()  # Wed–Sun 16:00–22:15 Europe/Paris
WED = date(2026, 11, 25)
THU = date(2026, 11, 26)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "ronde.db")
    s.open()
    yield s
    s.close()


def test_closed_days_wait_for_the_grace() -> None:
    end_wed = EVENINGS.window(WED)[1]
    grace = timedelta(hours=1)
    assert WED not in closed_days(EVENINGS, end_wed + timedelta(minutes=59), grace=grace, lookback_days=3)
    assert WED in closed_days(EVENINGS, end_wed + grace, grace=grace, lookback_days=3)
    # Monday and Tuesday are not service days: nothing to roll
    days = closed_days(EVENINGS, datetime(2026, 11, 25, 12, tzinfo=UTC), grace=grace, lookback_days=5)
    assert all(EVENINGS.is_service_day(d) for d in days)


def test_rollup_day_idempotent_and_chained(store: SqliteStore) -> None:
    ingest_evening(store, EVENINGS, WED, 3)
    ingest_evening(store, EVENINGS, THU, 2)
    wed = rollup_day(store, REGISTRY, EVENINGS, WED)
    assert len(wed) == len(REGISTRY.checkpoints)
    assert sum(r.visits for r in wed) == 3
    assert sum(r.covered for r in wed) == 3
    thu = rollup_day(store, REGISTRY, EVENINGS, THU)
    assert thu[0].chain_digest != wed[0].chain_digest
    again = rollup_day(store, REGISTRY, EVENINGS, THU)
    assert again == thu
    stored = store.rollups(WED, THU)
    assert len(stored) == 2 * len(REGISTRY.checkpoints)
    assert sum(r.visits for r in stored) == 5


def test_scheduler_rolls_new_days_in_order(store: SqliteStore) -> None:
    ingest_evening(store, EVENINGS, WED, 2)
    ingest_evening(store, EVENINGS, THU, 4)
    sched = RollupScheduler(store, REGISTRY, EVENINGS, grace=timedelta(hours=1), lookback_days=3)
    after_thu = EVENINGS.window(THU)[1] + timedelta(hours=2)
    rolled = sched.run(after_thu)
    assert rolled[-2:] == [WED, THU]
    assert sched.run(after_thu + timedelta(minutes=1)) == []  # nothing new until the refresh
    assert sched.run(after_thu + timedelta(hours=2)) == []  # the refresh finds no day's events changed
    assert sum(r.visits for r in store.rollups(THU, THU)) == 4


def test_late_events_reroll_only_the_days_they_touch(store: SqliteStore) -> None:
    """A late event of Wednesday re-rolls Wednesday; Thursday keeps its figures and only takes the
    new chain link; a late event of Thursday touches Thursday alone. The rows equal a fresh roll."""
    ingest_evening(store, EVENINGS, WED, 2)
    ingest_evening(store, EVENINGS, THU, 4)
    sched = RollupScheduler(store, REGISTRY, EVENINGS, grace=timedelta(hours=1), lookback_days=3)
    t = EVENINGS.window(THU)[1] + timedelta(hours=2)
    sched.run(t)
    thu_before = store.rollups(THU, THU)
    ingest_evening(store, EVENINGS, WED, 1, after=2)  # a gateway's outbox delivers Wednesday's third visit on Friday
    assert sched.run(t + timedelta(hours=1)) == [WED, THU]
    assert (sched.rerolled, sched.relinked) == ([WED], [THU])
    assert sum(r.visits for r in store.rollups(WED, WED)) == 3
    thu_after = store.rollups(THU, THU)
    assert [r.chain_digest for r in thu_after] != [r.chain_digest for r in thu_before]
    assert [replace(r, chain_digest="") for r in thu_after] == [replace(r, chain_digest="") for r in thu_before]
    assert thu_after == _by_checkpoint(rollup_day(store, REGISTRY, EVENINGS, THU))  # what a full re-roll writes
    ingest_evening(store, EVENINGS, THU, 1, after=4)
    assert sched.run(t + timedelta(hours=2)) == [THU]
    assert (sched.rerolled, sched.relinked) == ([THU], [])
    assert sum(r.visits for r in store.rollups(THU, THU)) == 5
    fresh = _by_checkpoint(rollup_day(store, REGISTRY, EVENINGS, WED) + rollup_day(store, REGISTRY, EVENINGS, THU))
    assert store.rollups(WED, THU) == sorted(fresh, key=lambda r: r.service_day)


def _by_checkpoint(rows: list[DailyRollup]) -> list[DailyRollup]:
    return sorted(rows, key=lambda r: (r.service_day, r.checkpoint_id))


def test_scheduler_folds_one_settled_month_per_pass(store: SqliteStore) -> None:
    """August to October are settled on 26 November (horizon 7 days): one month folded per pass,
    and a restarted scheduler keeps the months already folded under the same basis."""
    ingest_evening(store, EVENINGS, WED, 2)
    after_thu = EVENINGS.window(THU)[1] + timedelta(hours=2)
    sched = RollupScheduler(store, REGISTRY, EVENINGS, lookback_days=3, months_back=2)
    folded = []
    for minute in range(4):
        sched.run(after_thu + timedelta(minutes=minute))
        folded.append(sched.folded)
    assert folded == [date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1), None]
    october = store.monthly_rollups(date(2026, 10, 1))
    assert len(october) == len(REGISTRY.checkpoints)
    assert all(r.states and set(r.states) <= {"N", "X"} for r in october)  # nobody came in October
    again = RollupScheduler(store, REGISTRY, EVENINGS, lookback_days=3, months_back=2)
    again.run(after_thu + timedelta(hours=3))
    assert again.folded is None
    assert store.monthly_rollups(date(2026, 10, 1)) == october


def test_scheduler_folds_the_month_to_date_and_again_when_a_day_of_it_is_re_rolled(store: SqliteStore) -> None:
    """After Thursday 26 November's evening (horizon 7 days) the settled days of November end on the 19th:
    a pass that folds no settled month folds them into a month-to-date letter, and again only when a rollup
    within its reach changes (a late event of the 13th re-rolled by hand, another process) or that day moves."""
    fri = date(2026, 11, 13)
    ingest_evening(store, EVENINGS, fri, 2, after=100)
    through = date(2026, 11, 19)
    for day in EVENINGS.service_days(date(2026, 11, 1), through):
        rollup_day(store, REGISTRY, EVENINGS, day)
    after_thu = EVENINGS.window(THU)[1] + timedelta(hours=2)
    sched = RollupScheduler(store, REGISTRY, EVENINGS, lookback_days=3, months_back=0)
    sched.run(after_thu)
    assert (sched.folded, sched.folded_to_date) == (None, through)
    wanted = basis(REGISTRY, EVENINGS)
    letters = store.monthly_rollups(date(2026, 11, 1))
    assert len(letters) == len(REGISTRY.checkpoints)
    assert letters_through(letters, wanted) == through
    assert {len(r.states) for r in letters} == {len(list(EVENINGS.service_days(date(2026, 11, 1), through)))}
    assert sum(r.visits for r in letters) == 2
    sched.run(after_thu + timedelta(minutes=1))
    assert sched.folded_to_date is None  # nothing changed: not folded again
    ingest_evening(store, EVENINGS, fri, 1, after=102)  # a late event of the 13th, re-rolled by another process
    rollup_day(store, REGISTRY, EVENINGS, fri)
    sched.run(after_thu + timedelta(minutes=2))
    assert sched.folded_to_date == through
    assert sum(r.visits for r in store.monthly_rollups(date(2026, 11, 1))) == 3
    assert letters_through(store.monthly_rollups(date(2026, 11, 1)), wanted) == through
    sched.run(after_thu + timedelta(days=1))  # after Friday's evening: the 20th is settled now
    assert sched.folded_to_date == date(2026, 11, 20)
    assert letters_through(store.monthly_rollups(date(2026, 11, 1)), wanted) == date(2026, 11, 20)
    whole = RollupScheduler(store, REGISTRY, EVENINGS, lookback_days=3, months_back=1)
    for minute in range(2):  # November is settled on 9 December: its whole fold (after October's) replaces the letter
        whole.run(datetime(2026, 12, 9, 12, minute, tzinfo=UTC))
    assert whole.folded == date(2026, 11, 1)
    assert letters_through(store.monthly_rollups(date(2026, 11, 1)), wanted) == date(2026, 11, 30)


def test_retention_runs_periodically(store: SqliteStore) -> None:
    sched = RetentionScheduler(store, RetentionPolicy(), every=timedelta(hours=6))
    now = datetime.now(UTC)
    assert sched.run(now) is True
    assert sched.run(now + timedelta(hours=1)) is False
    assert sched.run(now + timedelta(hours=7)) is True
