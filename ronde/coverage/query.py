"""Coverage read from a :class:`ronde.store.port.Store`: the calls the API and audits make.

Closed days come from rollups; raw visits are read only for days without rollups (normally the
evening in progress). Sensing evidence looks ``horizon_days`` around the period, and only when a
landlord's own checkpoints show no activity on an estate for a day does it read the other
landlords' rollups of that day (a team on the estate is a gateway alive there).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta

from ronde.coverage.live import (
    DEFAULT_SEQUENCE_ANOMALY_AFTER,
    CheckpointIdleness,
    GapState,
    MaintenanceFlag,
    TeamCheckin,
    beacons_needing_maintenance,
    current_idleness,
    gap_states,
    last_checkins,
)
from ronde.coverage.period import PeriodCoverage, combine_periods, period_coverage, rollups_for_days
from ronde.coverage.sensing import DEFAULT_HORIZON_DAYS, SensingEvidence, evidence_from
from ronde.coverage.service_time import effective_window
from ronde.coverage.shares import FairShare, fair_share
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.chain import genesis_anchor
from ronde.protocol.estate import Registry
from ronde.store.port import Store
from ronde.store.records import DailyRollup, SequenceGap, StoredVisit

# Days this close together are read by one range query rather than one query each.
_RECENT_RUN_GAP_DAYS = 3
_EVIDENCE_RUN_GAP_DAYS = 7


def _days_without_rollups(
    calendar: ServiceCalendar, first: date, last: date, rolled: set[date], now: datetime | None
) -> list[date]:
    return [
        d
        for d in calendar.service_days(first, last)
        if d not in rolled and effective_window(calendar, d, now) is not None
    ]


def _visits_of_days(
    store: Store, calendar: ServiceCalendar, days: list[date], landlord: str | None
) -> list[StoredVisit]:
    """Visits of a few recent days, read by time range (cheap on every engine)."""
    if not days:
        return []
    wanted = set(days)
    runs: list[tuple[date, date]] = []
    for d in sorted(days):
        if runs and (d - runs[-1][1]).days <= _RECENT_RUN_GAP_DAYS:
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    margin = timedelta(hours=12)
    out: list[StoredVisit] = []
    for lo, hi in runs:
        rows = store.visits(calendar.window(lo)[0] - margin, calendar.window(hi)[1] + margin, landlord=landlord)
        out.extend(v for v in rows if v.service_day in wanted)
    return out


def landlord_coverage(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    first: date,
    last: date,
    *,
    landlord: str | None,
    now: datetime,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    include_days: bool = False,
    cache: CoverageCache | None = None,
) -> PeriodCoverage:
    """Coverage of one landlord's checkpoints (all landlords if None) over ``first..last``.

    With a ``cache``, settled calendar months (ended more than ``horizon_days`` ago) are computed
    once and reused for ``cache.ttl_s`` seconds; the answer is the same as without it.
    """
    if cache is not None and not include_days:
        return cache.coverage(
            store, registry, calendar, first, last, landlord=landlord, now=now, horizon_days=horizon_days
        )
    return _coverage(
        store,
        registry,
        calendar,
        first,
        last,
        landlord=landlord,
        now=now,
        horizon_days=horizon_days,
        include_days=include_days,
    )


def _coverage(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    first: date,
    last: date,
    *,
    landlord: str | None,
    now: datetime,
    horizon_days: int,
    include_days: bool,
) -> PeriodCoverage:
    h = timedelta(days=horizon_days)
    around = store.rollups(first - h, last + h, landlord=landlord)
    rollups = [r for r in around if first <= r.service_day <= last]
    rolled = {r.service_day for r in rollups}
    live_days = _days_without_rollups(calendar, first, last, rolled, now)
    live_visits = _visits_of_days(store, calendar, live_days, landlord)
    evidence = evidence_from(
        calendar,
        rollups=around,
        visits=live_visits,
        gateway_states=store.latest_gateway_states().values(),
        telemetry=store.latest_telemetry().values(),
    )
    if landlord is not None:
        fill_estate_evidence(store, evidence, rollups, calendar)
        estates = {c.estate for c in registry.checkpoints_of(landlord)}
        quiet = [d for d in live_days if any(not evidence.gateway_alive(d, e) for e in estates)]
        if quiet:  # a team on another landlord's checkpoints of the estate: a gateway was alive there
            evidence.add_visits(v for v in _visits_of_days(store, calendar, quiet, None) if v.landlord != landlord)
    return period_coverage(
        registry,
        calendar,
        first,
        last,
        rollups=rollups,
        visits=live_visits,
        now=now,
        landlord=landlord,
        evidence=evidence,
        horizon_days=horizon_days,
        include_days=include_days,
    )


def fill_estate_evidence(
    store: Store, evidence: SensingEvidence, rollups: Sequence[DailyRollup], calendar: ServiceCalendar | None = None
) -> None:
    """Read other landlords' activity only for the closed days that need it: their rollups, or
    (``calendar`` given) their raw visits for days that have no rollup at all."""
    needed = sorted(
        {r.service_day for r in rollups if r.visits == 0 and not evidence.gateway_alive(r.service_day, r.estate)}
    )
    runs: list[tuple[date, date]] = []  # nearby days → one range query
    for d in needed:
        if runs and (d - runs[-1][1]).days <= _EVIDENCE_RUN_GAP_DAYS:
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    wanted = set(needed)
    rolled: set[date] = set()
    for lo, hi in runs:
        for r in store.rollups(lo, hi):
            if r.service_day in wanted:
                rolled.add(r.service_day)
                if r.visits > 0:
                    evidence.add_rollups([r])
    unrolled = sorted(wanted - rolled)
    if unrolled and calendar is not None:
        evidence.add_visits(_visits_of_days(store, calendar, unrolled, None))


class CoverageCache:
    """Per-process cache of settled months' coverage (what the API keeps between requests).

    A period is cut at calendar-month boundaries; a piece is settled when it ended more than the
    sensing horizon ago: its rollups and the
    evidence around them no longer change, except if ingest re-closes a day after late events,
    which the time-to-live bounds (default 5 minutes). ``clear()`` drops everything.
    """

    def __init__(self, ttl_s: float = 300.0, clock: Callable[[], float] = time.monotonic, max_entries: int = 4096):
        self.ttl_s = ttl_s
        self._clock = clock
        self._max = max_entries
        self._months: dict[tuple[object, ...], tuple[float, PeriodCoverage]] = {}
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        self._months.clear()

    def coverage(
        self,
        store: Store,
        registry: Registry,
        calendar: ServiceCalendar,
        first: date,
        last: date,
        *,
        landlord: str | None,
        now: datetime,
        horizon_days: int = DEFAULT_HORIZON_DAYS,
    ) -> PeriodCoverage:
        today = now.astimezone(calendar.tz).date()
        pieces: list[tuple[date, date, bool]] = []  # (first, last, settled): calendar months, cut by the period
        day = first
        while day <= last:
            m_last = (day.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
            lo, hi = day, min(last, m_last)
            settled = (today - hi).days > horizon_days
            if pieces and not settled and not pieces[-1][2]:
                pieces[-1] = (pieces[-1][0], hi, False)
            else:
                pieces.append((lo, hi, settled))
            day = hi + timedelta(days=1)
        parts = [
            self._month(store, registry, calendar, lo, hi, landlord, now, horizon_days)
            if settled
            else _coverage(
                store,
                registry,
                calendar,
                lo,
                hi,
                landlord=landlord,
                now=now,
                horizon_days=horizon_days,
                include_days=False,
            )
            for lo, hi, settled in pieces
        ]
        if not parts:
            return period_coverage(registry, calendar, first, last, rollups=[], landlord=landlord, now=now)
        return replace(combine_periods(parts), first=first, last=last)

    def _month(
        self,
        store: Store,
        registry: Registry,
        calendar: ServiceCalendar,
        lo: date,
        hi: date,
        landlord: str | None,
        now: datetime,
        horizon_days: int,
    ) -> PeriodCoverage:
        key = (landlord, registry.revision, calendar, horizon_days, lo, hi, id(store))
        t = self._clock()
        entry = self._months.get(key)
        if entry is not None and entry[0] > t:
            self.hits += 1
            return entry[1]
        self.misses += 1
        value = _coverage(
            store, registry, calendar, lo, hi, landlord=landlord, now=now, horizon_days=horizon_days, include_days=False
        )
        if len(self._months) >= self._max:
            self._months.clear()
        self._months[key] = (t + self.ttl_s, value)
        return value


def fair_share_for_period(
    store: Store, registry: Registry, calendar: ServiceCalendar, first: date, last: date, *, now: datetime
) -> list[FairShare]:
    """Presence per landlord over the period against its share of dwellings (supervisors)."""
    presence: dict[str, float] = defaultdict(float)
    rollups = store.rollups(first, last)
    for r in rollups:
        presence[r.landlord] += r.presence_s
    live_days = _days_without_rollups(calendar, first, last, {r.service_day for r in rollups}, now)
    if live_days:
        visits = _visits_of_days(store, calendar, live_days, None)
        for r in rollups_for_days(registry, calendar, live_days, visits, now=now):
            presence[r.landlord] += r.presence_s
    return fair_share(registry, presence)


def previous_link(store: Store, registry: Registry, day: date, *, lookback_days: int = 400) -> str:
    """The store-wide chain link of the latest rolled-up day before ``day`` (or the genesis anchor).

    What ingest passes as ``prev_chain`` to ``ronde.ingest.rollup.build_daily_rollups`` when a day closes.
    """
    hi = day - timedelta(days=1)
    floor = day - timedelta(days=lookback_days)
    while hi >= floor:
        lo = max(floor, hi - timedelta(days=13))
        rows = store.rollups(lo, hi)
        if rows:
            latest = max(rows, key=lambda r: r.service_day)
            return latest.chain_digest
        hi = lo - timedelta(days=1)
    return genesis_anchor(None, registry.revision)


def idle_checkpoints_now(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    *,
    now: datetime,
    threshold_s: float = 0.0,
    landlord: str | None = None,
    lookback_days: int = 14,
) -> list[CheckpointIdleness]:
    """Current idleness above ``threshold_s`` (0: all checkpoints), most idle first."""
    since = now - timedelta(days=lookback_days)
    rows = current_idleness(
        registry, calendar, store.visits(since, now, landlord=landlord), now=now, since=since, landlord=landlord
    )
    return sorted((r for r in rows if r.idle_s > threshold_s), key=lambda r: (-r.idle_s, r.checkpoint_id))


def team_checkins_now(store: Store, registry: Registry, *, now: datetime, lookback_days: int = 2) -> list[TeamCheckin]:
    """Each team's last check-in in the look-back (supervisors only: badges are never shown to landlords)."""
    return last_checkins(registry, store.visits(now - timedelta(days=lookback_days), now))


def maintenance_now(
    store: Store,
    registry: Registry,
    *,
    now: datetime,
    landlord: str | None = None,
    lookback_days: int = 14,
) -> list[MaintenanceFlag]:
    visits = store.visits(now - timedelta(days=lookback_days), now)
    return beacons_needing_maintenance(registry, visits, store.latest_telemetry(), landlord=landlord)


def gap_states_now(
    store: Store,
    gaps: Sequence[SequenceGap],
    *,
    now: datetime,
    anomaly_after: int = DEFAULT_SEQUENCE_ANOMALY_AFTER,
) -> list[GapState]:
    """Recorded gaps with the numbers that have arrived since (a gap's events can only arrive after
    it was detected, so the look-up starts a day before the oldest detection, to be safe).

    What is read is the gateway's stored numbers, never the gap's: the still-missing count is the
    gap's width minus the stored numbers inside it, whatever the width (``live.gap_states``)."""
    arrived: dict[str, list[int]] = {}
    for gw in sorted({g.gateway_id for g in gaps}):
        since = min(g.detected_at for g in gaps if g.gateway_id == gw) - timedelta(days=1)
        arrived[gw] = store.sequence_numbers(gw, since, now + timedelta(seconds=1))
    return gap_states(gaps, arrived, anomaly_after=anomaly_after)
