"""A request's settled pieces folded once and kept: ``CoverageCache``'s settled part.

Why: settled pieces (calendar months ended more than the sensing horizon ago, and the settled start of the current
month) hold until a late event re-closes a day, which the time-to-live bounds; a warm year then joins two parts (the
settled one kept, the open tail), not fourteen.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from ronde.coverage.compute import RollupReader, compute_coverage
from ronde.coverage.monthly import LetterFold, basis
from ronde.coverage.period import PeriodCoverage
from ronde.coverage.settled import letters_of, monthly_coverage, recorded_coverage
from ronde.coverage.spans import span_letters
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.port import Store


def settled_key(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    head: list[tuple[date, date]],
    landlord: str | None,
    horizon_days: int,
    include_days: bool,
) -> tuple[object, ...]:
    """``SettledParts``' entry of a request's settled pieces ``head``."""
    return ("settled", landlord, registry.revision, calendar, horizon_days, tuple(head), id(store), include_days)


class SettledParts:
    """Settled parts (a request's pieces folded) and single pieces, kept for ``ttl_s``; ``hits`` and ``misses``
    count what was taken from the cache and what was read or computed."""

    def __init__(self, ttl_s: float, clock: Callable[[], float], max_entries: int):
        self._ttl_s = ttl_s
        self._clock = clock
        self._max = max_entries
        self._months: dict[tuple[object, ...], tuple[float, PeriodCoverage]] = {}
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        self._months.clear()

    def kept(self, key: tuple[object, ...]) -> PeriodCoverage | None:
        """The part kept under ``key`` (``settled_key``) within the time-to-live, else None."""
        entry = self._months.get(key)
        return entry[1] if entry is not None and entry[0] > self._clock() else None

    def part(
        self,
        store: Store,
        registry: Registry,
        calendar: ServiceCalendar,
        head: list[tuple[date, date]],
        landlord: str | None,
        now: datetime,
        horizon_days: int,
        read: RollupReader,
        include_days: bool,
    ) -> PeriodCoverage:
        """The settled pieces combined, kept as one entry: a warm year then joins two parts, not
        fourteen. A piece whose month's letters cover it exactly (a whole folded month, or the month-to-date
        letter ending where the piece does) goes straight into the fold (``LetterFold``, equal to the bit to
        ``combine_periods`` of each piece's coverage); the others (the period's first, partial month) are
        computed and kept per piece (``_month``). Where maintenance wrote span letters (``ronde.coverage.spans``)
        from the period's first service day through its last whole settled month, they stand for those pieces."""
        key = settled_key(store, registry, calendar, head, landlord, horizon_days, include_days)
        t = self._clock()
        entry = self._months.get(key)
        if entry is not None and entry[0] > t:
            self.hits += 1
            return entry[1]
        fold = LetterFold(registry)
        self.fold(fold, store, registry, calendar, head, landlord, now, horizon_days, read, include_days)
        value = fold.result()
        if len(self._months) >= self._max:
            self._months.clear()
        self._months[key] = (t + self._ttl_s, value)
        return value

    def fold(
        self,
        fold: LetterFold,
        store: Store,
        registry: Registry,
        calendar: ServiceCalendar,
        head: list[tuple[date, date]],
        landlord: str | None,
        now: datetime,
        horizon_days: int,
        read: RollupReader,
        include_days: bool,
    ) -> None:
        """``part``'s pieces added to ``fold``, in order."""
        wanted = basis(registry, calendar, horizon_days)
        spanned = None if include_days else span_letters(store, calendar, head, landlord, wanted, now)
        if spanned is not None:  # the first, partial month and the whole months after it: one row a checkpoint
            days, figures, k = spanned
            self.misses += 1
            fold.add_letters(days, head[0][0], figures, landlord, head[k][1])
            head = head[k + 1 :]
        for lo, hi in head:
            letters = None if include_days else letters_of(store, calendar, lo, hi, landlord, wanted, now)
            if letters is not None:
                self.misses += 1
                fold.add_letters(letters[0], lo, letters[1], landlord, hi)
            else:
                fold.add(
                    self._month(store, registry, calendar, lo, hi, landlord, now, horizon_days, read, include_days)
                )

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
        read: RollupReader,
        include_days: bool,
    ) -> PeriodCoverage:
        """One settled piece; with ``include_days`` never from monthly rollups (they hold no days)."""
        key = (landlord, registry.revision, calendar, horizon_days, lo, hi, id(store), include_days)
        t = self._clock()
        entry = self._months.get(key)
        if entry is not None and entry[0] > t:
            self.hits += 1
            return entry[1]
        self.misses += 1
        value = (
            None
            if include_days
            else monthly_coverage(
                store, registry, calendar, lo, hi, landlord=landlord, now=now, horizon_days=horizon_days, read=read
            )
        )
        if value is None:
            value = recorded_coverage(
                store,
                registry,
                calendar,
                lo,
                hi,
                landlord=landlord,
                now=now,
                horizon_days=horizon_days,
                include_days=include_days,
                read=read,
            )
        if value is None:
            value = compute_coverage(
                store,
                registry,
                calendar,
                lo,
                hi,
                landlord=landlord,
                now=now,
                horizon_days=horizon_days,
                include_days=include_days,
                read=read,
            )
        if len(self._months) >= self._max:
            self._months.clear()
        self._months[key] = (t + self._ttl_s, value)
        return value
