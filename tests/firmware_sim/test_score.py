"""The matching rule, on truths and visits written by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ronde.firmware_sim.score import KeyResolver, ScoredVisit, read_visits, score, write_visits
from ronde.firmware_sim.truth import TrueVisit, read_truth, write_truth
from ronde.protocol.eid import compute_eid
from tests.firmware_sim.support import registry

T0 = datetime(2026, 11, 18, 16, 0, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def tv(cid: str, a: float, b: float, team: str = "t1") -> TrueVisit:
    return TrueVisit(team, cid, at(a), at(b))


def dv(cid: str | None, a: float, b: float, team: str = "t1", key: str = "k") -> ScoredVisit:
    return ScoredVisit(team, key, cid, at(a), at(b), 10, -60, -65.0)


def test_precision_recall_and_timing() -> None:
    truth = [tv("a", 0, 120), tv("b", 200, 260), tv("c", 300, 310), tv("d", 400, 500), tv("a", 600, 700, team="t2")]
    visits = [
        dv("a", 4, 110),  # found a: first +4, last -10
        dv("b", 265, 280),  # 5 s after b ended: within the 10 s slack → correct, finds b
        dv("c", 302, 306),  # the 10 s true visit: correct, but not in recall's denominator
        dv("e", 50, 90),  # nobody was at e: false positive
        dv("a", 650, 690),  # wrong team: t1 was not at a then → false positive
        dv(None, 10, 20),  # a shop's beacon: counted apart
    ]
    s = score(truth, visits)
    assert (s.detected, s.correct, s.unresolved) == (5, 3, 1)
    assert s.precision == pytest.approx(3 / 5)
    assert (s.true_visits, s.found) == (4, 2)  # a, b, d (t1) and a (t2); c is 10 s
    assert {(m.team_id, m.checkpoint_id) for m in s.missed} == {("t1", "d"), ("t2", "a")}
    assert sorted(s.first_errors) == [4.0, 65.0]
    assert sorted(s.last_errors) == [-10.0, 20.0]
    summary = s.summary()
    assert summary["first_seen_error_s"]["median_abs"] == pytest.approx(34.5)


def test_split_detections_count_for_one_true_visit() -> None:
    s = score([tv("a", 0, 2000)], [dv("a", 2, 1020), dv("a", 1030, 1990)])  # EID rotated mid-visit
    assert (s.correct, s.found, s.first_errors, s.last_errors) == (2, 1, [2.0], [-10.0])


def test_eid_keys_resolve_only_in_their_time_window() -> None:
    reg = registry()
    cp = sorted(reg.eid_checkpoints(), key=lambda c: c.id)[0]
    spec = cp.beacon
    assert spec.identity_key is not None
    assert spec.rotation_exponent is not None
    assert spec.clock_epoch is not None
    t = spec.clock_epoch + 300 * 86400 + 123.0
    drift = 100e-6
    counter = int((t - spec.clock_epoch) * (1 + drift))
    key = "eddystone_eid:" + compute_eid(spec.identity_key, spec.rotation_exponent, counter).hex()
    resolver = KeyResolver(reg)
    assert resolver.resolve(key, t) == cp.id
    assert resolver.resolve(key, t + 86400) is None
    assert resolver.resolve(next(iter(reg.by_beacon_key)), t) == reg.by_beacon_key[next(iter(reg.by_beacon_key))]
    assert resolver.resolve("ibeacon:00000000000000000000000000000000:1:1", t) is None


def test_files_round_trip(tmp_path: Path) -> None:
    truth = [tv("a", 0, 120)]
    visits = [dv("a", 4, 110, key="ibeacon:x:1:2"), dv(None, 1, 2)]
    write_truth(tmp_path / "truth.json", truth, {"scenario": "x"})
    write_visits(tmp_path / "visits.json", visits)
    assert read_truth(tmp_path / "truth.json") == truth
    assert read_visits(tmp_path / "visits.json") == visits
    (tmp_path / "bad.json").write_text('{"format": "other"}')
    with pytest.raises(ValueError, match="not a ronde-sim-truth file"):
        read_truth(tmp_path / "bad.json")
