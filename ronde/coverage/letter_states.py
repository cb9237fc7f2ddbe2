"""The letters a landlord's shares stand on, read as states only (``Store.suffix_states`` and the like).

Why: a share counts each checkpoint's day states, never a letter's other figures; on influxd the states are a copy
grouped per estate (``ronde.store.influx_states``), a few points where the letters are a series each: a landlord's
suffix letters at city scale cost influxd 49–56 ms, their states 7 ms (December 8). The same pieces stand as with
the letters (``settled.letters_of``, ``suffix.suffix_letters``, ``spans.span_letters``, ``tail_letters.tail_letters``:
the same checks on the same basis, states and, for spans, the letters' marks of their months); where the store
cannot tell its copy whole (None: written by earlier code, not copied yet) the letters' figures are read instead, so
the answer never depends on it.
"""

from __future__ import annotations

from datetime import date, datetime

from ronde.coverage.answers import Stamp
from ronde.coverage.monthly import month_bounds, service_days_of, states_through
from ronde.coverage.settled import letters_of
from ronde.coverage.spans import span_letters, span_read
from ronde.coverage.tail_letters import Marks, may_stand, tail_letters, wanted_tail
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.port import Store
from ronde.store.records import LetterStates, MonthlyFigures

StatesPiece = tuple[list[date], list[LetterStates]]  # a piece's service days and its checkpoints' states


def states_of(figures: list[MonthlyFigures]) -> list[LetterStates]:
    """Letters read whole, as states (what the store's copy holds of them)."""
    return [(f[0], f[6], f[7]) for f in figures]


def settled_states(
    store: Store, calendar: ServiceCalendar, lo: date, hi: date, landlord: str | None, wanted: str, now: datetime
) -> StatesPiece | None:
    """``settled.letters_of`` as states: a whole month's or month-to-date letters, or a piece from within a month
    to its end (its suffix letters); None where those do not stand for ``lo..hi``."""
    m_lo = month_bounds(lo)[0]
    days = service_days_of(calendar, lo, hi, now)
    if lo == m_lo:
        rows = store.monthly_states(lo, landlord=landlord)
    elif days:
        rows = store.suffix_states(days[0], landlord=landlord)
    else:
        return None
    if rows is None:
        got = letters_of(store, calendar, lo, hi, landlord, wanted, now)
        return None if got is None else (got[0], states_of(got[1]))
    if states_through(m_lo, rows, wanted) != hi or any(len(r[2]) != len(days) for r in rows):
        return None
    return days, rows


def span_states(
    store: Store, calendar: ServiceCalendar, head: list[tuple[date, date]], landlord: str | None, wanted: str,
    now: datetime,
) -> tuple[list[date], list[LetterStates], int] | None:  # fmt: skip
    """``spans.span_letters`` as states: the service days and span states standing for ``head[0]..head[k]``, with
    that ``k``; None where no current span stands."""
    read = span_read(calendar, head, now)
    if read is None:
        return None
    days, k = read
    rows = store.span_states(days[0], head[k][0], landlord=landlord)
    if rows is None:
        got = span_letters(store, calendar, head, landlord, wanted, now)
        return None if got is None else (got[0], states_of(got[1]), got[2])
    return (days, rows, k) if _stand(rows, wanted, len(days)) else None


def tail_states(
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
) -> StatesPiece | None:
    """``tail_letters.tail_letters`` as states: the same checks, the same basis."""
    if not may_stand(calendar, tail, now, horizon_days, stamp):
        return None
    rows = store.tail_states(tail[0], landlord=landlord)
    if rows is None:
        got = tail_letters(
            store, registry, calendar, tail, landlord=landlord, now=now, horizon_days=horizon_days, stamp=stamp,
            marks=marks, sensing=sensing,
        )  # fmt: skip
        return None if got is None else (got[0], states_of(got[1]))
    if not rows:
        return None
    days, wanted = wanted_tail(registry, calendar, tail, now, horizon_days, marks, sensing)
    return (days, rows) if wanted is not None and _stand(rows, wanted, len(days)) else None


def _stand(rows: list[LetterStates], wanted: str, n: int) -> bool:
    """Letters read stand for their piece: some, each of basis ``wanted`` and a state for each of its ``n`` days."""
    return bool(rows) and all(r[1] == wanted and len(r[2]) == n for r in rows)
