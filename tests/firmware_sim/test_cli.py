"""``ronde sim`` sub-commands through the real ``ronde`` entry point."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ronde.cli import main
from ronde.firmware_sim.score import ScoredVisit, write_visits
from ronde.firmware_sim.truth import TrueVisit, write_truth


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("evening", "week", "skipped-car-park", "dead-beacon", "cloned-beacon", "outage", "crowd"):
        assert name in out


def test_score_from_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t0 = datetime(2026, 11, 18, 16, tzinfo=UTC).timestamp()

    def at(s: float) -> datetime:
        return datetime.fromtimestamp(t0 + s, UTC)

    write_truth(tmp_path / "truth.json", [TrueVisit("t1", "a", at(0), at(60)), TrueVisit("t1", "b", at(100), at(200))])
    write_visits(tmp_path / "visits.json", [ScoredVisit("t1", "ibeacon:x:1:1", "a", at(3), at(55), 40, -60, -70.0)])
    assert main(["sim", "score", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "precision 1.0000" in out
    assert "recall    0.5000" in out
    assert "median 3.0 s" in out
    assert (
        main(
            [
                "sim",
                "score",
                "--truth",
                str(tmp_path / "truth.json"),
                "--visits",
                str(tmp_path / "visits.json"),
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["recall"] == 0.5
    assert main(["sim", "score", str(tmp_path / "missing")]) == 1
    assert "ronde sim score" in capsys.readouterr().err


def test_run_rejects_unknown_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "run", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown scenario" in capsys.readouterr().err


# no_cover: whole simulated evenings run 3-5x slower under coverage's tracer; the code they run is measured by
# the smaller tests (README, "Contributing")
@pytest.mark.slow
@pytest.mark.no_cover
def test_run_writes_truth_visits_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["sim", "run", "outage", "--seed", "3", "--teams", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "precision" in printed
    assert "recall" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "outage"
    assert len(summary["outages"]["t1"]) == 1
    assert summary["score"]["detected_visits"] > 20
    truth = json.loads((out / "truth.json").read_text())
    visits = json.loads((out / "visits.json").read_text())
    assert truth["format"] == "ronde-sim-truth"
    assert visits["format"] == "ronde-sim-visits"
    assert main(["sim", "score", str(out)]) == 0
    assert f"{summary['score']['precision']:.4f}" in capsys.readouterr().out
