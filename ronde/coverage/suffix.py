"""Suffix letters: for each service day d of a settled month, each checkpoint's fold of the days d..the month's end.

Why: a year ending today starts mid-month, and that first, partial month cannot come from the month's letter (its
sums run over the whole month: subtracting the days before the period's start would not give the same bits). It
was read as every daily rollup of its days (~40,000 for a landlord at city scale, ~30 % of a cold year) and folded
(``partial.figures_coverage``). Maintenance, when it folds a settled month, now also folds each of its suffixes
d..end with ``partial``'s own functions over the same figures, in the same order, and writes them as letters of
that piece (``MonthlySuffix``): the first, partial month is then one row per checkpoint, equal to the bit.

The month in progress gets the same from its month-to-date letter (``monthly.partial_basis``): for each service day
d up to the letter's last day T, the fold of d..T, under the letter's basis (so marked partial through T). A month
asked for in its first days (``today - 29``..``today`` starts in the month before, not settled yet) then reads its
first piece (d..T, the days a month-to-date letter covers) as one row a checkpoint too, not its ~40,000 daily rollups.
Only the start days of that default period (``default_period_starts``: the API's period when none is asked, ending
on one of the last three service days) are folded: a month-to-date letter is folded again every day (its last day
moves), and on InfluxDB every fold is a new point per suffix, all of which a read of that start day goes through; a
start day is so written only by the folds of the days its period's end stays among the last three service days (up
to five, over a Monday and a Tuesday; more only when late events move the letter). Another start day is folded from
its days, as before. When the month settles, its whole fold's suffixes replace these.

A suffix is written only where the figures path would take it: every service day from d on has rollups, of every
landlord with rollups in d..end (a landlord missing a day is judged again from days, ``compute_coverage``), and each
rollup has its month letter. The reader (``suffix_letters``) falls back to folding the days whenever the suffix
rows are missing, under another basis, or do not match the piece's days.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Collection
from datetime import date, datetime, timedelta

from ronde.coverage.monthly import figures_through, letter_of, letters_end, month_bounds, service_days_of
from ronde.coverage.partial import Windows, checkpoint_of_figures
from ronde.coverage.service_time import period_windows
from ronde.coverage.shares import CheckpointDayRef
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.port import Store
from ronde.store.records import MonthlyFigures, MonthlyRollup, MonthlySuffix, RollupFigures

DEFAULT_PERIOD_DAYS = 30  # the API's period when none is asked: the last service day begun and the 29 days before


def default_period_starts(calendar: ServiceCalendar, today: date) -> set[date]:
    """The first days of the default period ending on each of the last three service days up to ``today`` (today's
    evening, begun or not, and the two before): the starts a month-to-date letter's suffixes are folded from."""
    ends = list(calendar.service_days(today - timedelta(days=14), today))[-3:]
    return {d - timedelta(days=DEFAULT_PERIOD_DAYS - 1) for d in ends}


def fold_month_suffixes(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    letters: list[MonthlyRollup],
    *,
    now: datetime,
    starts: Collection[date] | None = None,
) -> list[MonthlySuffix]:
    """The suffix letters of the settled month whose letters (all landlords, ``fold_settled_month``'s) are
    ``letters``, folded from its daily rollup figures: what maintenance writes beside them. Of a month-to-date
    letter (``fold_month_to_date``'s), the suffixes d..its last day. ``starts``: only the suffixes of the periods
    starting on these days (from the first service day of each on)."""
    if not letters:
        return []
    lo, hi = letters[0].month, letters_end(letters[0])
    return fold_suffixes(registry, calendar, letters, store.rollup_figures(lo, hi), now=now, starts=starts)


def fold_suffixes(
    registry: Registry,
    calendar: ServiceCalendar,
    letters: list[MonthlyRollup],
    figures: list[RollupFigures],
    *,
    now: datetime,
    starts: Collection[date] | None = None,
) -> list[MonthlySuffix]:
    """Each checkpoint's fold of d..the month's end (a month-to-date letter's last day) for every service day d a
    reader may start from (``figures``: the letters' daily rollup figures in the store's order, day then checkpoint)."""
    month = letters[0].month
    lo, hi = month, letters_end(letters[0])
    days = service_days_of(calendar, lo, hi, now)
    index = {d: i for i, d in enumerate(days)}
    recorded = {r.checkpoint_id: r.states for r in letters}
    if not days or any(len(st) != len(days) for st in recorded.values()):
        return []
    positions = _starts(days, index, recorded, figures)
    if starts is not None:  # a period from ``s`` reads the suffix from its first service day
        wanted = {bisect_left(days, s) for s in starts}
        positions = [k for k in positions if k in wanted]
    if not positions:
        return []
    windows, _ = period_windows(calendar, lo, hi, now)
    of = Windows(calendar, windows, now).of
    rows: dict[str, list[RollupFigures]] = defaultdict(list)
    for f in figures:
        if f[0] in windows:
            rows[f[1]].append(f)
    out: list[MonthlySuffix] = []
    scratch: list[CheckpointDayRef] = []  # the day refs a checkpoint gives its groups: the letters give them
    for cid in sorted(rows):
        mine = rows[cid]
        st = recorded[cid]
        column = ["-"] * len(days)
        for f in mine:
            column[index[f[0]]] = "C" if f[8] else "N" if f[6] > 0 else st[index[f[0]]]
        first_days = [f[0] for f in mine]
        for k in positions:
            j = bisect_left(first_days, days[k])
            if j == len(mine):
                continue  # no rollup of this checkpoint from d on: the piece leaves it out
            scratch.clear()
            c = checkpoint_of_figures(registry, cid, mine[j:], of, st, index, scratch)
            letter = letter_of(month, c, mine[j][7], letters[0].basis, "".join(column[k:]))
            out.append(MonthlySuffix(days[k], letter))
    return out


def _starts(
    days: list[date], index: dict[date, int], recorded: dict[str, str], figures: list[RollupFigures]
) -> list[int]:
    """The positions in ``days`` of the service days a suffix is written from: those from which on every figure
    has its letter, every service day has rollups, and every landlord with rollups has them every day."""
    bad: set[date] = set()
    landlords: dict[date, set[str]] = defaultdict(set)
    for f in figures:
        day, cid = f[0], f[1]
        st = recorded.get(cid)
        if day not in index or st is None or st[index[day]] == "-":
            bad.add(day)
        landlords[day].add(f[5])
    last_bad = max(bad, default=None)
    out: list[int] = []
    union: set[str] = set()
    for k in range(len(days) - 1, -1, -1):
        d = days[k]
        union |= landlords[d]
        if (last_bad is not None and last_bad >= d) or any(landlords[e] != union for e in days[k:]):
            break  # a day that fails fails every start before it too
        out.append(k)
    return sorted(out)


def suffix_letters(
    store: Store, calendar: ServiceCalendar, lo: date, hi: date, landlord: str | None, wanted: str, now: datetime
) -> tuple[list[date], list[MonthlyFigures]] | None:
    """The service days and suffix letters (as plain figures) of ``lo..hi`` when it runs from within a month to its
    end (or to the last day of its month-to-date letter) and maintenance wrote that suffix under basis ``wanted``;
    None otherwise (the caller folds the days)."""
    m_lo = month_bounds(lo)[0]
    if lo == m_lo:
        return None
    days = service_days_of(calendar, lo, hi, now)
    if not days:
        return None
    figures = store.suffix_figures(days[0], landlord=landlord)
    if figures_through(m_lo, figures, wanted) != hi:
        return None
    n = len(days)
    if any(len(f[7]) != n for f in figures):
        return None
    return days, figures
