"""A landlord's shares over the open tail with an evening in progress: its states judged, no checkpoint folded.

Why: in the evening the open tail's letters do not stand (tonight's visits count, and a beacon heard tonight is
evidence for the evenings before it), so ``CoverageCache`` closes the tail's closed evenings again for tonight
(``_close``: each checkpoint's running figures, presence and idleness folds) and joins tonight's rows to them
(``evening.tonight_answer``): ~60 % of a landlord's month asked in the evening (py-spy, December 7), for the one
group the landlord's route answers. A share needs only each checkpoint-day's state: covered, else visited, else the
evidence's verdict (``SensingEvidence.unheard_state``), the very verdicts ``tail.close_figures`` gives. Here the
same evidence is gathered as there (the tail's closed days, the heard days around, the estate's other landlords
where a gateway was not heard, tonight's visits), the closed evenings' states are kept with their stamp as
``tail.ClosedTail`` is (and judged again when a beacon heard tonight could turn one), and tonight's checkpoints get
``tail.Tonight``'s verdicts from their passes counted (``tonight_states``: no row made). The closed days are read
as day states (``Store.rollup_day_states``: a code a checkpoint-day, where the cache reads 14 figures a row; ~17,500
rows of a city landlord's tail were a third of its evening month on SQLite, py-spy, December 8), the week before the
tail from its days' visited sets (``visited_sets.last_visited``, where ``heard_days`` aggregated its rollups), and
what the per-day counts need of the same days is noted for them (``CoverageCache.note_evening``). Equal to the
landlord's group of ``CoverageCache.coverage`` (``tests/coverage/test_group_shares.py``, in the evening).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from itertools import compress

from ronde.coverage.answers import Latest, Stamp, estate_marks
from ronde.coverage.compute import fill_days
from ronde.coverage.evening import evidence_with
from ronde.coverage.period import combine_groups
from ronde.coverage.query import CoverageCache
from ronde.coverage.sensing import DayState, SensingEvidence, evidence_from
from ronde.coverage.shares import GroupCoverage, Level, group_of_counts
from ronde.coverage.tail import Tonight, verdicts_hold
from ronde.coverage.tonight_states import TonightPasses, tonight_passes
from ronde.coverage.visited_sets import last_visited
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.day_states import COVERED, NO_ROLLUP, UNVISITED, VISITED, DayStates
from ronde.store.port import Store, VisitSpan

_HEARD = frozenset((COVERED, VISITED))  # day states with a visit
_MAX_KEPT = 256  # tails kept (a landlord's scope and period's tail each); beyond, the cache starts again


@dataclass(frozen=True, slots=True)
class ClosedStates:
    """The tail's closed evenings' states for tonight (``tail.ClosedTail`` without the figures)."""

    expires: float
    stamp: tuple[object, ...]
    estate_days: tuple[date, ...]
    estate_marks: tuple[tuple[tuple[date, str], str], ...]
    group: GroupCoverage | None  # the landlord's group over the closed evenings (None: no share)
    members: frozenset[str]  # the checkpoints with a closed evening
    base: SensingEvidence  # as ``ClosedTail.base``: tonight's visits not in it
    heard: frozenset[str]  # the beacons heard tonight when they were judged
    judged: frozenset[str]  # checkpoints with a closed evening judged "no data" from evidence
    visited: dict[date, frozenset[str]]  # each day of the tail with rollups, its checkpoints with a visit

    def holds(self, t: float, stamp: tuple[object, ...], heard: set[str]) -> bool:
        """As ``ClosedTail.holds``: fresh, same stamp, and tonight's beacons cannot have turned a closed verdict."""
        return self.expires > t and self.stamp == stamp and verdicts_hold(self.heard, self.judged, heard)


def evening_group(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    tail: tuple[date, date],
    landlord: str,
    now: datetime,
    horizon_days: int,
    *,
    cache: CoverageCache,
    kept: dict[tuple[object, ...], ClosedStates],
    latest: Latest,
    stamp: Stamp,
) -> tuple[GroupCoverage | None, frozenset[str]] | None:
    """The landlord's group over the open ``tail`` whose last day is the evening in progress (or one ended, not
    rolled up yet), and the checkpoints it lists; None when another of its days has no rollups (the caller asks
    ``CoverageCache.coverage``, as ``CoverageCache._evening`` would give up)."""
    live, partial = stamp.live, stamp.partial
    if live is None or partial not in (None, live):
        return None
    spans = cache.tonight_spans(store, calendar, live, landlord=landlord, now=now)
    heard = {s.checkpoint_id for s in spans}
    today = max(live, now.astimezone(calendar.tz).date())
    key = (id(store), landlord, registry.revision, calendar, horizon_days, tail)
    t = cache.now_s()
    closed = kept.get(key)
    if (
        closed is None
        or not closed.holds(t, stamp.value, heard)
        or closed.estate_marks != estate_marks(store, closed.estate_days)
    ):
        made = _closed(store, registry, calendar, tail, landlord, horizon_days, cache, latest, spans, stamp, today)
        if made is None:
            return None
        if len(kept) >= _MAX_KEPT:
            kept.clear()
        closed = kept[key] = replace(made, expires=t + cache.ttl_s, stamp=stamp.value)
    verdicts = Tonight(closed.base)
    verdicts.add_visits(spans)
    if any(not verdicts.gateway_alive(live, e) for e in _estates(registry, landlord)):  # as ``_evening``
        others = cache.tonight_spans(store, calendar, live, landlord=None, now=None)
        verdicts.add_visits(s for s in others if s.landlord != landlord)
    mine = tonight_passes(registry, calendar, live, spans, now=now, landlord=landlord)
    counts = Counter(
        (live, _tonight_state(p, live, verdicts, today, horizon_days)) for p in mine if p.landlord == landlord
    )
    groups = [g for g in (closed.group, group_of_counts(registry, Level.LANDLORD, landlord, counts)) if g is not None]
    group = combine_groups({(Level.LANDLORD, landlord): groups})[0] if groups else None  # tonight after the rest
    tonight = frozenset(p.checkpoint_id for p in mine if p.passes > 0)
    cache.note_evening(store, calendar, landlord, now, tail, {**closed.visited, live: tonight})
    return group, closed.members | {p.checkpoint_id for p in mine}


def _tonight_state(p: TonightPasses, day: date, verdicts: Tonight, today: date, horizon_days: int) -> DayState:
    """Tonight's verdict of a checkpoint as ``tail.state_of`` gives it of its row."""
    if p.covered:
        return DayState.COVERED
    if p.passes > 0:
        return DayState.NOT_VISITED
    return verdicts.unheard_state(p.checkpoint_id, day, p.estate, today=today, horizon_days=horizon_days)


def _closed(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    tail: tuple[date, date],
    landlord: str,
    horizon_days: int,
    cache: CoverageCache,
    latest: Latest,
    spans: list[VisitSpan],
    stamp: Stamp,
    today: date,
) -> ClosedStates | None:
    """``CoverageCache._close`` without day detail, states only: the same evidence, the same verdicts, the closed
    evenings read as day states (``Store.rollup_day_states``) where the cache reads their figures."""
    lo, hi = tail
    windows = stamp.windows
    rows = store.rollup_day_states(lo, hi, landlord=landlord)
    days = [lo + timedelta(days=k) for k in range((hi - lo).days + 1)]
    columns = day_columns(rows, days)
    rolled = {d for d, column in zip(days, columns, strict=True) if set(column) - {NO_ROLLUP}}
    tonight = max(windows)
    if [d for d in windows if d not in rolled] != [tonight]:
        return None
    base = evidence_from(calendar, rollups=[], gateway_states=latest[0], telemetry=latest[1])
    base.add_day_states(rows, lo)
    base.add_heard(_heard_around(store, lo, hi, timedelta(days=horizon_days), landlord))
    needed = fill_needed(rows, days, columns, base)
    fill_days(store, base, needed, calendar)
    full = evidence_with(base, spans)
    if any(not full.gateway_alive(tonight, e) for e in _estates(registry, landlord)):
        everyone = cache.tonight_spans(store, calendar, tonight, landlord=None, now=None)
        full = evidence_with(full, [s for s in everyone if s.landlord != landlord])
    closed = [(k, d) for k, d in enumerate(days) if d in windows]
    counts, judged, members = _states(rows, closed, full, today, horizon_days, landlord)
    heard = frozenset(s.checkpoint_id for s in spans)
    group = group_of_counts(registry, Level.LANDLORD, landlord, counts)
    cids = [r[0] for r in rows]
    visited = {
        d: frozenset(compress(cids, map(_HEARD.__contains__, column)))
        for d, column in zip(days, columns, strict=True)
        if d in rolled
    }
    marks = estate_marks(store, tuple(needed))
    return ClosedStates(0.0, (), tuple(needed), marks, group, members, base, heard, judged, visited)


def day_columns(rows: list[DayStates], days: list[date]) -> list[tuple[str, ...]]:
    """Each day's codes, the rows' in their order (a column of ``rows``' codes at C speed)."""
    if not rows:
        return [() for _ in days]
    columns: list[tuple[str, ...]] = list(zip(*[r[4] for r in rows], strict=True))
    return columns


def fill_needed(
    rows: list[DayStates], days: list[date], columns: list[tuple[str, ...]], evidence: SensingEvidence
) -> list[date]:
    """The days other landlords' activity is read for (``compute.fill_estate``'s of the same rows' figures: a row
    without a visit on an estate no gateway is known alive on that day), from each day's codes (``columns``)."""
    estates = [r[2] for r in rows]
    return [
        d
        for d, column in zip(days, columns, strict=True)
        if any(not evidence.gateway_alive(d, e) for e in set(compress(estates, map(UNVISITED.__eq__, column))))
    ]


def _states(
    rows: list[DayStates],
    closed: list[tuple[int, date]],
    evidence: SensingEvidence,
    today: date,
    horizon_days: int,
    landlord: str,
) -> tuple[Counter[tuple[date, DayState]], frozenset[str], frozenset[str]]:
    """The closed checkpoint-days of ``landlord`` counted per (day, state) (``group_of_counts``: what its group
    counts of their refs), the checkpoints judged "no data" and those with a closed evening, as
    ``tail.close_figures`` judges the rows' figures (``closed``: the days' places in the codes, and the days)."""
    counts: Counter[tuple[date, DayState]] = Counter()
    judged: set[str] = set()
    members: set[str] = set()
    for cid, _, estate, owner, codes in rows:
        for k, day in closed:
            code = codes[k]
            if code == NO_ROLLUP:
                continue
            if code == COVERED:
                state = DayState.COVERED
            elif code == VISITED:
                state = DayState.NOT_VISITED
            else:
                state = evidence.unheard_state(cid, day, estate, today=today, horizon_days=horizon_days)
                if state is DayState.NO_DATA:
                    judged.add(cid)
            if owner == landlord:
                counts[(day, state)] += 1
            members.add(cid)
    return counts, frozenset(judged), frozenset(members)


def _heard_around(store: Store, lo: date, hi: date, h: timedelta, landlord: str) -> list[tuple[str, date]]:
    """``compute.heard_around``, the horizon before the tail from its days' visited sets where they stand."""
    one = timedelta(days=1)
    before = last_visited(store, lo - h, lo - one, landlord)
    after = store.heard_days(hi + one, hi + h, landlord=landlord)
    return [*before.items(), *((cid, first) for cid, (first, _) in after.items())]


def _estates(registry: Registry, landlord: str) -> set[str]:
    return {c.estate for c in registry.checkpoints_of(landlord)}
