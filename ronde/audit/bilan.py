"""Le bilan mensuel of one landlord: presence delivered, field activity on its places, month on month.

Why it is built on the audit report: the presence part *is* the audit report of the month (same figures,
same hash chain), so a bilan is signed and verified exactly like a report (``ronde audit verify``) and what a
landlord reads on the cover is what the chain proves. The field activity (issue 14) comes through
``ronde.opdb.field_facts.FieldFacts``: sollicitations, technical reports and requests, each with its place and
delays only. Figures go by estate and by building, never by team or person: nothing here can name one.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import median
from typing import Any

from ronde.audit.chain import AuditChain
from ronde.audit.manifest import hours_text, percent_text
from ronde.audit.report import AuditReport, audit_query_days, build_report, closed_days, report_from_visits
from ronde.coverage.shares import Share
from ronde.opdb.field_facts import FieldFacts, ListedFieldFacts, RequestFact, SollicitationFact, TechnicalFact
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.port import Store


@dataclass(frozen=True, slots=True)
class PlaceFigures:
    """One estate (``building`` None) or one building of the landlord: presence and field activity."""

    estate: str
    estate_name: str
    building: str | None
    building_name: str | None
    checkpoints: int
    passes: int
    presence_s: float
    share: Share
    sollicitations: int
    technical: int
    requests: int


@dataclass(frozen=True, slots=True)
class CategoryFigures:
    """Technical reports of one category: how many, how urgent, how fast acknowledged and resolved."""

    category: str
    reports: int
    urgent: int
    acknowledged: int
    median_ack_s: float | None
    resolved: int
    median_resolution_s: float | None


@dataclass(frozen=True, slots=True)
class RequestFigures:
    """The landlord's own requests of the month and how they were handled."""

    total: int
    assigned: int
    answered: int
    still_open: int
    median_assign_s: float | None
    median_answer_s: float | None


@dataclass(frozen=True, slots=True)
class MonthTotals:
    """The figures compared month on month (and the four of the cover)."""

    share: float | None
    passes: int
    presence_s: float
    sollicitations: int
    technical: int
    resolved: int
    requests: int


@dataclass(frozen=True, slots=True)
class Bilan:
    bilan_id: str
    issued_at: datetime
    month: date  # the first day of the month
    report: AuditReport  # the presence part: the month's audit report
    places: tuple[PlaceFigures, ...]  # every estate, each followed by its buildings
    by_origin: tuple[tuple[str, int], ...]
    by_type: tuple[tuple[str, int], ...]
    by_response: tuple[tuple[str, int], ...]
    orientations: tuple[tuple[str, int], ...]  # orientations by partner name
    categories: tuple[CategoryFigures, ...]
    requests: RequestFigures
    current: MonthTotals
    previous: MonthTotals | None  # None: the previous month has no service day in the store's reach

    @property
    def landlord(self) -> str:
        return self.report.landlord

    @property
    def landlord_name(self) -> str:
        return self.report.landlord_name


def month_bounds(month: date) -> tuple[date, date]:
    """First and last day of ``month``'s calendar month."""
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def previous_month(month: date) -> date:
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


def local_span(calendar: ServiceCalendar, first: date, last: date) -> tuple[datetime, datetime]:
    """``[first 00:00, last+1 00:00)`` in the calendar's time zone, as UTC instants (a DST change inside is
    the zone's business: the span is the month the landlord lives in)."""
    tz = calendar.tz
    start = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def _delay(start: datetime, end: datetime | None) -> float | None:
    """Elapsed seconds, in UTC: two wall-clock times of one zone subtract as wall clocks in Python, which
    would count the night of a DST change an hour wrong."""
    return None if end is None else max(0.0, (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds())


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(median(present)) if present else None


def _counted(values: Iterable[str]) -> tuple[tuple[str, int], ...]:
    """Counts, largest first, then by name: the order a reader scans."""
    return tuple(sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0])))


def _categories(reports: Sequence[TechnicalFact]) -> tuple[CategoryFigures, ...]:
    by: dict[str, list[TechnicalFact]] = defaultdict(list)
    for r in reports:
        by[r.category].append(r)
    out = [
        CategoryFigures(
            category=cat,
            reports=len(rs),
            urgent=sum(1 for r in rs if r.urgency == "urgent"),
            acknowledged=sum(1 for r in rs if r.acknowledged_at is not None),
            median_ack_s=_median(_delay(r.created_at, r.acknowledged_at) for r in rs),
            resolved=sum(1 for r in rs if r.resolved_at is not None),
            median_resolution_s=_median(_delay(r.created_at, r.resolved_at) for r in rs),
        )
        for cat, rs in by.items()
    ]
    return tuple(sorted(out, key=lambda c: (-c.reports, c.category)))


def _request_figures(requests: Sequence[RequestFact]) -> RequestFigures:
    own = [r for r in requests if r.from_landlord]
    return RequestFigures(
        total=len(own),
        assigned=sum(1 for r in own if r.assigned_at is not None),
        answered=sum(1 for r in own if r.answered_at is not None),
        still_open=sum(1 for r in own if r.status in ("nouvelle", "assignee")),
        median_assign_s=_median(_delay(r.created_at, r.assigned_at) for r in own),
        median_answer_s=_median(_delay(r.created_at, r.answered_at) for r in own),
    )


def _place_keys(estate: str, building: str | None) -> tuple[tuple[str, str | None], ...]:
    """The estate's row, and the building's when there is one."""
    return ((estate, None), (estate, building)) if building else ((estate, None),)


def _places(
    report: AuditReport,
    registry: Registry,
    sollicitations: Sequence[SollicitationFact],
    technical: Sequence[TechnicalFact],
    requests: Sequence[RequestFact],
) -> tuple[PlaceFigures, ...]:
    """Every estate of the landlord then its buildings; a place with field activity but no checkpoint (a
    building without beacon) still gets its row."""
    keys: set[tuple[str, str | None]] = set()
    acc: dict[tuple[str, str | None], list[float]] = defaultdict(lambda: [0.0] * 7)
    for c in report.checkpoints:
        for key in _place_keys(c.estate, c.building):
            keys.add(key)
            a = acc[key]
            a[0] += 1
            a[1] += c.passes
            a[2] += c.presence_s
            a[3] += c.covered_days
            a[4] += c.not_visited_days
            a[5] += c.no_data_days
    field: dict[tuple[str, str | None], Counter[str]] = defaultdict(Counter)
    for kind, facts in (("s", sollicitations), ("t", technical), ("r", requests)):
        for fact in facts:
            for key in _place_keys(fact.estate, fact.building):
                keys.add(key)
                field[key][kind] += 1
    rows: list[PlaceFigures] = []
    for estate, building in sorted(keys, key=lambda k: (k[0], k[1] is not None, k[1] or "")):
        a = acc[(estate, building)]
        n = field[(estate, building)]
        days = int(a[3] + a[4] + a[5])
        rows.append(
            PlaceFigures(
                estate=estate,
                estate_name=registry.estates[estate].name if estate in registry.estates else estate,
                building=building,
                building_name=(registry.buildings[building].name if building in registry.buildings else building)
                if building
                else None,
                checkpoints=int(a[0]),
                passes=int(a[1]),
                presence_s=a[2],
                share=Share(days, int(a[3]), int(a[4]), int(a[5])),
                sollicitations=n["s"],
                technical=n["t"],
                requests=n["r"],
            )
        )
    return tuple(rows)


def _totals(report: AuditReport, sollicitations: int, technical: Sequence[TechnicalFact], requests: int) -> MonthTotals:
    return MonthTotals(
        share=report.period.share,
        passes=sum(c.passes for c in report.checkpoints),
        presence_s=sum(c.presence_s for c in report.checkpoints),
        sollicitations=sollicitations,
        technical=len(technical),
        resolved=sum(1 for t in technical if t.resolved_at is not None),
        requests=requests,
    )


def _totals_report(
    store: Store, registry: Registry, calendar: ServiceCalendar, landlord: str, first: date, last: date, now: datetime
) -> AuditReport:
    """The previous month's figures without its hash chain: only its totals are compared, never shown as proof,
    and hashing a month of events (and digesting the registry) again doubled a city-scale bilan's time."""
    days = closed_days(calendar, first, last, now)
    query = audit_query_days(calendar, first, last, now)
    visits = store.visits_of_days(query, landlord=landlord) if query else []
    unchained = AuditChain(landlord, registry.revision, "", ())
    return report_from_visits(
        registry, calendar, landlord, first, last, visits, unchained, now=now, days=days, store=store
    )


def build_bilan(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    landlord: str,
    month: date,
    *,
    field: FieldFacts | None = None,
    now: datetime | None = None,
    bilan_id: str | None = None,
    compare: bool = True,
) -> Bilan:
    """The bilan of ``landlord`` for ``month`` (any day of it): the month's audit report (closed service
    days at ``now``), the field facts of its places created in that month (Europe/Paris days of the
    calendar's zone), and the previous month's totals when ``compare``. Raises ReportError as the report does."""
    field = field if field is not None else ListedFieldFacts()
    now = (now or datetime.now(UTC)).astimezone(UTC)
    first, last = month_bounds(month)
    bid = bilan_id or str(uuid.uuid4())
    report = build_report(store, registry, calendar, landlord, first, last, now=now, report_id=bid)
    start, end = local_span(calendar, first, last)
    sol = list(field.sollicitations(landlord, start, end))
    tech = list(field.technical_reports(landlord, start, end))
    req = list(field.requests(landlord, start, end))
    previous = None
    if compare:
        p_first, p_last = month_bounds(previous_month(first))
        if any(True for _ in calendar.service_days(p_first, p_last)):
            prev = _totals_report(store, registry, calendar, landlord, p_first, p_last, now)
            p_start, p_end = local_span(calendar, p_first, p_last)
            p_tech = list(field.technical_reports(landlord, p_start, p_end))
            previous = _totals(
                prev,
                len(field.sollicitations(landlord, p_start, p_end)),
                p_tech,
                len([r for r in field.requests(landlord, p_start, p_end) if r.from_landlord]),
            )
    return Bilan(
        bilan_id=bid,
        issued_at=now,
        month=first,
        report=report,
        places=_places(report, registry, sol, tech, req),
        by_origin=_counted(s.origin for s in sol),
        by_type=_counted(s.type for s in sol),
        by_response=_counted(s.response for s in sol),
        orientations=_counted(s.partner for s in sol if s.response == "orientation" and s.partner),
        categories=_categories(tech),
        requests=_request_figures(req),
        current=_totals(report, len(sol), tech, sum(1 for r in req if r.from_landlord)),
        previous=previous,
    )


# ---- the figures a bilan shows, language-neutral (what its manifest signs) ---------------------------------


def _opt_hours(seconds: float | None) -> str | None:
    return None if seconds is None else hours_text(seconds)


def _totals_figures(t: MonthTotals) -> dict[str, Any]:
    return {
        "share": percent_text(t.share),
        "passes": t.passes,
        "presence_h": hours_text(t.presence_s),
        "sollicitations": t.sollicitations,
        "technical": t.technical,
        "resolved": t.resolved,
        "requests": t.requests,
    }


def bilan_figures(b: Bilan) -> dict[str, Any]:
    """Every figure of the bilan beyond the presence report's, rounded as displayed (strings for decimals)."""
    r = b.requests
    return {
        "bilan_id": b.bilan_id,
        "month": b.month.isoformat()[:7],
        "places": [
            {
                "estate": p.estate,
                "estate_name": p.estate_name,
                "building": p.building,
                "building_name": p.building_name,
                "checkpoints": p.checkpoints,
                "passes": p.passes,
                "presence_h": hours_text(p.presence_s),
                "share": percent_text(p.share.share),
                "covered": p.share.covered,
                "not_visited": p.share.not_visited,
                "no_data": p.share.no_data,
                "sollicitations": p.sollicitations,
                "technical": p.technical,
                "requests": p.requests,
            }
            for p in b.places
        ],
        "sollicitations": {
            "by_origin": dict(b.by_origin),
            "by_type": dict(b.by_type),
            "by_response": dict(b.by_response),
            "orientations_by_partner": dict(b.orientations),
        },
        "technical": [
            {
                "category": c.category,
                "reports": c.reports,
                "urgent": c.urgent,
                "acknowledged": c.acknowledged,
                "median_ack_h": _opt_hours(c.median_ack_s),
                "resolved": c.resolved,
                "median_resolution_h": _opt_hours(c.median_resolution_s),
            }
            for c in b.categories
        ],
        "requests": {
            "total": r.total,
            "assigned": r.assigned,
            "answered": r.answered,
            "still_open": r.still_open,
            "median_assign_h": _opt_hours(r.median_assign_s),
            "median_answer_h": _opt_hours(r.median_answer_s),
        },
        "current": _totals_figures(b.current),
        "previous": None if b.previous is None else _totals_figures(b.previous),
    }
