"""Per checkpoint and service day: visits, first/last, presence, idleness, covered.

Only the part of a visit inside the day's service window counts. Within one window, idleness
(Machado et al. 2002) starts at 0 at the window's start, is 0 while a visit is going on, and
grows with time since the end of the latest visit. The gaps of a day are the leading gap (window
start → first visit), the gaps between consecutive visits (0 when visits overlap or touch) and
the trailing gap (end of the latest visit → window end); they sum to window − presence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from ronde.coverage.service_time import clip_to_window, effective_window
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import DEFAULT_EXPECTED_VISITS, CheckpointKind, Registry
from ronde.store.records import DailyRollup, StoredVisit

PASS_GAP_S = 300.0
"""Visits of one team at one checkpoint less than this apart are one pass: the same stay heard in two
fragments (an Eddystone-EID rotating mid-visit, a long radio fade). Two teams stay two visits."""


@dataclass(frozen=True, slots=True)
class DayFigures:
    """One checkpoint on one (possibly partial) service window."""

    visits: int  # passes: one team's fragments less than PASS_GAP_S apart are joined first
    first_seen: datetime | None  # earliest in-service instant of a visit
    last_seen: datetime | None  # latest in-service instant of a visit
    presence_s: float  # union of the visits' in-service parts (two teams at once count once)
    max_idle_s: float  # worst idleness in the window
    mean_idle_s: float  # time average of idleness over the window
    window_s: float


def day_figures(intervals: Iterable[tuple[datetime, datetime]], w_start: datetime, w_end: datetime) -> DayFigures:
    """Figures of one window from visits already clipped to it (any order)."""
    parts = sorted(intervals)
    window = max(0.0, (w_end - w_start).total_seconds())
    if not parts:
        return DayFigures(0, None, None, 0.0, window, window / 2.0, window)
    gaps: list[float] = [(parts[0][0] - w_start).total_seconds()]
    presence = 0.0
    cur_lo, cur_hi = parts[0]
    for lo, hi in parts[1:]:
        if lo > cur_hi:
            presence += (cur_hi - cur_lo).total_seconds()
            gaps.append((lo - cur_hi).total_seconds())
            cur_lo, cur_hi = lo, hi
        else:
            gaps.append(0.0)
            cur_hi = max(cur_hi, hi)
    presence += (cur_hi - cur_lo).total_seconds()
    gaps.append((w_end - cur_hi).total_seconds())
    mean = sum(g * g for g in gaps) / (2.0 * window) if window > 0 else 0.0
    return DayFigures(len(parts), parts[0][0], cur_hi, presence, max(gaps), mean, window)


def clipped_parts(
    visits: Iterable[StoredVisit], w_start: datetime, w_end: datetime
) -> dict[str, list[tuple[datetime, datetime]]]:
    """In-window parts of passes, per checkpoint; visits entirely outside are dropped."""
    out: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for checkpoint_id, lo, hi in join_fragments(visits):
        part = clip_to_window(lo, hi, w_start, w_end)
        if part is not None:
            out[checkpoint_id].append(part)
    return out


def join_fragments(visits: Iterable[StoredVisit]) -> list[tuple[str, datetime, datetime]]:
    """(checkpoint, first, last) of passes: one team's visits of one checkpoint less than PASS_GAP_S
    apart joined (the badge is only used to tell teams apart, never reported)."""
    by_team: dict[tuple[str, str], list[tuple[datetime, datetime]]] = defaultdict(list)
    for v in visits:
        by_team[(v.checkpoint_id, v.badge)].append((v.first_seen, v.last_seen))
    out: list[tuple[str, datetime, datetime]] = []
    for (checkpoint_id, _badge), spans in by_team.items():
        spans.sort()
        lo, hi = spans[0]
        for a, b in spans[1:]:
            if (a - hi).total_seconds() <= PASS_GAP_S:
                hi = max(hi, b)
            else:
                out.append((checkpoint_id, lo, hi))
                lo, hi = a, b
        out.append((checkpoint_id, lo, hi))
    return out


def _expected_for(kind: str) -> int:
    try:
        return DEFAULT_EXPECTED_VISITS[CheckpointKind(kind)]
    except ValueError:
        return 1


def day_rollups(
    registry: Registry,
    calendar: ServiceCalendar,
    day: date,
    visits: Sequence[StoredVisit],
    *,
    chain_digest: str = "",
    now: datetime | None = None,
    landlord: str | None = None,
) -> list[DailyRollup]:
    """One row per checkpoint of the registry (of ``landlord`` if given) for ``day``.

    ``now`` cuts the window of the evening in progress (partial figures). Visits of checkpoints
    unknown to this registry revision still get a row, from the tags stored with them. Each
    checkpoint is judged by its estate's calendar (``calendar.for_estate``): an estate closed
    that day, or not yet begun, has no row while another estate's evening has one.
    """
    if not calendar.is_service_day(day):
        return []
    windows: dict[str, tuple[datetime, datetime] | None] = {}
    parts_of: dict[tuple[datetime, datetime], dict[str, list[tuple[datetime, datetime]]]] = {}

    def figures(cid: str, estate: str) -> DayFigures | None:
        if estate not in windows:
            own = calendar.for_estate(estate)
            windows[estate] = effective_window(own, day, now) if own.is_service_day(day) else None
        window = windows[estate]
        if window is None:
            return None
        if window not in parts_of:  # one clipping per distinct window (one for a site with one calendar)
            parts_of[window] = clipped_parts(visits, *window)
        return day_figures(parts_of[window].get(cid, ()), *window)

    rows: list[DailyRollup] = []
    for c in registry.checkpoints.values():
        if landlord is not None and c.landlord != landlord:
            continue
        f = figures(c.id, c.estate)
        if f is not None:
            rows.append(_row(day, c.id, c.kind, c.building, c.estate, c.landlord, c.expected_visits, f, chain_digest))
    strays = {v.checkpoint_id: v for v in visits if v.checkpoint_id not in registry.checkpoints}
    for cid, v in sorted(strays.items()):
        if landlord is not None and v.landlord != landlord:
            continue
        f = figures(cid, v.estate)
        if f is not None:
            rows.append(
                _row(day, cid, v.kind, v.building, v.estate, v.landlord, _expected_for(v.kind), f, chain_digest)
            )
    return rows


def _row(
    day: date,
    cid: str,
    kind: str,
    building: str | None,
    estate: str,
    landlord: str,
    expected: int,
    f: DayFigures,
    chain_digest: str,
) -> DailyRollup:
    return DailyRollup(
        service_day=day,
        checkpoint_id=cid,
        kind=str(kind),
        building=building,
        estate=estate,
        landlord=landlord,
        visits=f.visits,
        expected=expected,
        covered=f.visits >= expected,
        first_seen=f.first_seen,
        last_seen=f.last_seen,
        presence_s=f.presence_s,
        max_idle_s=f.max_idle_s,
        mean_idle_s=f.mean_idle_s,
        chain_digest=chain_digest,
    )
