"""The unsettled tail of a period with its closed evenings kept: a request computes the evening in progress only.

Why: during the evening (when supervisors watch), a warm request still computed the tail's closed evenings
(the last ``horizon_days``) over every checkpoint, with their sensing evidence, though only tonight moves. Here
each checkpoint's figures over those evenings are kept as a running state (counts, sums, the idleness fold's
state: ``idleness.fold_state``), and tonight's row is added to it in the same order and with the same
operations as ``period.period_coverage`` over the whole tail, so the result is equal (``==``) to it.

What tonight can change of the closed evenings: their verdicts, as a beacon first heard tonight is evidence for
an evening up to ``horizon_days`` back. Evidence only adds, and adding can only turn "no data" into "not
visited"; so the kept evenings hold while the beacons heard tonight include those heard when they were computed
and no beacon newly heard had a closed evening judged "no data" from evidence (``ClosedTail.holds``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter

from ronde.coverage.idleness import FOLD_START, FoldState, WindowMicros, fold_figures_state, fold_state, segment_of
from ronde.coverage.period import CheckpointDay, CheckpointPeriod, day_of
from ronde.coverage.sensing import DEFAULT_HORIZON_DAYS, DayState, SensingEvidence, Verdicts
from ronde.coverage.shares import CheckpointDayRef
from ronde.protocol.estate import Registry
from ronde.store.port import VisitSpan
from ronde.store.records import DailyRollup, RollupFigures, StoredVisit

WindowOf = Callable[[str, date], tuple[datetime, datetime]]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class Running:
    """One checkpoint's figures so far (``period._checkpoint_period``'s locals)."""

    sample: DailyRollup  # its first row: kind, building, estate, landlord
    covered: int = 0
    not_visited: int = 0
    no_data: int = 0
    visits: int = 0
    presence: float = 0.0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    fold: FoldState = FOLD_START
    service_days: int = 0
    days: list[CheckpointDay] = field(default_factory=list)

    def copy(self) -> Running:
        return Running(
            self.sample,
            self.covered,
            self.not_visited,
            self.no_data,
            self.visits,
            self.presence,
            self.first_seen,
            self.last_seen,
            self.fold,
            self.service_days,
            list(self.days),
        )

    def add(
        self,
        r: DailyRollup,
        state: DayState,
        window: tuple[datetime, datetime],
        partial: date | None,
        include_days: bool,
    ) -> None:
        """One more day, as ``_checkpoint_period``'s loop adds it."""
        day = r.service_day
        if state is DayState.COVERED:
            self.covered += 1
        elif state is DayState.NOT_VISITED:
            self.not_visited += 1
        else:
            self.no_data += 1
        self.visits += r.visits
        self.presence += r.presence_s
        if r.first_seen is not None and self.first_seen is None:
            self.first_seen = r.first_seen
        if r.last_seen is not None:
            self.last_seen = r.last_seen
        self.fold = fold_state(((window[0], window[1], r),), self.fold)
        self.service_days += 1
        if include_days:
            self.days.append(day_of(r, day, state, partial=day == partial))

    def period(self, registry: Registry, cid: str) -> CheckpointPeriod:
        c = registry.checkpoints.get(cid)
        seg = segment_of(self.fold)
        s = self.sample
        return CheckpointPeriod(
            checkpoint_id=cid,
            name=c.name if c is not None else cid,
            kind=s.kind,
            building=s.building,
            estate=s.estate,
            landlord=s.landlord,
            expected_per_day=c.expected_visits if c is not None else s.expected,
            service_days=self.service_days,
            visits=self.visits,
            covered_days=self.covered,
            not_visited_days=self.not_visited,
            no_data_days=self.no_data,
            presence_s=self.presence,
            first_seen=self.first_seen,
            last_seen=self.last_seen,
            idleness=seg.idleness(),
            segment=seg,
            days=tuple(self.days),
        )


def state_of(r: DailyRollup, evidence: Verdicts, today: date, horizon_days: int) -> tuple[DayState, bool]:
    """The day's verdict, and whether evidence judged it "no data" (what a beacon heard later may turn)."""
    if r.covered:
        return DayState.COVERED, False
    if r.visits > 0:
        return DayState.NOT_VISITED, False
    state = evidence.state(r, today=today, horizon_days=horizon_days)
    return state, state is DayState.NO_DATA


@dataclass(frozen=True, slots=True)
class ClosedTail:
    """The tail's closed evenings, computed once for tonight's date and the stamp of what they were read from."""

    expires: float
    stamp: tuple[object, ...]
    estate_days: tuple[date, ...]
    estate_marks: tuple[tuple[tuple[date, str], str], ...]
    running: dict[str, Running]
    refs: list[CheckpointDayRef]
    base: SensingEvidence  # closed rollups, estate evidence, gateway states, telemetry: tonight's visits not in it
    heard: frozenset[str]  # the beacons heard tonight when they were computed
    judged: frozenset[str]  # checkpoints with a closed evening judged "no data" from evidence

    def holds(self, t: float, stamp: tuple[object, ...], heard: set[str]) -> bool:
        """Fresh, same stamp, and tonight's beacons cannot have turned a closed verdict (estate marks apart)."""
        return self.expires > t and self.stamp == stamp and verdicts_hold(self.heard, self.judged, heard)


def verdicts_hold(was_heard: frozenset[str], judged: frozenset[str], heard: set[str]) -> bool:
    """Closed evenings judged while ``was_heard`` were tonight's beacons (``judged``: those with a "no data" verdict)
    still stand with ``heard``: none heard then is gone, none judged is heard since."""
    return was_heard <= heard and not (heard - was_heard) & judged


def close(
    rows: Sequence[DailyRollup],
    window_of: WindowOf,
    evidence: Verdicts,
    *,
    today: date,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    include_days: bool,
) -> tuple[dict[str, Running], list[CheckpointDayRef], frozenset[str]]:
    """Each checkpoint's running figures over the closed evenings ``rows`` (in the store's order: day, checkpoint),
    their refs, and the checkpoints with an evening judged "no data" from ``evidence``."""
    running: dict[str, Running] = {}
    refs: list[CheckpointDayRef] = []
    judged: set[str] = set()
    for r in sorted(rows, key=lambda r: (r.checkpoint_id, r.service_day)):
        run = running.get(r.checkpoint_id)
        if run is None:
            run = running[r.checkpoint_id] = Running(r)
        state, no_data = state_of(r, evidence, today, horizon_days)
        if no_data:
            judged.add(r.checkpoint_id)
        refs.append((r.building, r.estate, r.landlord, r.service_day, state))
        run.add(r, state, window_of(r.estate, r.service_day), None, include_days)
    return running, refs, frozenset(judged)


def close_figures(
    figures: Sequence[RollupFigures],
    window_of: WindowMicros,
    evidence: SensingEvidence,
    *,
    today: date,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> tuple[dict[str, Running], list[CheckpointDayRef], frozenset[str]]:
    """``close`` without day detail, of the closed evenings' plain figures (``Store.rollup_figures``, in the store's
    order: day, checkpoint): the same running figures, refs and judged checkpoints, the fold by
    ``fold_figures_state`` (the same float operations in the same order as ``fold_state``), no ``DailyRollup`` and
    no ``datetime`` a row but one sample a checkpoint (its tags)."""
    rows: dict[str, list[RollupFigures]] = defaultdict(list)
    for f in figures:
        rows[f[1]].append(f)
    running: dict[str, Running] = {}
    refs: list[CheckpointDayRef] = []
    judged: set[str] = set()
    for cid in sorted(rows):
        days = rows[cid]
        days.sort(key=itemgetter(0))
        run = running[cid] = Running(_sample(days[0]))
        first_us: int | None = None
        last_us: int | None = None
        for day, _, _, building, estate, owner, v, _, is_covered, f_us, l_us, p, _, _ in days:
            if is_covered:
                state = DayState.COVERED
                run.covered += 1
            elif v > 0:
                state = DayState.NOT_VISITED
                run.not_visited += 1
            else:
                state = evidence.unheard_state(cid, day, estate, today=today, horizon_days=horizon_days)
                if state is DayState.NO_DATA:
                    judged.add(cid)
                    run.no_data += 1
                else:
                    run.not_visited += 1
            refs.append((building, estate, owner, day, state))
            run.visits += v
            run.presence += p
            if f_us is not None and first_us is None:
                first_us = f_us
            if l_us is not None:
                last_us = l_us
        run.first_seen, run.last_seen = _instant(first_us), _instant(last_us)
        run.fold = fold_figures_state(days, window_of)
        run.service_days = len(days)
    return running, refs, frozenset(judged)


def _sample(f: RollupFigures) -> DailyRollup:
    """A checkpoint's first row as a rollup: what ``Running`` reads of it (its tags and expected visits)."""
    day, cid, kind, building, estate, owner, v, expected, covered, f_us, l_us, p, mx, mean = f
    return DailyRollup(
        day, cid, kind, building, estate, owner, v, expected, covered, _instant(f_us), _instant(l_us), p, mx, mean, ""
    )


def _instant(us: int | None) -> datetime | None:
    return None if us is None else _EPOCH + timedelta(microseconds=us)


class Tonight:
    """Verdicts for tonight's rows: the kept evidence plus tonight's visits (equal to a ``SensingEvidence`` that
    also holds them, for tonight: a beacon heard tonight is alive tonight, one not heard is as the kept evidence
    says, and an estate with a visit tonight had a gateway alive)."""

    __slots__ = ("_base", "_estates", "_heard")

    def __init__(self, base: SensingEvidence) -> None:
        self._base = base
        self._estates: set[tuple[date, str]] = set()
        self._heard: set[tuple[str, date]] = set()

    def add_visits(self, visits: Iterable[StoredVisit | VisitSpan]) -> None:
        for v in visits:
            self._estates.add((v.service_day, v.estate))
            self._heard.add((v.checkpoint_id, v.service_day))

    def gateway_alive(self, day: date, estate: str) -> bool:
        return (day, estate) in self._estates or self._base.gateway_alive(day, estate)

    def state(self, rollup: DailyRollup, *, today: date, horizon_days: int = DEFAULT_HORIZON_DAYS) -> DayState:
        r = rollup
        if r.covered:
            return DayState.COVERED
        if r.visits > 0:
            return DayState.NOT_VISITED
        return self.unheard_state(r.checkpoint_id, r.service_day, r.estate, today=today, horizon_days=horizon_days)

    def unheard_state(
        self, checkpoint_id: str, day: date, estate: str, *, today: date, horizon_days: int = DEFAULT_HORIZON_DAYS
    ) -> DayState:
        """``state`` of a checkpoint-day without any pass (``SensingEvidence.unheard_state``'s counterpart)."""
        if self.gateway_alive(day, estate) and (
            (checkpoint_id, day) in self._heard
            or self._base.beacon_alive(checkpoint_id, day, today=today, horizon_days=horizon_days)
        ):
            return DayState.NOT_VISITED
        return DayState.NO_DATA
