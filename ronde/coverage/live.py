"""Live supervision: where idleness is high now, each team's last check-in, beacons to service.

Supervisors only. A team is its badge (a pseudonym); its last check-in says where the team was
last heard, to coordinate the evening. Nothing here counts, sums or ranks activity per badge:
there is deliberately no per-person score (CNIL, SAN-2023-021).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from ronde.coverage.service_time import service_seconds, utc
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Checkpoint, Registry, distance_m
from ronde.store.records import DEFAULT_SEQUENCE_ANOMALY_AFTER, BeaconTelemetryRecord, SequenceGap, StoredVisit

DEFAULT_LOW_BATTERY_MV = 2600  # a 3 V lithium cell near the knee of its discharge curve
DEFAULT_NEIGHBOUR_M = 50.0
DEFAULT_MIN_MISSED_DAYS = 3


@dataclass(frozen=True, slots=True)
class CheckpointIdleness:
    checkpoint_id: str
    name: str
    kind: str
    building: str | None
    estate: str
    landlord: str
    lat: float
    lon: float
    last_visit: datetime | None  # end of the latest in-service visit seen
    idle_s: float  # service time since then (or since ``since`` if none)
    at_least: bool  # not visited since ``since``: the idleness is at least ``idle_s``


def current_idleness(
    registry: Registry,
    calendar: ServiceCalendar,
    visits: Iterable[StoredVisit],
    *,
    now: datetime,
    since: datetime,
    landlord: str | None = None,
) -> list[CheckpointIdleness]:
    """Current idleness of every checkpoint (of ``landlord``), from the visits since ``since``.

    Counts service time only (of the checkpoint's estate's calendar), so at 16:05 on Thursday a hall
    last visited at 22:00 on Wednesday has been idle for 15 + 5 = 20 minutes.
    """
    now = utc(now)
    last: dict[str, datetime] = {}
    for v in visits:
        if v.first_seen > now:
            continue
        end = min(utc(v.last_seen), now)
        best = last.get(v.checkpoint_id)
        if best is not None and end <= best:
            continue
        parts = calendar.for_estate(v.estate).clip(utc(v.first_seen), end)
        if parts:  # a visit entirely outside service hours is not presence
            last[v.checkpoint_id] = parts[-1][2]
    out: list[CheckpointIdleness] = []
    for c in registry.checkpoints.values():
        if landlord is not None and c.landlord != landlord:
            continue
        seen = last.get(c.id)
        idle = service_seconds(calendar.for_estate(c.estate), seen if seen is not None else since, now)
        out.append(
            CheckpointIdleness(
                c.id, c.name, str(c.kind), c.building, c.estate, c.landlord, c.lat, c.lon, seen, idle, seen is None
            )
        )
    return out


def idle_over(
    registry: Registry,
    calendar: ServiceCalendar,
    visits: Iterable[StoredVisit],
    threshold_s: float,
    *,
    now: datetime,
    since: datetime,
    landlord: str | None = None,
) -> list[CheckpointIdleness]:
    """Checkpoints whose current idleness exceeds ``threshold_s``, most idle first."""
    rows = current_idleness(registry, calendar, visits, now=now, since=since, landlord=landlord)
    return sorted((r for r in rows if r.idle_s > threshold_s), key=lambda r: (-r.idle_s, r.checkpoint_id))


@dataclass(frozen=True, slots=True)
class TeamCheckin:
    """Where a team (badge pseudonym) was last heard. For supervisors, never for landlords."""

    badge: str
    checkpoint_id: str
    checkpoint_name: str
    estate: str
    at: datetime  # end of that visit


def last_checkins(registry: Registry, visits: Iterable[StoredVisit]) -> list[TeamCheckin]:
    """Each team's latest check-in, most recent first."""
    latest: dict[str, StoredVisit] = {}
    for v in visits:
        cur = latest.get(v.badge)
        if cur is None or (v.last_seen, v.event_id) > (cur.last_seen, cur.event_id):
            latest[v.badge] = v
    out = []
    for badge, v in latest.items():
        c = registry.checkpoints.get(v.checkpoint_id)
        out.append(TeamCheckin(badge, v.checkpoint_id, c.name if c else v.checkpoint_id, v.estate, v.last_seen))
    return sorted(out, key=lambda t: (t.at, t.badge), reverse=True)


class MaintenanceReason(StrEnum):
    LOW_BATTERY = "low_battery"
    NOT_SEEN_NEAR_VISITS = "not_seen_near_visits"


@dataclass(frozen=True, slots=True)
class MaintenanceFlag:
    checkpoint_id: str
    name: str
    estate: str
    landlord: str
    reason: MaintenanceReason
    battery_mv: int | None
    last_seen_day: date | None
    missed_days: tuple[date, ...]  # days a team passed a neighbour while this beacon stayed silent


def neighbours(registry: Registry, radius_m: float) -> dict[str, list[str]]:
    """Checkpoints of the same estate within ``radius_m``, on the same side of the ground
    (an underground car park is not heard from the hall above it)."""
    cps = sorted(registry.checkpoints.values(), key=lambda c: c.lat)
    lat_span = radius_m / 111_000.0
    out: dict[str, list[str]] = {c.id: [] for c in cps}
    for i, a in enumerate(cps):
        for b in cps[i + 1 :]:
            if b.lat - a.lat > lat_span:
                break
            if a.estate == b.estate and _same_side(a, b) and distance_m(a, b) <= radius_m:
                out[a.id].append(b.id)
                out[b.id].append(a.id)
    return out


def _same_side(a: Checkpoint, b: Checkpoint) -> bool:
    return (a.level < 0) == (b.level < 0)


def beacons_needing_maintenance(
    registry: Registry,
    visits: Iterable[StoredVisit],
    telemetry: Mapping[str, BeaconTelemetryRecord] | Sequence[BeaconTelemetryRecord],
    *,
    landlord: str | None = None,
    low_battery_mv: int = DEFAULT_LOW_BATTERY_MV,
    neighbour_m: float = DEFAULT_NEIGHBOUR_M,
    min_missed_days: int = DEFAULT_MIN_MISSED_DAYS,
) -> list[MaintenanceFlag]:
    """Beacons reporting a low battery (Eddystone-TLM), and beacons not heard since a day after
    which teams passed their neighbours on at least ``min_missed_days`` service days.

    ``visits`` should cover a look-back of a couple of weeks; a battery of 0 mV means "not
    reported" in TLM and is ignored.
    """
    records = telemetry.values() if isinstance(telemetry, Mapping) else telemetry
    battery: dict[str, BeaconTelemetryRecord] = {}
    for t in records:
        cur = battery.get(t.checkpoint_id)
        if cur is None or t.at > cur.at:
            battery[t.checkpoint_id] = t
    seen_days: dict[str, set[date]] = defaultdict(set)
    for v in visits:
        seen_days[v.checkpoint_id].add(v.service_day)
    near = neighbours(registry, neighbour_m)
    out: list[MaintenanceFlag] = []
    for c in sorted(registry.checkpoints.values(), key=lambda x: x.id):
        if landlord is not None and c.landlord != landlord:
            continue
        tlm = battery.get(c.id)
        mine = seen_days.get(c.id, set())
        last_day = max(mine) if mine else None
        if tlm is not None and tlm.battery_mv is not None and 0 < tlm.battery_mv < low_battery_mv:
            out.append(
                MaintenanceFlag(
                    c.id, c.name, c.estate, c.landlord, MaintenanceReason.LOW_BATTERY, tlm.battery_mv, last_day, ()
                )
            )
        around: set[date] = set()
        for n in near.get(c.id, ()):
            around |= seen_days.get(n, set())
        missed = sorted(d for d in around if last_day is None or d > last_day)
        if len(missed) >= min_missed_days:
            out.append(
                MaintenanceFlag(
                    c.id,
                    c.name,
                    c.estate,
                    c.landlord,
                    MaintenanceReason.NOT_SEEN_NEAR_VISITS,
                    tlm.battery_mv if tlm is not None else None,
                    last_day,
                    tuple(missed),
                )
            )
    return out


@dataclass(frozen=True, slots=True)
class GapState:
    """A recorded gap and how many of its events are still missing. A gap whose events came in
    late stays on record (a long delay is worth knowing) but is shown as filled, not as a loss.
    ``anomaly``: wider than any real loss can be (see ``DEFAULT_SEQUENCE_ANOMALY_AFTER``), so it is
    shown as a sequence anomaly, not as that many missing events."""

    gap: SequenceGap
    still_missing: int
    anomaly: bool = False

    @property
    def size(self) -> int:
        return gap_size(self.gap)

    @property
    def filled(self) -> bool:
        return self.still_missing == 0


def gap_size(gap: SequenceGap) -> int:
    """How many numbers the gap spans (0 for a malformed record whose bounds are reversed)."""
    return max(0, gap.last_missing - gap.first_missing + 1)


def distinct_sorted(numbers: Iterable[int]) -> list[int]:
    """The numbers once each, ascending: what ``count_within`` searches."""
    return sorted(set(numbers))


def count_within(numbers: Sequence[int], first: int, last: int) -> int:
    """How many of ``numbers`` (distinct, ascending) lie in ``first..last``, by binary search: the
    cost depends on how many numbers were stored, never on how wide the range is."""
    if last < first:
        return 0
    return bisect_right(numbers, last) - bisect_left(numbers, first)


def gap_states(
    gaps: Iterable[SequenceGap],
    arrived: Mapping[str, Iterable[int]],
    *,
    anomaly_after: int = DEFAULT_SEQUENCE_ANOMALY_AFTER,
) -> list[GapState]:
    """``arrived``: per gateway, the sequence numbers stored so far (any order, repeats allowed).

    A gap is a range: what is still missing is its width minus the stored numbers inside it, so a
    gap of 2^53 numbers costs what a gap of 3 does (never enumerate the range itself)."""
    seen = {gw: distinct_sorted(seqs) for gw, seqs in arrived.items()}
    out = []
    for g in gaps:
        size = gap_size(g)
        missing = size - count_within(seen.get(g.gateway_id, []), g.first_missing, g.last_missing)
        out.append(GapState(g, missing, anomaly=size > anomaly_after))
    return out
