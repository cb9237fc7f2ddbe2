"""Hand-built registry and visits for coverage and audit tests (no randomness)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from ronde.protocol.estate import BeaconSpec, Building, Checkpoint, CheckpointKind, Estate, Landlord, Registry
from ronde.store.records import BeaconCheck, StoredVisit, Verification

PARIS = ZoneInfo("Europe/Paris")


def local(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """A Paris wall-clock instant (aware)."""
    return datetime.combine(day, time(hh, mm, ss), tzinfo=PARIS)


def _cp(
    cid: str,
    kind: CheckpointKind,
    estate: str,
    landlord: str,
    building: str | None,
    lat: float,
    lon: float,
    level: int = 0,
    expected: int = 1,
) -> Checkpoint:
    return Checkpoint(
        id=cid,
        name=f"Point {cid}",
        kind=kind,
        estate=estate,
        landlord=landlord,
        building=building,
        lat=lat,
        lon=lon,
        level=level,
        expected_visits=expected,
        radius_m=5.0,
        beacon=BeaconSpec(format="ibeacon", key=f"ibeacon:test:{cid}", tx_power=-59, interval_ms=1000),
    )


def registry() -> Registry:
    """Two landlords (5,836 dwellings, 2,891 Paris Habitat), two estates.

    Estate ``e1``: hall ``a`` and hall ``b`` (building ``b1``, paris-habitat, 20 m apart),
    playground ``p`` (expected 2 passes, other landlord, 30 m from ``a``), underground car park
    ``u`` under ``a`` (level -1). Estate ``e2``: hall ``c`` (building ``b2``, other landlord).
    """
    cps = [
        _cp("a", CheckpointKind.STAIRWELL_HALL, "e1", "paris-habitat", "b1", 48.80000, 2.52000),
        _cp("b", CheckpointKind.STAIRWELL_HALL, "e1", "paris-habitat", "b1", 48.80018, 2.52000),
        _cp("p", CheckpointKind.PLAYGROUND, "e1", "other", None, 48.80000, 2.52041, expected=2),
        _cp("u", CheckpointKind.CAR_PARK_UNDERGROUND, "e1", "paris-habitat", "b1", 48.80001, 2.52000, level=-1),
        _cp("c", CheckpointKind.STAIRWELL_HALL, "e2", "other", "b2", 48.81000, 2.53000),
    ]
    return Registry(
        revision="test-rev-1",
        landlords={
            "paris-habitat": Landlord("paris-habitat", "Paris Habitat", 2891),
            "other": Landlord("other", "Autre bailleur", 2945),
        },
        estates={"e1": Estate("e1", "Les Mordacs", "Champigny"), "e2": Estate("e2", "Bois l'Abbé", "Chennevières")},
        buildings={
            "b1": Building("b1", "4 rue Albert Thomas", "e1", "paris-habitat", 2891),
            "b2": Building("b2", "6 rue Jean Moulin", "e2", "other", 2945),
        },
        checkpoints={c.id: c for c in cps},
        by_beacon_key={c.beacon.key: c.id for c in cps if c.beacon.key},
    )


_SEQ = [0]


@contextmanager
def sequence_from(base: int) -> Iterator[None]:
    """Visits made inside number their ``seq`` from ``base``, so a scripted data set is the same in every process
    (the counter is otherwise the process's, shared by every test before); the process's count resumes after."""
    kept, _SEQ[0] = _SEQ[0], base
    try:
        yield
    finally:
        _SEQ[0] = kept


def visit(
    reg: Registry,
    cid: str,
    day: date,
    start: datetime,
    end: datetime,
    *,
    badge: str = "team-1",
    event_id: str | None = None,
    verification: Verification = Verification.SIGNED,
    beacon_check: BeaconCheck = BeaconCheck.STATIC,
) -> StoredVisit:
    c = reg.checkpoints[cid]
    _SEQ[0] += 1
    eid = event_id or f"ev-{cid}-{start.isoformat()}"
    return StoredVisit(
        event_id=eid,
        gateway_id="gw-1",
        seq=_SEQ[0],
        badge=badge,
        checkpoint_id=cid,
        kind=str(c.kind),
        building=c.building,
        estate=c.estate,
        landlord=c.landlord,
        service_day=day,
        first_seen=start,
        last_seen=end,
        count=5,
        rssi_max=-60,
        rssi_mean=-70.5,
        verification=verification,
        beacon_check=beacon_check,
        received_at=end,
        payload_sha256=hashlib.sha256(eid.encode()).hexdigest(),
    )
