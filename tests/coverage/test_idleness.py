"""Idleness over a period (Machado et al. 2002) counted in service time only."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ronde.coverage.daily import day_rollups
from ronde.coverage.idleness import fold_idleness
from ronde.coverage.live import current_idleness, idle_over
from ronde.coverage.period import period_coverage
from ronde.coverage.service_time import service_seconds
from ronde.protocol.calendar import ServiceCalendar
from ronde.store.records import StoredVisit
from tests.coverage.factory import local, registry, visit

MON = date(2026, 11, 23)
WED, THU, FRI, SAT = (date(2026, 11, 25 + i) for i in range(4))
CLOSED_THU = ServiceCalendar(closed=frozenset({THU}))


def test_service_seconds_skip_nights_and_closed_days() -> None:
    # Wed 22:00 → Fri 16:30 with Thursday closed: 15 min on Wednesday + 30 min on Friday
    assert service_seconds(CLOSED_THU, local(WED, 22), local(FRI, 16, 30)) == 2700.0
    # the same with Thursday open adds Thursday's whole window (6 h 15)
    assert service_seconds(ServiceCalendar(), local(WED, 22), local(FRI, 16, 30)) == 2700.0 + 22500.0
    # Sunday 22:00 → Wednesday 16:10: Monday and Tuesday are not service days
    sun, next_wed = date(2026, 11, 29), date(2026, 12, 2)
    assert service_seconds(ServiceCalendar(), local(sun, 22), local(next_wed, 16, 10)) == 900.0 + 600.0


def _two_days() -> list[StoredVisit]:
    reg = registry()
    return [
        visit(reg, "a", WED, local(WED, 17, 0), local(WED, 17, 10)),
        visit(reg, "a", FRI, local(FRI, 16, 30), local(FRI, 16, 40)),
        visit(reg, "a", FRI, local(FRI, 20, 0), local(FRI, 20, 10)),
    ]


def test_period_idleness_carries_over_closed_day_and_night() -> None:
    reg = registry()
    cov = period_coverage(
        reg, CLOSED_THU, WED, FRI, rollups=[], visits=_two_days(), now=local(SAT, 10), landlord="paris-habitat"
    )
    a = next(c for c in cov.checkpoints if c.checkpoint_id == "a")
    # Gaps on the service clock (Wed, Fri; Thursday closed):
    #   3600 (Wed 16:00→17:00, from the period start), 18300 + 1800 = 20100 (Wed 17:10→22:15 then
    #   Fri 16:00→16:30), 12000 (Fri 16:40→20:00), 7500 (Fri 20:10→22:15).
    assert cov.days == (WED, FRI)
    assert a.idleness.service_s == 45000.0
    assert a.idleness.worst_idle_s == 20100.0
    assert a.idleness.average_idle_s == pytest.approx((3600**2 + 20100**2 + 12000**2 + 7500**2) / 90000)
    assert a.idleness.average_idle_s == pytest.approx(6858.0)
    # gaps between visits: 20100 and 12000 → mean 16050, σ 4050
    assert a.idleness.gaps == 2
    assert a.idleness.mean_gap_s == pytest.approx(16050.0)
    assert a.idleness.gap_cv == pytest.approx(4050 / 16050)
    assert (a.visits, a.covered_days, a.presence_s) == (3, 2, 1800.0)


def test_rollups_and_raw_visits_give_the_same_period_figures() -> None:
    reg = registry()
    visits = _two_days()
    rollups = [r for d in (WED, FRI) for r in day_rollups(reg, CLOSED_THU, d, visits)]
    from_rollups = period_coverage(reg, CLOSED_THU, WED, FRI, rollups=rollups, now=local(SAT, 10))
    from_raw = period_coverage(reg, CLOSED_THU, WED, FRI, rollups=[], visits=visits, now=local(SAT, 10))
    assert from_rollups.checkpoints == from_raw.checkpoints


def test_current_idleness_counts_service_time_only() -> None:
    reg = registry()
    visits = [visit(reg, "a", WED, local(WED, 21, 50), local(WED, 22, 0))]
    now = local(FRI, 16, 30)
    rows = {r.checkpoint_id: r for r in current_idleness(reg, CLOSED_THU, visits, now=now, since=local(MON, 0))}
    assert rows["a"].idle_s == 2700.0
    assert not rows["a"].at_least
    assert rows["a"].last_visit == local(WED, 22, 0)
    # never seen since Monday: at least Wed's whole window + 30 min on Friday
    assert rows["b"].idle_s == 22500.0 + 1800.0
    assert rows["b"].at_least
    over = idle_over(reg, CLOSED_THU, visits, 3000.0, now=now, since=local(MON, 0), landlord="paris-habitat")
    assert [r.checkpoint_id for r in over] == ["b", "u"]  # 'a' (2700 s) is under the threshold


def test_visit_ending_after_service_counts_until_window_end() -> None:
    reg = registry()
    visits = [visit(reg, "a", WED, local(WED, 22, 0), local(WED, 23, 0))]
    rows = {
        r.checkpoint_id: r
        for r in current_idleness(reg, CLOSED_THU, visits, now=local(FRI, 16, 10), since=local(MON, 0))
    }
    assert rows["a"].last_visit == local(WED, 22, 15)
    assert rows["a"].idle_s == 600.0


# ---- property: the fold over days equals a direct computation on the service clock ----------


def _reference(
    cal: ServiceCalendar, days: list[date], parts: list[tuple[datetime, datetime]]
) -> tuple[float, float, float | None]:
    offsets: dict[date, float] = {}
    total = 0.0
    for d in days:
        offsets[d] = total
        w_start, w_end = cal.window(d)
        total += (w_end - w_start).total_seconds()
    clock: list[tuple[float, float]] = []
    for lo, hi in parts:
        day = cal.service_day(lo) or cal.service_day(hi - timedelta(microseconds=1))
        assert day is not None
        origin = cal.window(day)[0]
        clock.append((offsets[day] + (lo - origin).total_seconds(), offsets[day] + (hi - origin).total_seconds()))
    clock.sort()
    if not clock:
        return total / 2, total, None
    gaps = [clock[0][0]]
    end = clock[0][1]
    for c_lo, c_hi in clock[1:]:
        gaps.append(max(0.0, c_lo - end))
        end = max(end, c_hi)
    gaps.append(total - end)
    inner = gaps[1:-1]
    cv = None
    if len(inner) >= 2:
        mean = sum(inner) / len(inner)
        if mean > 0:
            cv = math.sqrt(max(0.0, sum(g * g for g in inner) / len(inner) - mean * mean)) / mean
    return sum(g * g for g in gaps) / (2 * total), max(gaps), cv


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 22500 - 1), st.integers(0, 3000)), max_size=12))
def test_fold_matches_direct_service_clock(specs: list[tuple[int, int, int]]) -> None:
    reg = registry()
    days = [WED, FRI, SAT, date(2026, 11, 29), date(2026, 12, 2)]  # Thursday closed; Mon/Tue off
    visits: list[StoredVisit] = []
    parts: list[tuple[datetime, datetime]] = []
    for i, (k, offset, length) in enumerate(specs):
        d = days[k]
        start = CLOSED_THU.window(d)[0] + timedelta(seconds=offset)
        end = min(start + timedelta(seconds=length), CLOSED_THU.window(d)[1])
        # one badge per visit: this checks the idleness fold, not the joining of one team's fragments
        visits.append(visit(reg, "a", d, start, end, event_id=f"e{i}", badge=f"team-{i:02d}"))
        parts.append((start, end))
    rollups = [r for d in days for r in day_rollups(reg, CLOSED_THU, d, visits, landlord="paris-habitat")]
    samples = [(*CLOSED_THU.window(r.service_day), r) for r in rollups if r.checkpoint_id == "a"]
    got = fold_idleness(samples)
    avg, worst, cv = _reference(CLOSED_THU, days, parts)
    assert got.average_idle_s == pytest.approx(avg, rel=1e-9, abs=1e-6)
    assert got.worst_idle_s == pytest.approx(worst)
    if cv is None:
        assert got.gap_cv is None or got.gaps < 2 or got.mean_gap_s == 0
    else:
        assert got.gap_cv == pytest.approx(cv, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize(
    ("saturday", "sunday"), [(date(2026, 3, 28), date(2026, 3, 29)), (date(2026, 10, 24), date(2026, 10, 25))]
)
def test_idleness_across_the_daylight_saving_night(saturday: date, sunday: date) -> None:
    """The clock change happens at night, outside service: 15 min on Saturday + 30 min on Sunday."""
    reg = registry()
    cal = ServiceCalendar()
    visits = [visit(reg, "a", saturday, local(saturday, 21, 55), local(saturday, 22, 0))]
    rows = {
        r.checkpoint_id: r
        for r in current_idleness(reg, cal, visits, now=local(sunday, 16, 30), since=local(saturday, 0))
    }
    assert rows["a"].idle_s == 2700.0
    cov = period_coverage(reg, cal, saturday, sunday, rollups=[], visits=visits, now=local(sunday, 23))
    a = next(c for c in cov.checkpoints if c.checkpoint_id == "a")
    # two windows of 6 h 15 each, whatever the UTC offsets: gaps 21300 (Sat 16:00→21:55) and
    # 900 + 22500 = 23400 (Sat 22:00→22:15, then all of Sunday)
    assert a.idleness.service_s == 45000.0
    assert a.idleness.worst_idle_s == 23400.0
    assert a.idleness.average_idle_s == pytest.approx((21300**2 + 23400**2) / 90000)
