"""Coverage computed from a store's daily rollups and raw visits, without a cache: what every path folds days with.

Closed days come from rollups; raw visits are read only for days without rollups (normally the
evening in progress). Sensing evidence looks ``horizon_days`` around the period, and only when a
landlord's own checkpoints show no activity on an estate for a day does it read the other
landlords' rollups of that day (a team on the estate is a gateway alive there).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from ronde.coverage.answers import Latest, Stamp, TailReads
from ronde.coverage.figures_period import figures_period_coverage
from ronde.coverage.period import PeriodCoverage, combine_periods, period_coverage
from ronde.coverage.sensing import SensingEvidence, evidence_from
from ronde.coverage.service_time import effective_window
from ronde.coverage.tail import WindowOf
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.port import Store
from ronde.store.records import (
    DailyRollup,
    RollupFigures,
    StoredVisit,
    rollup_figures_of,
)

# Reads the rollups of ``first..last`` for one landlord (all if None), in the store's order (day, checkpoint).
RollupReader = Callable[[date, date, str | None], list[DailyRollup]]


# The same as plain figures (``Store.rollup_figures``): what a period without day detail is folded from.
FiguresReader = Callable[[date, date, str | None], list[RollupFigures]]


class Reader:
    """``KeptRollups.reader``: a range's rollups as objects (called: a ``RollupReader``) or as plain figures
    (``figures``), each kept the same way."""

    __slots__ = ("figures", "rows", "seed")

    def __init__(self, rows: RollupReader, figures: FiguresReader, seed: Callable[[Stamp, str | None], None]) -> None:
        self.rows = rows
        self.figures = figures
        self.seed = seed  # the rollup marks a tail's stamp read: not read again for this request's days

    def __call__(self, lo: date, hi: date, landlord: str | None) -> list[DailyRollup]:
        return self.rows(lo, hi, landlord)


def figures_reader(store: Store, read: RollupReader | None) -> FiguresReader:
    """Plain figures of a range through ``read`` (its own when it has one), else from the store."""
    if isinstance(read, Reader):
        return read.figures
    if read is not None:
        return lambda lo, hi, landlord: [rollup_figures_of(r) for r in read(lo, hi, landlord)]
    return lambda lo, hi, landlord: store.rollup_figures_by_day(lo, hi, landlord=landlord)


# Days this close together are read by one range query rather than one query each.
_RECENT_RUN_GAP_DAYS = 3


_EVIDENCE_RUN_GAP_DAYS = 7


def days_without_rollups(
    calendar: ServiceCalendar, first: date, last: date, rolled: set[date], now: datetime | None
) -> list[date]:
    return [
        d
        for d in calendar.service_days(first, last)
        if d not in rolled and effective_window(calendar, d, now) is not None
    ]


def visits_of_days(
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


def compute_coverage(
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
    read: RollupReader | None = None,
    latest: Latest | None = None,
    reads: TailReads | None = None,
    before: PeriodCoverage | None = None,
) -> PeriodCoverage:
    """``before``: the settled part just before, joined to the period without ``include_days`` (then
    ``combine_periods([before, the period])``, in one pass). ``latest``: the gateway states and telemetry already
    read for this request; ``reads`` (when given)
    records the days read from raw visits and the closed days other landlords' rollups were read for. Without
    ``include_days`` the rollups are read and folded as plain figures (``figures_period_coverage``: no object and
    no ``datetime`` a row, equal to the bit), and of the horizon days around the period only the nearest day each
    checkpoint was heard (``heard_around``), not their rows."""
    h = timedelta(days=horizon_days)
    around: list[DailyRollup] = []
    rollups: list[DailyRollup] = []
    figures: list[RollupFigures] = []
    if include_days:
        around = read(first - h, last + h, landlord) if read else store.rollups(first - h, last + h, landlord=landlord)
        rollups = [r for r in around if first <= r.service_day <= last]
        rolled = {r.service_day for r in rollups}
    else:
        figures = figures_reader(store, read)(first, last, landlord)
        rolled = {f[0] for f in figures}
    live_days = days_without_rollups(calendar, first, last, rolled, now)
    live_visits = visits_of_days(store, calendar, live_days, landlord)
    states, telemetry = latest if latest is not None else latest_sensing(store)
    evidence = evidence_from(calendar, rollups=around, visits=live_visits, gateway_states=states, telemetry=telemetry)
    if not include_days:
        evidence.add_figures(figures)
        evidence.add_heard(heard_around(store, first, last, h, landlord))
    if reads is not None:
        reads.live_days = live_days
    if landlord is not None:
        if include_days:
            needed = fill_estate_evidence(store, evidence, rollups, calendar)
        else:
            needed = sorted({f[0] for f in figures if f[6] == 0 and not evidence.gateway_alive(f[0], f[4])})
            fill_days(store, evidence, needed, calendar)
        if reads is not None:
            reads.estate_days = needed
        estates = {c.estate for c in registry.checkpoints_of(landlord)}
        quiet = [d for d in live_days if any(not evidence.gateway_alive(d, e) for e in estates)]
        if quiet:  # a team on another landlord's checkpoints of the estate: a gateway was alive there
            evidence.add_visits(v for v in visits_of_days(store, calendar, quiet, None) if v.landlord != landlord)
    if not include_days:
        return figures_period_coverage(
            registry,
            calendar,
            first,
            last,
            figures=figures,
            visits=live_visits,
            now=now,
            landlord=landlord,
            evidence=evidence,
            horizon_days=horizon_days,
            before=before,
        )
    whole = period_coverage(
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
    return whole if before is None else combine_periods([before, whole])


def heard_around(store: Store, first: date, last: date, h: timedelta, landlord: str | None) -> list[tuple[str, date]]:
    """Each checkpoint's nearest day heard in the horizon before ``first`` and, apart, in the one after ``last``:
    what the sensing verdicts of ``first..last`` need of those days (``SensingEvidence.add_heard``), one aggregate
    query each side instead of their rows (a cold year's open tail: the week before it, half the rows it read)."""
    one = timedelta(days=1)
    before = store.heard_days(first - h, first - one, landlord=landlord)
    after = store.heard_days(last + one, last + h, landlord=landlord)
    return [(cid, hi) for cid, (_, hi) in before.items()] + [(cid, lo) for cid, (lo, _) in after.items()]


def latest_sensing(store: Store) -> Latest:
    """The gateways' latest states and the beacons' latest telemetry: sensing evidence for any period."""
    return list(store.latest_gateway_states().values()), list(store.latest_telemetry().values())


def window_of(
    calendar: ServiceCalendar, windows: dict[date, tuple[datetime, datetime]], now: datetime | None
) -> WindowOf:
    """An estate's own window that day, else the calendar's (``period_coverage``'s ``window_of``)."""
    known: dict[tuple[str, date], tuple[datetime, datetime]] = {}

    def of(estate: str, day: date) -> tuple[datetime, datetime]:
        got = known.get((estate, day))
        if got is None:
            own = effective_window(calendar.for_estate(estate), day, now)
            got = known[(estate, day)] = own if own is not None else windows[day]
        return got

    return of


def fill_estate_evidence(
    store: Store, evidence: SensingEvidence, rollups: Sequence[DailyRollup], calendar: ServiceCalendar | None = None
) -> list[date]:
    """Read other landlords' activity only for the closed days that need it: their rollups, or
    (``calendar`` given) their raw visits for days that have no rollup at all. Returns those days."""
    needed = sorted(
        {r.service_day for r in rollups if r.visits == 0 and not evidence.gateway_alive(r.service_day, r.estate)}
    )
    fill_days(store, evidence, needed, calendar)
    return needed


def fill_estate(
    store: Store,
    evidence: SensingEvidence,
    rollups: Sequence[DailyRollup],
    figures: Sequence[RollupFigures],
    calendar: ServiceCalendar,
) -> list[date]:
    """``fill_estate_evidence`` of the rollups, or of the same rows as plain figures."""
    if rollups:
        return fill_estate_evidence(store, evidence, rollups, calendar)
    needed = sorted({f[0] for f in figures if f[6] == 0 and not evidence.gateway_alive(f[0], f[4])})
    fill_days(store, evidence, needed, calendar)
    return needed


def fill_days(store: Store, evidence: SensingEvidence, needed: list[date], calendar: ServiceCalendar | None) -> None:
    """``fill_estate_evidence`` of the days ``needed`` (sorted)."""
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
        evidence.add_visits(visits_of_days(store, calendar, unrolled, None))
