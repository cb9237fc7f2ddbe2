"""Small builders shared by the simulator tests."""

from __future__ import annotations

import dataclasses
from functools import cache

from ronde.firmware_sim.beacons import SimBeacon
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import BeaconSpec, Checkpoint, Registry, load_default_estate


@cache
def registry() -> Registry:
    return load_default_estate()


CALENDAR = ServiceCalendar()


def checkpoint_of_format(fmt: str) -> Checkpoint:
    return next(c for c in sorted(registry().checkpoints.values(), key=lambda c: c.id) if c.beacon.format == fmt)


def eid_beacon(identity_key: bytes, k: int, epoch: int, drift_ppm: float = 0.0) -> SimBeacon:
    base = checkpoint_of_format("eddystone_eid")
    spec = BeaconSpec(
        format="eddystone_eid",
        key=None,
        tx_power=-18,
        interval_ms=1000,
        identity_key=identity_key,
        rotation_exponent=k,
        clock_epoch=epoch,
    )
    cp = dataclasses.replace(base, beacon=spec)
    return SimBeacon(
        checkpoint=cp,
        drift_ppm=drift_ppm,
        installed_at=float(epoch),
        battery_life_s=3 * 365 * 86400.0,
        address="C0:00:00:00:00:01",
    )


def beacon_at(
    cp: Checkpoint, drift_ppm: float = 0.0, installed_at: float = 1.7e9, life_s: float = 2 * 365 * 86400.0
) -> SimBeacon:
    return SimBeacon(
        checkpoint=cp,
        drift_ppm=drift_ppm,
        installed_at=installed_at,
        battery_life_s=life_s,
        address="C0:00:00:00:00:02",
    )
