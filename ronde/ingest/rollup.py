"""Daily rollups when a service day closes, and retention: periodic, idempotent, any worker.

A day is closed once its service window ended more than ``grace`` ago (late events from a
gateway's outbox land inside the grace). Rollups carry the audit chain, whose link for a day
depends on the previous day's, so days are rolled in order; re-rolling a day (late events, or a
second worker doing the same) writes the same rows again, replacing the previous ones.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta

from ronde.coverage.daily import day_rollups
from ronde.coverage.monthly import basis, month_bounds, service_days_of, settled
from ronde.coverage.now import previous_link
from ronde.coverage.sensing import DEFAULT_HORIZON_DAYS
from ronde.coverage.settled import fold_month_to_date, fold_settled_month
from ronde.coverage.spans import fold_month_spans, latest_settled_month, span_starts
from ronde.coverage.suffix import default_period_starts, fold_month_suffixes
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.chain import chain_link, event_digest
from ronde.protocol.estate import Registry
from ronde.store.port import Store
from ronde.store.records import DailyRollup, RetentionPolicy, StoredVisit

log = logging.getLogger(__name__)


def closed_days(calendar: ServiceCalendar, now: datetime, *, grace: timedelta, lookback_days: int) -> list[date]:
    """Service days of the look-back whose window ended at least ``grace`` before ``now``, oldest first."""
    today = now.astimezone(calendar.tz).date()
    first = today - timedelta(days=lookback_days)
    return [d for d in calendar.service_days(first, today) if calendar.window(d)[1] + grace <= now]


def build_daily_rollups(
    registry: Registry, calendar: ServiceCalendar, day: date, visits: Sequence[StoredVisit], prev_chain: str
) -> list[DailyRollup]:
    """Rollups of a closed service day, each carrying the day's link of the store-wide chain.

    ``visits`` are the day's visits *as read back from the store* (``store.visits_of_days([day])``)
    so the link matches what an audit recomputes; events of other days are ignored. ``prev_chain``
    is the previous day's link (:func:`ronde.coverage.now.previous_link`). Non-service days
    give no rollups.
    """
    mine = [v for v in visits if v.service_day == day]
    link = chain_link(prev_chain, day, (event_digest(v) for v in mine))
    return day_rollups(registry, calendar, day, mine, chain_digest=link)


def rollup_day(store: Store, registry: Registry, calendar: ServiceCalendar, day: date) -> list[DailyRollup]:
    """Compute and durably write one closed day's rollups; returns them."""
    visits = store.visits_of_days([day])
    rows = build_daily_rollups(registry, calendar, day, visits, previous_link(store, registry, day))
    if rows:
        store.write_rollups(rows)
    return rows


def _day_parts(store: Store, day: date) -> tuple[list[StoredVisit], list[str]]:
    """The day's visits as read back from the store, and their event digests in chain order."""
    mine = [v for v in store.visits_of_days([day]) if v.service_day == day]
    return mine, [event_digest(v) for v in mine]


class RollupScheduler:
    """Rolls each newly closed day once; every ``refresh`` it looks at the whole look-back again and
    re-rolls only the days whose stored events changed (late events), relinking the days after them
    (their figures stay, their chain link follows the new one). Settled months are folded into
    monthly rollups, one month per pass, with their suffix letters (``ronde.coverage.suffix``: a period's first,
    partial month read as one row per checkpoint), and folded again when a re-rolled day can change them. In a
    pass that folded no settled month, the month of the last settled day gets its month-to-date letter
    (``fold_month_to_date``) and its suffix letters from the default period's starts, folded again when that day
    moves or the rollups within its reach change.
    It reads the store's rollup *marks* for that (moved by every write through the store: a re-roll by this
    scheduler, another worker or a hand through ``ronde``), not the whole fingerprints: on influxd those
    read one series per checkpoint and field, 1-2.7 s of its CPU a pass at district scale against ~10 ms.
    An edit made around the store keeps the marks on InfluxDB: ``RollupCheck`` sees it when its rotating
    comparison of whole fingerprints reaches that day, and ``edited`` then marks the months it reaches stale
    (the letter follows at the next pass that folds no settled month: a settled month it reaches goes first).
    """

    def __init__(
        self,
        store: Store,
        registry: Registry,
        calendar: ServiceCalendar,
        *,
        grace: timedelta = timedelta(hours=1),
        lookback_days: int = 3,
        refresh: timedelta = timedelta(hours=1),
        horizon_days: int = DEFAULT_HORIZON_DAYS,
        months_back: int = 12,
    ) -> None:
        self.store = store
        self.registry = registry
        self.calendar = calendar
        self.grace = grace
        self.lookback_days = lookback_days
        self.refresh = refresh
        self.horizon_days = horizon_days
        self.months_back = months_back
        self._done: set[date] = set()
        self._last_refresh: datetime | None = None
        self._folded: set[date] = set()  # months whose monthly rollups are known current
        self._stale_months: set[date] = set()  # months a re-rolled day may have changed
        self.rerolled: list[date] = []  # days whose figures the last pass recomputed
        self.relinked: list[date] = []  # days whose chain link only the last pass rewrote
        self.folded: date | None = None  # the month the last pass folded into monthly rollups
        self.folded_to_date: date | None = None  # the last day of the month-to-date letter the last pass folded
        # (last settled day, rollup marks of the days its letter reads) when that letter was folded
        self._to_date: tuple[date, dict[tuple[date, str], str]] | None = None
        self._months_written = 0  # settled months folded by this object: span letters reaching them are stale
        self._spans: tuple[date, int] | None = None  # (month, months written) when the span letters were folded
        self.spanned: date | None = None  # the month the last pass folded span letters through

    def run(self, now: datetime) -> list[date]:
        """Days rolled or relinked in this call (StoreUnavailable propagates: the next call retries)."""
        days = closed_days(self.calendar, now, grace=self.grace, lookback_days=self.lookback_days)
        first_pass = self._last_refresh is None
        full = self._last_refresh is None or now - self._last_refresh >= self.refresh
        todo = days if full else [d for d in days if d not in self._done]
        if todo and not full:  # a later day's chain link depends on this one: look at the rest too
            todo = [d for d in days if d >= todo[0]]
        self.rerolled, self.relinked = [], []
        prev_old = prev_new = previous_link(self.store, self.registry, todo[0]) if todo else ""
        for day in todo:
            prev_old, prev_new = self._roll(day, prev_old, prev_new, force=first_pass or day not in self._done)
            self._done.add(day)
        if full:
            self._last_refresh = now
        self._done = {d for d in self._done if d in set(days)}
        self.folded = self._fold_one_month(now)
        self.folded_to_date = None if self.folded is not None else self._fold_month_to_date(now)
        self.spanned = None if self.folded is not None else self._fold_spans(now)
        return [d for d in todo if d in set(self.rerolled) | set(self.relinked)]

    def _roll(self, day: date, prev_old: str, prev_new: str, *, force: bool) -> tuple[str, str]:
        """Roll ``day`` if forced or its events changed, relink it if only the day before changed.
        Returns (its link before, its link now)."""
        visits, digests = _day_parts(self.store, day)
        stored = self.store.rollups(day, day)
        old = stored[0].chain_digest if stored else ""
        same_events = bool(stored) and chain_link(prev_old, day, digests) == old
        link = chain_link(prev_new, day, digests)
        if force or not same_events:
            rows = day_rollups(self.registry, self.calendar, day, visits, chain_digest=link)
            if rows:
                self.store.write_rollups(rows)
            self.rerolled.append(day)
            self._stale(day)
            log.info("rolled up service day %s: %d checkpoints", day, len(rows))
        elif link != old:
            self.store.write_rollups([replace(r, chain_digest=link) for r in stored])
            self.relinked.append(day)
        return (old or link), link

    def edited(self, days: Iterable[date]) -> None:
        """Days whose rollups changed without moving their marks (an edit around the store, found by
        ``RollupCheck``): the months they reach are folded again, the month-to-date letter at the next pass."""
        for day in days:
            self._stale(day)

    def _stale(self, day: date) -> None:
        """Months whose day states a change on ``day`` can move (evidence reaches ``horizon_days``)."""
        h = timedelta(days=self.horizon_days)
        months = {(day - h).replace(day=1), day.replace(day=1), (day + h).replace(day=1)}
        self._folded -= months
        self._stale_months |= months

    def _fold_one_month(self, now: datetime) -> date | None:
        """Fold the oldest settled month of the last ``months_back`` not known current (one per pass:
        a month at city scale is seconds of work, maintenance stays bounded)."""
        today = now.astimezone(self.calendar.tz).date()
        month = (today.replace(day=1) - timedelta(days=31 * self.months_back)).replace(day=1)
        want = basis(self.registry, self.calendar, self.horizon_days)
        while settled(month, today, self.horizon_days):
            if month not in self._folded:
                current = self.store.monthly_rollups(month)
                if (
                    month not in self._stale_months
                    and current
                    and all(r.basis == want for r in current)
                    and self._has_suffixes(month, now)
                ):
                    self._folded.add(month)  # folded by an earlier process under the same basis
                else:
                    rows = fold_settled_month(
                        self.store, self.registry, self.calendar, month, now=now, horizon_days=self.horizon_days
                    )
                    self.store.write_monthly_rollups(rows)
                    suffixes = fold_month_suffixes(self.store, self.registry, self.calendar, rows, now=now)
                    self.store.write_monthly_suffixes(month, suffixes)
                    self._folded.add(month)
                    self._stale_months.discard(month)
                    self._months_written += 1
                    log.info("folded month %s: %d checkpoints", month, len(rows))
                    return month
            month = (month + timedelta(days=32)).replace(day=1)
        return None

    def _has_suffixes(self, month: date, now: datetime) -> bool:
        """The month's last service day has its suffix letters, or none can (no rollup that day: no suffix of the
        month is written). A month folded before suffix letters existed has none: it is folded again, once per
        process (as is a month whose suffixes its rollups do not allow, rare: ``ronde.coverage.suffix``)."""
        days = service_days_of(self.calendar, *month_bounds(month), now)
        if not days or self.store.suffix_figures(days[-1]):
            return True
        return not self.store.rollup_marks(days[-1], days[-1])

    def _fold_month_to_date(self, now: datetime) -> date | None:
        """Fold the month-to-date letter of the last settled day's month, and its suffix letters, when that day
        moved, the month was marked stale, or the mark of a rollup the fold reads (its days and the horizon around
        them) moved; returns the letter's last day when it folded. None when that day ends its month (the whole
        month's fold)."""
        today = now.astimezone(self.calendar.tz).date()
        h = timedelta(days=self.horizon_days)
        through = today - h - timedelta(days=1)
        month = through.replace(day=1)
        if settled(month, today, self.horizon_days):
            return None
        prints = self.store.rollup_marks(month - h, through + h)
        if self._to_date == (through, prints) and month not in self._stale_months:
            return None
        rows = fold_month_to_date(
            self.store, self.registry, self.calendar, through, now=now, horizon_days=self.horizon_days
        )
        self.store.write_monthly_rollups(rows)
        starts = default_period_starts(self.calendar, today)
        suffixes = fold_month_suffixes(self.store, self.registry, self.calendar, rows, now=now, starts=starts)
        self.store.write_monthly_suffixes(month, suffixes)
        self._to_date = (through, prints)
        self._stale_months.discard(month)
        log.info("folded month %s to date %s: %d checkpoints", month, through, len(rows))
        return through

    def _fold_spans(self, now: datetime) -> date | None:
        """Fold the span letters through the last settled month (``ronde.coverage.spans``) in a pass with no
        settled month left to fold, when that month moved or this object folded a month since; returns that month
        when it folded. A process's first look keeps the spans an earlier one wrote if the store still reads them
        as current (a letter written since makes them unread on either store)."""
        today = now.astimezone(self.calendar.tz).date()
        through = latest_settled_month(today, self.horizon_days)
        if self._spans == (through, self._months_written):
            return None
        if self._spans is None:
            starts = span_starts(self.calendar, through, self.horizon_days, now)
            if starts and self.store.span_figures(starts[-1], through):
                self._spans = (through, self._months_written)
                return None
        spans = fold_month_spans(
            self.store, self.registry, self.calendar, through, now=now, horizon_days=self.horizon_days
        )
        self.store.write_month_spans(through, spans)
        self._spans = (through, self._months_written)
        log.info("folded span letters through %s: %d", through, len(spans))
        return through


class RetentionScheduler:
    def __init__(self, store: Store, policy: RetentionPolicy, *, every: timedelta = timedelta(hours=6)) -> None:
        self.store = store
        self.policy = policy
        self.every = every
        self._last: datetime | None = None

    def run(self, now: datetime) -> bool:
        if self._last is not None and now - self._last < self.every:
            return False
        self.store.apply_retention(self.policy, now)
        self._last = now
        log.info("retention applied: raw %d d, proof %d d", self.policy.raw_days, self.policy.proof_days)
        return True
