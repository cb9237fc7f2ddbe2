"""Plan geometry in the estate file (issue 16): building footprints and walkways, and the content digest."""

from __future__ import annotations

import dataclasses

import yaml

from ronde.protocol.estate import load_default_estate, parse_estate, registry_from_document
from ronde.protocol.estate_digest import registry_content, registry_digest
from ronde.protocol.registry_data import registry_to_yaml


def test_the_sample_draws_every_building_and_its_walkways() -> None:
    registry = load_default_estate()
    assert len(registry.buildings) == 20
    for b in registry.buildings.values():
        assert len(b.footprint) == 4, b.id
        # each building's halls stand at its outline (within a few metres of the box)
        lats = [p[0] for p in b.footprint]
        lons = [p[1] for p in b.footprint]
        halls = [c for c in registry.checkpoints.values() if c.building == b.id]
        assert halls
        assert all(min(lats) <= c.lat <= max(lats) and min(lons) <= c.lon <= max(lons) for c in halls), b.id
    rings = [w for w in registry.walkways.values() if w.name]
    assert {w.estate for w in rings} == {"mordacs", "bois-labbe"}
    assert all(w.points[0] == w.points[-1] for w in rings)  # the rings close
    assert len(registry.walkways) >= 4


def test_geometry_is_content_but_absent_geometry_keeps_older_digests() -> None:
    registry = load_default_estate()
    content = registry_content(registry)
    assert "walkways" in content
    assert all("footprint" in b for b in content["buildings"])
    bare = dataclasses.replace(
        registry,
        buildings={k: dataclasses.replace(b, footprint=()) for k, b in registry.buildings.items()},
        walkways={},
    )
    bare_content = registry_content(bare)
    # a registry without geometry has exactly the keys digests had before footprints existed
    assert "walkways" not in bare_content
    assert all(set(b) == {"id", "name", "estate", "landlord", "dwellings"} for b in bare_content["buildings"])
    assert registry_digest(bare) != registry_digest(registry)
    # moving one vertex by 1e-6 degree is a different content
    b = next(iter(registry.buildings.values()))
    moved = ((b.footprint[0][0] + 1e-6, b.footprint[0][1]), *b.footprint[1:])
    shifted = dataclasses.replace(
        registry, buildings={**registry.buildings, b.id: dataclasses.replace(b, footprint=moved)}
    )
    assert registry_digest(shifted) != registry_digest(registry)


def test_export_then_parse_round_trips_the_geometry() -> None:
    registry = load_default_estate()
    text = registry_to_yaml(registry, secrets=True)
    again = registry_from_document(parse_estate(text, "export.yaml"))
    assert again.buildings == registry.buildings
    assert again.walkways == registry.walkways
    assert registry_digest(again) == registry_digest(registry)
    # a file without geometry still loads, with empty outlines and no walkways
    data = yaml.safe_load(text)
    for b in data["buildings"]:
        del b["footprint"]
    del data["walkways"]
    plain = registry_from_document(parse_estate(yaml.safe_dump(data), "plain.yaml"))
    assert all(b.footprint == () for b in plain.buildings.values())
    assert plain.walkways == {}
