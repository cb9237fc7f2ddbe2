"""A landlord's shares over the open tail with an evening in progress: its states judged, no checkpoint folded.

Why: in the evening the open tail's letters do not stand (tonight's visits count, and a beacon heard tonight is
evidence for the evenings before it), so ``CoverageCache`` closes the tail's closed evenings again for tonight
(``_close``: each checkpoint's running figures, presence and idleness folds) and joins tonight's rows to them
(``evening.tonight_answer``): ~60 % of a landlord's month asked in the evening (py-spy, December 7), for the one
group the landlord's route answers. A share needs only each checkpoint-day's state: covered, else visited, else the
evidence's verdict (``SensingEvidence.unheard_state``), the very verdicts ``tail.close_figures`` gives. Here the
same evidence is gathered as there (the tail's closed figures as the cache reads and keeps them, the heard days
around, the estate's other landlords where a gateway was not heard, tonight's visits), the closed evenings' states
are kept with their stamp as ``tail.ClosedTail`` is (and judged again when a beacon heard tonight could turn one),
and tonight's rows get ``tail.Tonight``'s verdicts. Equal to the landlord's group of ``CoverageCache.coverage``
(``tests/coverage/test_group_shares.py``, in the evening).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from ronde.coverage.answers import Latest, Stamp, estate_marks
from ronde.coverage.compute import fill_estate, heard_around
from ronde.coverage.evening import evidence_with
from ronde.coverage.period import combine_groups
from ronde.coverage.query import CoverageCache
from ronde.coverage.sensing import DayState, SensingEvidence, evidence_from
from ronde.coverage.shares import CheckpointDayRef, GroupCoverage, Level, group_coverage
from ronde.coverage.tail import Tonight, state_of, verdicts_hold
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.port import Store, VisitSpan
from ronde.store.records import RollupFigures

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
        made = _closed(store, registry, calendar, tail, landlord, now, horizon_days, cache, latest, spans, stamp, today)
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
    rows = cache.tonight_rows(store, registry, calendar, live, landlord=landlord, now=now)
    mine = [r for r in rows if r.service_day == live]
    refs = [(r.building, r.estate, r.landlord, live, state_of(r, verdicts, today, horizon_days)[0]) for r in mine]
    groups = [g for g in (closed.group, _landlord_of(registry, refs, landlord)) if g is not None]
    group = combine_groups({(Level.LANDLORD, landlord): groups})[0] if groups else None  # tonight after the rest
    return group, closed.members | {r.checkpoint_id for r in mine}


def _landlord_of(registry: Registry, refs: list[CheckpointDayRef], landlord: str) -> GroupCoverage | None:
    """The landlord's group of ``refs`` as ``group_coverage`` counts it."""
    return next((g for g in group_coverage(registry, refs) if g.level is Level.LANDLORD and g.id == landlord), None)


def _closed(
    store: Store,
    registry: Registry,
    calendar: ServiceCalendar,
    tail: tuple[date, date],
    landlord: str,
    now: datetime,
    horizon_days: int,
    cache: CoverageCache,
    latest: Latest,
    spans: list[VisitSpan],
    stamp: Stamp,
    today: date,
) -> ClosedStates | None:
    """``CoverageCache._close`` without day detail, states only: the same evidence, the same verdicts."""
    lo, hi = tail
    windows = stamp.windows
    figures = cache.day_figures(
        store, calendar, lo, hi, landlord=landlord, now=now, horizon_days=horizon_days, stamp=stamp
    )  # the stamp's marks seed the reader, as ``CoverageCache._answer`` seeds it
    rolled = {f[0] for f in figures}
    tonight = max(windows)
    if [d for d in windows if d not in rolled] != [tonight]:
        return None
    base = evidence_from(calendar, rollups=[], gateway_states=latest[0], telemetry=latest[1])
    base.add_figures(figures)
    base.add_heard(heard_around(store, lo, hi, timedelta(days=horizon_days), landlord))
    needed = fill_estate(store, base, [], figures, calendar)
    full = evidence_with(base, spans)
    if any(not full.gateway_alive(tonight, e) for e in _estates(registry, landlord)):
        everyone = cache.tonight_spans(store, calendar, tonight, landlord=None, now=None)
        full = evidence_with(full, [s for s in everyone if s.landlord != landlord])
    refs, judged = _states([f for f in figures if f[0] in windows], full, today, horizon_days)
    days = tuple(needed)
    heard = frozenset(s.checkpoint_id for s in spans)
    members = frozenset(f[1] for f in figures if f[0] in windows)
    group = _landlord_of(registry, refs, landlord)
    return ClosedStates(0.0, (), days, estate_marks(store, days), group, members, base, heard, judged)


def _states(
    figures: list[RollupFigures], evidence: SensingEvidence, today: date, horizon_days: int
) -> tuple[list[CheckpointDayRef], frozenset[str]]:
    """Each closed checkpoint-day's ref and the checkpoints judged "no data", as ``tail.close_figures`` judges them."""
    refs: list[CheckpointDayRef] = []
    judged: set[str] = set()
    for day, cid, _, building, estate, owner, v, _, is_covered, *_ in figures:
        if is_covered:
            state = DayState.COVERED
        elif v > 0:
            state = DayState.NOT_VISITED
        else:
            state = evidence.unheard_state(cid, day, estate, today=today, horizon_days=horizon_days)
            if state is DayState.NO_DATA:
                judged.add(cid)
        refs.append((building, estate, owner, day, state))
    return refs, frozenset(judged)


def _estates(registry: Registry, landlord: str) -> set[str]:
    return {c.estate for c in registry.checkpoints_of(landlord)}
