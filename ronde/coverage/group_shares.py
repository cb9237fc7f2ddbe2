"""One landlord's shares over a period, counted from letters: what the API's coverage of a landlord answers.

Why: ``GET /coverage/landlords/{id}`` answers one group, the landlord's: its share of checkpoint-days covered, not
visited and without data, per evening and over the period, and how many checkpoints it lists. ``CoverageCache``
makes the whole ``PeriodCoverage`` for it: every checkpoint's figures folded (presence, idleness segments), every
building's and estate's group counted and named, then all but one group dropped. On a city landlord's month that
fold was a third of the first request and the group names a tenth (py-spy, December 7).

A share counts letters, one a checkpoint-day (``monthly._group_coverage``), whatever their order, and a day's letter
does not depend on the period it is asked in (a piece judges its days with the evidence around them, inside the
period or not: what lets one month's letters stand in any period that holds it). So the settled pieces' letters
(``settled.letters_of``, ``spans.span_letters``, as ``SettledParts.fold`` reads them) and, once every begun
evening of the open tail is rolled up, the tail's letters (``tail_letters``, under the same stamp as the cache's)
give the landlord's group directly: their states joined and counted at C speed, no checkpoint folded, no other
group made. The letters are read as states only (``letter_states``: on influxd a copy grouped per estate, a few
points where the letters are a series each). A tail with an evening in progress has its states judged
(``evening_shares``); a piece without letters is asked of ``CoverageCache.coverage`` and its group taken. Equal to
the landlord's group in ``CoverageCache.coverage`` of the whole period, day by day
(``tests/coverage/test_group_shares.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from operator import itemgetter

from ronde.coverage.answers import sensing_days, stamp_of
from ronde.coverage.compute import latest_sensing
from ronde.coverage.evening_shares import ClosedStates, evening_group
from ronde.coverage.letter_states import settled_states, span_states, tail_states
from ronde.coverage.monthly import basis, landlord_group
from ronde.coverage.period import PeriodCoverage, combine_groups
from ronde.coverage.pieces import open_tail_reads, period_pieces, settled_reads
from ronde.coverage.query import CoverageCache
from ronde.coverage.sensing import DEFAULT_HORIZON_DAYS
from ronde.coverage.shares import GroupCoverage, Level, Share
from ronde.coverage.tail_letters import letters_likely, marks_range
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.port import Store
from ronde.store.read_ahead import LATEST, ReadAhead
from ronde.store.records import LetterStates

_MAX_ENTRIES = 1024  # kept periods (settled parts) and tails; beyond, the cache starts again
_STATES, _CHECKPOINT = itemgetter(2), itemgetter(0)  # of ``LetterStates``


@dataclass(frozen=True, slots=True)
class GroupShares:
    """A landlord's group over a period (None: no checkpoint-day with a share) and the checkpoints the period's
    coverage lists for it (what its ``checkpoints`` count and its per-day "visited" counts are taken over)."""

    group: GroupCoverage | None
    members: frozenset[str]


@dataclass(slots=True)
class SharesCache:
    """What ``landlord_shares`` keeps between requests: a period's settled part (for the coverage cache's
    time-to-live, as its settled pieces), a tail from letters (while its stamp holds)."""

    settled: dict[tuple[object, ...], tuple[float, GroupShares]] = field(default_factory=dict)
    tails: dict[tuple[object, ...], tuple[float, tuple[object, ...], GroupShares]] = field(default_factory=dict)
    telemetry_days: dict[ServiceCalendar, dict[tuple[str, datetime], date]] = field(default_factory=dict)
    columns: dict[str, Share | None] = field(default_factory=dict)  # day columns' shares (``landlord_group``)
    evenings: dict[tuple[object, ...], ClosedStates] = field(default_factory=dict)  # an evening's closed tail

    def clear(self) -> None:
        self.settled.clear()
        self.tails.clear()
        self.telemetry_days.clear()
        self.columns.clear()
        self.evenings.clear()


def landlord_shares(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    first: date,
    last: date,
    *,
    landlord: str,
    now: datetime,
    cache: CoverageCache,
    kept: SharesCache,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> GroupShares:
    """``landlord``'s group over ``first..last`` at ``now``, as ``cache.coverage`` (without day detail) has it."""
    head, tails, key, ahead = _planned(
        store, registry, calendar, (first, last), landlord, now, horizon_days, cache, kept
    )
    parts: list[GroupShares] = []
    cache.note_evening(store, calendar, landlord, now, (first, last), None)  # a tail of an earlier request forgotten
    with store.reading_ahead(ahead):  # those a caller started already (``shares_reads_ahead``) not started again
        if head:
            parts.append(_settled(store, registry, calendar, head, landlord, now, horizon_days, cache, kept, key))
        if tails:
            parts.append(_tail(store, registry, calendar, tails[0], landlord, now, horizon_days, cache, kept))
    return joined(landlord, parts)


def shares_reads_ahead(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    first: date,
    last: date,
    *,
    landlord: str,
    now: datetime,
    cache: CoverageCache,
    kept: SharesCache,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> list[ReadAhead]:
    """What ``landlord_shares`` of the same arguments starts ahead: for a caller that starts other reads (the per-day
    counts') after these, so that the pool's threads read what the shares need first."""
    return _planned(store, registry, calendar, (first, last), landlord, now, horizon_days, cache, kept)[3]


Piece = tuple[date, date]


def _planned(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    period: Piece,
    landlord: str,
    now: datetime,
    horizon_days: int,
    cache: CoverageCache,
    kept: SharesCache,
) -> tuple[list[Piece], list[Piece], tuple[object, ...], list[ReadAhead]]:
    """The period's settled pieces and open tail (``period_pieces``), its settled part's key in ``kept``, and the
    reads a request for it starts ahead (``_reads_ahead``: the letters only when that part is not kept)."""
    head, tails = period_pieces(calendar, *period, now, horizon_days)
    key = (id(store), landlord, registry.revision, calendar, horizon_days, tuple(head))
    return (
        head,
        tails,
        key,
        _reads_ahead(calendar, head, tails, landlord, now, horizon_days, cold=_stale(kept, key, cache)),
    )


def joined(landlord: str, parts: Sequence[GroupShares]) -> GroupShares:
    """Adjacent parts of a period as one (``combine_groups``: the days one after the other, the shares summed)."""
    groups = [p.group for p in parts if p.group is not None]
    group = combine_groups({(Level.LANDLORD, landlord): groups})[0] if groups else None
    return GroupShares(group, frozenset().union(*(p.members for p in parts)))


def of_coverage(cov: PeriodCoverage, landlord: str) -> GroupShares:
    """The landlord's group of a coverage computed whole, and the checkpoints it lists."""
    group = next((g for g in cov.groups if g.level is Level.LANDLORD and g.id == landlord), None)
    return GroupShares(group, frozenset(c.checkpoint_id for c in cov.checkpoints if c.landlord == landlord))


def _of_letters(
    registry: Registry, days: list[date], states: list[LetterStates], landlord: str, kept: SharesCache
) -> GroupShares:
    if len(kept.columns) > 64 * _MAX_ENTRIES:
        kept.columns.clear()
    group = landlord_group(registry, days, landlord, list(map(_STATES, states)), kept.columns)
    return GroupShares(group, frozenset(map(_CHECKPOINT, states)))


def _settled(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    head: list[tuple[date, date]],
    landlord: str,
    now: datetime,
    horizon_days: int,
    cache: CoverageCache,
    kept: SharesCache,
    key: tuple[object, ...],
) -> GroupShares:
    """The settled pieces: a span's letters for the first ones where it stands, each other piece's letters, a piece
    without letters from ``cache.coverage``; kept for the cache's time-to-live, as ``SettledParts.part``."""
    t = cache.now_s()
    entry = kept.settled.get(key)
    if entry is not None and entry[0] > t:
        return entry[1]
    wanted = basis(registry, calendar, horizon_days)
    parts: list[GroupShares] = []
    spanned = span_states(store, calendar, head, landlord, wanted, now)
    rest = head
    if spanned is not None:
        days, figures, k = spanned
        parts.append(_of_letters(registry, days, figures, landlord, kept))
        rest = head[k + 1 :]
    for lo, hi in rest:
        letters = settled_states(store, calendar, lo, hi, landlord, wanted, now)
        if letters is not None:
            parts.append(_of_letters(registry, letters[0], letters[1], landlord, kept))
        else:
            cov = cache.coverage(
                store, registry, calendar, lo, hi, landlord=landlord, now=now, horizon_days=horizon_days
            )
            parts.append(of_coverage(cov, landlord))
    value = joined(landlord, parts)
    if len(kept.settled) >= _MAX_ENTRIES:
        kept.settled.clear()
    kept.settled[key] = (t + cache.ttl_s, value)
    return value


def _tail(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    tail: tuple[date, date],
    landlord: str,
    now: datetime,
    horizon_days: int,
    cache: CoverageCache,
    kept: SharesCache,
) -> GroupShares:
    """The open tail: from its letters when they stand for it (``tail_letters``, judged on the stamp and every
    landlord's marks ``CoverageCache._lettered`` keeps an answer on, and kept while they hold); with an evening in
    progress, its states judged (``evening_shares``); else from ``cache.coverage``."""
    lo, hi = tail
    latest = latest_sensing(store)
    sensing = sensing_days(calendar, latest, kept.telemetry_days.setdefault(calendar, {}))
    if letters_likely(calendar, tail, now, horizon_days, False):
        every = store.rollup_marks(*marks_range(now.astimezone(calendar.tz).date(), horizon_days), landlord=None)
        stamp = stamp_of(
            store, calendar, tail, landlord=landlord, now=now, horizon_days=horizon_days, sensing=sensing, every=every
        )
        held = (stamp.value, tuple(sorted((k, v) for k, v in every.items() if k[0] in stamp.windows)))
        key = (id(store), landlord, registry.revision, calendar, horizon_days, tail)
        t = cache.now_s()
        entry = kept.tails.get(key)
        if entry is not None and entry[0] > t and entry[1] == held:
            cache.note_lettered(store, landlord, now, stamp.value)
            return entry[2]
        got = tail_states(
            store, registry, calendar, tail, landlord=landlord, now=now, horizon_days=horizon_days, stamp=stamp,
            marks=every, sensing=sensing,
        )  # fmt: skip
        if got is not None:
            value = _of_letters(registry, got[0], got[1], landlord, kept)
            if len(kept.tails) >= _MAX_ENTRIES:
                kept.tails.clear()
            kept.tails[key] = (t + cache.ttl_s, held, value)
            cache.note_lettered(store, landlord, now, stamp.value)
            return value
    else:
        stamp = stamp_of(store, calendar, tail, landlord=landlord, now=now, horizon_days=horizon_days, sensing=sensing)
    if stamp.live is not None and cache.keep_evenings:
        args = (store, registry, calendar, tail, landlord, now, horizon_days)
        evening = evening_group(*args, cache=cache, kept=kept.evenings, latest=latest, stamp=stamp)
        if evening is not None:
            return GroupShares(*evening)
    cov = cache.coverage(store, registry, calendar, lo, hi, landlord=landlord, now=now, horizon_days=horizon_days)
    return of_coverage(cov, landlord)


def _stale(kept: SharesCache, key: tuple[object, ...], cache: CoverageCache) -> bool:
    """The settled part of ``key`` is not kept (a cold request)."""
    entry = kept.settled.get(key)
    return entry is None or entry[0] <= cache.now_s()


def _reads_ahead(
    calendar: ServiceCalendar,
    head: list[tuple[date, date]],
    tails: list[tuple[date, date]],
    landlord: str,
    now: datetime,
    horizon_days: int,
    *,
    cold: bool,
) -> list[ReadAhead]:
    """What the request reads, started ahead (``Store.reading_ahead``: on influxd answered side by side): the sensing
    evidence of its tail's stamp; ``cold`` (the settled part not kept), the settled part's letters and the tail's
    letters when they may stand for it, else what closing the tail from its days reads."""
    reads = [*LATEST, *(settled_reads(calendar, head, landlord, now) if head and cold else [])]
    if tails and cold:
        lettered = letters_likely(calendar, tails[0], now, horizon_days, False)
        if lettered:
            reads.append(ReadAhead("tail_figures", tails[0][0], tails[0][0], landlord))
        else:
            opened = open_tail_reads(calendar, tails[0], landlord, now, horizon_days)
            if any(r.method == "visit_spans_kept" for r in opened):  # tonight begun: ``evening_shares`` judges it
                opened = [x for r in opened for x in _evening_read(r, tails[0])]
            reads += opened
    reads = [r._replace(method=_AS_STATES.get(r.method, r.method)) for r in reads]  # what ``letter_states`` reads
    return reads if tails else reads[len(LATEST) :]


def _evening_read(r: ReadAhead, tail: tuple[date, date]) -> list[ReadAhead]:
    """What ``evening_shares`` reads where closing the tail reads ``r``: the week before the tail from its visited
    sets (``visited_sets.last_visited``), the tail's rollups to its last day (``Store.rollup_day_states``)."""
    if r.method == "heard_days" and r.last == tail[0] - timedelta(days=1):
        return [r._replace(method="rollup_marks"), r._replace(method="visited_sets")]
    if r.method == "rollup_figures_by_day":
        return [r._replace(method="rollup_day_states", first=tail[0], last=tail[1])]
    return [r]


_AS_STATES = {
    "monthly_figures": "monthly_states",
    "suffix_figures": "suffix_states",
    "tail_figures": "tail_states",
    "span_figures": "span_states",
}
