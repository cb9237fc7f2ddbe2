"""Sensing availability: tell "not visited" apart from "no data".

A checkpoint-day that is not covered is *not visited* only if the system could have seen a
visit: a gateway was alive on the estate that evening, and the checkpoint's beacon was alive.

- Gateway alive on (day, estate): a gateway state or heartbeat said online during the day's
  window, or any visit was recorded on that estate that day (a visit proves a scanner worked).
- Beacon alive on a day: it was heard that day (visit or telemetry), or it was heard both within
  ``horizon_days`` before and within ``horizon_days`` after (a beacon heard on Tuesday and on
  Friday was working on Wednesday). For days so recent that no later evidence can exist yet
  (within ``horizon_days`` of ``today``), being heard within the horizon before is enough.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Protocol

from ronde.protocol.calendar import ServiceCalendar
from ronde.store.day_states import COVERED, NO_ROLLUP, UNVISITED, VISITED, DayStates
from ronde.store.records import BeaconTelemetryRecord, DailyRollup, GatewayStateRecord, RollupFigures, StoredVisit

DEFAULT_HORIZON_DAYS = 7
_HEARD_MASK = str.maketrans({COVERED: "1", VISITED: "1", UNVISITED: "0", NO_ROLLUP: "0"})  # a day heard: "1"


class DayState(StrEnum):
    COVERED = "covered"
    NOT_VISITED = "not_visited"
    NO_DATA = "no_data"


class Verdicts(Protocol):
    """What ``period_coverage`` asks of a checkpoint-day that was not heard: ``SensingEvidence`` judges it,
    a settled month's monthly rollups recorded it (``ronde.coverage.query``)."""

    def state(self, rollup: DailyRollup, *, today: date, horizon_days: int = DEFAULT_HORIZON_DAYS) -> DayState: ...


@dataclass(slots=True)
class SensingEvidence:
    """Days on which gateways and beacons were known alive (accumulate, then ask)."""

    gateway_days: set[date] = field(default_factory=set)  # any estate
    estate_days: set[tuple[date, str]] = field(default_factory=set)
    beacon_days: dict[str, set[date]] = field(default_factory=lambda: defaultdict(set))
    _sorted: dict[str, list[date]] = field(default_factory=dict)

    def add_rollups(self, rollups: Iterable[DailyRollup]) -> None:
        for r in rollups:
            if r.visits > 0:
                self.estate_days.add((r.service_day, r.estate))
                self.beacon_days[r.checkpoint_id].add(r.service_day)
        self._sorted.clear()

    def add_figures(self, figures: Iterable[RollupFigures]) -> None:
        """``add_rollups`` of plain rollup figures (``Store.rollup_figures``)."""
        estate_days = self.estate_days
        beacon_days = self.beacon_days
        for f in figures:
            if f[6] > 0:
                estate_days.add((f[0], f[4]))
                beacon_days[f[1]].add(f[0])
        self._sorted.clear()

    def add_day_states(self, rows: Iterable[DayStates], first: date) -> None:
        """``add_figures`` of the rows whose day states ``rows`` are (``Store.rollup_day_states`` from ``first``): a
        day covered or visited is a visit."""
        beacon_days = self.beacon_days
        heard: dict[str, frozenset[date]] = {}  # per mask of the days heard: at most 2 ** days of them
        estates: set[tuple[str, str]] = set()
        for cid, _, estate, _, codes in rows:
            mask = codes.translate(_HEARD_MASK)
            days = heard.get(mask)
            if days is None:
                days = heard[mask] = frozenset(first + timedelta(days=k) for k, c in enumerate(mask) if c == "1")
            if days:
                beacon_days[cid].update(days)
                estates.add((estate, mask))
        self.estate_days.update((day, estate) for estate, mask in estates for day in heard[mask])
        self._sorted.clear()

    def add_heard(self, days: Iterable[tuple[str, date]]) -> None:
        """One day each checkpoint was heard (``Store.heard_days``' nearest to a period, from the horizon days
        around it): ``beacon_alive`` asks of a day only the nearest heard day each side, so within the period
        the verdicts are those of ``add_figures`` of the horizon's rows (``gateway_alive`` is never asked of a day
        outside the period, so their estates are not needed)."""
        beacon_days = self.beacon_days
        for cid, day in days:
            beacon_days[cid].add(day)
        self._sorted.clear()

    def add_visits(self, visits: Iterable[StoredVisit]) -> None:
        for v in visits:
            self.estate_days.add((v.service_day, v.estate))
            self.beacon_days[v.checkpoint_id].add(v.service_day)
        self._sorted.clear()

    def add_gateway_states(self, calendar: ServiceCalendar, states: Iterable[GatewayStateRecord]) -> None:
        for s in states:
            if s.online and s.in_service is not False:
                day = calendar.service_day(s.at)
                if day is not None:
                    self.gateway_days.add(day)

    def add_telemetry(self, calendar: ServiceCalendar, telemetry: Iterable[BeaconTelemetryRecord]) -> None:
        for t in telemetry:
            day = calendar.service_day(t.at)
            if day is None:
                day = t.at.astimezone(calendar.tz).date()
            self.beacon_days[t.checkpoint_id].add(day)
        self._sorted.clear()

    def gateway_alive(self, day: date, estate: str) -> bool:
        return day in self.gateway_days or (day, estate) in self.estate_days

    def beacon_alive(
        self, checkpoint_id: str, day: date, *, today: date, horizon_days: int = DEFAULT_HORIZON_DAYS
    ) -> bool:
        days = self._sorted.get(checkpoint_id)
        if days is None:
            days = sorted(self.beacon_days.get(checkpoint_id, ()))
            self._sorted[checkpoint_id] = days
        i = bisect.bisect_left(days, day)
        if i < len(days) and days[i] == day:
            return True
        horizon = timedelta(days=horizon_days)
        before = i > 0 and day - days[i - 1] <= horizon
        if not before:
            return False
        after = i < len(days) and days[i] - day <= horizon
        return after or today - day < horizon

    def state(self, rollup: DailyRollup, *, today: date, horizon_days: int = DEFAULT_HORIZON_DAYS) -> DayState:
        if rollup.covered:
            return DayState.COVERED
        if rollup.visits > 0:  # heard, but fewer passes than expected
            return DayState.NOT_VISITED
        return self.unheard_state(
            rollup.checkpoint_id, rollup.service_day, rollup.estate, today=today, horizon_days=horizon_days
        )

    def unheard_state(
        self, checkpoint_id: str, day: date, estate: str, *, today: date, horizon_days: int = DEFAULT_HORIZON_DAYS
    ) -> DayState:
        """``state`` of a checkpoint-day without any visit: what a fold of plain figures asks (no rollup object)."""
        if self.gateway_alive(day, estate) and self.beacon_alive(
            checkpoint_id, day, today=today, horizon_days=horizon_days
        ):
            return DayState.NOT_VISITED
        return DayState.NO_DATA


def evidence_from(
    calendar: ServiceCalendar,
    *,
    rollups: Iterable[DailyRollup] = (),
    visits: Iterable[StoredVisit] = (),
    gateway_states: Iterable[GatewayStateRecord] = (),
    telemetry: Iterable[BeaconTelemetryRecord] = (),
) -> SensingEvidence:
    ev = SensingEvidence()
    ev.add_rollups(rollups)
    ev.add_visits(visits)
    ev.add_gateway_states(calendar, gateway_states)
    ev.add_telemetry(calendar, telemetry)
    return ev


def states_by_checkpoint_day(
    evidence: SensingEvidence,
    rollups: Iterable[DailyRollup],
    *,
    today: date,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> Mapping[tuple[str, date], DayState]:
    return {
        (r.checkpoint_id, r.service_day): evidence.state(r, today=today, horizon_days=horizon_days) for r in rollups
    }
