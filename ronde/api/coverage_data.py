"""The bridge from requests to ``ronde.coverage.query``: what to ask the store for, for whom.

``ronde.coverage`` reads rollups for closed days and raw visits for days without rollups (the
evening in progress), with sensing evidence from the whole estate. Here the caller's ``Scope``
picks the landlord and, as a second line of defence, drops anything out of reach.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from operator import attrgetter

from ronde.api.context import ApiContext
from ronde.api.scope import Scope
from ronde.audit.rollups import RollupMismatch, stored_mismatches
from ronde.coverage.group_shares import GroupShares, landlord_shares, shares_reads_ahead
from ronde.coverage.live import CheckpointIdleness
from ronde.coverage.now import idle_checkpoints_now
from ronde.coverage.period import CheckpointPeriod, PeriodCoverage
from ronde.coverage.query import landlord_coverage
from ronde.coverage.shares import GroupCoverage, Level
from ronde.coverage.visited import visited_days, visited_reads_ahead
from ronde.coverage.visited_sets import Days

_GROUP_FIELD = {Level.LANDLORD: "landlord", Level.ESTATE: "estate", Level.BUILDING: "building"}
DAY_DETAIL_MAX_DAYS = 92  # longer periods answer shares from the cache, without per-day "visited" counts


_FEW_GROUPS = 8  # up to this many groups, each day's visited checkpoints are counted by set operations


@dataclass(frozen=True, slots=True)
class ScopedCoverage:
    coverage: PeriodCoverage
    checkpoints: tuple[CheckpointPeriod, ...]  # in reach, sorted by id
    has_days: bool  # per-day detail of each checkpoint was computed
    visited_days: Mapping[date, frozenset[str]] | None = None  # without day detail: each day's checkpoints visited

    def groups(self, level: Level) -> list[GroupCoverage]:
        return [g for g in self.coverage.groups if g.level is level]

    def visited(self, level: Level) -> dict[tuple[str, date], int] | None:
        """Checkpoints with at least one visit, per (group id, day); None without day detail nor ``visited_days``."""
        if not self.has_days and self.visited_days is None:
            return None
        if self.visited_days is not None:
            return _counted(self.checkpoints, level, self.visited_days)
        out: dict[tuple[str, date], int] = defaultdict(int)
        for c in self.checkpoints:
            gid = {Level.LANDLORD: c.landlord, Level.ESTATE: c.estate, Level.BUILDING: c.building}[level]
            if gid is None:
                continue
            for d in c.days:
                if d.visits > 0:
                    out[(gid, d.day)] += 1
        return out


def _counted(
    checkpoints: Sequence[CheckpointPeriod], level: Level, visited_days: Mapping[date, frozenset[str]]
) -> dict[tuple[str, date], int]:
    """Per (group of ``level``, day), how many of its ``checkpoints`` ``visited_days`` lists: at C speed (a city
    month is ~35,000 checkpoint-days); by set operations for a few groups (a landlord's own view: ~6x cheaper than
    mapping each checkpoint to its group), else by ``Counter``."""
    group = attrgetter(_GROUP_FIELD[level])
    members: dict[str, set[str]] = defaultdict(set)
    for c in checkpoints:
        gid = group(c)
        if gid is not None:
            members[gid].add(c.checkpoint_id)
    out: dict[tuple[str, date], int] = {}
    if len(members) <= _FEW_GROUPS:
        for day, cids in visited_days.items():
            for gid, m in members.items():
                n = len(cids) if cids <= m else len(cids & m)
                if n:
                    out[(gid, day)] = n
        return out
    group_of = {cid: gid for gid, m in members.items() for cid in m}
    for day, cids in visited_days.items():
        for found, n in Counter(map(group_of.get, cids)).items():
            if found is not None:
                out[(found, day)] = n
    return out


def scoped_coverage(
    ctx: ApiContext,
    scope: Scope,
    first: date,
    last: date,
    *,
    landlord: str | None = None,
    include_days: bool = True,
    visited: bool = False,
) -> ScopedCoverage:
    """Coverage of ``first..last`` for the caller (one landlord if asked, or forced by the scope).

    Without ``include_days`` settled months come from the process-wide ``CoverageCache`` (long
    periods stay fast); with it, each checkpoint's days are computed (what per-day views need).
    ``visited`` (without ``include_days``): the days each checkpoint had a visit, for per-day "visited"
    counts, read apart (``ronde.coverage.visited``: equal to the day rows' and a fraction of their cost).
    """
    lid = scope.landlord_filter(landlord)
    registry, now = ctx.registry.registry, ctx.now()  # one of each: the counts are of the same evening cut
    counted = visited and not include_days
    store, calendar, visits, shares = ctx.store, ctx.calendar, ctx.visited_cache, ctx.coverage_cache
    ahead = (
        visited_reads_ahead(store, calendar, first, last, landlord=lid, now=now, cache=visits, coverage=shares)
        if counted
        else []
    )
    with store.reading_ahead(ahead):  # the counts' settled days read while the shares are folded
        cov = landlord_coverage(
            store, registry, calendar, first, last, landlord=lid, now=now, include_days=include_days, cache=shares
        )
        days = (
            visited_days(store, registry, calendar, first, last, landlord=lid, now=now, cache=visits, coverage=shares)
            if counted
            else None
        )
    visible = {c.id for c in scope.checkpoints()} if scope.landlord is not None else None
    rows = tuple(
        c for c in cov.checkpoints if visible is None or (c.checkpoint_id in visible and c.landlord == scope.landlord)
    )
    return ScopedCoverage(cov, rows, include_days, days)


def scoped_landlord(
    ctx: ApiContext, scope: Scope, first: date, last: date, landlord: str, *, visited: bool
) -> tuple[GroupShares, dict[date, int] | None]:
    """One landlord's group over ``first..last`` (``ronde.coverage.group_shares``: counted from letters, without
    every checkpoint's figures) and, with ``visited``, its checkpoints with a visit per day (the days with one):
    what ``scoped_coverage`` gives of that landlord's group, for a fraction of its cost."""
    lid = scope.landlord_filter(landlord)
    if lid is None:
        raise ValueError("a landlord's shares need the landlord")
    registry, now = ctx.registry.registry, ctx.now()
    store, calendar, visits, cache = ctx.store, ctx.calendar, ctx.visited_cache, ctx.coverage_cache
    kept = ctx.shares_cache
    args = (store, registry, calendar, first, last)
    ahead = shares_reads_ahead(*args, landlord=lid, now=now, cache=cache, kept=kept) + (
        visited_reads_ahead(store, calendar, first, last, landlord=lid, now=now, cache=visits, coverage=cache)
        if visited
        else []
    )  # the shares' first: the read-ahead threads take them in this order
    with store.reading_ahead(ahead):
        shares = landlord_shares(*args, landlord=lid, now=now, cache=cache, kept=kept)
        days = (
            visited_days(store, registry, calendar, first, last, landlord=lid, now=now, cache=visits, coverage=cache)
            if visited
            else None
        )
    members = shares.members
    if scope.landlord is not None:  # in reach: the scope's registry checkpoints of its landlord (``Scope.checkpoints``)
        known = scope.registry.checkpoints
        members = frozenset(c for c in members if (cp := known.get(c)) is not None and cp.landlord == scope.landlord)
        shares = GroupShares(shares.group, members)
    return shares, None if days is None else _counted_in(members, days)


def _counted_in(members: frozenset[str], days: Days) -> dict[date, int]:
    """Per day, how many of ``members`` had a visit (the days with one), as ``_counted`` counts a few groups."""
    out: dict[date, int] = {}
    for day, cids in days.items():
        n = len(cids) if cids <= members else len(cids & members)
        if n:
            out[day] = n
    return out


def rollup_mismatches(
    ctx: ApiContext, scope: Scope, first: date, last: date, *, landlord: str | None = None
) -> list[RollupMismatch]:
    """What maintenance's rollup check says about the rollups in reach over ``first..last`` (see
    ``ronde.audit.rollups``): disagreements per checkpoint, and whole days changed since their check
    or not checked yet. Two aggregate-sized store queries; no raw visit is read here."""
    lid = scope.landlord_filter(landlord)
    found = stored_mismatches(ctx.store, ctx.calendar, first, last, now=ctx.now(), landlord=lid)
    if scope.landlord is None:
        return found
    visible = {c.id for c in scope.checkpoints()}
    return [m for m in found if m.landlord == scope.landlord and (m.checkpoint_id == "" or m.checkpoint_id in visible)]


def idleness_now(ctx: ApiContext, scope: Scope, *, threshold_s: float = -1.0) -> list[CheckpointIdleness]:
    """Current idleness (service time since the last visit) of the checkpoints in reach."""
    rows = idle_checkpoints_now(
        ctx.store,
        ctx.registry.registry,
        ctx.calendar,
        now=ctx.now(),
        threshold_s=threshold_s,
        landlord=scope.landlord,
    )
    if scope.landlord is None:
        return rows
    visible = {c.id for c in scope.checkpoints()}
    return [r for r in rows if r.checkpoint_id in visible]
