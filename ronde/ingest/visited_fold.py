"""Maintenance's fold of the visited sets (``ronde.coverage.visited_sets``), each pass the rollups' marks moved.

Why a step of its own: the sets are written from what the rollups leave, so after the rollups and their check in a
pass. A pass where nothing moved costs two small reads (every landlord's rollup marks over the proof's reach and
the marks the sets were written with); the first pass on a store folds every day kept (at city scale a year: a
few seconds on SQLite, a minute of influxd), later ones the days re-rolled (a closed evening, a late event).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from ronde.coverage.visited_sets import fold_visited_sets
from ronde.protocol.calendar import ServiceCalendar
from ronde.store.port import Store

log = logging.getLogger(__name__)


class VisitedSetScheduler:
    """Folds the visited sets of the days of the last ``reach_days`` whose rollups' marks moved, and of the days the
    rollup check found edited around the store (their marks kept on InfluxDB)."""

    def __init__(self, store: Store, calendar: ServiceCalendar, *, reach_days: int) -> None:
        self.store = store
        self.calendar = calendar
        self.reach_days = reach_days
        self._edited: set[date] = set()

    def edited(self, days: Iterable[date]) -> None:
        """Days whose rollups changed without moving their marks (``RollupCheck``): folded again next pass."""
        self._edited.update(days)

    def run(self, now: datetime) -> int:
        """How many sets this pass wrote (StoreUnavailable propagates, the edited days kept for the next pass)."""
        today = now.astimezone(self.calendar.tz).date()
        again = set(self._edited)
        n = fold_visited_sets(self.store, today - timedelta(days=self.reach_days), today, again=again)
        self._edited -= again
        if n:
            log.info("folded %d visited sets", n)
        return n
