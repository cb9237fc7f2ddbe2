"""Whole answers of ``CoverageCache`` kept while nothing they were computed from has moved.

Why: once every evening of a period's unsettled tail has closed and been rolled up (all day long, until the
next evening begins), a warm request would compute the same tail again (``period_coverage`` over every
checkpoint and the last ``horizon_days`` evenings, then ``combine_periods`` with the settled part): ~200 ms of
CPU at 2,500 checkpoints for a figure that cannot have changed. What the tail is computed from: the landlord's
rollups of the tail and the sensing horizon around it (their marks, ``Store.rollup_marks``, moved by every
write through the store), the other landlords' rollups of the closed days read as estate evidence (their marks
too), the days the gateways' latest states and the beacons' latest telemetry are evidence for, which days have
begun, and the date of ``now`` (the sensing verdicts' "today"). With no evening in progress and every begun day
rolled up, ``now`` adds nothing else, so the same stamp gives the same answer (``==``, tested against a fresh
cache). An evening in progress moves with ``now`` and its raw visits: its tail is ``ronde.coverage.tail``'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from ronde.coverage.period import PeriodCoverage
from ronde.coverage.sensing import SensingEvidence
from ronde.coverage.service_time import period_windows
from ronde.protocol.calendar import ServiceCalendar
from ronde.store.port import Store
from ronde.store.records import BeaconTelemetryRecord, GatewayStateRecord

Latest = tuple[Sequence[GatewayStateRecord], Sequence[BeaconTelemetryRecord]]


@dataclass(slots=True)
class TailReads:
    """What computing a tail read besides its landlord's rollups: the days read from raw visits (no rollup),
    and the closed days whose other landlords' rollups were read as estate evidence."""

    live_days: list[date] = field(default_factory=list)
    estate_days: list[date] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Answer:
    expires: float
    settled: tuple[PeriodCoverage, ...]  # the settled part it was combined with (the very objects)
    stamp: tuple[object, ...]
    estate_days: tuple[date, ...]
    estate_marks: tuple[tuple[tuple[date, str], str], ...]
    value: PeriodCoverage
    lettered: bool = False  # its tail came from tail letters (``ronde.coverage.tail_letters``)

    def serves(self, t: float, settled: Sequence[PeriodCoverage], stamp: tuple[object, ...]) -> bool:
        """Still fresh, over the same settled part and the same stamp (the estate marks are checked apart)."""
        same_parts = len(settled) == len(self.settled) and all(
            a is b for a, b in zip(settled, self.settled, strict=True)
        )
        return self.expires > t and same_parts and self.stamp == stamp


@dataclass(frozen=True, slots=True)
class Stamp:
    """What a tail was computed from (``value``, compared), with what was read to make it."""

    value: tuple[object, ...]
    windows: dict[date, tuple[datetime, datetime]]  # the tail's begun days, cut at ``now``
    partial: date | None  # the evening in progress
    marked: frozenset[date]  # the days with rollups in scope
    marks: tuple[date, date, Mapping[tuple[date, str], str]]  # the rollup marks read, and the days they cover

    @property
    def live(self) -> date | None:
        """The last begun day when it has no rollups (the evening in progress, or one ended but not closed)."""
        last = max(self.windows, default=None)
        return last if last is not None and last not in self.marked else None


def stamp_of(
    store: Store,
    calendar: ServiceCalendar,
    tail: tuple[date, date],
    *,
    landlord: str | None,
    now: datetime,
    horizon_days: int,
    sensing: tuple[frozenset[date], frozenset[tuple[str, date]]],
    every: Mapping[tuple[date, str], str] | None = None,
) -> Stamp:
    """The stamp of a tail ``lo..hi``. ``sensing``: the days the gateways' latest states and the beacons' latest
    telemetry make evidence for (what ``SensingEvidence`` takes from them), not the records: a heartbeat moves a
    record, rarely its day. ``every``: every landlord's rollup marks of the same days, when already read."""
    lo, hi = tail
    h = timedelta(days=horizon_days)
    windows, partial = period_windows(calendar, lo, hi, now)
    if every is None:
        marks = store.rollup_marks(lo - h, hi + h, landlord=landlord)
    else:
        marks = {k: v for k, v in every.items() if landlord is None or k[1] == landlord}
    value = (
        now.astimezone(calendar.tz).date(),
        tuple(windows),
        tuple(sorted(marks.items())),
        *sensing,
    )
    return Stamp(value, windows, partial, frozenset(d for d, _ in marks), (lo - h, hi + h, marks))


def estate_marks(store: Store, days: Sequence[date]) -> tuple[tuple[tuple[date, str], str], ...]:
    """Every landlord's rollup marks of ``days`` (the days read as estate evidence; usually none)."""
    if not days:
        return ()
    wanted = set(days)
    marks = store.rollup_marks(min(days), max(days), landlord=None)
    return tuple(sorted((k, v) for k, v in marks.items() if k[0] in wanted))


def sensing_days(
    calendar: ServiceCalendar, latest: Latest, memo: dict[tuple[str, datetime], date]
) -> tuple[frozenset[date], frozenset[tuple[str, date]]]:
    """The service days the gateways' latest states make evidence for, and the (beacon, day) pairs the latest
    telemetry does, as ``SensingEvidence.add_gateway_states`` and ``add_telemetry`` take them. ``memo`` keeps
    each telemetry record's day under this calendar (a city's 5,000 beacons report between two requests only a few
    new records)."""
    gateways = SensingEvidence()
    gateways.add_gateway_states(calendar, latest[0])
    if len(memo) > 4 * len(latest[1]) + 1024:
        memo.clear()
    beacons: set[tuple[str, date]] = set()
    for t in latest[1]:
        key = (t.checkpoint_id, t.at)
        day = memo.get(key)
        if day is None:
            day = calendar.service_day(t.at)
            if day is None:
                day = t.at.astimezone(calendar.tz).date()
            memo[key] = day
        beacons.add((t.checkpoint_id, day))
    return frozenset(gateways.gateway_days), frozenset(beacons)
