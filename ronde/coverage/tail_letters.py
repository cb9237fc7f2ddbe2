"""Tail letters: the open tail's closed evenings folded once by maintenance, read while their evidence holds.

Why: a period ending today is settled pieces (letters maintenance folded: ``settled``, ``suffix``, ``spans``) and an
open tail, the last ``horizon_days`` evenings, whose sensing verdicts tonight's evidence can still change. A cold
request folded that tail from its daily rollups: at city scale a landlord's ~17,500 rows read, the heard days
around it read, each checkpoint's days folded, about two thirds of a month's first request (py-spy, December 7).
Once every begun evening of the tail is rolled up (all day long, until the next evening begins), what the tail is
judged on stops moving: every landlord's rollup marks of the tail and the horizon around it, the days the gateways'
latest states and the beacons' latest telemetry are evidence for, the begun days and the date of ``now`` (what
``answers.stamp_of`` keeps a whole answer on, for every landlord at once). Maintenance then folds the tail of all
landlords as it folds a month (``compute_coverage`` with day detail, ``monthly.fold_month``), one letter a
checkpoint, under a basis naming a digest of that evidence (``tail_digest``). A reader computes the same digest
from what it sees and takes the letters only when they match, so a late event, a heartbeat on a new day or a new
date makes it fold the days as before: equal to the bit either way (``tests/coverage/test_tail_letters.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime, timedelta

from ronde.coverage.answers import Stamp
from ronde.coverage.compute import compute_coverage
from ronde.coverage.monthly import basis, fold_month, service_days_of
from ronde.coverage.service_time import period_windows
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.port import Store
from ronde.store.records import MonthlyFigures, MonthlyRollup

_TAIL = " tail="  # a tail letter's basis: ``<basis> tail=<digest>`` (never a month's: those compare for equality)


def tail_first(today: date, horizon_days: int) -> date:
    """The open tail's first day on ``today``: the day after the last settled one (``CoverageCache``'s cut)."""
    return today - timedelta(days=horizon_days)


def letters_likely(
    calendar: ServiceCalendar, tail: tuple[date, date], now: datetime, horizon_days: int, include_days: bool
) -> bool:
    """Letters may stand for ``tail`` (``tail_letters`` decides): it is today's tail, asked without day detail, and
    no evening is in progress. What a request reads ahead, and whether it reads every landlord's marks, go by it."""
    today = now.astimezone(calendar.tz).date()
    if include_days or tail != (tail_first(today, horizon_days), today):
        return False
    start, end = calendar.window(today)
    return not (calendar.is_service_day(today) and start <= now < end)


def tail_basis(basis_: str, digest: str) -> str:
    """The basis of tail letters folded under ``basis_`` on the evidence whose digest is ``digest``."""
    return f"{basis_}{_TAIL}{digest}"


Marks = Mapping[tuple[date, str], str]  # ``Store.rollup_marks``: per (day, landlord)


def marks_range(today: date, horizon_days: int) -> tuple[date, date]:
    """The days whose every landlord's rollup marks the tail of ``today`` is judged on: it and the horizon around."""
    h = timedelta(days=horizon_days)
    return tail_first(today, horizon_days) - h, today + h


def tail_digest(
    calendar: ServiceCalendar,
    today: date,
    marks: Marks,
    *,
    now: datetime,
    horizon_days: int,
    sensing: tuple[frozenset[date], frozenset[tuple[str, date]]],
) -> str | None:
    """A digest of what the tail of ``today`` is judged on (``answers.stamp_of``'s value, with ``marks`` every
    landlord's over ``marks_range``); None while an evening of it is in progress or a begun one has no rollups
    (its raw visits would count)."""
    first = tail_first(today, horizon_days)
    windows, partial = period_windows(calendar, first, today, now)
    marked = {d for d, _ in marks}
    if partial is not None or any(d not in marked for d in windows):
        return None
    value = (
        first.isoformat(),
        today.isoformat(),
        [d.isoformat() for d in windows],
        sorted((d.isoformat(), owner, mark) for (d, owner), mark in marks.items()),
        sorted(d.isoformat() for d in sensing[0]),
        sorted((cid, d.isoformat()) for cid, d in sensing[1]),
    )
    return hashlib.sha256(repr(value).encode()).hexdigest()[:32]


def store_digest(
    store: Store,
    calendar: ServiceCalendar,
    today: date,
    *,
    now: datetime,
    horizon_days: int,
    sensing: tuple[frozenset[date], frozenset[tuple[str, date]]],
) -> str | None:
    """``tail_digest`` on the marks the store has now."""
    marks = store.rollup_marks(*marks_range(today, horizon_days), landlord=None)
    return tail_digest(calendar, today, marks, now=now, horizon_days=horizon_days, sensing=sensing)


def fold_tail(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    *,
    now: datetime,
    horizon_days: int,
    sensing: tuple[frozenset[date], frozenset[tuple[str, date]]],
) -> tuple[date, str, list[MonthlyRollup]] | None:
    """The tail letters of ``now``'s date (all landlords), with their first day and the evidence's digest: what
    maintenance writes. None when the tail cannot have letters yet (``tail_digest``), or its evidence moved while
    it was folded (the next pass folds it again)."""
    today = now.astimezone(calendar.tz).date()
    first = tail_first(today, horizon_days)
    digest = store_digest(store, calendar, today, now=now, horizon_days=horizon_days, sensing=sensing)
    if digest is None:
        return None
    cov = compute_coverage(
        store, registry, calendar, first, today, landlord=None, now=now, horizon_days=horizon_days, include_days=True
    )
    rows = fold_month(cov, store.rollups(first, today), tail_basis(basis(registry, calendar, horizon_days), digest))
    if store_digest(store, calendar, today, now=now, horizon_days=horizon_days, sensing=sensing) != digest:
        return None
    return first, digest, rows


def tail_letters(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    tail: tuple[date, date],
    *,
    landlord: str | None,
    now: datetime,
    horizon_days: int,
    stamp: Stamp,
    marks: Marks,
    sensing: tuple[frozenset[date], frozenset[tuple[str, date]]],
) -> tuple[list[date], list[MonthlyFigures]] | None:
    """The service days and tail letters (as plain figures, of ``landlord``) standing for the open ``tail`` of a
    request at ``now`` whose stamp is ``stamp`` (``marks``: every landlord's over ``marks_range``); None when they
    do not stand for it (the caller folds the days): the tail is not today's, an evening is in progress, a begun
    day has no rollups of this landlord, or the letters were folded on other evidence, another registry revision,
    calendar or horizon."""
    if not may_stand(calendar, tail, now, horizon_days, stamp):
        return None
    figures = store.tail_figures(tail[0], landlord=landlord)
    if not figures:
        return None
    days, wanted = wanted_tail(registry, calendar, tail, now, horizon_days, marks, sensing)
    if wanted is None or any(f[6] != wanted or len(f[7]) != len(days) for f in figures):
        return None
    return days, figures


def may_stand(
    calendar: ServiceCalendar, tail: tuple[date, date], now: datetime, horizon_days: int, stamp: Stamp
) -> bool:
    """Letters may stand for ``tail`` under ``stamp`` (before reading them): today's tail, no evening partly rolled
    up, every begun day rolled up (marked)."""
    lo, hi = tail
    today = now.astimezone(calendar.tz).date()
    if hi != today or lo != tail_first(today, horizon_days) or stamp.partial is not None:
        return False
    return all(d in stamp.marked for d in stamp.windows)


def wanted_tail(
    registry: Registry,
    calendar: ServiceCalendar,
    tail: tuple[date, date],
    now: datetime,
    horizon_days: int,
    marks: Marks,
    sensing: tuple[frozenset[date], frozenset[tuple[str, date]]],
) -> tuple[list[date], str | None]:
    """The tail's service days and the basis its letters must have to stand for it (None: none can)."""
    today = now.astimezone(calendar.tz).date()
    digest = tail_digest(calendar, today, marks, now=now, horizon_days=horizon_days, sensing=sensing)
    wanted = None if digest is None else tail_basis(basis(registry, calendar, horizon_days), digest)
    return service_days_of(calendar, tail[0], tail[1], now), wanted
