"""Whole answers of ``CoverageCache`` kept while nothing they were computed from has moved.

Why: once every evening of a period's unsettled tail has closed and been rolled up (all day long, until the
next evening begins), a warm request would compute the same tail again (``period_coverage`` over every
checkpoint and the last ``horizon_days`` evenings, then ``combine_periods`` with the settled part): ~200 ms of
CPU at 2,500 checkpoints for a figure that cannot have changed. What the tail is computed from: the
landlord's rollups of the tail and the sensing horizon around it (their marks, ``Store.rollup_marks``, moved by
every write through the store), the other landlords' rollups of the closed days read as estate evidence (their
marks too), the gateways' latest states and the beacons' latest telemetry (as read), which days have begun and
the date of ``now`` (the sensing verdicts' "today"). With no evening in progress and every begun day rolled up,
``now`` adds nothing else, so the same stamp gives the same answer (``==``, tested against a fresh cache). An
evening in progress moves with ``now`` and its raw visits: not kept here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from ronde.coverage.period import PeriodCoverage
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

    def serves(self, t: float, settled: Sequence[PeriodCoverage], stamp: tuple[object, ...]) -> bool:
        """Still fresh, over the same settled part and the same stamp (the estate marks are checked apart)."""
        same_parts = len(settled) == len(self.settled) and all(
            a is b for a, b in zip(settled, self.settled, strict=True)
        )
        return self.expires > t and same_parts and self.stamp == stamp


def stamp_of(
    store: Store,
    calendar: ServiceCalendar,
    tail: tuple[date, date],
    *,
    landlord: str | None,
    now: datetime,
    horizon_days: int,
    latest: Latest,
) -> tuple[tuple[object, ...], bool]:
    """The stamp of a tail ``lo..hi`` and whether an evening of it is in progress (then it is not kept)."""
    lo, hi = tail
    h = timedelta(days=horizon_days)
    windows, partial = period_windows(calendar, lo, hi, now)
    marks = store.rollup_marks(lo - h, hi + h, landlord=landlord)
    stamp = (
        now.astimezone(calendar.tz).date(),
        tuple(windows),
        tuple(sorted(marks.items())),
        frozenset((s.gateway_id, s.at, s.online, s.in_service) for s in latest[0]),
        frozenset((t.checkpoint_id, t.at) for t in latest[1]),
    )
    return stamp, partial is not None


def estate_marks(store: Store, days: Sequence[date]) -> tuple[tuple[tuple[date, str], str], ...]:
    """Every landlord's rollup marks of ``days`` (the days read as estate evidence; usually none)."""
    if not days:
        return ()
    wanted = set(days)
    marks = store.rollup_marks(min(days), max(days), landlord=None)
    return tuple(sorted((k, v) for k, v in marks.items() if k[0] in wanted))
