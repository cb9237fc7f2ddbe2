"""Rollups when a service day closes (idempotent, in order), and retention, on the embedded store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ronde.ingest.pipeline import BatchProcessor, Incoming
from ronde.ingest.rollup import RetentionScheduler, RollupScheduler, closed_days, rollup_day
from ronde.protocol.calendar import ServiceCalendar
from ronde.store.records import RetentionPolicy
from ronde.store.sqlite import SqliteStore
from tests.ingest.helpers import REGISTRY, context, encode, static_checkpoints, topic, visit

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


def _ingest(store: SqliteStore, day: date, n: int) -> None:
    start = EVENINGS.window(day)[0] + timedelta(minutes=30)
    cps = static_checkpoints()
    ctx = context(calendar=EVENINGS, max_age=timedelta(days=3650))
    msgs = [
        Incoming(
            topic(),
            encode(visit(i + 1, checkpoint=cps[i], first_seen=start + timedelta(minutes=i))),
            start + timedelta(minutes=i + 1),
        )
        for i in range(n)
    ]
    store.write(BatchProcessor(ctx, store).process(msgs).batch)


def test_rollup_day_idempotent_and_chained(store: SqliteStore) -> None:
    _ingest(store, WED, 3)
    _ingest(store, THU, 2)
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
    _ingest(store, WED, 2)
    _ingest(store, THU, 4)
    sched = RollupScheduler(store, REGISTRY, EVENINGS, grace=timedelta(hours=1), lookback_days=3)
    after_thu = EVENINGS.window(THU)[1] + timedelta(hours=2)
    rolled = sched.run(after_thu)
    assert rolled[-2:] == [WED, THU]
    assert sched.run(after_thu + timedelta(minutes=1)) == []  # nothing new until the refresh
    assert sched.run(after_thu + timedelta(hours=2)) == rolled  # periodic refresh re-rolls the look-back
    assert sum(r.visits for r in store.rollups(THU, THU)) == 4


def test_retention_runs_periodically(store: SqliteStore) -> None:
    sched = RetentionScheduler(store, RetentionPolicy(), every=timedelta(hours=6))
    now = datetime.now(UTC)
    assert sched.run(now) is True
    assert sched.run(now + timedelta(hours=1)) is False
    assert sched.run(now + timedelta(hours=7)) is True
