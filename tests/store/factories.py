"""Records for store tests: plausible values, times near now (inside the raw retention)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from ronde.store.records import (
    BeaconCheck,
    BeaconTelemetryRecord,
    DailyRollup,
    GatewayStateRecord,
    MonthlyRollup,
    Rejection,
    RejectReason,
    SequenceGap,
    StoredVisit,
    Verification,
)

_now = datetime.now(UTC)
# 19:00 UTC two days ago: an evening of service, well inside every retention, ms precision.
BASE = datetime.combine(_now.date() - timedelta(days=2), datetime.min.time(), tzinfo=UTC) + timedelta(hours=17)
DAY: date = BASE.date()


def ulid(i: int) -> str:
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    n = 0x1234_5678_9ABC_DEF0_1234_5678_9ABC + i
    return "".join(alphabet[(n >> (5 * k)) & 31] for k in reversed(range(26)))


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def visit(i: int, *, at: datetime | None = None, **changes: object) -> StoredVisit:
    first = at or BASE + timedelta(minutes=i)
    v = StoredVisit(
        event_id=ulid(i),
        gateway_id="gw-1",
        seq=i + 1,
        badge=f"team-{i % 2}",
        checkpoint_id=f"cp-{i % 3}",
        kind="stairwell_hall",
        building="bat-a" if i % 2 else None,
        estate="mordacs",
        landlord="paris-habitat" if i % 3 else "i3f",
        service_day=DAY,
        first_seen=first,
        last_seen=first + timedelta(seconds=40, milliseconds=250),
        count=12 + i,
        rssi_max=-60,
        rssi_mean=-71.3,
        verification=Verification.SIGNED,
        beacon_check=BeaconCheck.STATIC,
        received_at=first + timedelta(seconds=45),
        payload_sha256=sha(f"visit {i}"),
    )
    return replace(v, **changes)  # type: ignore[arg-type]


def rejection(i: int, **changes: object) -> Rejection:
    r = Rejection(
        at=BASE + timedelta(minutes=i, milliseconds=7),
        reason=RejectReason.SCHEMA,
        detail=f"field 'seq': not an integer ({i})",
        topic="ronde/v1/gw/gw-1/visit",
        gateway_id="gw-1",
        payload_sha256=sha(f"bad {i}"),
        event_id=None,
    )
    return replace(r, **changes)  # type: ignore[arg-type]


def gap(i: int, **changes: object) -> SequenceGap:
    return replace(SequenceGap("gw-1", 10 * i + 1, 10 * i + 3, BASE + timedelta(minutes=i)), **changes)  # type: ignore[arg-type]


def telemetry(i: int, **changes: object) -> BeaconTelemetryRecord:
    t = BeaconTelemetryRecord(
        at=BASE + timedelta(minutes=i),
        checkpoint_id=f"cp-{i % 2}",
        gateway_id="gw-1",
        battery_mv=2900 - i,
        temperature_c=18.5,
        adv_count=1000 + i,
        uptime_s=3600.5 + i,
    )
    return replace(t, **changes)  # type: ignore[arg-type]


def state(i: int, **changes: object) -> GatewayStateRecord:
    s = GatewayStateRecord(
        at=BASE + timedelta(minutes=i),
        gateway_id=f"gw-{i % 2 + 1}",
        online=True,
        scanning=i % 2 == 0,
        in_service=True,
        outbox_depth=i,
        adverts_per_s=4.5,
        battery_pct=80 - i,
    )
    return replace(s, **changes)  # type: ignore[arg-type]


def rollup(checkpoint: str, day: date = DAY, **changes: object) -> DailyRollup:
    first = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=17)
    r = DailyRollup(
        service_day=day,
        checkpoint_id=checkpoint,
        kind="playground",
        building=None,
        estate="bois-labbe",
        landlord="valophis",
        visits=3,
        expected=1,
        covered=True,
        first_seen=first,
        last_seen=first + timedelta(hours=2),
        presence_s=240.0,
        max_idle_s=3600.0,
        mean_idle_s=1800.0,
        chain_digest=sha(f"{day} {checkpoint}"),
    )
    return replace(r, **changes)  # type: ignore[arg-type]


def month_row(cid: str, **changes: object) -> MonthlyRollup:
    """A monthly letter of DAY's month with floats that print long (a store must read them back to the bit), a
    basis with a space and every kind of day in its states."""
    row = MonthlyRollup(
        month=DAY.replace(day=1),
        checkpoint_id=cid,
        kind="stairwell_hall",
        building="bat-a",
        estate="les-tilleuls",
        landlord="paris-habitat",
        expected=1,
        basis="b1 with a space",
        states="CCN-X",
        visits=7,
        presence_s=1234.5,
        first_seen=BASE,
        last_seen=BASE + timedelta(days=3, seconds=0.25),
        service_s=0.1 + 0.2,
        seen=True,
        lead_s=1 / 3,
        trail_s=2.0,
        inner_n=6,
        inner_s1=12345.678901234567,
        inner_s2=1e10 / 7,
        inner_worst=999.0,
    )
    return replace(row, **changes)  # type: ignore[arg-type]
