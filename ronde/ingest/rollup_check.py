"""Maintenance step: do the daily rollups still say what the stored events say? (verdicts stored)

Why: pages and the coverage API read closed evenings from daily rollups, plain rows someone with
access to the store could edit while ``ronde audit verify`` (raw events) stays OK. Each rollup
carries the store-wide chain link of its day's events; this step recomputes that link from the raw
events (and the previous rolled-up day's link) and every rollup's figures from the same events, and
stores a verdict per day and landlord (``ronde.store.checks``): the rollups that disagree, and the
fingerprints of the rollups and events it checked. The API reads those verdicts and compares the
rollups' fingerprint now, so it never reads raw visits for this (at city scale 738,066 of them:
seconds of CPU and a gigabyte per API process when it did).

A day is recomputed when it has no verdict, when its rollups' or events' fingerprint moved, when the
previous day's link it was checked against changed, and otherwise every ``recheck_every`` (a few days
per pass): a fingerprint is a cheap change detector, not a proof, and a verdict lives in the same
store as the rollups, so the periodic recomputation from raw events is what bounds an edit that
slipped past both (docs/audit.md). Only days whose raw events are still kept can be checked.

Each pass compares the *marks* of every checkable day (``Store.rollup_marks``, ``Store.event_marks``: moved
by every write through the store) and the whole fingerprints of ``compare_per_pass`` days, those compared
longest ago (a rotation over the ~42 checkable days), which is what sees an edit made around the store on
InfluxDB. A process's first pass compares every day's whole rollup fingerprints (and so marks rollups written
before marks existed), and the whole events fingerprints too when a rolled-up day has no events mark yet. Why:
on influxd the whole events fingerprint of 60 days of raw visits cost 11 s of its CPU a pass at district scale and
40-90 s at city scale, past the 60 s maintenance interval (docs/performance.md). A day whose rollups' whole
fingerprint moved while their mark did not (an edit around the store) is listed in ``edited``: the rollups step
folds the months it reaches again (it follows marks only).
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ronde.coverage.daily import DayFigures, clipped_parts, day_figures
from ronde.coverage.now import previous_link
from ronde.coverage.service_time import effective_window
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.chain import chain_link, event_digest, genesis_anchor
from ronde.protocol.estate import Registry
from ronde.store.checks import RollupVerdict, mark_of, moved
from ronde.store.port import Store
from ronde.store.records import DailyRollup
from ronde.store.retention import DEFAULT_RETENTION

log = logging.getLogger(__name__)


def first_checkable(calendar: ServiceCalendar, now: datetime, raw_days: int = DEFAULT_RETENTION.raw_days) -> date:
    """The oldest day whose raw events are still all kept (retention cuts by instant, a day's evening
    may start the day before its cut-off): rollups before it cannot be checked."""
    return now.astimezone(calendar.tz).date() - timedelta(days=raw_days - 2)


@dataclass(frozen=True, slots=True)
class _Recomputed:
    link: str
    anchor_known: bool  # False: no earlier rolled-up day, or its link is not one: the link is not checked
    figures: dict[str, DayFigures]


@dataclass(slots=True)
class _Prints:
    """A pass's fingerprints: per (day, landlord) of the rollups, per day of the events; whole for the days in
    ``whole``, marks for the others (``ronde.store.checks.moved`` compares either with a verdict's)."""

    rollups: dict[tuple[date, str], str]
    events: dict[date, str]
    whole: set[date]

    def read_whole(self, store: Store, day: date) -> None:
        """Replace ``day``'s marks with its whole fingerprints."""
        self.rollups = {k: fp for k, fp in self.rollups.items() if k[0] != day}
        self.rollups.update(store.rollup_fingerprints(day, day))
        self.events.pop(day, None)
        self.events.update(store.event_fingerprints(day, day))
        self.whole.add(day)


class RollupCheck:
    """The step ``MaintenanceRunner`` runs each pass; idempotent, any number of workers may run it
    (two of them write the same verdicts). ``checked`` lists the days the last run recomputed."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        calendar: ServiceCalendar,
        *,
        raw_days: int = DEFAULT_RETENTION.raw_days,
        recheck_every: timedelta = timedelta(hours=6),
        recheck_per_pass: int = 4,
        compare_per_pass: int = 1,
    ) -> None:
        self.store = store
        self.registry = registry
        self.calendar = calendar
        self.raw_days = raw_days
        self.recheck_every = recheck_every
        self.recheck_per_pass = recheck_per_pass
        self.compare_per_pass = compare_per_pass
        self._recomputed: dict[date, datetime] = {}  # when this process last recomputed each day
        self._passes = 0  # passes of this process that read fingerprints (the first reads every day's whole)
        self._compared: dict[date, int] = {}  # the pass that last compared each day's whole fingerprints
        self.checked: list[date] = []
        self.edited: list[date] = []  # days of the last run whose rollups changed while their marks did not

    def run(self, now: datetime) -> list[date]:
        """Check what needs it; returns the days recomputed (StoreUnavailable propagates: next pass)."""
        first = first_checkable(self.calendar, now, self.raw_days)
        last = now.astimezone(self.calendar.tz).date()
        # fingerprints before the rows: an edit in between leaves a verdict keyed on the older
        # fingerprint, which the API shows as "changed since checked" until the next pass
        prints = self._prints(first, last)
        self.checked = []
        self.edited = []
        if not prints.rollups:
            return []
        verdicts = {(v.service_day, v.landlord): v for v in self.store.rollup_verdicts(first, last)}
        landlords: dict[date, list[str]] = defaultdict(list)
        for day, lid in sorted(prints.rollups):
            landlords[day].append(lid)
        budget = self.recheck_per_pass
        prev: str | None = None  # the previous rolled-up day's link, once known
        for day in sorted(landlords):
            mine = [verdicts.get((day, lid)) for lid in landlords[day]]
            found = [v for v in mine if v is not None]
            if day in prints.whole and any(_edited(prints.rollups[(day, v.landlord)], v.rollups) for v in found):
                self.edited.append(day)
            due = (
                len(found) < len(mine)
                or any(moved(prints.rollups[(day, v.landlord)], v.rollups) for v in found)
                or any(moved(prints.events.get(day, ""), v.events) for v in found)
                or (prev is not None and any(v.prev_link != prev for v in found))
                or len({(v.link, v.prev_link) for v in found}) != 1
            )
            if not due:
                last_done = self._recomputed.get(day)
                if budget > 0 and (last_done is None or now - last_done >= self.recheck_every):
                    budget -= 1
                    due = True
            if due:
                prev = self._check_day(day, prev, prints, verdicts, now)
                self.checked.append(day)
            else:
                prev = found[0].link
        return self.checked

    def _prints(self, first: date, last: date) -> _Prints:
        """What this pass compares: every day's marks and the whole fingerprints of the ``compare_per_pass`` days
        compared longest ago; on the process's first pass the rollups' whole fingerprints of every day (which
        marks rollups written before their marks), and the events' too when a rolled-up day has no events mark
        (visits written before marks existed: marked then)."""
        if not self._passes:
            rollup_fps = self.store.rollup_fingerprints(first, last)
            days = {d for d, _ in rollup_fps}
            self._passes = int(bool(days))
            event_fps = self.store.event_marks(first, last) if days else {}
            if days <= set(event_fps):
                return _Prints(rollup_fps, event_fps, set())
            self._compared = dict.fromkeys(days, 0)
            return _Prints(rollup_fps, self.store.event_fingerprints(first, last), days)
        self._passes += 1
        prints = _Prints(self.store.rollup_marks(first, last), self.store.event_marks(first, last), set())
        compared = self._compared
        turns = sorted({d for d, _ in prints.rollups}, key=lambda d: (compared.get(d, -1), d))
        for day in turns[: self.compare_per_pass]:
            prints.read_whole(self.store, day)
            compared[day] = self._passes
        return prints

    def _check_day(
        self,
        day: date,
        prev: str | None,
        prints: _Prints,
        verdicts: dict[tuple[date, str], RollupVerdict],
        now: datetime,
    ) -> str:
        """Recompute ``day``, store its verdicts where they changed (keyed on its whole fingerprints, read before
        its rows); returns the day's link as its rollups carry it ("" when they do not agree on one)."""
        if day not in prints.whole:
            prints.read_whole(self.store, day)
            self._compared[day] = self._passes
        rollup_fps, event_fps = prints.rollups, prints.events
        if prev is None:
            prev = previous_link(self.store, self.registry, day)
            known = prev != genesis_anchor(None, self.registry.revision)
        else:
            known = prev != ""
        rows = self.store.rollups(day, day)
        visits = [v for v in self.store.visits_of_days([day]) if v.service_day == day]
        window = effective_window(self.calendar, day, None)
        figures: dict[str, DayFigures] = {}
        if window is not None:
            figures = {cid: day_figures(p, *window) for cid, p in clipped_parts(visits, *window).items()}
            figures.setdefault("", day_figures((), *window))
        link = chain_link(prev, day, (event_digest(v) for v in visits)) if prev else ""
        rc = _Recomputed(link, known, figures)
        found: dict[str, list[tuple[str, str]]] = defaultdict(list)
        if window is not None:
            for r in rows:
                reason = disagreement(r, rc)
                if reason is not None:
                    found[r.landlord].append((r.checkpoint_id, reason))
        links = {r.chain_digest for r in rows}
        day_link = next(iter(links)) if len(links) == 1 else ""
        changed: list[RollupVerdict] = []
        for (d, lid), fp in rollup_fps.items():
            if d != day:
                continue
            v = RollupVerdict(day, lid, now, fp, event_fps.get(day, ""), prev, day_link, tuple(sorted(found[lid])))
            old = verdicts.get((day, lid))
            if old is None or not old.same_result(v):
                changed.append(v)
        self.store.write_rollup_verdicts(changed)
        self._recomputed[day] = now
        if any(found.values()):
            log.warning(
                "rollup check %s: %d rollups disagree with the stored events", day, sum(map(len, found.values()))
            )
        return day_link


def _edited(now: str, stored: str) -> bool:
    """Whether a whole fingerprint read ``now`` differs from a verdict's while its mark does not: rollups changed
    around the store (on SQLite the mark is the whole fingerprint: never)."""
    return now != stored and mark_of(now) == mark_of(stored)


def disagreement(r: DailyRollup, rc: _Recomputed) -> str | None:
    """What ``r`` says that its day's stored events do not (the first difference), or None."""
    f = rc.figures.get(r.checkpoint_id) or rc.figures[""]
    checks = (
        ("passes", r.visits, f.visits),
        ("covered", r.covered, f.visits >= r.expected),
        ("first seen", r.first_seen, f.first_seen),
        ("last seen", r.last_seen, f.last_seen),
    )
    for name, stored, events in checks:
        if stored != events:
            return f"{name}: {stored} in the rollup, {events} from the stored events"
    for name, x, y in (
        ("presence", r.presence_s, f.presence_s),
        ("worst idleness", r.max_idle_s, f.max_idle_s),
        ("mean idleness", r.mean_idle_s, f.mean_idle_s),
    ):
        if not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-3):
            return f"{name}: {x:.0f} s in the rollup, {y:.0f} s from the stored events"
    if rc.anchor_known and r.chain_digest != rc.link:
        return "chain link differs from the one recomputed from the stored events (events or rollups edited)"
    return None
