"""Issue 2's end-to-end tests: one scripted evening through real parts, on SQLite and on InfluxDB.

The team's route is written below; the expected coverage next to it is written by hand from that
route (not computed by Ronde's code): five checkpoints, one of them never approached.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ronde.demo.options import last_finished_service_day
from ronde.firmware_sim.scenarios import scripted_scenario
from ronde.ingest.rollup import rollup_day
from ronde.protocol import signing
from ronde.protocol.messages import IBeaconId, VisitEvent, format_time, to_wire, wire_bytes
from ronde.protocol.topics import TopicKind, gateway_topic
from ronde.store.config import open_store
from ronde.store.port import Store
from ronde.store.records import RetentionPolicy
from tests.e2e.harness import CAL, Evening, e2e_broker, estate_for, local, play_evening, registry, ulid_at
from tests.support.services import Influxd

pytestmark = [pytest.mark.slow, pytest.mark.mosquitto]

DAY = last_finished_service_day(CAL, datetime.now(UTC) - timedelta(days=1))


def route(day: date) -> list[tuple[str, datetime, datetime]]:
    """Hall, playground, green space (EID beacon), car park, hall again, then an hour at the playground."""
    return [
        ("e2e-hall-1", local(day, 16, 30), local(day, 16, 34)),
        ("e2e-aire-1", local(day, 16, 35), local(day, 16, 39)),
        ("e2e-vert-1", local(day, 16, 40), local(day, 16, 44)),
        ("e2e-parking-1", local(day, 16, 45), local(day, 16, 49)),
        ("e2e-hall-1", local(day, 16, 50), local(day, 16, 54)),
        ("e2e-aire-1", local(day, 16, 55), local(day, 17, 55)),
    ]


# checkpoint → (visits, first seen, last seen) local times, by hand from the route above
EXPECTED: dict[str, tuple[int, tuple[int, int] | None, tuple[int, int] | None]] = {
    "e2e-hall-1": (2, (16, 30), (16, 54)),
    "e2e-aire-1": (2, (16, 35), (17, 55)),
    "e2e-vert-1": (1, (16, 40), (16, 44)),
    "e2e-parking-1": (1, (16, 45), (16, 49)),
    "e2e-soussol-1": (0, None, None),  # never approached
}
# landlord → (checkpoints, visited): A has the hall and the playground; B the car parks and green space
EXPECTED_LANDLORDS = {"bailleur-a": (2, 2), "bailleur-b": (3, 2)}
# Radio: first/last strong advertisement vs. arrival/departure. In a 12 m green space the team wanders
# and the last minute can go unheard; the median error is asserted (≤ 10 s) by the simulator's score test.
TOLERANCE_S = 90


KEEP = RetentionPolicy(raw_days=400, proof_days=800, rejections_days=400)  # the DST test replays March


@pytest.fixture(params=["sqlite", "influxdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = open_store(f"sqlite://{tmp_path / 'e2e.sqlite'}", retention=KEEP)
    else:
        influxd: Influxd = request.getfixturevalue("influxd")
        s = open_store(influxd.url, database=f"e2e_{uuid.uuid4().hex[:8]}", retention=KEEP)
    try:
        yield s
    finally:
        s.close()


def _assert_coverage(evening: Evening, day: date) -> None:
    rows = {r["checkpoint_id"]: r for r in evening.get("/api/v1/coverage/checkpoints", day=str(day))}
    assert set(rows) == set(EXPECTED)
    for cid, (visits, first, last) in EXPECTED.items():
        row = rows[cid]
        assert row["visits"] == visits, (cid, row)
        assert row["covered"] is (visits >= 1), (cid, row)
        if first is None or last is None:
            assert row["first_seen"] is None
            assert row["last_seen"] is None
            continue
        got_first = datetime.fromisoformat(row["first_seen"])
        got_last = datetime.fromisoformat(row["last_seen"])
        assert abs((got_first - local(day, *first)).total_seconds()) <= TOLERANCE_S, (cid, row)
        assert abs((got_last - local(day, *last)).total_seconds()) <= TOLERANCE_S, (cid, row)
    landlords = {x["id"]: x["period"] for x in evening.get("/api/v1/coverage/landlords", first=str(day), last=str(day))}
    for lid, (checkpoints, visited) in EXPECTED_LANDLORDS.items():
        assert landlords[lid]["checkpoints"] == checkpoints
        assert landlords[lid]["visited"] == visited
        assert landlords[lid]["visited_share"] == pytest.approx(visited / checkpoints)


def test_scripted_evening_end_to_end(store: Store, tmp_path: Path) -> None:
    estate = estate_for(DAY, tmp_path)
    reg = registry(estate)
    scenario = scripted_scenario(reg, CAL, DAY, {"t1": route(DAY)}, seed=7)
    with (
        e2e_broker() as broker,
        play_evening(scenario, store, broker.port, tmp_path, estate=estate, broker_log=broker.log) as evening,
    ):
        _assert_coverage(evening, DAY)
        stored = evening.store.visits(*CAL.window(DAY))
        assert all(v.verification.value == "signed" for v in stored)
        assert {v.beacon_check.value for v in stored if v.checkpoint_id == "e2e-vert-1"} == {"eid_resolved"}

        # Redelivery: every visit message published a second time, byte for byte. Nothing doubles.
        originals = list(evening.published)  # the spy goes on recording what follows
        assert len(originals) == len(stored)
        before = evening.processed()
        for topic, payload in originals:
            evening.publish(topic, payload)
        evening.settle(before, len(originals))
        assert evening.ingest.counters.duplicates >= len(originals)
        assert len(evening.store.visits(*CAL.window(DAY))) == len(stored)
        _assert_coverage(evening, DAY)
        gw = scenario.teams[0].gateway_id

        # Bad messages: each rejected with a reason read back through the API; the pipeline goes on.
        key = evening.scanners.keys[gw]
        badge = scenario.teams[0].badge
        hall99, soussol = IBeaconId(uuid="0e2e" * 8, major=7, minor=99), IBeaconId(uuid="0e2e" * 8, major=7, minor=3)
        unknown = _event(gw, badge, 9001, hall99, local(DAY, 20, 0), key)
        mismatched = _event("gw-someone-else", badge, 9002, soussol, local(DAY, 20, 5), key)
        valid = _event(gw, badge, 9003, soussol, local(DAY, 20, 10), key)
        before = evening.processed()
        evening.publish(gateway_topic(gw, TopicKind.VISIT), b'{"v": 1, "type": "visit", "id": ')
        evening.publish(gateway_topic(gw, TopicKind.VISIT), unknown)
        evening.publish(gateway_topic(gw, TopicKind.VISIT), mismatched)  # names another gateway
        evening.publish(gateway_topic(gw, TopicKind.VISIT), valid)
        evening.settle(before, 4)
        reasons = {
            r["reason"] for r in evening.get("/api/v1/supervision/rejections", since=format_time(local(DAY, 12, 0)))
        }
        assert {"encoding", "unknown_beacon", "gateway_mismatch"} <= reasons, reasons
        late = [v for v in evening.store.visits(*CAL.window(DAY)) if v.checkpoint_id == "e2e-soussol-1"]
        assert [v.seq for v in late] == [9003]  # the valid message after the bad ones was stored
        rollup_day(evening.store, reg, CAL, DAY)  # ingest's maintenance re-rolls recent days
        soussol_rows = [
            r
            for r in evening.get("/api/v1/coverage/checkpoints", day=str(DAY))
            if r["checkpoint_id"] == "e2e-soussol-1"
        ]
        assert soussol_rows[0]["visits"] == 1


def test_dst_sundays_land_on_their_service_day(store: Store, tmp_path: Path) -> None:
    """21:30 local on the last Sunday of March and of October 2026, through the whole chain."""
    reg = registry()
    for day in (date(2026, 3, 29), date(2026, 10, 25)):
        stop = [("e2e-hall-1", local(day, 21, 28), local(day, 21, 32))]
        scenario = scripted_scenario(reg, CAL, day, {"t1": stop}, seed=3)
        age = (datetime.now(UTC).date() - day).days
        with (
            e2e_broker() as broker,
            play_evening(
                scenario, store, broker.port, tmp_path / str(day), raw_days=age + 30, broker_log=broker.log
            ) as evening,
        ):
            rows = {r["checkpoint_id"]: r for r in evening.get("/api/v1/coverage/checkpoints", day=str(day))}
            hall = rows["e2e-hall-1"]
            assert hall["visits"] == 1, hall
            first = datetime.fromisoformat(hall["first_seen"]).astimezone(CAL.tz)
            assert first.date() == day
            assert (first.hour, first.minute) in {(21, 27), (21, 28)}
            (v,) = [v for v in evening.store.visits(*CAL.window(day)) if v.checkpoint_id == "e2e-hall-1"]
            assert v.service_day == day


def _event(gw: str, badge: str, seq: int, beacon: IBeaconId, at: datetime, key: object) -> bytes:
    ev = VisitEvent(
        id=ulid_at(at, seq),
        gateway_id=gw,
        seq=seq,
        badge=badge,
        beacon=beacon,
        first_seen=at,
        last_seen=at + timedelta(seconds=90),
        count=80,
        rssi_max=-60,
        rssi_mean=-66.0,
    )
    return wire_bytes(signing.sign(to_wire(ev), key))  # type: ignore[arg-type]
