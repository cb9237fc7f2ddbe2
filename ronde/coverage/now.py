"""What is true now, for supervisors and maintenance: idleness, team check-ins, beacons to maintain, sequence
gaps, presence against the fair share, and the chain's previous link."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from ronde.coverage.compute import days_without_rollups, visits_of_days
from ronde.coverage.live import (
    CheckpointIdleness,
    GapState,
    MaintenanceFlag,
    TeamCheckin,
    beacons_needing_maintenance,
    current_idleness,
    gap_states,
    last_checkins,
)
from ronde.coverage.period import rollups_for_days
from ronde.coverage.shares import FairShare, fair_share
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.chain import genesis_anchor
from ronde.protocol.estate import Registry
from ronde.store.port import Store
from ronde.store.records import DEFAULT_SEQUENCE_ANOMALY_AFTER, SequenceGap


def fair_share_for_period(
    store: Store, registry: Registry, calendar: ServiceCalendar, first: date, last: date, *, now: datetime
) -> list[FairShare]:
    """Presence per landlord over the period against its share of dwellings (supervisors)."""
    presence: dict[str, float] = defaultdict(float)
    rollups = store.rollups(first, last)
    for r in rollups:
        presence[r.landlord] += r.presence_s
    live_days = days_without_rollups(calendar, first, last, {r.service_day for r in rollups}, now)
    if live_days:
        visits = visits_of_days(store, calendar, live_days, None)
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
