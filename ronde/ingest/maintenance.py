"""Maintenance beside ingest: sequence gaps, rollups of closed days, their check, the tail's letters, retention.

Every step is idempotent, so any number of workers may run it (``maintenance: true``), or none
(``ronde ingest gaps`` and ``ronde ingest check-rollups`` by hand, a separate process).
``MaintenanceRunner.run`` repeats the steps every ``maintenance_interval_s`` until told to stop; a step
that fails is logged and tried again at the next pass: maintenance never stops ingest.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ronde.ingest.config import IngestConfig
from ronde.ingest.gaps import record_gaps
from ronde.ingest.rollup import RetentionScheduler, RollupScheduler
from ronde.ingest.rollup_check import RollupCheck
from ronde.ingest.tail_fold import TailScheduler
from ronde.ingest.visited_fold import VisitedSetScheduler
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.port import Store, StoreUnavailable

log = logging.getLogger(__name__)


class MaintenanceRunner:
    """Gaps, rollups, the rollup check and retention on one store, every ``interval_s``. The check
    runs right after the rollups, so a day rolled up in a pass is checked in the same pass; the days whose
    rollups it finds edited around the store go back to the rollups, which fold their months again."""

    def __init__(
        self,
        store: Store,
        rollups: RollupScheduler,
        retention: RetentionScheduler,
        *,
        gap_window: timedelta,
        gap_grace: timedelta,
        interval_s: float,
        check: RollupCheck | None = None,
        tails: TailScheduler | None = None,
        visited: VisitedSetScheduler | None = None,
    ) -> None:
        self.store = store
        self.rollups = rollups
        self.retention = retention
        self.gap_window = gap_window
        self.gap_grace = gap_grace
        self.interval_s = interval_s
        self.check = check
        self.tails = tails
        self.visited = visited

    @classmethod
    def from_config(
        cls, config: IngestConfig, store: Store, registry: Registry, calendar: ServiceCalendar
    ) -> MaintenanceRunner:
        c = config
        return cls(
            store,
            RollupScheduler(
                store,
                registry,
                calendar,
                grace=timedelta(seconds=c.rollup_grace_s),
                lookback_days=c.rollup_lookback_days,
            ),
            RetentionScheduler(store, c.retention.to_policy(), every=timedelta(seconds=c.retention_interval_s)),
            gap_window=timedelta(hours=c.gap_window_h),
            gap_grace=timedelta(seconds=c.gap_grace_s),
            interval_s=c.maintenance_interval_s,
            check=RollupCheck(store, registry, calendar, raw_days=c.retention.raw_days),
            tails=TailScheduler(store, registry, calendar),
            visited=VisitedSetScheduler(store, calendar, reach_days=c.retention.proof_days),
        )

    def run(self, stopping: threading.Event) -> None:
        """One pass every ``interval_s`` (the first after one interval) until ``stopping`` is set."""
        while not stopping.wait(self.interval_s):
            self.maintain(datetime.now(UTC))

    def maintain(self, now: datetime) -> None:
        """One pass of every step; a failing step is logged and the others still run."""
        steps: list[tuple[str, Callable[[], object]]] = [
            ("gaps", lambda: record_gaps(self.store, now, window=self.gap_window, grace=self.gap_grace)),
            ("rollups", lambda: self.rollups.run(now)),
        ]
        if self.check is not None:
            check = self.check

            def check_rollups() -> None:
                check.run(now)
                self.rollups.edited(check.edited)  # edits around the store: their months are folded again
                if self.tails is not None:
                    self.tails.edited(check.edited)  # and the tail they reach
                if self.visited is not None:
                    self.visited.edited(check.edited)  # and their visited sets

            steps.append(("rollup check", check_rollups))
        if self.tails is not None:
            tails = self.tails
            steps.append(("tail letters", lambda: tails.run(now)))  # on what the rollups and their check left
        if self.visited is not None:
            visited = self.visited
            steps.append(("visited sets", lambda: visited.run(now)))
        steps.append(("retention", lambda: self.retention.run(now)))
        for name, step in steps:
            try:
                step()
            except StoreUnavailable as exc:
                log.warning("maintenance %s postponed: store unavailable (%s)", name, exc)
            except Exception:
                log.exception("maintenance %s failed; ingest goes on", name)
