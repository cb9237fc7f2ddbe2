"""Live supervision helpers: last check-ins, beacons to service."""

from __future__ import annotations

import dataclasses
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from ronde.coverage import live
from ronde.coverage.live import MaintenanceReason, beacons_needing_maintenance, last_checkins, neighbours
from ronde.store.records import DEFAULT_SEQUENCE_ANOMALY_AFTER, BeaconTelemetryRecord, SequenceGap
from tests.coverage.factory import local, registry, visit

DAYS = [date(2026, 11, d) for d in (18, 19, 20, 21, 22, 25)]  # Wed..Sun, Wed


def test_each_teams_last_checkin() -> None:
    reg = registry()
    d = DAYS[0]
    visits = [
        visit(reg, "a", d, local(d, 17), local(d, 17, 5), badge="team-1"),
        visit(reg, "b", d, local(d, 18), local(d, 18, 5), badge="team-1"),
        visit(reg, "c", d, local(d, 17, 30), local(d, 17, 40), badge="team-2"),
    ]
    rows = last_checkins(reg, visits)
    assert [(r.badge, r.checkpoint_id, r.at) for r in rows] == [
        ("team-1", "b", local(d, 18, 5)),
        ("team-2", "c", local(d, 17, 40)),
    ]
    assert rows[0].checkpoint_name == "Point b"


def test_no_per_badge_score_exists() -> None:
    """The CNIL line (SAN-2023-021): nothing in the live module sums or ranks activity per badge."""
    fields = {f.name for f in dataclasses.fields(live.TeamCheckin)}
    assert fields == {"badge", "checkpoint_id", "checkpoint_name", "estate", "at"}
    public = {n for n in dir(live) if not n.startswith("_")}
    assert not {n for n in public if "score" in n.lower() or "per_badge" in n.lower() or "ranking" in n.lower()}


def test_neighbours_exclude_other_estates_and_underground() -> None:
    near = neighbours(registry(), 50.0)
    assert sorted(near["a"]) == ["b", "p"]  # 20 m and 30 m; 'u' is underground, 'c' another estate
    assert near["u"] == []
    assert sorted(neighbours(registry(), 25.0)["a"]) == ["b"]


def test_beacon_not_seen_although_teams_passed_its_neighbours() -> None:
    reg = registry()
    visits = [visit(reg, "a", d, local(d, 17), local(d, 17, 5)) for d in DAYS]
    visits.append(visit(reg, "b", DAYS[0], local(DAYS[0], 18), local(DAYS[0], 18, 5)))  # b last heard day 1
    visits.append(visit(reg, "p", DAYS[4], local(DAYS[4], 18), local(DAYS[4], 18, 5)))
    flags = beacons_needing_maintenance(reg, visits, {}, neighbour_m=50.0, min_missed_days=3)
    by = {(f.checkpoint_id, f.reason): f for f in flags}
    b = by[("b", MaintenanceReason.NOT_SEEN_NEAR_VISITS)]
    assert b.last_seen_day == DAYS[0]
    assert b.missed_days == tuple(DAYS[1:])  # five days a team passed 'a' while 'b' stayed silent
    # 'p' was heard on day 5, after which 'a' was visited once only: not flagged yet
    assert ("p", MaintenanceReason.NOT_SEEN_NEAR_VISITS) not in by
    # 'u' is under 'a' but underground: passing 'a' says nothing about it
    assert ("u", MaintenanceReason.NOT_SEEN_NEAR_VISITS) not in by
    assert ("a", MaintenanceReason.NOT_SEEN_NEAR_VISITS) not in by
    only_ph = beacons_needing_maintenance(reg, visits, {}, landlord="other")
    assert all(f.landlord == "other" for f in only_ph)


def test_low_battery_from_tlm() -> None:
    reg = registry()
    at = local(DAYS[0], 18)

    def tlm(cid: str, mv: int | None) -> BeaconTelemetryRecord:
        return BeaconTelemetryRecord(
            at=at, checkpoint_id=cid, gateway_id="gw-1", battery_mv=mv, temperature_c=10.0, adv_count=1, uptime_s=1.0
        )

    telemetry = {"a": tlm("a", 2400), "b": tlm("b", 3000), "c": tlm("c", 0), "p": tlm("p", None)}
    flags = beacons_needing_maintenance(reg, [], telemetry, min_missed_days=99)
    assert [(f.checkpoint_id, f.reason, f.battery_mv) for f in flags] == [
        ("a", MaintenanceReason.LOW_BATTERY, 2400)
    ]  # 0 mV means "not reported" in TLM
    assert (
        beacons_needing_maintenance(reg, [], list(telemetry.values()), low_battery_mv=3100, min_missed_days=99)[
            -1
        ].checkpoint_id
        == "b"
    )


def test_gap_states_count_what_is_still_missing() -> None:
    at = local(date(2026, 11, 26), 20, 0)
    gaps = [SequenceGap("gw-a", 5, 7, at), SequenceGap("gw-a", 12, 12, at), SequenceGap("gw-b", 1, 2, at)]
    states = live.gap_states(gaps, {"gw-a": [1, 2, 3, 4, 6, 8, 12, 12]})
    assert [(s.gap.first_missing, s.still_missing, s.filled) for s in states] == [
        (5, 2, False),
        (12, 0, True),
        (1, 2, False),
    ]


MAX_SEQ = 2**53 - 1  # the protocol's largest sequence number


def test_count_within_is_a_range_count() -> None:
    numbers = live.distinct_sorted([9, 3, 3, 5, 1, MAX_SEQ, 7])
    assert numbers == [1, 3, 5, 7, 9, MAX_SEQ]
    assert live.count_within(numbers, 2, 8) == 3
    assert live.count_within(numbers, 3, 3) == 1
    assert live.count_within(numbers, 4, 4) == 0
    assert live.count_within(numbers, 10, MAX_SEQ) == 1
    assert live.count_within(numbers, 0, 2**64) == 6
    assert live.count_within(numbers, 8, 2) == 0  # reversed bounds: an empty range
    assert live.count_within([], 1, MAX_SEQ) == 0


@given(st.lists(st.integers(1, 60), max_size=40), st.integers(1, 60), st.integers(0, 30))
def test_still_missing_from_ranges_matches_enumeration(arrived: list[int], first: int, width: int) -> None:
    """On ranges small enough to enumerate, the range arithmetic gives what enumeration gives."""
    gap = SequenceGap("gw-a", first, first + width, local(date(2026, 11, 26), 20, 0))
    (state,) = live.gap_states([gap], {"gw-a": arrived})
    assert state.still_missing == sum(1 for s in range(first, first + width + 1) if s not in set(arrived))
    assert state.size == width + 1
    assert not state.anomaly


def test_a_jump_to_the_largest_sequence_is_an_anomaly_counted_without_enumerating() -> None:
    """A signed ``"seq": 9007199254740991`` after 1..3 records gap 4..2^53-2: counted from its bounds
    at once (enumerating it would take years), and flagged as an anomaly, not as lost events."""
    at = local(date(2026, 11, 26), 20, 0)
    jump = SequenceGap("gw-a", 4, MAX_SEQ - 1, at)
    ordinary = SequenceGap("gw-a", 10, 12, at)
    arrived = {"gw-a": [1, 2, 3, 11, 5_000_000, MAX_SEQ, MAX_SEQ - 1]}
    big, small = live.gap_states([jump, ordinary], arrived)
    assert big.size == MAX_SEQ - 4
    assert big.still_missing == MAX_SEQ - 4 - 3  # 11, 5,000,000 and 2^53-2 came
    assert big.anomaly
    assert not big.filled
    assert (small.still_missing, small.anomaly) == (2, False)
    at_bound = SequenceGap("gw-a", 1, 100_000, at)
    over = SequenceGap("gw-a", 1, 100_001, at)
    assert [s.anomaly for s in live.gap_states([at_bound, over], {})] == [False, True]
    assert DEFAULT_SEQUENCE_ANOMALY_AFTER == 100_000
    assert [s.anomaly for s in live.gap_states([ordinary], {}, anomaly_after=2)] == [True]


def test_a_reversed_gap_record_is_empty_not_negative() -> None:
    (state,) = live.gap_states([SequenceGap("gw-a", 9, 3, local(date(2026, 11, 26), 20, 0))], {"gw-a": [5]})
    assert (state.size, state.still_missing, state.filled) == (0, 0, True)
