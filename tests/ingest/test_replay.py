from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from ronde.ingest.replay import impossible_walk, time_gap_s
from ronde.protocol.estate import distance_m
from ronde.store.records import BeaconCheck, StoredVisit, Verification
from tests.ingest.helpers import REGISTRY

T0 = datetime(2026, 11, 26, 19, 0, tzinfo=UTC)
CPS = list(REGISTRY.checkpoints.values())


def _visit(eid: str, cp_id: str, start: datetime, dwell_s: float = 30, gateway: str = "gw-a") -> StoredVisit:
    cp = REGISTRY.checkpoints[cp_id]
    return StoredVisit(
        event_id=eid,
        gateway_id=gateway,
        seq=1,
        badge="EQUIPE-A1",
        checkpoint_id=cp_id,
        kind=cp.kind.value,
        building=cp.building,
        estate=cp.estate,
        landlord=cp.landlord,
        service_day=date(2026, 11, 26),
        first_seen=start,
        last_seen=start + timedelta(seconds=dwell_s),
        count=3,
        rssi_max=-60,
        rssi_mean=-70.0,
        verification=Verification.SIGNED,
        beacon_check=BeaconCheck.EID_RESOLVED,
        received_at=start,
        payload_sha256="0" * 64,
    )


def test_time_gap() -> None:
    a = _visit("a", CPS[0].id, T0, 60)
    assert time_gap_s(a, _visit("b", CPS[1].id, T0 + timedelta(seconds=30))) == 0  # overlap
    assert time_gap_s(a, _visit("b", CPS[1].id, T0 + timedelta(seconds=100))) == 40
    assert time_gap_s(_visit("b", CPS[1].id, T0 + timedelta(seconds=100)), a) == 40


def test_walking_speed_and_radio_range() -> None:
    a, b = CPS[0], max(CPS, key=lambda c: distance_m(CPS[0], c))
    d = distance_m(a, b)
    here = _visit("x", b.id, T0 + timedelta(seconds=60))
    track = [_visit("t", a.id, T0, 30)]
    walk = impossible_walk(here, track, REGISTRY.checkpoints)
    assert walk is not None
    assert walk.distance_m == d
    assert walk.gap_s == 30
    # enough time to walk there (1.5 m/s, 50 m of radio reach at each end)
    later = replace(
        here,
        first_seen=T0 + timedelta(seconds=30 + (d - 100) / 1.5 + 1),
        last_seen=T0 + timedelta(seconds=30 + (d - 100) / 1.5 + 31),
    )
    assert impossible_walk(later, track, REGISTRY.checkpoints) is None
    # other gateways' tracks, and the same checkpoint, say nothing
    assert impossible_walk(here, [replace(track[0], gateway_id="gw-b")], REGISTRY.checkpoints) is None
    assert impossible_walk(here, [replace(track[0], checkpoint_id=b.id)], REGISTRY.checkpoints) is None
    # neighbours within radio range of each other are never flagged
    near = min((c for c in CPS if c.id != a.id), key=lambda c: distance_m(a, c))
    assert distance_m(a, near) < 100
    assert impossible_walk(_visit("y", near.id, T0), track, REGISTRY.checkpoints) is None


@pytest.mark.parametrize("max_pairs", [None, 50])
def test_walk_check_answers_as_impossible_walk(max_pairs: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch form (plain numbers, distances kept) flags exactly the visits ``impossible_walk`` flags; so it does
    with its distances forgotten again and again (``max_pairs`` 50: the sample's pairs are ~80 times that)."""
    import random

    from ronde.ingest import replay
    from ronde.ingest.replay import WalkCheck

    if max_pairs is not None:
        monkeypatch.setattr(replay, "_MAX_PAIRS", max_pairs)
    rng = random.Random(17)
    check = WalkCheck(REGISTRY.checkpoints)
    verdicts = []
    for trial in range(600):
        span = 1800 if trial % 2 else 4 * 3600  # hours apart too: the check reads only what could matter
        track = [
            _visit(
                f"v{trial}-{i}", rng.choice(CPS).id, T0 + timedelta(seconds=rng.uniform(0, span)), rng.uniform(0, 90)
            )
            for i in range(rng.randint(1, 40))
        ]
        visit = track[0]
        expected = impossible_walk(visit, track, REGISTRY.checkpoints) is not None
        assert check.impossible(visit, check.track(track)) is expected
        verdicts.append(expected)
    assert any(verdicts)  # both answers were exercised
    assert not all(verdicts)
    assert check._pairs <= (max_pairs or replay._MAX_PAIRS) + 40


def test_walk_check_reads_stored_points_as_the_visits_they_are() -> None:
    """A track made of the store's five-value points (``Store.visit_track``, milliseconds) is the track of the
    visits the store would answer: same rows, same verdicts."""
    import random

    from ronde.ingest.replay import WalkCheck
    from ronde.store.records import TrackPoint
    from ronde.store.schema import from_ms, to_ms

    rng = random.Random(23)
    check = WalkCheck(REGISTRY.checkpoints)
    for trial in range(300):
        stored = [  # as a store answers them: to the millisecond
            replace(v, first_seen=from_ms(to_ms(v.first_seen)), last_seen=from_ms(to_ms(v.last_seen)))
            for v in (
                _visit(
                    f"s{trial}-{i}",
                    rng.choice(CPS).id,
                    T0 + timedelta(seconds=rng.uniform(-1e6, 1e6)),
                    rng.uniform(0, 90),
                )
                for i in range(rng.randint(0, 30))
            )
        ]
        batch = [
            _visit(
                f"b{trial}-{i}", rng.choice(CPS).id, T0 + timedelta(seconds=rng.uniform(0, 3600)), rng.uniform(0, 90)
            )
            for i in range(rng.randint(1, 10))
        ]
        points = [
            TrackPoint(v.gateway_id, to_ms(v.first_seen), to_ms(v.last_seen), v.event_id, v.checkpoint_id)
            for v in stored
        ]
        assert check.track(batch, points) == check.track([*stored, *batch])
        for v in batch:
            assert check.impossible(v, check.track(batch, points)) is (
                impossible_walk(v, [*stored, *batch], REGISTRY.checkpoints) is not None
            )
