"""A digest of the estate registry's *content*, not only of its revision label.

Why: a revision is a label someone typed; two different registries can carry the same one. Audit
anchors include this digest so a report names the exact landlords, estates, buildings and
checkpoints (names, places, beacons) it was computed with, and the API refuses a different content
under a revision label already used.

What it covers: RFC 8785 canonical JSON of landlords (id, name, dwellings), estates (id, name,
city), buildings (id, name, estate, landlord, dwellings), checkpoints (id, name, kind, estate,
landlord, building, lat, lon, level, expected visits, radius, beacon: format, identifiers, TX power,
interval, EID rotation exponent and clock epoch) and paths, each list sorted by id; a building's
footprint and the walkways (plan geometry, issue 16) are content too, but only when present: a
building without a footprint has no ``footprint`` key and a registry without walkways no
``walkways`` key, so every registry written before they existed keeps its digest. Not covered:
the revision label itself (it is bound separately) and EID identity keys, which are secret and
omitted by the estate export — so anyone holding the exported estate file can recompute the digest.
"""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785

from ronde.protocol.estate import BeaconSpec, Building, Registry

REGISTRY_DIGEST_VERSION = "ronde-registry-content-v1"


def _beacon(b: BeaconSpec) -> dict[str, Any]:
    return {
        "format": b.format,
        "key": b.key,
        "tx_power": b.tx_power,
        "interval_ms": b.interval_ms,
        "rotation_exponent": b.rotation_exponent,
        "clock_epoch": b.clock_epoch,
        "fields": {k: v for k, v in b.fields},
    }


def registry_content(registry: Registry) -> dict[str, Any]:
    """The plain data the digest is computed over (see the module docstring)."""
    content: dict[str, Any] = {
        "version": REGISTRY_DIGEST_VERSION,
        "landlords": [
            {"id": x.id, "name": x.name, "dwellings": x.dwellings}
            for x in sorted(registry.landlords.values(), key=lambda x: x.id)
        ],
        "estates": [
            {"id": x.id, "name": x.name, "city": x.city} for x in sorted(registry.estates.values(), key=lambda x: x.id)
        ],
        "buildings": [_building(x) for x in sorted(registry.buildings.values(), key=lambda x: x.id)],
        "checkpoints": [
            {
                "id": c.id,
                "name": c.name,
                "kind": str(c.kind.value),
                "estate": c.estate,
                "landlord": c.landlord,
                "building": c.building,
                "lat": float(c.lat),
                "lon": float(c.lon),
                "level": c.level,
                "expected_visits": c.expected_visits,
                "radius_m": float(c.radius_m),
                "beacon": _beacon(c.beacon),
            }
            for c in sorted(registry.checkpoints.values(), key=lambda c: c.id)
        ],
        "paths": sorted([sorted([a, b]) for a, b in registry.paths]),
    }
    if registry.walkways:
        content["walkways"] = [
            {"id": w.id, "estate": w.estate, "name": w.name, "points": [[lat, lon] for lat, lon in w.points]}
            for w in sorted(registry.walkways.values(), key=lambda w: w.id)
        ]
    return content


def _building(x: Building) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": x.id,
        "name": x.name,
        "estate": x.estate,
        "landlord": x.landlord,
        "dwellings": x.dwellings,
    }
    if x.footprint:
        out["footprint"] = [[lat, lon] for lat, lon in x.footprint]
    return out


def registry_digest(registry: Registry) -> str:
    """SHA-256 (hex) of the canonical JSON of :func:`registry_content`."""
    return hashlib.sha256(bytes(rfc8785.dumps(registry_content(registry)))).hexdigest()
