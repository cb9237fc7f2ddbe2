"""Monthly rollups: a settled month's coverage folded once, so a year reads 12 rows per checkpoint.

Why: a year of coverage from daily rollups reads ~260 rows per checkpoint and judges each day's
sensing state again (1.3 M rows for a landlord at city scale: seconds, growing with history). A
month is *settled* once it ended more than the sensing horizon ago: its daily rollups and the
evidence around them no longer change, so each checkpoint's month is folded into one row (the
day states as letters, the idleness segment, the sums) by maintenance, and the coverage of a
year combines those rows with the days since, exactly as ``CoverageCache`` combines months.

A row says under which ``basis`` (registry revision, calendar, horizon) it was folded; a reader
with another basis folds the days itself. Re-rolled days of a settled month (late events after
the horizon, a re-roll by hand) make maintenance fold the month again.

The month in progress gets a *month-to-date* letter (``partial_basis``): its days up to the last
settled one (ended more than the horizon ago) folded the same way, so a first request reads one
letter plus the week after it and the live evening, not every daily rollup of the month. Maintenance
folds it again when that day moves or a rollup within its reach changes (late events, a re-roll).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from functools import partial
from itertools import chain
from operator import itemgetter

from ronde.coverage.idleness import Segment
from ronde.coverage.period import CheckpointDay, CheckpointPeriod, PeriodCoverage, combine_groups
from ronde.coverage.sensing import DEFAULT_HORIZON_DAYS, DayState
from ronde.coverage.service_time import effective_window
from ronde.coverage.shares import GroupCoverage, LazyDays, Level, Share, group_name
from ronde.protocol.calendar import Calendars, ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.records import DailyRollup, LetterStates, MonthlyFigures, MonthlyRollup

STATE_LETTER = {DayState.COVERED: "C", DayState.NOT_VISITED: "N", DayState.NO_DATA: "X"}
NO_ROLLUP = "-"  # the checkpoint had no rollup that day (not in the registry yet)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def month_bounds(month: date) -> tuple[date, date]:
    """First and last day of the calendar month of ``month``."""
    lo = month.replace(day=1)
    return lo, (lo + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def settled(month: date, today: date, horizon_days: int = DEFAULT_HORIZON_DAYS) -> bool:
    """The month ended more than the sensing horizon before ``today`` (what ``CoverageCache`` caches)."""
    return (today - month_bounds(month)[1]).days > horizon_days


def _calendar_key(cal: ServiceCalendar) -> str:
    """Canonical text of one calendar (frozensets of dates have no stable order across processes)."""
    closed = ",".join(d.isoformat() for d in sorted(cal.closed))
    return f"{sorted(cal.days)}|{cal.start}|{cal.end}|{cal.timezone}|{closed}"


def basis(registry: Registry, calendar: ServiceCalendar, horizon_days: int = DEFAULT_HORIZON_DAYS) -> str:
    """What a month's fold depends on besides its rollups: the registry revision, the calendar(s), the horizon."""
    parts = [str(registry.revision), str(horizon_days), _calendar_key(calendar)]
    if isinstance(calendar, Calendars):
        parts.extend(f"{e}:{_calendar_key(c)}" for e, c in calendar.estates)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


# A month-to-date letter: the settled days of a month not settled yet, folded like a whole month and marked
# partial by its last day in ``basis`` (``<basis>~through=<day>``). A reader of whole months (older code
# included) compares ``basis`` for equality and so never takes a month-to-date letter for a whole month.
_THROUGH = "~through="


def partial_basis(basis_: str, through: date) -> str:
    """The ``basis`` of a month-to-date letter folded through ``through`` (its last day)."""
    return f"{basis_}{_THROUGH}{through.isoformat()}"


def letters_through(rows: list[MonthlyRollup], wanted: str) -> date | None:
    """The last day the month's letters ``rows`` cover under basis ``wanted``: the month's last day for a
    whole month, the marked day for a month-to-date letter; None when the rows were folded under another
    basis or disagree (a reader then folds the days)."""
    if not rows:
        return None
    return _through(rows[0].month, {r.basis for r in rows}, wanted)


def letters_end(letter: MonthlyRollup) -> date:
    """The last day ``letter`` covers, whatever its basis: the month's last day, or a month-to-date letter's mark."""
    head, mark, _ = letter.basis.partition(_THROUGH)
    through = _through(letter.month, {letter.basis}, head) if mark else None
    return through if through is not None else month_bounds(letter.month)[1]


def figures_through(month: date, figures: list[MonthlyFigures], wanted: str) -> date | None:
    """``letters_through`` of the month ``month``'s letters read as ``MonthlyFigures``."""
    return _through(month, set(map(itemgetter(6), figures)), wanted) if figures else None


def states_through(month: date, states: list[LetterStates], wanted: str) -> date | None:
    """``letters_through`` of the month ``month``'s letters read as ``LetterStates``."""
    return _through(month, {s[1] for s in states}, wanted) if states else None


def _through(month: date, bases: set[str], wanted: str) -> date | None:
    if len(bases) != 1:
        return None
    text = bases.pop()
    if text == wanted:
        return month_bounds(month)[1]
    head, mark, day = text.partition(_THROUGH)
    if not mark or head != wanted:
        return None
    try:
        through = date.fromisoformat(day)
    except ValueError:
        return None
    lo, hi = month_bounds(month)
    return through if lo <= through <= hi else None


def service_days_of(calendar: ServiceCalendar, lo: date, hi: date, now: datetime | None) -> list[date]:
    """The days ``period_coverage`` counts in ``lo..hi``: service days whose window has begun."""
    return [d for d in calendar.service_days(lo, hi) if effective_window(calendar, d, now) is not None]


def fold_month(cov: PeriodCoverage, rollups: list[DailyRollup], basis_: str) -> list[MonthlyRollup]:
    """One row per checkpoint of a settled month's coverage (all landlords, computed with day detail).

    ``rollups`` are the month's daily rollups: a checkpoint whose landlord changed within the month
    is left out (its month would answer differently for each landlord), and so the reader, not
    finding it, folds that month from days.
    """
    landlords: dict[str, set[str]] = defaultdict(set)
    expected: dict[str, int] = {}
    for r in rollups:
        landlords[r.checkpoint_id].add(r.landlord)
        expected.setdefault(r.checkpoint_id, r.expected)  # the first day's: what a period falls back on
    if any(len(v) > 1 for v in landlords.values()):
        return []  # rare (a registry change mid-month): the whole month stays folded from days
    index = {d: i for i, d in enumerate(cov.days)}
    out: list[MonthlyRollup] = []
    for c in cov.checkpoints:
        letters = [NO_ROLLUP] * len(cov.days)
        for d in c.days:
            letters[index[d.day]] = STATE_LETTER[d.state]
        out.append(letter_of(cov.first, c, expected.get(c.checkpoint_id, c.expected_per_day), basis_, "".join(letters)))
    return out


def letter_of(month: date, c: CheckpointPeriod, expected: int, basis_: str, states: str) -> MonthlyRollup:
    """A checkpoint's figures over a month (or from a day to its end) as the letter that stores them."""
    s = c.segment
    return MonthlyRollup(
        month=month,
        checkpoint_id=c.checkpoint_id,
        kind=c.kind,
        building=c.building,
        estate=c.estate,
        landlord=c.landlord,
        expected=expected,
        basis=basis_,
        states=states,
        visits=c.visits,
        presence_s=c.presence_s,
        first_seen=c.first_seen,
        last_seen=c.last_seen,
        service_s=s.service_s,
        seen=s.seen,
        lead_s=s.lead_s,
        trail_s=s.trail_s,
        inner_n=s.inner_n,
        inner_s1=s.inner_s1,
        inner_s2=s.inner_s2,
        inner_worst=s.inner_worst,
    )


def coverage_from_monthly(
    registry: Registry,
    days: list[date],
    rows: list[MonthlyRollup],
    landlord: str | None,
    through: date | None = None,
) -> PeriodCoverage:
    """The month's ``PeriodCoverage`` (no day detail) from its monthly rows; equal to folding its days.
    ``through``: the last day of a month-to-date letter (the period then ends there)."""
    lo, hi = month_bounds(days[0] if days else rows[0].month)
    if through is not None:
        hi = through
    checkpoints: list[CheckpointPeriod] = []
    for r in rows:
        c = registry.checkpoints.get(r.checkpoint_id)
        seg = Segment(r.service_s, r.seen, r.lead_s, r.trail_s, r.inner_n, r.inner_s1, r.inner_s2, r.inner_worst)
        st = r.states
        checkpoints.append(
            CheckpointPeriod(
                checkpoint_id=r.checkpoint_id,
                name=c.name if c is not None else r.checkpoint_id,
                kind=r.kind,
                building=r.building,
                estate=r.estate,
                landlord=r.landlord,
                expected_per_day=c.expected_visits if c is not None else r.expected,
                service_days=len(st) - st.count(NO_ROLLUP),
                visits=r.visits,
                covered_days=st.count("C"),
                not_visited_days=st.count("N"),
                no_data_days=st.count("X"),
                presence_s=r.presence_s,
                first_seen=r.first_seen,
                last_seen=r.last_seen,
                idleness=seg.idleness(),
                segment=seg,
            )
        )
    return PeriodCoverage(
        lo, hi, landlord, tuple(days), None, tuple(checkpoints), tuple(_group_coverage(registry, days, _columns(rows)))
    )


# One checkpoint's pieces in order: a letter's ``MonthlyFigures`` or a computed piece's ``CheckpointPeriod``.
_Piece = MonthlyFigures | CheckpointPeriod
# A segment's eight figures (``Segment``'s fields in order), what ``_fold_segment`` runs on.
_SegFigures = tuple[float, bool | int, float, float, int, float, float, float]


class LetterFold:
    """The settled pieces of a period, in order, folded into one ``PeriodCoverage`` equal to ``combine_periods``
    of each piece's coverage (the same additions in the same order, so equal to the bit), but a piece read from
    its month's letters (``add_letters``) is only filed under its checkpoint: no ``PeriodCoverage`` per month, no
    ``Segment`` per row, and each checkpoint folded once at the end (``result``) in plain locals. A piece computed
    otherwise (from days) joins with ``add``."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._runs: dict[str, list[_Piece]] = {}
        self._groups: dict[tuple[Level, str], list[GroupCoverage]] = defaultdict(list)
        self._pieces: list[tuple[date, date, str | None, date | None]] = []  # first, last, landlord, partial day
        self._days: list[date] = []
        self._only: PeriodCoverage | None = None  # the one piece so far, when computed (``combine_periods``'s)
        self._columns: dict[str, Share | None] = {}  # each distinct day column's share (``_group_coverage``)

    def add(self, cov: PeriodCoverage) -> None:
        """A piece's coverage computed from its days."""
        self._only = cov if not self._pieces else None
        self._pieces.append((cov.first, cov.last, cov.landlord, cov.partial_day))
        self._days.extend(cov.days)
        runs = self._runs
        for c in cov.checkpoints:
            run = runs.get(c.checkpoint_id)
            if run is None:
                runs[c.checkpoint_id] = [c]
            else:
                run.append(c)
        for g in cov.groups:
            self._groups[(g.level, g.id)].append(g)

    def add_letters(
        self, days: list[date], first: date, figures: list[MonthlyFigures], landlord: str | None, last: date
    ) -> None:
        """A piece read from letters (``figures``, days ``days``, from ``first`` to ``last``): a month's (``first``
        its first day), or a suffix's (``ronde.coverage.suffix``); what ``coverage_from_monthly`` would give for
        it, filed per checkpoint and per place (a row's building, estate and landlord, grouped once a row: a share
        counts letters, whatever their order)."""
        self._only = None
        self._pieces.append((first, last, landlord, None))
        self._days.extend(days)
        n = len(days)
        if set(map(len, map(itemgetter(7), figures))) - {n}:
            raise ValueError(f"letters of another length than the month's {n} service days")
        places: dict[tuple[str | None, str, str], list[str]] = defaultdict(list)
        runs = self._runs
        for f in figures:
            places[f[2:5]].append(f[7])
            run = runs.get(f[0])
            if run is None:
                runs[f[0]] = [f]
            else:
                run.append(f)
        for g in _group_coverage(self._registry, days, _place_columns(places), self._columns):
            self._groups[(g.level, g.id)].append(g)

    def result(self) -> PeriodCoverage:
        if not self._pieces:
            raise ValueError("no period to combine")
        if self._only is not None:
            return self._only
        first, _, landlord, _ = self._pieces[0]
        partial = next((p for *_, p in reversed(self._pieces) if p is not None), None)
        runs = self._runs
        checkpoints = tuple(self._checkpoint(runs[cid]) for cid in sorted(runs))
        return PeriodCoverage(
            first,
            self._pieces[-1][1],
            landlord,
            tuple(self._days),
            partial,
            checkpoints,
            combine_groups(self._groups),
        )

    def _checkpoint(self, pieces: list[_Piece]) -> CheckpointPeriod:
        return fold_pieces(self._registry, pieces)


def fold_pieces(registry: Registry, pieces: list[_Piece]) -> CheckpointPeriod:
    """``_merge_checkpoint`` of one checkpoint's pieces' coverages: the sums in piece order (``presence`` by ``sum``
    of the list, as there), the letters counted once over their concatenation (integers: the same totals)."""
    last = pieces[-1]
    if len(pieces) == 1 and isinstance(last, CheckpointPeriod):
        return last
    service_days = visits = covered = not_visited = no_data = 0
    presence: list[float] = []
    letters: list[str] = []
    days: list[tuple[CheckpointDay, ...]] = []
    first_seen: datetime | int | None = None  # an int: microseconds since the epoch (a letter's)
    last_seen: datetime | int | None = None
    segments: list[_SegFigures] = []
    for p in pieces:
        if isinstance(p, CheckpointPeriod):
            service_days += p.service_days
            visits += p.visits
            covered += p.covered_days
            not_visited += p.not_visited_days
            no_data += p.no_data_days
            presence.append(p.presence_s)
            days.append(p.days)
            f_at: datetime | int | None = p.first_seen
            l_at: datetime | int | None = p.last_seen
            s = p.segment
            segments.append(
                (s.service_s, s.seen, s.lead_s, s.trail_s, s.inner_n, s.inner_s1, s.inner_s2, s.inner_worst)
            )
        else:
            letters.append(p[7])
            visits += p[8]
            presence.append(p[9])
            f_at, l_at = p[10], p[11]
            segments.append(p[12:])  # seen as 0 or 1: ``_fold_segment`` makes the first one a bool
        if first_seen is None:
            first_seen = f_at
        if l_at is not None:
            last_seen = l_at
    if letters:
        st = "".join(letters)
        service_days += len(st) - st.count(NO_ROLLUP)
        covered += st.count("C")
        not_visited += st.count("N")
        no_data += st.count("X")
    if isinstance(last, CheckpointPeriod):
        cid, name, expected = last.checkpoint_id, last.name, last.expected_per_day
        kind, building, estate, owner = last.kind, last.building, last.estate, last.landlord
    else:
        cid, kind, building, estate, owner = last[:5]
        c = registry.checkpoints.get(cid)
        name = c.name if c is not None else cid
        expected = c.expected_visits if c is not None else last[5]
    seg = _fold_segment(segments)
    return CheckpointPeriod(
        cid,
        name,
        kind,
        building,
        estate,
        owner,
        expected,
        service_days,
        visits,
        covered,
        not_visited,
        no_data,
        sum(presence),
        _instant(first_seen),
        _instant(last_seen),
        seg.idleness(),
        seg,
        tuple(chain.from_iterable(days)),
    )


def _fold_segment(segments: list[_SegFigures]) -> Segment:
    """``Segment.then`` from the first segment through the last, in locals: the same float operations in the same
    order, each case giving the fields ``then`` gives (``max`` written as comparisons that keep the same operand)."""
    total, first_seen, lead, trail, n, s1, s2, worst = segments[0]
    seen = bool(first_seen)  # a letter's is 0 or 1 (``Segment(..., bool(seen), ...)`` as ``coverage_from_monthly``)
    for l_total, l_seen, l_lead, l_trail, l_n, l_s1, l_s2, l_worst in segments[1:]:
        if not l_seen:
            if not seen:
                total = total + l_total
                lead = trail = total
                n, s1, s2, worst = 0, 0.0, 0.0, 0.0
            else:
                total = total + l_total
                trail = trail + l_total
        elif not seen:
            lead = total + l_lead
            total = total + l_total
            seen, trail, n, s1, s2, worst = True, l_trail, l_n, l_s1, l_s2, l_worst
        else:
            joined = trail + l_lead
            total = total + l_total
            trail = l_trail
            n = n + l_n + 1
            s1 = s1 + l_s1 + joined
            s2 = s2 + l_s2 + joined * joined
            if l_worst > worst:  # noqa: PLR1730 - max(worst, l_worst, joined) keeps the first of equals
                worst = l_worst
            if joined > worst:  # noqa: PLR1730
                worst = joined
    return Segment(total, seen, lead, trail, n, s1, s2, worst)


def _place_columns(places: dict[tuple[str | None, str, str], list[str]]) -> dict[tuple[Level, str], list[str]]:
    """Each group's letters (building, estate, landlord) from the letters per place."""
    groups: dict[tuple[Level, str], list[str]] = defaultdict(list)
    for (building, estate, owner), letters in places.items():
        if building is not None:
            groups[(Level.BUILDING, building)].extend(letters)
        groups[(Level.ESTATE, estate)].extend(letters)
        groups[(Level.LANDLORD, owner)].extend(letters)
    return groups


def _instant(at: datetime | int | None) -> datetime | None:
    """A letter's instant (microseconds since the epoch) as ``from_ms`` gives it; a computed piece's as is."""
    return _EPOCH + timedelta(microseconds=at) if isinstance(at, int) else at


def _columns(rows: list[MonthlyRollup]) -> dict[tuple[Level, str], list[str]]:
    """Each group's letters (building, estate, landlord), in the rows' order."""
    groups: dict[tuple[Level, str], list[str]] = defaultdict(list)
    for r in rows:
        if r.building is not None:
            groups[(Level.BUILDING, r.building)].append(r.states)
        groups[(Level.ESTATE, r.estate)].append(r.states)
        groups[(Level.LANDLORD, r.landlord)].append(r.states)
    return groups


def _group_coverage(
    registry: Registry,
    days: list[date],
    groups: dict[tuple[Level, str], list[str]],
    seen: dict[str, Share | None] | None = None,
) -> list[GroupCoverage]:
    """``shares.group_coverage`` from each group's letters: the group's letters joined into one string, a day's
    column is a slice of it with a stride (``joined[i::n]``), counted at C speed (``str.count``), once per
    distinct column (``seen``, shared across the months of a fold: a building's few checkpoints give the same
    column most days, and a ``Share`` is immutable); the period's share counted over the whole string (the sum
    of the days' counts). A share counts letters, so their order in a group is free."""
    if seen is None:
        seen = {}
    n = len(days)
    order = {Level.BUILDING: 0, Level.ESTATE: 1, Level.LANDLORD: 2}
    out: list[GroupCoverage] = []
    for level, gid in sorted(groups, key=lambda k: (order[k[0]], k[1])):
        letters = groups[(level, gid)]
        if set(map(len, letters)) != {n}:
            raise ValueError(f"{gid}: letters of another length than its {n} service days")
        joined = "".join(letters)
        total = _letters_share(joined)  # None: no letter but ``NO_ROLLUP``, so no day with a share either
        if total is not None:
            per_day = LazyDays(partial(_day_shares, days, joined, seen))
            out.append(GroupCoverage(level, gid, group_name(registry, level, gid), per_day, total))
    return out


def landlord_group(
    registry: Registry, days: list[date], landlord: str, letters: list[str], seen: dict[str, Share | None]
) -> GroupCoverage | None:
    """The landlord's group of a piece read from letters (``letters``: its checkpoints' states, in any order), as
    ``LetterFold`` makes it (``_group_coverage``); None when no day of the piece has a share."""
    found = _group_coverage(registry, days, {(Level.LANDLORD, landlord): letters}, seen)
    return found[0] if found else None


def _day_shares(days: list[date], joined: str, seen: dict[str, Share | None]) -> tuple[tuple[date, Share], ...]:
    """A group's per-day shares from its letters joined (``_group_coverage``), the days without one left out."""
    n = len(days)
    shares = [seen[c] if c in seen else _column_share(c, seen) for c in [joined[i::n] for i in range(n)]]
    return tuple([(day, share) for day, share in zip(days, shares, strict=True) if share is not None])


def _column_share(column: str, seen: dict[str, Share | None]) -> Share | None:
    """A day column's share, kept in ``seen`` (None: no checkpoint of the group had a rollup that day)."""
    share = seen[column] = _letters_share(column)
    return share


def _letters_share(letters: str) -> Share | None:
    """The share the letters count: checkpoint-days (letters but ``NO_ROLLUP``), covered, not visited, no data."""
    k = len(letters) - letters.count(NO_ROLLUP)
    return Share(k, letters.count("C"), letters.count("N"), letters.count("X")) if k else None
