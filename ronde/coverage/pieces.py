"""How a period is cut into settled pieces and an open tail, and what each part reads ahead.

Why apart: ``CoverageCache`` (the whole coverage) and ``group_shares`` (one landlord's shares) cut a period the same
way and start the same reads for it; one definition keeps their pieces, and so their kept entries, equal.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ronde.coverage.evening import read_range
from ronde.coverage.monthly import service_days_of
from ronde.coverage.spans import span_read
from ronde.protocol.calendar import ServiceCalendar
from ronde.store.read_ahead import ReadAhead


def period_pieces(
    calendar: ServiceCalendar, first: date, last: date, now: datetime, horizon_days: int
) -> tuple[list[tuple[date, date]], list[tuple[date, date]]]:
    """``first..last`` cut as ``CoverageCache`` computes it: the settled pieces (calendar months, cut by the period,
    and the settled start of the month the open tail is in), then the open tail (the days after the last settled
    one, tonight's evidence can still change them), one at most."""
    today = now.astimezone(calendar.tz).date()
    pieces: list[tuple[date, date, bool]] = []  # (first, last, settled): calendar months, cut by the period
    day = first
    while day <= last:
        m_last = (day.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        lo, hi = day, min(last, m_last)
        settled = (today - hi).days > horizon_days
        if pieces and not settled and not pieces[-1][2]:
            pieces[-1] = (pieces[-1][0], hi, False)
        else:
            pieces.append((lo, hi, settled))
        day = hi + timedelta(days=1)
    quiet = today - timedelta(days=horizon_days + 1)  # the last settled day: tonight cannot change it
    if pieces and not pieces[-1][2] and pieces[-1][0] <= quiet:  # its settled start is cached too
        lo, hi, _ = pieces.pop()
        pieces.append((lo, min(hi, quiet), True))
        if hi > quiet:
            pieces.append((quiet + timedelta(days=1), hi, False))
    head = [(lo, hi) for lo, hi, settled in pieces if settled]  # a prefix: the unsettled tail comes last
    tails = [(lo, hi) for lo, hi, settled in pieces if not settled]  # one at most: the settled part is a prefix
    return head, tails


def open_tail_reads(
    calendar: ServiceCalendar, tail: tuple[date, date], landlord: str | None, now: datetime, horizon_days: int
) -> list[ReadAhead]:
    """What closing an open ``tail`` from its days reads: its closed days' figures, the heard days around it and,
    once tonight's window has begun, tonight's visits."""
    lo, hi = tail
    h, one = timedelta(days=horizon_days), timedelta(days=1)
    today = now.astimezone(calendar.tz).date()
    closed = list(calendar.service_days(lo, min(hi, today - one)))  # tonight has no rollups: not read
    reads = [ReadAhead("rollup_figures_by_day", lo, closed[-1], landlord)] if closed else []
    reads += [
        ReadAhead("heard_days", lo - h, lo - one, landlord),
        ReadAhead("heard_days", hi + one, hi + h, landlord),
    ]
    if lo <= today <= hi and calendar.is_service_day(today) and calendar.window(today)[0] <= now:
        reads.append(ReadAhead("visit_spans_kept", *read_range(calendar, today), landlord, today))
    return reads


def settled_reads(
    calendar: ServiceCalendar, head: list[tuple[date, date]], landlord: str | None, now: datetime
) -> list[ReadAhead]:
    """The letters ``SettledParts.part`` reads: the span when one stands for the first pieces of ``head``, else
    the first piece's suffix letters when it starts within its month (``suffix_letters``), then each whole month's
    letters after them (the month to date's included: ``letters_of`` reads the month's)."""
    read = span_read(calendar, head, now) if head else None
    if read is not None:
        days, k = read
        reads = [ReadAhead("span_figures", days[0], head[k][0], landlord)]
    elif head and head[0][0].day != 1 and (days := service_days_of(calendar, *head[0], now)):
        k, reads = 0, [ReadAhead("suffix_figures", days[0], days[0], landlord)]
    else:
        return []
    return reads + [ReadAhead("monthly_figures", lo, lo, landlord) for lo, _ in head[k + 1 :] if lo.day == 1]
