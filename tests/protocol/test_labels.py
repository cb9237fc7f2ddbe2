"""Names that identify (issue 16, point 3): every checkpoint label tells its place apart."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ronde.cli import main
from ronde.protocol.estate import load_default_estate
from ronde.protocol.labels import checkpoint_labels, duplicate_names, label_of


def test_every_label_of_the_sample_is_unique_and_unique_names_stay_as_they_are() -> None:
    registry = load_default_estate()
    labels = checkpoint_labels(registry)
    assert len(set(labels.values())) == len(registry.checkpoints)
    counts: dict[str, int] = {}
    for c in registry.checkpoints.values():
        counts[c.name] = counts.get(c.name, 0) + 1
    for c in registry.checkpoints.values():
        if counts[c.name] == 1:
            assert labels[c.id] == c.name
        else:  # shared: the landlord's name (no building here) tells them apart
            assert labels[c.id].startswith(c.name + " — ")
            assert registry.landlords[c.landlord].name in labels[c.id]
    assert labels["mor-paris-car-park-surface-1"] == "Parking en surface 1 (Les Mordacs) — Paris Habitat"


def test_building_first_then_landlord_then_id() -> None:
    registry = load_default_estate()
    a = registry.checkpoints["mor-b01-hall-a"]
    b = registry.checkpoints["mor-b02-hall-a"]
    twins = [replace(a, name="Hall"), replace(b, name="Hall")]
    labels = checkpoint_labels(registry, twins)
    assert labels[a.id] == f"Hall — {registry.buildings[a.building or ''].name}"
    same = [replace(a, name="Hall"), replace(a, id="mor-b01-hall-z", name="Hall")]
    labels = checkpoint_labels(registry, same)  # same building and landlord: the id is all that differs
    assert labels["mor-b01-hall-z"].endswith("(mor-b01-hall-z)")
    assert len(set(labels.values())) == 2
    assert label_of(registry, "gone") == "gone"


def test_estate_check_warns_about_duplicate_names(capsys: pytest.CaptureFixture[str]) -> None:
    registry = load_default_estate()
    dups = duplicate_names(registry)
    assert dups["Parking en surface 1 (Les Mordacs)"] == sorted(
        c.id for c in registry.checkpoints.values() if c.name == "Parking en surface 1 (Les Mordacs)"
    )
    assert main(["estate", "check"]) == 0  # a warning, not an error
    err = capsys.readouterr().err
    assert "warning: 4 checkpoints are named 'Parking en surface 1 (Les Mordacs)'" in err
    assert err.count("warning:") == len(dups)
