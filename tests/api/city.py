"""A city-scale registry for response-size tests: the sample estate copied 25 times.

50 estates (the sample's two, 25 times over), 500 buildings, 5,000 checkpoints, the sample's six
landlords owning the copies of what they own in the sample (so a landlord's patrimony grows with
the city, as Paris Habitat's would). Beacons are static iBeacons (one UUID, major = copy, minor = rank); positions are
shifted a few hundred metres per copy so that nothing overlaps.
"""

from __future__ import annotations

from dataclasses import replace

from ronde.protocol.estate import BeaconSpec, Building, Checkpoint, Estate, Registry, Walkway, load_default_estate

COPIES = 25
CHECKPOINTS = 5_000


UUID = "0c17a5ca1e0c17a5ca1e0c17a5ca1e17"


def _cp(c: Checkpoint, k: int, r: int, n: int) -> Checkpoint:
    cid = f"{c.id}-c{k}" + (f"-r{r}" if r else "")
    key = f"ibeacon:{UUID}:{k + 1}:{n + 1}"
    return replace(
        c,
        id=cid,
        name=f"{c.name} ({k + 1}.{r + 1})",
        estate=f"{c.estate}-c{k}",
        building=None if c.building is None else f"{c.building}-c{k}",
        lat=c.lat + 0.004 * k + 0.00012 * r,
        lon=c.lon + 0.006 * k + 0.00009 * r,
        beacon=BeaconSpec(
            format="ibeacon",
            key=key,
            tx_power=-59,
            interval_ms=1000,
            fields=(("major", k + 1), ("minor", n + 1), ("uuid", UUID)),
        ),
    )


def city_registry(target: int = CHECKPOINTS) -> Registry:
    """The city: each copy holds ``target / COPIES`` checkpoints (the sample's, repeated nearby)."""
    sample = load_default_estate()
    base = sorted(sample.checkpoints.values(), key=lambda c: c.id)
    per_copy = target // COPIES
    estates: dict[str, Estate] = {}
    buildings: dict[str, Building] = {}
    checkpoints: dict[str, Checkpoint] = {}
    walkways: dict[str, Walkway] = {}
    for k in range(COPIES):
        for e in sample.estates.values():
            estates[f"{e.id}-c{k}"] = replace(e, id=f"{e.id}-c{k}", name=f"{e.name} {k + 1}")
        for b in sample.buildings.values():
            shifted = tuple((lat + 0.004 * k, lon + 0.006 * k) for lat, lon in b.footprint)
            buildings[f"{b.id}-c{k}"] = replace(b, id=f"{b.id}-c{k}", estate=f"{b.estate}-c{k}", footprint=shifted)
        for w in sample.walkways.values():
            points = tuple((lat + 0.004 * k, lon + 0.006 * k) for lat, lon in w.points)
            walkways[f"{w.id}-c{k}"] = replace(w, id=f"{w.id}-c{k}", estate=f"{w.estate}-c{k}", points=points)
        for n in range(per_copy):
            c = _cp(base[n % len(base)], k, n // len(base), n)
            checkpoints[c.id] = c
    return replace(
        sample,
        revision="city",
        estates=estates,
        buildings=buildings,
        checkpoints=checkpoints,
        walkways=walkways,
        paths=(),
        by_beacon_key={c.beacon.key: c.id for c in checkpoints.values() if c.beacon.key is not None},
    )
