"""Shares covered per building/estate/landlord, and fair share of presence."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from ronde.coverage.period import combine_groups, period_coverage
from ronde.coverage.shares import GroupCoverage, LazyDays, Level, Share, days_tuple, fair_share
from ronde.protocol.calendar import ServiceCalendar
from tests.coverage.factory import local, registry, visit

CAL = ServiceCalendar()
SUN, WED, THU = date(2026, 11, 22), date(2026, 11, 25), date(2026, 11, 26)


def test_fair_share_against_dwellings() -> None:
    reg = registry()  # Paris Habitat 2,891 of 5,836 dwellings
    shares = {f.landlord: f for f in fair_share(reg, {"paris-habitat": 3600.0, "other": 3600.0})}
    ph = shares["paris-habitat"]
    assert ph.dwelling_share == pytest.approx(0.495373, abs=1e-6)  # 49.5 %
    assert ph.presence_share == 0.5
    assert ph.ratio == pytest.approx(0.5 / (2891 / 5836))  # 1.0093: slightly more than its share
    other = shares["other"]
    assert other.ratio == pytest.approx(0.5 / (2945 / 5836))
    empty = {f.landlord: f for f in fair_share(reg, {})}
    assert empty["paris-habitat"].presence_share is None
    assert empty["paris-habitat"].ratio is None


def test_fair_share_from_period_presence() -> None:
    reg = registry()
    visits = [
        visit(reg, "a", WED, local(WED, 17), local(WED, 17, 30)),  # 1800 s Paris Habitat
        visit(reg, "b", WED, local(WED, 17, 15), local(WED, 17, 45)),  # 1800 s Paris Habitat
        visit(reg, "c", WED, local(WED, 18), local(WED, 18, 20)),  # 1200 s other
    ]
    cov = period_coverage(reg, CAL, WED, WED, rollups=[], visits=visits, now=local(THU, 10))
    presence = cov.presence_by_landlord()
    assert presence == {"paris-habitat": 3600.0, "other": 1200.0}
    ph = {f.landlord: f for f in fair_share(reg, presence)}["paris-habitat"]
    assert ph.presence_share == 0.75
    assert ph.ratio == pytest.approx(0.75 * 5836 / 2891)


def test_group_shares_per_day_and_period() -> None:
    reg = registry()
    visits = [
        visit(reg, "a", WED, local(WED, 17), local(WED, 17, 5)),
        visit(reg, "a", THU, local(THU, 17), local(THU, 17, 5)),
        visit(reg, "b", THU, local(THU, 18), local(THU, 18, 5)),
        visit(reg, "b", SUN, local(SUN, 18), local(SUN, 18, 5)),  # the Sunday before the period
    ]
    cov = period_coverage(
        reg, CAL, WED, THU, rollups=[], visits=visits, now=local(date(2026, 11, 28), 10), landlord="paris-habitat"
    )
    groups = {(g.level, g.id): g for g in cov.groups}
    b1 = groups[(Level.BUILDING, "b1")]  # a, b, u
    days = dict(b1.days)
    assert (days[WED].checkpoint_days, days[WED].covered) == (3, 1)
    assert (days[THU].checkpoint_days, days[THU].covered) == (3, 2)
    assert b1.period.checkpoint_days == 6
    assert b1.period.covered == 3
    assert b1.period.share == 0.5
    # b on Wednesday: heard Sunday and Thursday, gateway alive (a visited) → not visited;
    # u: never heard → no data
    assert (b1.period.not_visited, b1.period.no_data) == (1, 2)
    assert b1.period.share_sensed == pytest.approx(3 / 4)
    assert groups[(Level.LANDLORD, "paris-habitat")].period == b1.period
    assert groups[(Level.ESTATE, "e1")].name == "Les Mordacs"
    assert (Level.LANDLORD, "other") not in groups  # scoped to one landlord


def test_lazy_days_read_compare_hash_and_print_as_the_tuple_they_stand_for() -> None:
    """``LazyDays``: made once, on first read, then the same tuple; a group holding them equals (and hashes and
    prints as) one holding the tuple, and ``combine_groups`` keeps them lazy until read."""
    days = ((date(2026, 11, 4), Share(3, 2, 1, 0)), (date(2026, 11, 5), Share(3, 3, 0, 0)))
    made: list[int] = []

    def make() -> tuple[tuple[date, Share], ...]:
        made.append(1)
        return days

    lazy = LazyDays(make)
    group = GroupCoverage(Level.ESTATE, "mordacs", "Les Mordacs", lazy, Share(6, 5, 1, 0))
    assert made == []
    eager = GroupCoverage(Level.ESTATE, "mordacs", "Les Mordacs", days, Share(6, 5, 1, 0))
    assert group == eager
    assert eager == group
    assert hash(group) == hash(eager)
    assert repr(group) == repr(eager)
    assert (lazy[0], lazy[-1:], len(lazy), list(lazy), list(reversed(lazy))) == (
        days[0],
        days[-1:],
        2,
        list(days),
        list(reversed(days)),
    )
    assert days_tuple(lazy) is days_tuple(lazy)
    assert made == [1]
    assert lazy != days[:1]
    assert lazy != [*days]  # a tuple's equality: not a list's
    other = LazyDays(lambda: days[:1])
    [joined] = combine_groups({(Level.ESTATE, "mordacs"): [group, replace(group, days=other)]})
    assert isinstance(joined.days, LazyDays)
    assert joined.days == days + days[:1]
    [plain] = combine_groups({(Level.ESTATE, "mordacs"): [eager, eager]})
    assert type(plain.days) is tuple
    assert plain.days == days + days
