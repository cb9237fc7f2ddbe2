"""Do the daily rollups still say what the stored events say?

Why: pages and the coverage API read closed evenings from daily rollups (cheap), not from raw
events. A rollup is a plain row: editing it (``UPDATE rollups`` in SQLite) would change the shares a
landlord sees while ``ronde audit verify`` — which reads raw events — stays OK. Each rollup carries
the store-wide chain link of its day's events (``chain_digest``); this module recomputes that link
from the raw events (and the previous rolled-up day's link) and the rollup's figures from the same
events, and names every rollup that disagrees, so the API can show a warning next to the figures.

Only days whose raw events are still kept can be checked (retention keeps raw events about two
months, rollups about a year); older rollups are shown as they are.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ronde.coverage.daily import DayFigures, clipped_parts, day_figures
from ronde.coverage.query import previous_link
from ronde.coverage.service_time import effective_window
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.chain import chain_link, event_digest, genesis_anchor
from ronde.protocol.estate import Registry
from ronde.store.port import Store
from ronde.store.records import DailyRollup, StoredVisit
from ronde.store.retention import DEFAULT_RETENTION


@dataclass(frozen=True, slots=True)
class RollupMismatch:
    service_day: date
    checkpoint_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class _Recomputed:
    link: str
    anchor_known: bool  # False: no earlier rolled-up day, the chain's start cannot be told
    figures: dict[str, DayFigures]
    window: bool  # the day has a service window in this calendar


class RollupChecker:
    """Recomputes days from raw events, keeping each day's result ``ttl_s`` seconds (the rollups
    themselves are compared on every call, so an edited rollup shows at once; an edited raw event
    within ``ttl_s``)."""

    def __init__(self, ttl_s: float = 60.0, clock: Callable[[], float] = time.monotonic, max_days: int = 2048):
        self.ttl_s = ttl_s
        self._clock = clock
        self._max = max_days
        self._lock = threading.Lock()
        self._days: dict[tuple[object, ...], tuple[float, _Recomputed]] = {}

    def clear(self) -> None:
        with self._lock:
            self._days.clear()

    def mismatches(
        self,
        store: Store,
        registry: Registry,
        calendar: ServiceCalendar,
        rollups: Sequence[DailyRollup],
        *,
        now: datetime,
        raw_days: int = DEFAULT_RETENTION.raw_days,
    ) -> list[RollupMismatch]:
        """The rollups among ``rollups`` that disagree with their day's raw events, sorted."""
        today = now.astimezone(calendar.tz).date()
        checkable = sorted({r.service_day for r in rollups if (today - r.service_day).days < raw_days - 1})
        if not checkable:
            return []
        recomputed = self._recompute(store, registry, calendar, checkable)
        out: list[RollupMismatch] = []
        for r in rollups:
            rc = recomputed.get(r.service_day)
            if rc is None or not rc.window:
                continue
            reason = _disagreement(r, rc)
            if reason is not None:
                out.append(RollupMismatch(r.service_day, r.checkpoint_id, reason))
        return sorted(out, key=lambda m: (m.service_day, m.checkpoint_id))

    def _recompute(
        self, store: Store, registry: Registry, calendar: ServiceCalendar, days: list[date]
    ) -> dict[date, _Recomputed]:
        all_rows = store.rollups(days[0] - timedelta(days=14), days[-1])
        links: dict[date, set[str]] = defaultdict(set)
        for row in all_rows:
            links[row.service_day].add(row.chain_digest)
        rolled = sorted(links)
        out: dict[date, _Recomputed] = {}
        todo: list[tuple[date, str, bool]] = []
        t = self._clock()
        for day in days:
            earlier = [d for d in rolled if d < day]
            if earlier:
                prev_set = links[earlier[-1]]
                prev, known = (next(iter(prev_set)), True) if len(prev_set) == 1 else ("", False)
            else:
                prev = previous_link(store, registry, day)
                known = prev != genesis_anchor(None, registry.revision)
            key = (id(store), calendar, day, prev)
            with self._lock:
                hit = self._days.get(key)
            if hit is not None and hit[0] > t:
                out[day] = hit[1]
            else:
                todo.append((day, prev, known))
        if todo:
            by_day: dict[date, list[StoredVisit]] = defaultdict(list)
            for v in store.visits_of_days([d for d, _, _ in todo]):
                by_day[v.service_day].append(v)
            for day, prev, known in todo:
                mine = by_day.get(day, [])
                link = chain_link(prev, day, (event_digest(v) for v in mine)) if prev else ""
                window = effective_window(calendar, day, None)
                figures: dict[str, DayFigures] = {}
                if window is not None:
                    parts = clipped_parts(mine, *window)
                    figures = {cid: day_figures(p, *window) for cid, p in parts.items()}
                    empty = day_figures((), *window)
                    figures.setdefault("", empty)
                rc = _Recomputed(link, known, figures, window is not None)
                out[day] = rc
                with self._lock:
                    if len(self._days) >= self._max:
                        self._days.clear()
                    self._days[(id(store), calendar, day, prev)] = (t + self.ttl_s, rc)
        return out


def _disagreement(r: DailyRollup, rc: _Recomputed) -> str | None:
    f = rc.figures.get(r.checkpoint_id) or rc.figures[""]
    checks = (
        ("passes", r.visits, f.visits),
        ("covered", r.covered, f.visits >= r.expected),
        ("first seen", r.first_seen, f.first_seen),
        ("last seen", r.last_seen, f.last_seen),
    )
    for name, stored, events in checks:
        if stored != events:
            return f"{name}: {stored} in the rollup, {events} from the stored events"
    for name, x, y in (
        ("presence", r.presence_s, f.presence_s),
        ("worst idleness", r.max_idle_s, f.max_idle_s),
        ("mean idleness", r.mean_idle_s, f.mean_idle_s),
    ):
        if not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-3):
            return f"{name}: {x:.0f} s in the rollup, {y:.0f} s from the stored events"
    if rc.anchor_known and r.chain_digest != rc.link:
        return "chain link differs from the one recomputed from the stored events (events or rollups edited)"
    return None
