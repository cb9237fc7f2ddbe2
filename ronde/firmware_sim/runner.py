"""``ronde sim run``: a scenario through the gateway's pipeline, with the truth, the visits and the score on disk."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ronde.firmware_sim.drivers.inproc import run_pipeline
from ronde.firmware_sim.scenarios import Scenario
from ronde.firmware_sim.score import KeyResolver, Score, ScoredVisit, score, write_visits
from ronde.firmware_sim.truth import write_truth
from ronde.gateway.detection import DetectionConfig
from ronde.gateway.pipeline import TelemetryReading
from ronde.protocol.messages import format_time

TRUTH_FILE = "truth.json"
VISITS_FILE = "visits.json"
SUMMARY_FILE = "summary.json"


@dataclass
class RunResult:
    scenario: Scenario
    visits: list[ScoredVisit]
    telemetry: int
    score: Score
    wall_s: float
    simulated_s: float


def scenario_meta(sc: Scenario) -> dict[str, Any]:
    def iso(t: datetime) -> str:
        return format_time(t)

    return {
        "scenario": sc.name,
        "seed": sc.seed,
        "start": iso(sc.start),
        "end": iso(sc.end),
        "days": [d.isoformat() for d in sc.days],
        "estate_revision": sc.registry.revision,
        "teams": [{"team_id": t.team_id, "gateway_id": t.gateway_id, "badge": t.badge} for t in sc.teams],
        "outages": {k: [[iso(a), iso(b)] for a, b in v] for k, v in sc.outages.items()},
        "skipped_checkpoints": sc.skipped,
        "dead_beacons": {k: iso(v) for k, v in sc.dead_beacons.items()},
        "battery_changes": {k: [iso(x) for x in v] for k, v in sc.battery_changes.items()},
        "replays": [
            {
                "team_id": r.team_id,
                "checkpoint_id": r.checkpoint_id,
                "beacon_format": r.beacon_format,
                "recorded": [iso(r.recorded[0]), iso(r.recorded[1])],
                "replayed": [iso(r.replayed[0]), iso(r.replayed[1])],
            }
            for r in sc.replays
        ],
        "crowd": None if sc.crowd is None else {"density": sc.crowd.density, "radius_m": sc.crowd.radius_m},
    }


def run_scenario(sc: Scenario, config: DetectionConfig | None = None) -> RunResult:
    resolver = KeyResolver(sc.registry)
    visits: list[ScoredVisit] = []
    telemetry: list[TelemetryReading] = []
    t0 = time.perf_counter()
    for team in sc.teams:
        visits.extend(
            ScoredVisit(
                team.team_id,
                v.key,
                resolver.resolve(v.key, v.first_seen),
                datetime.fromtimestamp(v.first_seen, UTC),
                datetime.fromtimestamp(v.last_seen, UTC),
                v.count,
                v.rssi_max,
                v.rssi_mean,
            )
            for v in run_pipeline(sc, team.team_id, config, telemetry)
        )
    wall = time.perf_counter() - t0
    visits.sort(key=lambda v: (v.first_seen, v.team_id, v.key))
    simulated = sum(sum(e.end - e.start for e in sc.evenings.get(t.team_id, [])) for t in sc.teams)
    return RunResult(sc, visits, len(telemetry), score(sc.truth, visits), wall, simulated)


def write_run(result: RunResult, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    meta = scenario_meta(result.scenario)
    write_truth(out / TRUTH_FILE, result.scenario.truth, meta)
    write_visits(
        out / VISITS_FILE,
        result.visits,
        {
            "scenario": result.scenario.name,
            "seed": result.scenario.seed,
            "detector": "ronde.gateway.pipeline.ScanPipeline",
        },
    )
    summary = {
        **meta,
        "score": result.score.summary(),
        "telemetry_readings": result.telemetry,
        "wall_s": round(result.wall_s, 2),
        "simulated_team_s": round(result.simulated_s, 1),
        "speed_x": round(result.simulated_s / result.wall_s, 1) if result.wall_s else None,
    }
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def parse_day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)
