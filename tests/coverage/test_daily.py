"""Per checkpoint-day figures and rollups, with expected values worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ronde.coverage.daily import day_figures, day_rollups
from ronde.ingest.rollup import build_daily_rollups
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.chain import chain_link, event_digest, genesis_anchor
from tests.coverage.factory import local, registry, visit

CAL = ServiceCalendar()
WED = date(2026, 11, 25)  # a Wednesday, winter time (UTC+1)
THU = date(2026, 11, 26)
MON = date(2026, 11, 23)
DST_SPRING = date(2026, 3, 29)  # last Sunday of March: 02:00 → 03:00
DST_AUTUMN = date(2026, 10, 25)  # last Sunday of October: 03:00 → 02:00


def test_visits_clipped_to_service_hours() -> None:
    reg = registry()
    visits = [
        visit(reg, "a", WED, local(WED, 15, 50), local(WED, 16, 10)),  # starts before 16:00: 600 s count
        visit(reg, "a", WED, local(WED, 18, 0), local(WED, 18, 5)),  # 300 s
        visit(reg, "a", WED, local(WED, 22, 10), local(WED, 22, 30)),  # ends after 22:15: 300 s count
        visit(reg, "a", WED, local(WED, 23, 0), local(WED, 23, 5)),  # entirely outside: not a visit
        visit(reg, "a", WED, local(WED, 12, 0), local(WED, 12, 30)),  # entirely outside: not a visit
    ]
    rows = {r.checkpoint_id: r for r in day_rollups(reg, CAL, WED, visits)}
    a = rows["a"]
    assert a.visits == 3
    assert a.covered
    assert a.first_seen == local(WED, 16, 0)
    assert a.last_seen == local(WED, 22, 15)
    assert a.presence_s == 1200.0
    # gaps: 0 (lead), 16:10→18:00 = 6600, 18:05→22:10 = 14700, 0 (trail)
    assert a.max_idle_s == 14700.0
    assert a.mean_idle_s == pytest.approx((6600**2 + 14700**2) / (2 * 22500))  # 5770 s
    assert a.mean_idle_s == pytest.approx(5770.0)
    b = rows["b"]  # not visited: idle the whole window
    assert (b.visits, b.covered, b.presence_s, b.max_idle_s, b.mean_idle_s) == (0, False, 0.0, 22500.0, 11250.0)
    assert b.first_seen is None
    assert b.last_seen is None


def test_expected_visits_per_kind() -> None:
    reg = registry()
    one = [visit(reg, "p", WED, local(WED, 17), local(WED, 17, 10))]
    two = [*one, visit(reg, "p", WED, local(WED, 20), local(WED, 20, 10))]
    assert not {r.checkpoint_id: r for r in day_rollups(reg, CAL, WED, one)}["p"].covered
    p = {r.checkpoint_id: r for r in day_rollups(reg, CAL, WED, two)}["p"]
    assert p.covered
    assert p.expected == 2
    assert p.visits == 2


def test_overlapping_visits_count_presence_once() -> None:
    reg = registry()
    visits = [
        visit(reg, "a", WED, local(WED, 17, 0), local(WED, 17, 20), badge="team-1"),
        visit(reg, "a", WED, local(WED, 17, 10), local(WED, 17, 30), badge="team-2"),
    ]
    f = day_figures([(v.first_seen, v.last_seen) for v in visits], *CAL.window(WED))
    assert f.visits == 2
    assert f.presence_s == 1800.0  # 17:00–17:30, not 2 × 20 min
    # gaps: 3600 lead, 0 between the overlapping visits, 17:30→22:15 = 17100 trail
    assert f.max_idle_s == 17100.0
    assert f.mean_idle_s == pytest.approx((3600**2 + 17100**2) / 45000)


def test_closed_and_non_service_days_give_no_rollups() -> None:
    reg = registry()
    cal = ServiceCalendar(closed=frozenset({THU}))
    v = visit(reg, "a", THU, local(THU, 17), local(THU, 17, 5))
    assert day_rollups(reg, cal, THU, [v]) == []
    assert day_rollups(reg, CAL, MON, []) == []
    assert build_daily_rollups(reg, cal, THU, [v], genesis_anchor(None, reg.revision)) == []


@pytest.mark.parametrize(
    ("day", "utc_start", "utc_end"),
    [
        (DST_SPRING, datetime(2026, 3, 29, 14, 0, tzinfo=UTC), datetime(2026, 3, 29, 20, 15, tzinfo=UTC)),
        (DST_AUTUMN, datetime(2026, 10, 25, 15, 0, tzinfo=UTC), datetime(2026, 10, 25, 21, 15, tzinfo=UTC)),
    ],
)
def test_daylight_saving_days_keep_local_hours(day: date, utc_start: datetime, utc_end: datetime) -> None:
    reg = registry()
    # 13:30–14:30 UTC on the spring day is 15:30–16:30 CEST: 30 min inside.
    # On the autumn day the same UTC times are 14:30–15:30 CET: outside.
    visits = [
        visit(
            reg,
            "a",
            day,
            datetime(day.year, day.month, day.day, 13, 30, tzinfo=UTC),
            datetime(day.year, day.month, day.day, 14, 30, tzinfo=UTC),
        ),
        visit(reg, "a", day, utc_end.replace(minute=0), utc_end.replace(minute=30)),  # 20:00–20:30 or 21:00–21:30 UTC
    ]
    a = {r.checkpoint_id: r for r in day_rollups(reg, CAL, day, visits)}["a"]
    assert CAL.window(day) == (utc_start, utc_end)
    if day == DST_SPRING:
        # inside: 14:00–14:30 UTC (1800 s) and 20:00–20:15 UTC (900 s)
        assert (a.visits, a.presence_s) == (2, 2700.0)
        assert a.first_seen == utc_start
        assert a.last_seen == utc_end
        # gaps: 0, 14:30→20:00 = 19800, 0
        assert a.max_idle_s == 19800.0
        assert a.mean_idle_s == pytest.approx(19800**2 / 45000)
    else:
        # only 21:00–21:15 UTC (900 s); lead 15:00→21:00 = 21600
        assert (a.visits, a.presence_s) == (1, 900.0)
        assert a.first_seen == datetime(2026, 10, 25, 21, 0, tzinfo=UTC)
        assert a.max_idle_s == 21600.0
        assert a.mean_idle_s == pytest.approx(21600**2 / 45000)


def test_build_daily_rollups_carries_the_days_chain_link() -> None:
    reg = registry()
    prev = genesis_anchor(None, reg.revision)
    today = [
        visit(reg, "a", WED, local(WED, 17), local(WED, 17, 5)),
        visit(reg, "c", WED, local(WED, 18), local(WED, 18, 5)),
    ]
    yesterday = visit(reg, "b", date(2026, 11, 22), local(date(2026, 11, 22), 17), local(date(2026, 11, 22), 17, 5))
    rows = build_daily_rollups(reg, CAL, WED, [*today, yesterday], prev)
    assert sorted(r.checkpoint_id for r in rows) == ["a", "b", "c", "p", "u"]  # every checkpoint, all landlords
    expected_link = chain_link(prev, WED, [event_digest(v) for v in today])
    assert {r.chain_digest for r in rows} == {expected_link}
    by_id = {r.checkpoint_id: r for r in rows}
    assert by_id["a"].covered
    assert by_id["c"].covered
    assert not by_id["b"].covered  # other day's visit ignored
    assert by_id["c"].landlord == "other"
    assert by_id["a"].building == "b1"


def test_visits_of_unknown_checkpoints_are_kept() -> None:
    reg = registry()
    v = visit(reg, "a", WED, local(WED, 17), local(WED, 17, 5))
    stray = type(v)(**{**{f: getattr(v, f) for f in v.__slots__}, "checkpoint_id": "gone", "event_id": "x"})
    rows = {r.checkpoint_id: r for r in day_rollups(reg, CAL, WED, [v, stray])}
    assert rows["gone"].visits == 1
    assert rows["gone"].covered


def test_ingest_and_coverage_agree_on_the_service_window() -> None:
    """docs/coverage.md, "Service time", through the real ingest validator: a visit first seen
    before the window opens never reaches coverage (out_of_service); one first seen inside and
    running past 22:15 is stored as signed and counts until 22:15 only; one longer than ingest's
    max_visit is refused (visit_too_long) before it can inflate presence."""
    from datetime import timedelta

    from ronde.ingest.validate import Accepted, validate
    from ronde.store.records import Rejection, RejectReason, StoredVisit
    from tests.ingest import helpers

    cp = helpers.static_checkpoints()[0]
    ctx = helpers.context(calendar=CAL)

    def ingest(seq: int, first: datetime, last: datetime) -> StoredVisit | RejectReason:
        obj = helpers.visit(seq, checkpoint=cp, first_seen=first, dwell_s=(last - first).total_seconds())
        result = validate(helpers.topic(), helpers.encode(obj), last + timedelta(minutes=1), ctx)
        if isinstance(result, Rejection):
            return result.reason
        assert isinstance(result, Accepted)
        assert isinstance(result.record, StoredVisit)
        return result.record

    assert ingest(1, local(THU, 15, 50), local(THU, 16, 10)) is RejectReason.OUT_OF_SERVICE
    assert ingest(2, local(THU, 21, 0), local(THU, 23, 0)) is RejectReason.VISIT_TOO_LONG
    late = ingest(3, local(THU, 22, 10), local(THU, 22, 30))
    long = ingest(4, local(THU, 21, 30), local(THU, 22, 25))  # 55 min: a possible visit
    assert isinstance(late, StoredVisit)
    assert isinstance(long, StoredVisit)
    assert late.last_seen == local(THU, 22, 30)  # stored unclipped, as the gateway signed it
    row = {r.checkpoint_id: r for r in day_rollups(helpers.REGISTRY, CAL, THU, [late, long])}[cp.id]
    assert row.presence_s == 45 * 60  # 21:30–22:15: the union, clipped at the window's end
    assert row.last_seen == local(THU, 22, 15)
