"""The estate file: sample content, validation errors pointing at lines, the CLI."""

from pathlib import Path

import pytest

from ronde.cli import main
from ronde.protocol.estate import (
    CheckpointKind,
    EstateFileError,
    default_estate_path,
    load_default_estate,
    parse_estate,
)

SAMPLE = default_estate_path().read_text(encoding="utf-8")


def test_sample_patrimony() -> None:
    reg = load_default_estate()
    assert reg.total_dwellings == 5836
    assert reg.landlords["paris-habitat"].dwellings == 2891
    assert len(reg.landlords) == 6
    assert set(reg.estates) == {"mordacs", "bois-labbe"}
    assert {c.kind for c in reg.checkpoints.values()} == set(CheckpointKind)
    assert all(reg.checkpoints_of(landlord) for landlord in reg.landlords)
    assert sum(b.dwellings for b in reg.buildings.values()) == 5836
    for c in reg.checkpoints.values():
        if c.beacon.key is not None:
            assert reg.checkpoint_for_beacon(c.beacon.key) == c
    assert reg.eid_checkpoints(), "the sample has EID beacons (replay-proof)"


def _errors(text: str) -> list[str]:
    with pytest.raises(EstateFileError) as info:
        parse_estate(text, "estate.yaml")
    return str(info.value).splitlines()


def test_unknown_landlord_points_at_its_line() -> None:
    lines = SAMPLE.splitlines()
    idx = next(i for i, line in enumerate(lines) if line.strip() == "landlord: toit-et-joie" and i > 40)
    lines[idx] = lines[idx].replace("toit-et-joie", "toit-et-joye")
    errors = _errors("\n".join(lines))
    assert errors[0].startswith(f"estate.yaml:{idx + 1}: checkpoints[")
    assert "unknown landlord 'toit-et-joye'" in errors[0]
    assert "belongs to another landlord" in errors[1]  # the hall's building is Toit et Joie's


def test_bad_field_value_points_at_its_line() -> None:
    lines = SAMPLE.splitlines()
    idx = next(i for i, line in enumerate(lines) if line.strip().startswith("lat:"))
    lines[idx] = "    lat: 123.0"
    errors = _errors("\n".join(lines))
    assert errors[0].startswith(f"estate.yaml:{idx + 1}: checkpoints[0].lat:")


def test_duplicate_beacon_and_yaml_syntax() -> None:
    text = SAMPLE.replace("minor: 2,", "minor: 1,", 1)
    assert any("beacon already used" in e for e in _errors(text))
    assert _errors("format: ronde-estate\nlandlords: [\n")[0].startswith("estate.yaml:")


def test_cli_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estate", "check"]) == 0
    assert "82 checkpoints" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(SAMPLE.replace("kind: playground", "kind: skatepark", 1))
    assert main(["estate", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:" in err
    assert ".kind:" in err
    assert main(["estate", "check", str(tmp_path / "missing.yaml")]) == 1
