"""Daily rollups when a service day closes, and retention: periodic, idempotent, any worker.

A day is closed once its service window ended more than ``grace`` ago (late events from a
gateway's outbox land inside the grace). Rollups carry the audit chain, whose link for a day
depends on the previous day's, so days are rolled in order; re-rolling a day (late events, or a
second worker doing the same) writes the same rows again, replacing the previous ones.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from ronde.coverage.daily import day_rollups
from ronde.coverage.query import previous_link
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.chain import chain_link, event_digest
from ronde.protocol.estate import Registry
from ronde.store.port import Store
from ronde.store.records import DailyRollup, RetentionPolicy, StoredVisit

log = logging.getLogger(__name__)


def closed_days(calendar: ServiceCalendar, now: datetime, *, grace: timedelta, lookback_days: int) -> list[date]:
    """Service days of the look-back whose window ended at least ``grace`` before ``now``, oldest first."""
    today = now.astimezone(calendar.tz).date()
    first = today - timedelta(days=lookback_days)
    return [d for d in calendar.service_days(first, today) if calendar.window(d)[1] + grace <= now]


def build_daily_rollups(
    registry: Registry, calendar: ServiceCalendar, day: date, visits: Sequence[StoredVisit], prev_chain: str
) -> list[DailyRollup]:
    """Rollups of a closed service day, each carrying the day's link of the store-wide chain.

    ``visits`` are the day's visits *as read back from the store* (``store.visits_of_days([day])``)
    so the link matches what an audit recomputes; events of other days are ignored. ``prev_chain``
    is the previous day's link (:func:`ronde.coverage.query.previous_link`). Non-service days
    give no rollups.
    """
    mine = [v for v in visits if v.service_day == day]
    link = chain_link(prev_chain, day, (event_digest(v) for v in mine))
    return day_rollups(registry, calendar, day, mine, chain_digest=link)


def rollup_day(store: Store, registry: Registry, calendar: ServiceCalendar, day: date) -> list[DailyRollup]:
    """Compute and durably write one closed day's rollups; returns them."""
    visits = store.visits_of_days([day])
    rows = build_daily_rollups(registry, calendar, day, visits, previous_link(store, registry, day))
    if rows:
        store.write_rollups(rows)
    return rows


class RollupScheduler:
    """Rolls each newly closed day once, and the whole look-back again every ``refresh``."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        calendar: ServiceCalendar,
        *,
        grace: timedelta = timedelta(hours=1),
        lookback_days: int = 3,
        refresh: timedelta = timedelta(hours=1),
    ) -> None:
        self.store = store
        self.registry = registry
        self.calendar = calendar
        self.grace = grace
        self.lookback_days = lookback_days
        self.refresh = refresh
        self._done: set[date] = set()
        self._last_refresh: datetime | None = None

    def run(self, now: datetime) -> list[date]:
        """Days rolled in this call (StoreUnavailable propagates: the next call retries)."""
        days = closed_days(self.calendar, now, grace=self.grace, lookback_days=self.lookback_days)
        full = self._last_refresh is None or now - self._last_refresh >= self.refresh
        todo = days if full else [d for d in days if d not in self._done]
        if todo and not full:  # a later day's chain link depends on this one: roll the rest too
            todo = [d for d in days if d >= todo[0]]
        for day in todo:
            rows = rollup_day(self.store, self.registry, self.calendar, day)
            self._done.add(day)
            log.info("rolled up service day %s: %d checkpoints", day, len(rows))
        if full:
            self._last_refresh = now
        self._done = {d for d in self._done if d in set(days)}
        return todo


class RetentionScheduler:
    def __init__(self, store: Store, policy: RetentionPolicy, *, every: timedelta = timedelta(hours=6)) -> None:
        self.store = store
        self.policy = policy
        self.every = every
        self._last: datetime | None = None

    def run(self, now: datetime) -> bool:
        if self._last is not None and now - self._last < self.every:
            return False
        self.store.apply_retention(self.policy, now)
        self._last = now
        log.info("retention applied: raw %d d, proof %d d", self.policy.raw_days, self.policy.proof_days)
        return True
