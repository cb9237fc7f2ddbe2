"""EID resolution: public test vectors, drift tolerance, replays outside the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ronde.ingest.eid_resolver import EidMatch, EidReplay, EidResolver
from ronde.protocol.eid import compute_eid
from ronde.protocol.estate import BeaconSpec, Checkpoint, CheckpointKind
from tests.support.vectors import load_vectors


def _checkpoint(cid: str, key: bytes, k: int, epoch: int) -> Checkpoint:
    spec = BeaconSpec("eddystone_eid", None, -18, 1000, identity_key=key, rotation_exponent=k, clock_epoch=epoch)
    return Checkpoint(cid, cid, CheckpointKind.FOOTPATH, "e", "l", None, 48.8, 2.5, 0, 1, 6.0, spec)


def _at(epoch: int, counter: float) -> datetime:
    return datetime.fromtimestamp(epoch + counter, UTC)


def test_public_vectors_resolve() -> None:
    vectors = load_vectors("eid_vectors.json")
    assert vectors
    for v in vectors:
        key = bytes.fromhex(v["identity_key_hex"])
        epoch = 1_600_000_000 - v["counter"]  # the beacon's counter is v["counter"] at 1.6e9
        cp = _checkpoint(v["id"].replace("_", "-").lower()[:60], key, v["rotation_exponent"], max(0, epoch))
        if epoch < 0:
            continue
        resolver = EidResolver([cp], replay_horizon=timedelta(hours=1))
        result = resolver.resolve(bytes.fromhex(v["expected_eid_hex"]), _at(cp.beacon.clock_epoch or 0, v["counter"]))
        assert isinstance(result, EidMatch), v["id"]
        assert result.period == v["counter"] >> v["rotation_exponent"]


KEY = bytes.fromhex("b51567c9a5f9831b8107f7bbd804e7ce")
EPOCH = 1_767_312_000
K = 10


def test_drift_tolerated_in_proportion_to_elapsed_time() -> None:
    cp = _checkpoint("cp-a", KEY, K, EPOCH)
    resolver = EidResolver([cp])
    year = 365 * 86400
    # after a year the beacon's clock may be ±150 ppm off: ±4730 s, i.e. several periods
    beacon_counter = year + 4000  # beacon runs fast by ~127 ppm
    eid = compute_eid(KEY, K, beacon_counter)
    result = resolver.resolve(eid, _at(EPOCH, year))
    assert isinstance(result, EidMatch)
    assert result.checkpoint.id == "cp-a"
    assert result.offset_s > 0
    # 1,000 ppm is beyond the tolerance: the EID is the beacon's, but not for now
    eid_far = compute_eid(KEY, K, year + 31_536)
    assert isinstance(resolver.resolve(eid_far, _at(EPOCH, year)), EidReplay)


def test_minimum_window_of_two_periods_near_epoch() -> None:
    cp = _checkpoint("cp-a", KEY, K, EPOCH)
    resolver = EidResolver([cp])
    t = 3600  # one hour after the epoch: drift negligible, window = 2 periods (2048 s)
    assert isinstance(resolver.resolve(compute_eid(KEY, K, t + 1500), _at(EPOCH, t)), EidMatch)
    assert isinstance(resolver.resolve(compute_eid(KEY, K, t - 1500), _at(EPOCH, t)), EidMatch)
    assert isinstance(resolver.resolve(compute_eid(KEY, K, t + 4 * 1024), _at(EPOCH, t)), EidReplay)


def test_replay_of_a_recording_from_days_ago() -> None:
    resolver = EidResolver([_checkpoint("cp-a", KEY, K, EPOCH)], replay_horizon=timedelta(days=7))
    now = 100 * 86400
    recorded = compute_eid(KEY, K, now - 3 * 86400)
    result = resolver.resolve(recorded, _at(EPOCH, now))
    assert isinstance(result, EidReplay)
    assert result.offset_s == pytest.approx(-3 * 86400, abs=1024)


def test_unknown_eid_and_bad_length() -> None:
    resolver = EidResolver([_checkpoint("cp-a", KEY, K, EPOCH)])
    assert resolver.resolve(bytes(8), _at(EPOCH, 5000)) is None
    assert resolver.resolve(b"\x01\x02", _at(EPOCH, 5000)) is None
    assert EidResolver([]).resolve(bytes(8), _at(EPOCH, 5000)) is None


def test_two_beacons_and_sliding_cache_stays_bounded() -> None:
    key_b = bytes.fromhex("2f5e82b8025570f3cba9ff7f2d8d544d")
    resolver = EidResolver(
        [_checkpoint("cp-a", KEY, K, EPOCH), _checkpoint("cp-b", key_b, K, EPOCH + 86400)],
        replay_horizon=timedelta(days=1),
        max_periods_per_beacon=500,
    )
    for day in range(2, 40, 3):  # the server's attention moves forward over weeks
        t = day * 86400
        hit = resolver.resolve(compute_eid(key_b, K, t - 86400), _at(EPOCH, t))
        assert isinstance(hit, EidMatch)
        assert hit.checkpoint.id == "cp-b"
        assert len(resolver._index) <= 2 * 2 * 500 + 10
    # and back in time again
    t = 3 * 86400
    assert isinstance(resolver.resolve(compute_eid(KEY, K, t), _at(EPOCH, t)), EidMatch)


def test_two_beacons_sharing_an_eid_resolve_and_slide_together() -> None:
    """The index (``EidTable``) holds one entry per period, two under an EID two beacons share (issue 17, item 1):
    two checkpoints given the same identity key, one with its clock a week later, broadcast the same EIDs a week
    apart. Each resolves at its own time, and as the window slides weeks ahead the shared entries are dropped
    and added in step: the index holds exactly the periods each beacon keeps, none lost, none left behind."""
    week = 7 * 86400
    resolver = EidResolver(
        [_checkpoint("cp-a", KEY, K, EPOCH), _checkpoint("cp-b", KEY, K, EPOCH + week)],
        replay_horizon=timedelta(days=10),
    )

    def entries() -> dict[bytes, list[int]]:
        out: dict[bytes, list[int]] = {}
        for eid, packed in resolver._index.items():
            out.setdefault(eid, []).append(packed)
        return out

    for weeks in (2, 3, 60):
        t = weeks * week  # cp-a's counter is t, cp-b's t - week: each EID of one is the other's a week off
        hit = resolver.resolve(compute_eid(KEY, K, t), _at(EPOCH, t))
        assert isinstance(hit, EidMatch)
        assert hit.checkpoint.id == "cp-a"
        hit = resolver.resolve(compute_eid(KEY, K, t - week), _at(EPOCH, t))
        assert isinstance(hit, EidMatch)
        assert hit.checkpoint.id == "cp-b"
        index = entries()
        shared = [v for v in index.values() if len(v) > 1]
        assert shared
        assert all(sorted(h >> 32 for h in v) == [0, 1] for v in shared)
        kept = sorted(i << 32 | p for i, b in enumerate(resolver._beacons) for p in range(b.lo, b.hi))
        assert sorted(h for v in index.values() for h in v) == kept
        assert all(
            index[b.eid(p)].count(i << 32 | p) == 1 for i, b in enumerate(resolver._beacons) for p in (b.lo, b.hi - 1)
        )
    # week 2's EIDs left the index as the window slid (none left behind under the other beacon's entry)
    assert resolver.resolve(compute_eid(KEY, K, 2 * week), _at(EPOCH, 60 * week)) is None


@pytest.mark.parametrize(("k", "max_periods"), [(K, 20_000), (4, 3_000)])
def test_a_resolver_answers_as_a_fresh_one_whatever_the_order_of_clocks(k: int, max_periods: int) -> None:
    """One resolver asked about gateway clocks hours, days and weeks apart, forward and back (late events), answers
    each as a resolver built for that question alone: what a pass made ready for the clocks around one visit
    (``COVER_MARGIN_S``) is all the next visits need, the periods dropped as the cache slides are never assumed.
    Only a replay older than the horizon may be seen more (periods kept from earlier clocks, as before). With 16 s
    periods the per-beacon cap (3,000 here) cuts the week either side, which the resolver keeps too."""
    import random

    key_b = bytes.fromhex("2f5e82b8025570f3cba9ff7f2d8d544d")
    beacons = [_checkpoint("cp-a", KEY, k, EPOCH), _checkpoint("cp-b", key_b, k, EPOCH + 3 * 86400)]
    options = {"replay_horizon": timedelta(days=7), "max_periods_per_beacon": max_periods}
    shared = EidResolver(beacons, **options)  # type: ignore[arg-type]
    rng = random.Random(17)
    clock = EPOCH + 20 * 86400.0
    answers = []
    for _ in range(60):
        clock += rng.choice([rng.uniform(-3000, 3000), rng.uniform(-3 * 86400, 86400), rng.uniform(0, 9 * 86400)])
        clock = max(clock, EPOCH + 4 * 86400.0)
        beacon = rng.choice(beacons)
        epoch = beacon.beacon.clock_epoch or 0
        heard = clock - epoch + rng.choice([0, 1, -1]) * rng.uniform(0, 10 * 86400)  # in window, or replayed
        if rng.random() < 0.5:  # at either end of what the clock wants computed: the first periods a pass misses
            lo, hi, _ = shared._wanted(shared._beacons[beacons.index(beacon)], clock)
            heard = rng.choice([lo, hi - 1]) << k
        assert beacon.beacon.identity_key is not None
        eid = compute_eid(beacon.beacon.identity_key, k, max(0, int(heard)))
        got = shared.resolve(eid, _at(0, clock))
        fresh = EidResolver(beacons, **options).resolve(eid, _at(0, clock))  # type: ignore[arg-type]
        if fresh is not None or not isinstance(got, EidReplay):  # periods kept from earlier clocks: more replays seen
            assert got == fresh
        answers.append(type(fresh).__name__)
    assert {"EidMatch", "EidReplay", "NoneType"} <= set(answers)
