"""A landlord's audit report: passes, coverage, gaps and verification status per checkpoint.

Places only: no team badge appears anywhere in a report. Figures are computed from the raw stored
visits of the closed service days of the period, the same events the hash chain covers, so the
report and its chain describe the same data. Raw visits are kept about two months (retention):
issue reports within that time (monthly, say); verifying later needs the raw events still stored.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ronde.audit.chain import AuditChain, compute_chain
from ronde.coverage.compute import fill_estate_evidence
from ronde.coverage.period import CheckpointPeriod, period_coverage, rollups_for_days
from ronde.coverage.sensing import DEFAULT_HORIZON_DAYS, DayState, evidence_from
from ronde.coverage.shares import Level, Share, days_tuple
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.protocol.estate_digest import registry_digest
from ronde.store.port import Store
from ronde.store.records import BeaconCheck, StoredVisit, Verification


class ReportError(ValueError):
    """The report cannot be issued as asked (unknown landlord, empty period…)."""


@dataclass(frozen=True, slots=True)
class CheckpointAudit:
    checkpoint_id: str
    name: str
    kind: str
    building: str | None
    estate: str
    expected_per_day: int
    service_days: int
    passes: int
    covered_days: int
    not_visited_days: int
    no_data_days: int
    presence_s: float
    average_idle_s: float
    # the longest wait between two passes within one evening that had data: a day without data is no
    # evidence of absence, so it is left out (coverage's cross-day worst idleness counts it). Every
    # document (PDF, CSV, JSON, manifest) shows this one figure, in minutes
    longest_wait_s: float
    gap_cv: float | None
    days_not_visited: tuple[date, ...]
    days_no_data: tuple[date, ...]
    signed: int
    unsigned: int
    eid_resolved: int
    static: int


@dataclass(frozen=True, slots=True)
class AuditReport:
    report_id: str
    issued_at: datetime
    landlord: str
    landlord_name: str
    first: date
    last: date
    revision: str
    calendar: ServiceCalendar
    checkpoints: tuple[CheckpointAudit, ...]
    days: tuple[tuple[date, Share], ...]  # landlord-wide share covered per service day
    period: Share
    chain: AuditChain


def closed_days(calendar: ServiceCalendar, first: date, last: date, now: datetime) -> list[date]:
    """Service days of the period whose evening has ended at ``now``."""
    return [d for d in calendar.service_days(first, last) if calendar.window(d)[1] <= now]


def audit_query_days(calendar: ServiceCalendar, first: date, last: date, now: datetime) -> list[date]:
    """Every date whose events the chain covers: all dates up to the last closed day (an event
    claiming a non-service day is covered too)."""
    days = closed_days(calendar, first, last, now)
    if not days:
        return []
    return [first + timedelta(days=i) for i in range((days[-1] - first).days + 1)]


def landlord_calendar(registry: Registry, calendar: ServiceCalendar, landlord: str) -> ServiceCalendar:
    """The calendar of the landlord's estates (a plain one when they share it, as the manifest then states it):
    another estate's own closed dates or hours do not change this landlord's report."""
    return calendar.for_estates({c.estate for c in registry.checkpoints.values() if c.landlord == landlord})


def build_report(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    landlord: str,
    first: date,
    last: date,
    *,
    now: datetime | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    report_id: str | None = None,
) -> AuditReport:
    """Issue the report of ``landlord`` for ``first..last`` (closed service days only)."""
    if landlord not in registry.landlords:
        raise ReportError(f"unknown landlord {landlord!r}")
    if last < first:
        raise ReportError(f"period ends ({last}) before it starts ({first})")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    calendar = landlord_calendar(registry, calendar, landlord)
    days = closed_days(calendar, first, last, now)
    query_days = audit_query_days(calendar, first, last, now)
    visits = store.visits_of_days(query_days, landlord=landlord) if query_days else []
    chain = compute_chain(
        visits, days, landlord=landlord, revision=registry.revision, registry_digest=registry_digest(registry)
    )
    return report_from_visits(
        registry,
        calendar,
        landlord,
        first,
        last,
        visits,
        chain,
        now=now,
        days=days,
        store=store,
        horizon_days=horizon_days,
        report_id=report_id,
    )


def report_from_visits(
    registry: Registry,
    calendar: ServiceCalendar,
    landlord: str,
    first: date,
    last: date,
    visits: Sequence[StoredVisit],
    chain: AuditChain,
    *,
    now: datetime,
    days: Sequence[date],
    store: Store | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    report_id: str | None = None,
) -> AuditReport:
    mine = [v for v in visits if v.landlord == landlord]
    calendar = landlord_calendar(registry, calendar, landlord)
    rollups = rollups_for_days(registry, calendar, days, mine, landlord=landlord)
    evidence = evidence_from(calendar, rollups=rollups, visits=mine)
    if store is not None:  # beacon evidence around the period, other landlords' activity if needed
        h = timedelta(days=horizon_days)
        evidence.add_rollups(store.rollups(first - h, last + h, landlord=landlord))
        evidence.add_telemetry(calendar, store.latest_telemetry().values())
        evidence.add_gateway_states(calendar, store.latest_gateway_states().values())
        fill_estate_evidence(store, evidence, rollups, calendar)
    last_closed = days[-1] if days else first
    cov = period_coverage(
        registry,
        calendar,
        first,
        last_closed if days else first - timedelta(days=1),
        rollups=rollups,
        now=now,
        landlord=landlord,
        evidence=evidence,
        horizon_days=horizon_days,
        include_days=True,
    )
    checks: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for v in mine:
        c = checks[v.checkpoint_id]
        c["signed" if v.verification is Verification.SIGNED else "unsigned"] += 1
        c["eid" if v.beacon_check is BeaconCheck.EID_RESOLVED else "static"] += 1
    rows = tuple(_audit_row(cp, checks.get(cp.checkpoint_id, {})) for cp in cov.checkpoints)
    landlord_group = next((g for g in cov.groups if g.level is Level.LANDLORD and g.id == landlord), None)
    return AuditReport(
        report_id=report_id or str(uuid.uuid4()),
        issued_at=now,
        landlord=landlord,
        landlord_name=registry.landlords[landlord].name,
        first=first,
        last=last,
        revision=registry.revision,
        calendar=calendar,
        checkpoints=rows,
        days=days_tuple(landlord_group.days) if landlord_group else (),
        period=landlord_group.period if landlord_group else Share(0, 0, 0, 0),
        chain=chain,
    )


def _audit_row(cp: CheckpointPeriod, checks: dict[str, int]) -> CheckpointAudit:
    return CheckpointAudit(
        checkpoint_id=cp.checkpoint_id,
        name=cp.name,
        kind=cp.kind,
        building=cp.building,
        estate=cp.estate,
        expected_per_day=cp.expected_per_day,
        service_days=cp.service_days,
        passes=cp.visits,
        covered_days=cp.covered_days,
        not_visited_days=cp.not_visited_days,
        no_data_days=cp.no_data_days,
        presence_s=cp.presence_s,
        average_idle_s=cp.idleness.average_idle_s,
        longest_wait_s=max(
            (d.max_idle_s for d in cp.days if d.state is not DayState.NO_DATA and not d.partial), default=0.0
        ),
        gap_cv=cp.idleness.gap_cv,
        days_not_visited=tuple(d.day for d in cp.days if d.state is DayState.NOT_VISITED),
        days_no_data=tuple(d.day for d in cp.days if d.state is DayState.NO_DATA),
        signed=checks.get("signed", 0),
        unsigned=checks.get("unsigned", 0),
        eid_resolved=checks.get("eid", 0),
        static=checks.get("static", 0),
    )
