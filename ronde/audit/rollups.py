"""Do the daily rollups shown still say what the stored events say? Read from the stored verdicts.

Why: pages and the coverage API read closed evenings from daily rollups (cheap), not from raw
events. A rollup is a plain row: editing it (``UPDATE rollups`` in SQLite) would change the shares a
landlord sees while ``ronde audit verify`` — which reads raw events — stays OK. Maintenance
(``ronde.ingest.rollup_check``) recomputes each checkable day's chain link and figures from the raw
events and stores a verdict per day and landlord (``ronde.store.checks``). Here a request reads the
verdicts of its period and one aggregate of the rollups now (their fingerprint), never raw visits:

- a verdict whose fingerprint is the rollups' now: its mismatches (day, checkpoint, reason);
- a fingerprint that moved since: the day's rollups changed after their check (edited, or re-rolled
  by maintenance a moment ago), said at once for the whole day;
- no verdict: the day is not checked yet (shown as such, never as OK).

Only days whose raw events are still kept can be checked (retention keeps raw events about two
months, rollups about a year); older rollups are shown as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from ronde.protocol.calendar import ServiceCalendar
from ronde.store.checks import mark_of
from ronde.store.port import Store
from ronde.store.retention import DEFAULT_RETENTION

CHANGED = "rollups of this day changed since they were checked (edited, or re-rolled): checked again at the next pass"
UNCHECKED = "not checked yet against the stored events: maintenance checks each closed day within one pass"


class Finding(StrEnum):
    MISMATCH = "mismatch"  # a rollup disagrees with its day's stored events
    CHANGED = "changed"  # the day's rollups of this landlord changed since they were checked
    UNCHECKED = "unchecked"  # no verdict for the day yet


@dataclass(frozen=True, slots=True)
class RollupMismatch:
    service_day: date
    checkpoint_id: str  # "" for a whole day's rollups of ``landlord`` (CHANGED, UNCHECKED)
    reason: str
    landlord: str = ""
    finding: Finding = Finding.MISMATCH


def first_checkable(calendar: ServiceCalendar, now: datetime, raw_days: int = DEFAULT_RETENTION.raw_days) -> date:
    """The oldest day whose raw events are still all kept: rollups before it cannot be checked (the
    same bound as maintenance's ``ronde.ingest.rollup_check.first_checkable``)."""
    return now.astimezone(calendar.tz).date() - timedelta(days=raw_days - 2)


def stored_mismatches(
    store: Store,
    calendar: ServiceCalendar,
    first: date,
    last: date,
    *,
    now: datetime,
    landlord: str | None = None,
    raw_days: int = DEFAULT_RETENTION.raw_days,
) -> list[RollupMismatch]:
    """What the checks say about the rollups of ``first..last`` (one landlord's, or all), sorted by
    day, then landlord, then checkpoint: two store queries, whatever the number of rollups. The rollups
    are compared by their marks (``Store.rollup_marks``): any write through the store shows at once as
    "changed since checked"; an edit made around it, from maintenance's next pass (``ronde.store.checks``)."""
    first = max(first, first_checkable(calendar, now, raw_days))
    if first > last:
        return []
    marks = store.rollup_marks(first, last, landlord=landlord)
    if not marks:
        return []
    verdicts = {(v.service_day, v.landlord): v for v in store.rollup_verdicts(first, last, landlord=landlord)}
    out: list[RollupMismatch] = []
    for (day, lid), mark in sorted(marks.items()):
        v = verdicts.get((day, lid))
        if v is None:
            out.append(RollupMismatch(day, "", UNCHECKED, lid, Finding.UNCHECKED))
        elif mark_of(v.rollups) != mark:
            out.append(RollupMismatch(day, "", CHANGED, lid, Finding.CHANGED))
        else:
            out.extend(RollupMismatch(day, cid, reason, lid) for cid, reason in v.mismatches)
    return out
