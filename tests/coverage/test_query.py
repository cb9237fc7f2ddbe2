"""Coverage read from the SQLite store: rollups for closed days, raw visits for the evening in
progress, the month cache, the previous chain link, live helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from ronde.coverage.now import (
    fair_share_for_period,
    idle_checkpoints_now,
    maintenance_now,
    previous_link,
    team_checkins_now,
)
from ronde.coverage.query import CoverageCache, landlord_coverage
from ronde.ingest.rollup import build_daily_rollups
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.chain import genesis_anchor
from ronde.store.records import DailyRollup, RollupFigures, StoredVisit, WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.coverage.factory import local, registry, visit

CAL = ServiceCalendar()
FIRST, LAST = date(2026, 8, 1), date(2026, 11, 25)  # Wednesday 25 November is in progress
NOW = local(LAST, 19)


def _visits() -> list[StoredVisit]:
    reg = registry()
    out = []
    for i, d in enumerate(CAL.service_days(FIRST, LAST)):
        out.append(visit(reg, "a", d, local(d, 16, 30), local(d, 16, 35)))
        if i % 3:
            out.append(visit(reg, "b", d, local(d, 17 + i % 4), local(d, 17 + i % 4, 2), badge="team-2"))
        if i % 5 == 0:
            out.append(visit(reg, "c", d, local(d, 21), local(d, 21, 1)))
    return out


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    reg = registry()
    s = SqliteStore(tmp_path / "ronde.db")
    s.open()
    visits = _visits()
    s.write(WriteBatch(visits=tuple(visits)))
    prev = genesis_anchor(None, reg.revision)
    for d in CAL.service_days(FIRST, LAST - timedelta(days=1)):  # ingest closed every day but today
        rows = build_daily_rollups(reg, CAL, d, [v for v in visits if v.service_day == d], prev)
        s.write_rollups(rows)
        prev = rows[0].chain_digest
    yield s
    s.close()


def test_rollups_and_live_evening_match_raw_computation(store: SqliteStore) -> None:
    reg = registry()
    cov = landlord_coverage(store, reg, CAL, FIRST, LAST, landlord="paris-habitat", now=NOW)
    assert cov.partial_day == LAST
    assert cov.days[-1] == LAST
    a = next(c for c in cov.checkpoints if c.checkpoint_id == "a")
    assert a.covered_days == a.service_days == len(cov.days)
    # every evening: 30 min before the visit, 6h15 − 35 min after it except today (cut at 19:00)
    assert a.idleness.worst_idle_s == (22500 - 2100) + 1800
    from ronde.coverage.period import period_coverage

    raw = period_coverage(
        reg,
        CAL,
        FIRST,
        LAST,
        rollups=[],
        visits=store.visits_of_days(list(cov.days)),
        now=NOW,
        landlord="paris-habitat",
    )
    assert [c.idleness for c in raw.checkpoints] == [c.idleness for c in cov.checkpoints]
    assert [c.visits for c in raw.checkpoints] == [c.visits for c in cov.checkpoints]


def test_cache_gives_the_same_answer(store: SqliteStore) -> None:
    reg = registry()
    cache = CoverageCache()
    for landlord in ("paris-habitat", None):
        plain = landlord_coverage(store, reg, CAL, FIRST + timedelta(days=3), LAST, landlord=landlord, now=NOW)
        cached = landlord_coverage(
            store, reg, CAL, FIRST + timedelta(days=3), LAST, landlord=landlord, now=NOW, cache=cache
        )
        again = landlord_coverage(
            store, reg, CAL, FIRST + timedelta(days=3), LAST, landlord=landlord, now=NOW, cache=cache
        )
        for got in (cached, again):
            assert got.days == plain.days
            assert got.partial_day == plain.partial_day
            for x, y in zip(got.checkpoints, plain.checkpoints, strict=True):
                assert x.checkpoint_id == y.checkpoint_id
                assert (x.visits, x.covered_days, x.not_visited_days, x.no_data_days) == (
                    y.visits,
                    y.covered_days,
                    y.not_visited_days,
                    y.no_data_days,
                )
                assert x.presence_s == pytest.approx(y.presence_s)
                assert x.idleness.worst_idle_s == pytest.approx(y.idleness.worst_idle_s)
                assert x.idleness.average_idle_s == pytest.approx(y.idleness.average_idle_s)
                assert (x.idleness.gap_cv or 0) == pytest.approx(y.idleness.gap_cv or 0)
            assert got.groups == plain.groups
    assert cache.hits > 0
    assert cache.misses > 0


def _rollup_reads(
    store: SqliteStore,
) -> tuple[list[tuple[date, date]], Callable[..., list[DailyRollup]], Callable[..., list[DailyRollup]]]:
    """A spy for ``store.rollups``: the periods it is asked for, the real method, and the spy to install."""
    read: list[tuple[date, date]] = []
    real = store.rollups

    def spy(first: date, last: date, *, landlord: str | None = None) -> list[DailyRollup]:
        read.append((first, last))
        return real(first, last, landlord=landlord)

    return read, real, spy


def test_cache_keeps_day_detail_and_settled_days_rollups(store: SqliteStore) -> None:
    """The API's detailed month goes through the cache too: same days, shares and counts as without it; the
    second request reads no rollup from the store (the settled days are kept, the closed evenings after them
    are kept with their fingerprints, which have not moved)."""
    reg = registry()
    read, _, spy = _rollup_reads(store)
    cache = CoverageCache()
    first = LAST - timedelta(days=40)
    plain = landlord_coverage(store, reg, CAL, first, LAST, landlord="paris-habitat", now=NOW, include_days=True)
    store.rollups = spy  # type: ignore[method-assign]
    for _ in range(2):
        read.clear()
        got = landlord_coverage(
            store, reg, CAL, first, LAST, landlord="paris-habitat", now=NOW, include_days=True, cache=cache
        )
        assert got.days == plain.days
        assert got.partial_day == plain.partial_day
        assert got.groups == plain.groups
        for x, y in zip(got.checkpoints, plain.checkpoints, strict=True):
            assert (x.checkpoint_id, x.days, x.visits, x.covered_days, x.no_data_days) == (
                y.checkpoint_id,
                y.days,
                y.visits,
                y.covered_days,
                y.no_data_days,
            )
            assert x.days
            assert x.presence_s == pytest.approx(y.presence_s)
    assert read == []  # warm: fingerprints only
    assert cache.hits > 0


def test_cache_reads_a_closed_evening_again_when_its_rollups_change(store: SqliteStore) -> None:
    """The last closed evenings (after the settled days) are kept with the store's fingerprint of their rollups: a
    re-roll of one (late events, by any process) is read at the next request, that day only, and the answer is
    what an uncached request gives; an evening in progress has no rollup and is never read from rollups."""
    reg = registry()
    read, real, spy = _rollup_reads(store)
    cache = CoverageCache()
    first = LAST - timedelta(days=30)
    landlord_coverage(store, reg, CAL, first, LAST, landlord="paris-habitat", now=NOW, cache=cache)
    friday = LAST - timedelta(days=5)  # a closed evening of the open tail
    late = visit(reg, "a", friday, local(friday, 20), local(friday, 20, 9), badge="team-9", event_id="late-friday")
    store.write(WriteBatch(visits=(late,)))
    day_visits = store.visits_of_days([friday])
    prev = real(friday - timedelta(days=1), friday - timedelta(days=1))[0].chain_digest
    store.write_rollups(build_daily_rollups(reg, CAL, friday, day_visits, prev))  # re-rolled by maintenance
    store.rollups = spy  # type: ignore[method-assign]
    real_figures = store.rollup_figures_by_day

    def figures_spy(first: date, last: date, *, landlord: str | None = None) -> list[RollupFigures]:
        read.append((first, last))  # without day detail the closed evenings are read as plain figures
        return real_figures(first, last, landlord=landlord)

    store.rollup_figures_by_day = figures_spy  # type: ignore[method-assign]
    got = landlord_coverage(store, reg, CAL, first, LAST, landlord="paris-habitat", now=NOW, cache=cache)
    assert read == [(friday, friday)]
    store.rollups = real  # type: ignore[method-assign]
    store.rollup_figures_by_day = real_figures  # type: ignore[method-assign]
    plain = landlord_coverage(store, reg, CAL, first, LAST, landlord="paris-habitat", now=NOW)
    assert got.groups == plain.groups
    a = next(c for c in got.checkpoints if c.checkpoint_id == "a")
    assert a.visits == next(c for c in plain.checkpoints if c.checkpoint_id == "a").visits
    assert (
        a.visits
        == sum(
            r.visits for r in real(first, LAST - timedelta(days=1), landlord="paris-habitat") if r.checkpoint_id == "a"
        )
        + 1
    )  # tonight's visit, from raw visits


def test_cache_expires(store: SqliteStore) -> None:
    reg = registry()
    clock = [0.0]
    cache = CoverageCache(ttl_s=10.0, clock=lambda: clock[0])
    landlord_coverage(store, reg, CAL, FIRST, LAST, landlord="paris-habitat", now=NOW, cache=cache)
    misses = cache.misses
    landlord_coverage(store, reg, CAL, FIRST, LAST, landlord="paris-habitat", now=NOW, cache=cache)
    assert cache.misses == misses
    clock[0] = 11.0
    landlord_coverage(store, reg, CAL, FIRST, LAST, landlord="paris-habitat", now=NOW, cache=cache)
    assert cache.misses == 2 * misses


def test_previous_link_is_the_last_rolled_days(store: SqliteStore) -> None:
    reg = registry()
    last_closed = max(r.service_day for r in store.rollups(FIRST, LAST))
    expected = store.rollups(last_closed, last_closed)[0].chain_digest
    assert previous_link(store, reg, LAST) == expected
    assert previous_link(store, reg, FIRST) == genesis_anchor(None, reg.revision)


def test_fair_share_and_live_helpers(store: SqliteStore) -> None:
    reg = registry()
    shares = {f.landlord: f for f in fair_share_for_period(store, reg, CAL, FIRST, LAST, now=NOW)}
    assert shares["paris-habitat"].presence_s > shares["other"].presence_s > 0
    idle = idle_checkpoints_now(store, reg, CAL, now=NOW, threshold_s=3600, landlord="paris-habitat")
    rows = {r.checkpoint_id: r for r in idle}
    assert rows["a"].idle_s == 2 * 3600 + 25 * 60  # visited until 16:35 today, now 19:00
    assert rows["u"].at_least
    assert idle[0].checkpoint_id == "u"  # never heard: most idle first
    assert "c" not in rows  # another landlord's
    teams = team_checkins_now(store, reg, now=NOW, lookback_days=7)
    assert (teams[0].badge, teams[0].checkpoint_id) == ("team-1", "a")  # today 16:35, the latest
    assert {t.badge for t in teams} == {"team-1", "team-2"}
    assert [t.badge for t in team_checkins_now(store, reg, now=NOW, lookback_days=1)] == ["team-1"]
    flags = maintenance_now(store, reg, now=NOW)
    assert all(f.checkpoint_id != "a" for f in flags)
