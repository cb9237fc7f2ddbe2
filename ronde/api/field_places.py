"""The estate list a team's phone caches: estates, their buildings and checkpoints, sorted by name (French
collation is not needed: the phone searches it). ``revision`` lets the phone keep its copy until it changes."""

from __future__ import annotations

from ronde.api.field_models import BuildingPlaces, EstatePlaces, NamedPlace, Places
from ronde.protocol.estate import Registry


def places_of(registry: Registry) -> Places:
    estates = []
    for estate in sorted(registry.estates.values(), key=lambda e: (e.name, e.id)):
        checkpoints = [c for c in registry.checkpoints.values() if c.estate == estate.id]
        buildings = [
            BuildingPlaces(
                id=b.id,
                name=b.name,
                checkpoints=[
                    NamedPlace(id=c.id, name=c.name)
                    for c in sorted(checkpoints, key=lambda c: (c.name, c.id))
                    if c.building == b.id
                ],
            )
            for b in sorted(registry.buildings.values(), key=lambda b: (b.name, b.id))
            if b.estate == estate.id
        ]
        outside = [
            NamedPlace(id=c.id, name=c.name)
            for c in sorted(checkpoints, key=lambda c: (c.name, c.id))
            if c.building is None or c.building not in registry.buildings
        ]
        estates.append(
            EstatePlaces(id=estate.id, name=estate.name, buildings=buildings, checkpoints_outside_buildings=outside)
        )
    return Places(revision=registry.revision, estates=estates)
