"""Maintenance's fold of the open tail's letters (``ronde.coverage.tail_letters``), each pass its evidence moved.

Why apart from ``rollup.RollupScheduler``: the tail's letters are folded on what the rollups leave (every landlord's
marks of the tail and the horizon around it, the days the latest sensing records are evidence for, the date), so
this step runs after the rollups and their check in a pass, and costs a pass two small reads (the marks, the latest
sensing records) when nothing moved. At city scale a fold is the last week's rollups of every landlord judged once
(a few seconds), about once a day: after the last evening's rollups, again after midnight (the date is evidence),
and after a late event or a heartbeat on a new day.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from ronde.coverage.answers import sensing_days
from ronde.coverage.compute import latest_sensing
from ronde.coverage.monthly import basis
from ronde.coverage.sensing import DEFAULT_HORIZON_DAYS
from ronde.coverage.tail_letters import fold_tail, store_digest, tail_basis, tail_first
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.port import Store

log = logging.getLogger(__name__)


class TailScheduler:
    """Folds the tail letters of the day when the digest of their evidence moved since the last fold (this
    process's, or one an earlier process left in the store under the same basis)."""

    def __init__(
        self, store: Store, registry: Registry, calendar: ServiceCalendar, *, horizon_days: int = DEFAULT_HORIZON_DAYS
    ) -> None:
        self.store = store
        self.registry = registry
        self.calendar = calendar
        self.horizon_days = horizon_days
        self._digest: str | None = None  # the evidence of the letters last folded or found
        self._telemetry_days: dict[tuple[str, datetime], date] = {}
        self._reach = date.min  # the first day whose rollups the last pass's tail was judged on
        self._edited = False  # a rollup edited around the store, its marks kept (InfluxDB): fold again anyway

    def edited(self, days: Iterable[date]) -> None:
        """Days whose rollups changed without moving their marks (found by ``RollupCheck``): the next pass folds
        the tail again, whatever its digest, when one of them lies within its reach (it and the horizon before)."""
        if any(d >= self._reach for d in days):
            self._edited = True

    def run(self, now: datetime) -> date | None:
        """The tail's first day when this pass folded its letters, else None (StoreUnavailable propagates)."""
        sensing = sensing_days(self.calendar, latest_sensing(self.store), self._telemetry_days)
        today = now.astimezone(self.calendar.tz).date()
        h = self.horizon_days
        digest = store_digest(self.store, self.calendar, today, now=now, horizon_days=h, sensing=sensing)
        first = tail_first(today, self.horizon_days)
        self._reach = first - timedelta(days=h)
        if digest is None or (digest == self._digest and not self._edited):
            return None
        wanted = tail_basis(basis(self.registry, self.calendar, self.horizon_days), digest)
        if self._digest is None and not self._edited and any(f[6] == wanted for f in self.store.tail_figures(first)):
            self._digest = digest  # an earlier process folded them
            return None
        got = fold_tail(
            self.store, self.registry, self.calendar, now=now, horizon_days=self.horizon_days, sensing=sensing
        )
        if got is None:
            return None
        first, digest, rows = got
        self.store.write_tail_letters(first, rows)
        self._digest, self._edited = digest, False
        log.info("folded the tail from %s: %d checkpoints", first, len(rows))
        return first
