"""A deterministic simulated fortnight of Ronde data, encoded with the store's schema module.

Two weeks of service evenings (Wednesday to Sunday, 16:00–22:15 Paris) up to ``NOW`` (Sunday
22 November 2026, 21:00 Paris, in the middle of a service evening): visits of three teams over the
sample estate, daily rollups (some rewritten, to exercise "newest written_at wins"), beacon
telemetry, gateway states, rejections and sequence gaps. One beacon (``SILENT``) is never detected,
so the technical watch has a silent beacon to show. Everything derives from hashes of the inputs:
no randomness, the same points on every run.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Checkpoint, Registry
from ronde.store.records import (
    BeaconCheck,
    BeaconTelemetryRecord,
    DailyRollup,
    GatewayStateRecord,
    Rejection,
    RejectReason,
    SequenceGap,
    StoredVisit,
    Verification,
)
from ronde.store.schema import (
    BEACON_TELEMETRY,
    CHECKPOINT_DAY,
    GATEWAY_STATE,
    REJECTION,
    SEQUENCE_GAP,
    VISIT,
    gap_line,
    gateway_state_line,
    rejection_line,
    rollup_line,
    telemetry_line,
    to_ms,
    visit_line,
)

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 22, 21, 0, tzinfo=PARIS).astimezone(UTC)
FIRST_DAY = date(2026, 11, 11)
SILENT = "mor-b01-hall-b"  # its beacon is dead: never detected, telemetry stopped
TEAMS = {"mordacs": ("gw-mordacs-1", "MED-A1"), "bois-labbe": ("gw-bois-1", "MED-B1")}
EXTRA_TEAM = ("gw-bois-2", "MED-B2")  # second team in Bois l'Abbé, every other checkpoint


def _h(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def _ulid(n: int) -> str:
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    out = ""
    for _ in range(26):
        n, r = divmod(n, 32)
        out = alphabet[r] + out
    return out


@dataclass
class Week:
    """Line protocol per retention policy (``raw``, ``rejections``, ``proof``) plus what was made."""

    lines: dict[str, list[str]] = field(default_factory=dict)
    visits: list[StoredVisit] = field(default_factory=list)
    rollups: list[DailyRollup] = field(default_factory=list)

    def add(self, retention: str, line: str) -> None:
        self.lines.setdefault(retention, []).append(line)


def _route(registry: Registry, estate: str) -> list[Checkpoint]:
    return sorted((c for c in registry.checkpoints.values() if c.estate == estate), key=lambda c: c.id)


def simulate(registry: Registry, calendar: ServiceCalendar | None = None) -> Week:
    calendar = calendar or ServiceCalendar()
    week = Week()
    seq: dict[str, int] = {}
    for day in calendar.service_days(FIRST_DAY, NOW.astimezone(PARIS).date()):
        start, end = calendar.window(day)
        closes = end <= NOW
        stop = min(end, NOW)
        day_visits: list[StoredVisit] = []
        teams = [(estate, gw, badge) for estate, (gw, badge) in TEAMS.items()] + [("bois-labbe", *EXTRA_TEAM)]
        for estate, gateway, badge in teams:
            route = _route(registry, estate)
            if gateway == EXTRA_TEAM[0]:
                route = route[::2]
            step = (end - start - timedelta(minutes=6)) / max(len(route), 1)
            for i, cp in enumerate(route):
                if cp.id == SILENT or _h(day, cp.id, gateway) % 10 == 0:  # ~10 % skipped each evening
                    continue
                first = start + step * i + timedelta(seconds=_h(cp.id, day) % 90)
                if first >= stop:
                    break
                dwell = timedelta(seconds=20 + _h(cp.id, day, "dwell") % 160)
                seq[gateway] = seq.get(gateway, 0) + 1
                if _h(gateway, seq[gateway]) % 97 == 0:
                    seq[gateway] += 1  # an event lost before the broker: a gap
                    week.add(
                        SEQUENCE_GAP.retention.value,
                        gap_line(
                            SequenceGap(
                                gateway, seq[gateway] - 1, seq[gateway] - 1, first + dwell + timedelta(seconds=5)
                            )
                        ),
                    )
                last = first + dwell
                visit = StoredVisit(
                    event_id=_ulid(_h("event", gateway, seq[gateway])),
                    gateway_id=gateway,
                    seq=seq[gateway],
                    badge=badge,
                    checkpoint_id=cp.id,
                    kind=cp.kind.value,
                    building=cp.building,
                    estate=cp.estate,
                    landlord=cp.landlord,
                    service_day=day,
                    first_seen=first,
                    last_seen=last,
                    count=5 + _h(cp.id, "n") % 50,
                    rssi_max=-55 - _h(cp.id) % 20,
                    rssi_mean=-70.0 - _h(cp.id) % 9,
                    verification=Verification.SIGNED,
                    beacon_check=(
                        BeaconCheck.EID_RESOLVED if cp.beacon.format == "eddystone_eid" else BeaconCheck.STATIC
                    ),
                    received_at=last + timedelta(milliseconds=300 + _h(cp.id, day, "lag") % 4000),
                    payload_sha256=hashlib.sha256(f"{gateway}{seq[gateway]}".encode()).hexdigest(),
                )
                day_visits.append(visit)
        # a late visit in the 22:00–22:15 hour in each estate, so every service hour has data
        for estate, (gateway, badge) in TEAMS.items():
            cp = _route(registry, estate)[-1]
            first = end - timedelta(minutes=10)
            if first < stop:
                seq[gateway] += 1
                day_visits.append(
                    StoredVisit(
                        event_id=_ulid(_h("late", gateway, seq[gateway])),
                        gateway_id=gateway,
                        seq=seq[gateway],
                        badge=badge,
                        checkpoint_id=cp.id,
                        kind=cp.kind.value,
                        building=cp.building,
                        estate=cp.estate,
                        landlord=cp.landlord,
                        service_day=day,
                        first_seen=first,
                        last_seen=first + timedelta(seconds=40),
                        count=9,
                        rssi_max=-60,
                        rssi_mean=-68.5,
                        verification=Verification.SIGNED,
                        beacon_check=BeaconCheck.STATIC,
                        received_at=first + timedelta(seconds=41),
                        payload_sha256=hashlib.sha256(f"late{gateway}{seq[gateway]}".encode()).hexdigest(),
                    )
                )
        for v in day_visits:
            week.add(VISIT.retention.value, visit_line(v))
        week.visits.extend(day_visits)
        _telemetry_and_states(week, registry, day, start, stop, seq)
        _rejections(week, day, start, stop)
        if closes:
            _rollups(week, registry, day, start, end, day_visits)
    return week


def _telemetry_and_states(
    week: Week, registry: Registry, day: date, start: datetime, stop: datetime, seq: dict[str, int]
) -> None:
    age = (day - FIRST_DAY).days
    for cp in sorted(registry.checkpoints.values(), key=lambda c: c.id):
        if cp.id == SILENT and age > 2:
            continue  # its pile went flat on the third day
        battery = 3000 - age * 4 - _h(cp.id) % 500 - (700 if cp.id == SILENT else 0)
        week.add(
            BEACON_TELEMETRY.retention.value,
            telemetry_line(
                BeaconTelemetryRecord(
                    at=start + timedelta(minutes=30 + _h(cp.id, day) % 300),
                    checkpoint_id=cp.id,
                    gateway_id=TEAMS.get(cp.estate, EXTRA_TEAM)[0],
                    battery_mv=battery,
                    temperature_c=8.0 + _h(cp.id, day) % 10,
                    adv_count=1000 * age + _h(cp.id) % 1000,
                    uptime_s=86_400.0 * age,
                )
            ),
        )
    for gateway in sorted([g for g, _ in TEAMS.values()] + [EXTRA_TEAM[0]]):
        t = start
        week.add(
            GATEWAY_STATE.retention.value,
            gateway_state_line(GatewayStateRecord(at=t, gateway_id=gateway, online=True, scanning=True)),
        )
        while t < stop:
            depth = (_h(gateway, t) % 30) if _h(gateway, t, "net") % 5 == 0 else 0
            week.add(
                GATEWAY_STATE.retention.value,
                gateway_state_line(
                    GatewayStateRecord(
                        at=t,
                        gateway_id=gateway,
                        online=True,
                        scanning=True,
                        in_service=True,
                        outbox_depth=depth,
                        adverts_per_s=12.5 + _h(gateway, t) % 10,
                        battery_pct=max(5, 100 - int((t - start).total_seconds() // 300)),
                    )
                ),
            )
            t += timedelta(minutes=10)
        if stop < NOW:
            week.add(
                GATEWAY_STATE.retention.value,
                gateway_state_line(
                    GatewayStateRecord(at=stop + timedelta(minutes=1), gateway_id=gateway, online=False, scanning=False)
                ),
            )
    del seq


def _rejections(week: Week, day: date, start: datetime, stop: datetime) -> None:
    reasons = list(RejectReason)
    for i in range(6):
        at = start + timedelta(minutes=17 * i + _h(day, i) % 10)
        if at >= stop:
            break
        reason = reasons[_h(day, i, "r") % len(reasons)]
        week.add(
            REJECTION.retention.value,
            rejection_line(
                Rejection(
                    at=at,
                    reason=reason,
                    detail=f"simulated {reason.value}",
                    topic="ronde/v1/gw/gw-bois-1/visit",
                    gateway_id="gw-bois-1",
                    payload_sha256=hashlib.sha256(f"{day}{i}".encode()).hexdigest(),
                )
            ),
        )


def _rollups(
    week: Week, registry: Registry, day: date, start: datetime, end: datetime, visits: list[StoredVisit]
) -> None:
    by_cp: dict[str, list[StoredVisit]] = {}
    for v in visits:
        by_cp.setdefault(v.checkpoint_id, []).append(v)
    written = to_ms(end) + 3_600_000
    for cp in sorted(registry.checkpoints.values(), key=lambda c: c.id):
        seen = sorted(by_cp.get(cp.id, []), key=lambda v: v.first_seen)
        marks = [start, *(v.first_seen for v in seen), end]
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(marks)]
        rollup = DailyRollup(
            service_day=day,
            checkpoint_id=cp.id,
            kind=cp.kind.value,
            building=cp.building,
            estate=cp.estate,
            landlord=cp.landlord,
            visits=len(seen),
            expected=cp.expected_visits,
            covered=len(seen) >= cp.expected_visits,
            first_seen=seen[0].first_seen if seen else None,
            last_seen=seen[-1].last_seen if seen else None,
            presence_s=sum(v.dwell_s for v in seen),
            max_idle_s=max(gaps),
            mean_idle_s=sum(gaps) / len(gaps),
            chain_digest=hashlib.sha256(f"{day}{cp.id}{len(seen)}".encode()).hexdigest(),
        )
        if seen and _h(day, cp.id, "rewrite") % 7 == 0:
            # an earlier version written before a late event arrived: must be superseded
            early = replace(
                rollup, visits=0, covered=False, first_seen=None, last_seen=None, presence_s=0.0, chain_digest="0" * 64
            )
            week.add(CHECKPOINT_DAY.retention.value, rollup_line(early, written - 1_800_000))
        week.add(CHECKPOINT_DAY.retention.value, rollup_line(rollup, written))
        week.rollups.append(rollup)
