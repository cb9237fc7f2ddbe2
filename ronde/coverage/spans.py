"""Span letters: each checkpoint's fold of a service day d..the end of the last settled month, for the days d a year
can start on.

Why: a landlord's year ending today is its first, partial month (one suffix letter a checkpoint,
``ronde.coverage.suffix``), eleven or so whole months (a letter each), the month to date and the open tail. At city
scale the first two are 30,000 rows read and folded on every cold request (~150 ms of a 300 ms target on SQLite, and
~200 ms of influxd's CPU on InfluxDB). When a month settles, maintenance folds them once more for each day d a year
ending before the next month settles can start on, and writes the fold as one letter a checkpoint
(``MonthlySpan``); the reader then folds one row a checkpoint where it folded twelve.

Equal to the bit: a span is ``monthly.fold_pieces`` of the same pieces (the suffix letter of d, then each month's
letter) that ``LetterFold`` folds, and every sum of that fold is taken left to right (integers, ``sum`` of a list of
floats, ``_fold_segment``): folding the span then the month to date is the same additions in the same order as
folding the twelve pieces then the month to date. A span stands for those pieces only where ``add_letters`` of the
pieces and of the span give the same groups: a checkpoint missing from a month has ``-`` for that month's days (a
share counts letters but ``-``), and a checkpoint whose building, estate or landlord changed between the months
leaves d without spans (the pieces would file its letters under two places). A piece the reader would not take from
letters (not folded, under another basis, of another length) leaves d without spans too: the reader then takes each
piece as before.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from ronde.coverage.monthly import (
    NO_ROLLUP,
    basis,
    figures_through,
    fold_pieces,
    letter_of,
    month_bounds,
    service_days_of,
)
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.port import Store
from ronde.store.records import MonthlyFigures, MonthlySpan

YEAR_DAYS = (364, 365)  # a year ending on day T starts on T - 364 (the API's, the dashboards'), T - 365 in a leap year
_SLACK = timedelta(days=3)  # a few days more on each side: a year ending a day early or late still finds its span


def latest_settled_month(today: date, horizon_days: int) -> date:
    """The first day of the last month settled on ``today`` (``monthly.settled``): the one a span runs through."""
    quiet = today - timedelta(days=horizon_days + 1)  # the last settled day
    if quiet == month_bounds(quiet)[1]:
        return quiet.replace(day=1)
    return (quiet.replace(day=1) - timedelta(days=1)).replace(day=1)


def span_starts(calendar: ServiceCalendar, through: date, horizon_days: int, now: datetime) -> list[date]:
    """The service days a span through the month ``through`` is written from: those a year ending while ``through``
    is the last settled month starts on (its end from the day after ``through``'s end + the horizon to the next
    month's end + the horizon), but the days of ``through`` itself (their span is their suffix letter)."""
    _, end = month_bounds(through)
    next_end = month_bounds(end + timedelta(days=1))[1]
    lo = end + timedelta(days=horizon_days + 1) - timedelta(days=max(YEAR_DAYS)) - _SLACK
    hi = next_end + timedelta(days=horizon_days) - timedelta(days=min(YEAR_DAYS)) + _SLACK
    return [d for d in service_days_of(calendar, lo, min(hi, through - timedelta(days=1)), now) if d.day != 1]


def fold_month_spans(
    store: Store, registry: Registry, calendar: ServiceCalendar, through: date, *, now: datetime, horizon_days: int
) -> list[MonthlySpan]:
    """The span letters through the settled month ``through`` (all landlords), folded from its letters and those of
    the months before it back to each start day's month, with that day's suffix letters: what maintenance writes
    (``Store.write_month_spans``) once that month's letters are written."""
    through = through.replace(day=1)
    wanted = basis(registry, calendar, horizon_days)
    months: dict[date, tuple[list[date], list[MonthlyFigures]] | None] = {}
    out: list[MonthlySpan] = []
    for d in span_starts(calendar, through, horizon_days, now):
        pieces = _pieces(store, calendar, d, through, wanted, now, months)
        if pieces is not None:
            out.extend(_spans(registry, d, through, wanted, pieces))
    return out


def span_letters(
    store: Store,
    calendar: ServiceCalendar,
    head: list[tuple[date, date]],
    landlord: str | None,
    wanted: str,
    now: datetime,
) -> tuple[list[date], list[MonthlyFigures], int] | None:
    """The service days and span letters standing for the settled pieces ``head[0]..head[k]`` (a period's first,
    partial month then whole months), with that ``k``; None when the period starts on a month's first day, has no
    whole month after its first, or no current span was written from its first service day through that month."""
    read = span_read(calendar, head, now)
    if read is None:
        return None
    days, k = read
    figures = store.span_figures(days[0], head[k][0], landlord=landlord)
    n = len(days)
    if not figures or any(f[6] != wanted or len(f[7]) != n for f in figures):
        return None
    return days, figures, k


def span_read(calendar: ServiceCalendar, head: list[tuple[date, date]], now: datetime) -> tuple[list[date], int] | None:
    """The service days a span would stand for in the settled pieces ``head`` and the index of its last piece
    (``span_letters`` reads the span from the first of those days through that piece's month); None when no span
    can (the period starts on a month's first day, or has no whole month after its first)."""
    lo = head[0][0]
    if lo.day == 1:
        return None
    whole = [k for k, (a, b) in enumerate(head) if k and a.day == 1 and b == month_bounds(b)[1]]
    if not whole:
        return None
    k = whole[-1]
    days = service_days_of(calendar, lo, head[k][1], now)
    return (days, k) if days else None


_Pieces = list[tuple[list[date], list[MonthlyFigures]]]


def _pieces(
    store: Store,
    calendar: ServiceCalendar,
    d: date,
    through: date,
    wanted: str,
    now: datetime,
    months: dict[date, tuple[list[date], list[MonthlyFigures]] | None],
) -> _Pieces | None:
    """The pieces a year from ``d`` folds before ``through``'s end, as the reader takes them from letters (``d``'s
    suffix letters, then each whole month's); None when one of them would not be taken from letters."""
    m_lo, m_hi = month_bounds(d)
    days = service_days_of(calendar, d, m_hi, now)
    suffix = store.suffix_figures(days[0]) if days else []
    if not days or figures_through(m_lo, suffix, wanted) != m_hi or any(len(f[7]) != len(days) for f in suffix):
        return None
    pieces: _Pieces = [(days, suffix)]
    month = m_hi + timedelta(days=1)
    while month <= through:
        if month not in months:
            months[month] = _month(store, calendar, month, wanted, now)
        piece = months[month]
        if piece is None:
            return None
        pieces.append(piece)
        month = month_bounds(month)[1] + timedelta(days=1)
    return pieces


def _month(
    store: Store, calendar: ServiceCalendar, month: date, wanted: str, now: datetime
) -> tuple[list[date], list[MonthlyFigures]] | None:
    """A whole month's service days and letters, as ``settled.letters_of`` takes them; None where it would not."""
    figures = store.monthly_figures(month)
    days = service_days_of(calendar, *month_bounds(month), now)
    if figures_through(month, figures, wanted) != month_bounds(month)[1] or any(
        len(f[7]) != len(days) for f in figures
    ):
        return None
    return days, figures


def _spans(registry: Registry, d: date, through: date, wanted: str, pieces: _Pieces) -> list[MonthlySpan]:
    """One span letter a checkpoint with a letter in one of ``pieces``; none when a checkpoint's place changed."""
    runs: dict[str, list[tuple[int, MonthlyFigures]]] = defaultdict(list)
    for i, (_, figures) in enumerate(pieces):
        for f in figures:
            runs[f[0]].append((i, f))
    widths = [len(days) for days, _ in pieces]
    out: list[MonthlySpan] = []
    for cid in sorted(runs):
        run = runs[cid]
        if len({f[2:5] for _, f in run}) != 1:
            return []  # its letters would be filed under two places: the pieces, not a span, tell
        letters = [NO_ROLLUP * w for w in widths]
        for i, f in run:
            letters[i] = f[7]
        c = fold_pieces(registry, [f for _, f in run])
        out.append(MonthlySpan(d, letter_of(through, c, run[-1][1][5], wanted, "".join(letters))))
    return out
