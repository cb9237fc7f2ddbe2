"""Detection quality against the truth: precision, recall, first/last-seen timing error.

Matching rule (same team, same checkpoint, overlapping in time):

* A detected visit is mapped to its checkpoint through its beacon key (registry), EID keys by
  resolving the ephemeral id against every EID beacon's identity key over the possible clock
  windows. Visits of beacons that are not in the registry (a shop's iBeacon in the crowd) are
  counted apart as ``unresolved``, and so are EIDs that match no beacon at that time (a replay of
  another day's EIDs): no checkpoint is claimed, the server rejects them.
* A detected visit is correct when its [first_seen − SLACK, last_seen + SLACK] overlaps a true
  visit of the same team and checkpoint, whatever that true visit's length (walking past a
  footpath beacon is a real, short visit). Precision = correct / detected (registered only).
* Recall is over true visits of at least ``MIN_TRUE_S`` (30 s): found when at least one detected
  visit of the same team and checkpoint overlaps it (EID rotation or a fade may split one true
  visit into several detections: they all count for it).
* Timing error of a found true visit: earliest first_seen − true start, latest last_seen − true
  end, over its overlapping detections; median and 90th percentile of the absolute values.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ronde.firmware_sim.truth import TrueVisit
from ronde.protocol.eid import compute_eid
from ronde.protocol.estate import Registry
from ronde.protocol.messages import format_time, parse_time

SLACK_S = 10.0
MIN_TRUE_S = 30.0
MAX_DRIFT_PPM = 150.0
EID_EXTRA_S = 1800.0  # counter lag a battery swap may add, plus margin


@dataclass(frozen=True, slots=True)
class ScoredVisit:
    """A detected visit as written to visits.json (enough to score it without the gateway's types)."""

    team_id: str
    key: str
    checkpoint_id: str | None
    first_seen: datetime
    last_seen: datetime
    count: int
    rssi_max: int
    rssi_mean: float

    def to_json(self) -> dict[str, Any]:
        return {
            "team_id": self.team_id,
            "key": self.key,
            "checkpoint_id": self.checkpoint_id,
            "first_seen": format_time(self.first_seen),
            "last_seen": format_time(self.last_seen),
            "count": self.count,
            "rssi_max": self.rssi_max,
            "rssi_mean": self.rssi_mean,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> ScoredVisit:
        cid = obj.get("checkpoint_id")
        return cls(
            str(obj["team_id"]),
            str(obj["key"]),
            None if cid is None else str(cid),
            parse_time(obj["first_seen"]),
            parse_time(obj["last_seen"]),
            int(obj["count"]),
            int(obj["rssi_max"]),
            float(obj["rssi_mean"]),
        )


class KeyResolver:
    """Beacon key (+ time, for EIDs) → checkpoint id."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._eid_cache: dict[tuple[str, float], str | None] = {}

    def resolve(self, key: str, t: float) -> str | None:
        if not key.startswith("eddystone_eid:"):
            return self.registry.by_beacon_key.get(key)
        eid_hex = key.split(":", 1)[1].lower()
        bucket = (eid_hex, math.floor(t / 600))
        if bucket not in self._eid_cache:
            self._eid_cache[bucket] = self._resolve_eid(bytes.fromhex(eid_hex), t)
        return self._eid_cache[bucket]

    def _resolve_eid(self, eid: bytes, t: float) -> str | None:
        for cp in sorted(self.registry.eid_checkpoints(), key=lambda c: c.id):
            spec = cp.beacon
            assert spec.identity_key is not None
            assert spec.rotation_exponent is not None
            k = spec.rotation_exponent
            nominal = t - (spec.clock_epoch or 0)
            tolerance = abs(nominal) * MAX_DRIFT_PPM * 1e-6 + EID_EXTRA_S
            lo = max(0, int(nominal - tolerance) >> k)
            hi = max(0, int(nominal + tolerance) >> k)
            for window in range(lo, hi + 1):
                if compute_eid(spec.identity_key, k, window << k) == eid:
                    return cp.id
        return None


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@dataclass
class Score:
    detected: int = 0
    unresolved: int = 0
    correct: int = 0
    true_visits: int = 0  # of at least MIN_TRUE_S
    found: int = 0
    first_errors: list[float] = field(default_factory=list)  # signed, s
    last_errors: list[float] = field(default_factory=list)
    false_positives: list[ScoredVisit] = field(default_factory=list)
    missed: list[TrueVisit] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.correct / self.detected if self.detected else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.true_visits if self.true_visits else 1.0

    def summary(self) -> dict[str, Any]:
        abs_first = [abs(x) for x in self.first_errors]
        abs_last = [abs(x) for x in self.last_errors]

        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 2)

        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "detected_visits": self.detected,
            "correct_visits": self.correct,
            "unresolved_beacon_visits": self.unresolved,
            "true_visits_min_30s": self.true_visits,
            "found_true_visits": self.found,
            "first_seen_error_s": {
                "median_abs": r(_percentile(abs_first, 0.5)),
                "p90_abs": r(_percentile(abs_first, 0.9)),
                "median_signed": r(_percentile(self.first_errors, 0.5)),
            },
            "last_seen_error_s": {
                "median_abs": r(_percentile(abs_last, 0.5)),
                "p90_abs": r(_percentile(abs_last, 0.9)),
                "median_signed": r(_percentile(self.last_errors, 0.5)),
            },
            "false_positives": [v.to_json() for v in self.false_positives[:50]],
            "missed": [v.to_json() for v in self.missed[:50]],
        }


def score(truth: Iterable[TrueVisit], detected: Iterable[ScoredVisit]) -> Score:
    by_pair: dict[tuple[str, str], list[TrueVisit]] = defaultdict(list)
    for tv in truth:
        by_pair[(tv.team_id, tv.checkpoint_id)].append(tv)
    det_by_pair: dict[tuple[str, str], list[ScoredVisit]] = defaultdict(list)
    out = Score()
    for d in detected:
        if d.checkpoint_id is None:
            out.unresolved += 1
            continue
        out.detected += 1
        pair = (d.team_id, d.checkpoint_id)
        det_by_pair[pair].append(d)
        if any(_overlaps(d, tv) for tv in by_pair.get(pair, [])):
            out.correct += 1
        else:
            out.false_positives.append(d)
    for pair, tvs in sorted(by_pair.items()):
        for tv in tvs:
            if tv.duration_s < MIN_TRUE_S:
                continue
            out.true_visits += 1
            hits = [d for d in det_by_pair.get(pair, []) if _overlaps(d, tv)]
            if not hits:
                out.missed.append(tv)
                continue
            out.found += 1
            out.first_errors.append((min(d.first_seen for d in hits) - tv.start).total_seconds())
            out.last_errors.append((max(d.last_seen for d in hits) - tv.end).total_seconds())
    return out


def _overlaps(d: ScoredVisit, tv: TrueVisit) -> bool:
    a = d.first_seen.timestamp() - SLACK_S
    b = d.last_seen.timestamp() + SLACK_S
    return a <= tv.end.timestamp() and tv.start.timestamp() <= b


def write_visits(path: Path, visits: Iterable[ScoredVisit], meta: dict[str, Any] | None = None) -> None:
    doc = {"format": "ronde-sim-visits", "version": 1, **(meta or {}), "visits": [v.to_json() for v in visits]}
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def read_visits(path: Path) -> list[ScoredVisit]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or doc.get("format") != "ronde-sim-visits":
        raise ValueError(f"{path}: not a ronde-sim-visits file")
    return [ScoredVisit.from_json(v) for v in doc["visits"]]


def format_report(s: Score) -> str:
    sm = s.summary()
    f, la = sm["first_seen_error_s"], sm["last_seen_error_s"]
    return "\n".join(
        [
            f"precision {sm['precision']:.4f}  ({s.correct}/{s.detected} detected visits match a true visit)",
            f"recall    {sm['recall']:.4f}  ({s.found}/{s.true_visits} true visits"
            f" of at least {MIN_TRUE_S:.0f} s found)",
            f"first seen error: median {f['median_abs']} s, p90 {f['p90_abs']} s"
            f" (signed median {f['median_signed']} s)",
            f"last seen error:  median {la['median_abs']} s, p90 {la['p90_abs']} s"
            f" (signed median {la['median_signed']} s)",
            f"visits of unregistered beacons or unresolvable EIDs (not claimed): {s.unresolved}",
        ]
    )
