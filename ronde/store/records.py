"""What the store holds (frozen dataclasses: the domain, not the wire)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from ronde.protocol.frozen import fast_init


class Verification(StrEnum):
    SIGNED = "signed"  # Ed25519 signature valid against the gateway's enrolled key
    UNSIGNED = "unsigned"  # accepted only because its gateway is enrolled with allow_unsigned


class BeaconCheck(StrEnum):
    STATIC = "static"  # iBeacon/AltBeacon/Eddystone-UID: identity can be replayed by anyone
    EID_RESOLVED = "eid_resolved"  # Eddystone-EID resolved within its time window


class RejectReason(StrEnum):
    SIZE = "size"
    ENCODING = "encoding"  # not UTF-8 / not JSON
    SCHEMA = "schema"
    TOPIC = "topic"  # topic not in the v1 tree
    GATEWAY_MISMATCH = "gateway_mismatch"  # payload's gateway_id differs from the topic's
    UNKNOWN_GATEWAY = "unknown_gateway"
    CLOCK_FUTURE = "clock_future"
    CLOCK_TOO_OLD = "clock_too_old"
    SIGNATURE_MISSING = "signature_missing"
    SIGNATURE_INVALID = "signature_invalid"
    UNKNOWN_BEACON = "unknown_beacon"
    EID_UNRESOLVED = "eid_unresolved"
    EID_REPLAY = "eid_replay"  # resolved outside its window, or seen at two places too far apart
    OUT_OF_SERVICE = "out_of_service"  # outside service hours: not presence, and not collected
    VISIT_TOO_LONG = "visit_too_long"  # last_seen - first_seen above ingest's max_visit_s: no gateway makes one
    STORE_REFUSED = "store_refused"  # valid, but the store refuses it for good (a value it cannot hold)
    BEYOND_RETENTION = "beyond_retention"  # InfluxDB dropped it on write: older than its retention policy


@fast_init  # one per visit ingested (the duplicate look-up)
@dataclass(frozen=True, slots=True)
class EventKey:
    """What a duplicate check needs: the event id, and where to look for it (its gateway's series,
    around its first_seen) so a time-series engine reads a few points, not every gateway's."""

    event_id: str
    gateway_id: str
    first_seen: datetime


class TrackPoint(NamedTuple):
    """What ingest's replay check reads of a stored visit (``Store.visit_track``): the gateway, first and last seen
    in milliseconds since the epoch (the stores' precision), the event id and the checkpoint. A plain tuple, not a
    ``StoredVisit``: a batch reads thousands of them, and building 19-field visits cost more than reading them."""

    gateway_id: str
    first_seen_ms: int
    last_seen_ms: int
    event_id: str
    checkpoint_id: str


@fast_init  # one per visit ingested (ronde.protocol.frozen)
@dataclass(frozen=True, slots=True)
class StoredVisit:
    """A verified, enriched visit. ``badge`` is a field only (never a tag, never shown to landlords)."""

    event_id: str
    gateway_id: str
    seq: int
    badge: str
    checkpoint_id: str
    kind: str
    building: str | None
    estate: str
    landlord: str
    service_day: date
    first_seen: datetime
    last_seen: datetime
    count: int
    rssi_max: int
    rssi_mean: float
    verification: Verification
    beacon_check: BeaconCheck
    received_at: datetime
    payload_sha256: str  # digest of the exact payload bytes, for the audit hash chain

    @property
    def dwell_s(self) -> float:
        return (self.last_seen - self.first_seen).total_seconds()

    @property
    def key(self) -> EventKey:
        return EventKey(self.event_id, self.gateway_id, self.first_seen)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A refused message: why, from whom, when, and a hash of the payload (not its content)."""

    at: datetime
    reason: RejectReason
    detail: str
    topic: str
    gateway_id: str | None
    payload_sha256: str
    event_id: str | None = None


# A gap (``SequenceGap``) wider than this is not shown as lost events but as a "sequence anomaly": a gateway cannot
# have sent that many. A gateway sends one visit event per pass of a checkpoint: a few hundred an
# evening, a few thousand at the very most, so 100,000 is months of service. A wider jump is a
# corrupted counter, a reflashed gateway or a forged ``seq`` (a signed ``"seq": 9007199254740991``
# would otherwise read as nine quadrillion lost events).
# (Defined here, not in ronde.coverage.live, so the settings need not import the coverage package.)
DEFAULT_SEQUENCE_ANOMALY_AFTER = 100_000


@dataclass(frozen=True, slots=True)
class SequenceGap:
    """Events ``first_missing..last_missing`` of a gateway never reached the server (yet)."""

    gateway_id: str
    first_missing: int
    last_missing: int
    detected_at: datetime


@dataclass(frozen=True, slots=True)
class BeaconTelemetryRecord:
    at: datetime
    checkpoint_id: str
    gateway_id: str
    battery_mv: int | None
    temperature_c: float | None
    adv_count: int
    uptime_s: float


@dataclass(frozen=True, slots=True)
class GatewayStateRecord:
    at: datetime
    gateway_id: str
    online: bool
    scanning: bool
    in_service: bool | None = None
    outbox_depth: int | None = None
    adverts_per_s: float | None = None
    battery_pct: int | None = None


# A daily rollup's figures as a plain tuple, what a fold of many days reads (``Store.rollup_figures``): service
# day, checkpoint, kind, building, estate, landlord, visits, expected, covered, first and last seen in microseconds
# since the epoch (None when unseen), presence, max idle, mean idle. No chain digest, no object per row.
RollupFigures = tuple[date, str, str, str | None, str, str, int, int, bool, int | None, int | None, float, float, float]


@dataclass(frozen=True, slots=True)
class DailyRollup:
    """Per checkpoint and closed service day: what dashboards and audits read."""

    service_day: date
    checkpoint_id: str
    kind: str
    building: str | None
    estate: str
    landlord: str
    visits: int
    expected: int
    covered: bool
    first_seen: datetime | None
    last_seen: datetime | None
    presence_s: float
    max_idle_s: float
    mean_idle_s: float
    chain_digest: str  # hash-chain link of the day's events (see the audit module)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def rollup_figures_of(r: DailyRollup) -> RollupFigures:
    """A rollup's ``RollupFigures`` (what a store without a cheaper read gives)."""
    first = None if r.first_seen is None else (r.first_seen - _EPOCH) // _US
    last = None if r.last_seen is None else (r.last_seen - _EPOCH) // _US
    return (
        r.service_day,
        r.checkpoint_id,
        r.kind,
        r.building,
        r.estate,
        r.landlord,
        r.visits,
        r.expected,
        r.covered,
        first,
        last,
        r.presence_s,
        r.max_idle_s,
        r.mean_idle_s,
    )


@dataclass(frozen=True, slots=True)
class MonthlyRollup:
    """Per checkpoint and settled calendar month: its coverage folded from the month's daily rollups.

    Why: a year of coverage read from daily rollups is ~260 rows per checkpoint (1.3 M rows at 5,000
    checkpoints); from monthly ones it is 12. A month is folded once it is settled (ended more than the
    sensing horizon ago), so each day's state no longer changes. ``basis`` names the registry revision,
    calendar and horizon it was folded under: a reader with another basis ignores the row.
    """

    month: date  # first day of the calendar month
    checkpoint_id: str
    kind: str
    building: str | None
    estate: str
    landlord: str
    expected: int
    basis: str
    states: str  # one letter per service day of the month: C covered, N not visited, X no data, - no rollup
    visits: int
    presence_s: float
    first_seen: datetime | None
    last_seen: datetime | None
    service_s: float  # the idleness segment of the month (ronde.coverage.idleness.Segment)
    seen: bool
    lead_s: float
    trail_s: float
    inner_n: int
    inner_s1: float
    inner_s2: float
    inner_worst: float


@dataclass(frozen=True, slots=True)
class MonthlySuffix:
    """Per checkpoint, settled month and service day ``from_day`` of it: the fold of the days ``from_day``..the
    month's end, as a letter of that piece (``letter.month`` the month's first day, ``letter.states`` one letter a
    service day from ``from_day``).

    Why: a year ending today starts mid-month, and that first, partial month was read as every daily rollup of
    its days (~40,000 for a landlord at city scale). Written by the maintenance step that folds the month, it
    makes that piece one row per checkpoint, folded with the same additions in the same order as the daily
    figures would be (``ronde.coverage.suffix``), so equal to the bit.
    """

    from_day: date
    letter: MonthlyRollup


@dataclass(frozen=True, slots=True)
class MonthlySpan:
    """Per checkpoint, service day ``from_day`` and settled month ``letter.month`` (the span's last month): the fold
    of the days ``from_day``..that month's end, as one letter (``letter.states`` one letter a service day from
    ``from_day``, ``-`` for the days of a month the checkpoint had no letter in).

    Why: a landlord's year was read as a suffix letter and eleven monthly letters a checkpoint (30,000 rows at city
    scale), then folded; the span is that fold made by maintenance when a month settles, for the days a year ending
    before the next month settles can start on (``ronde.coverage.spans``): one row a checkpoint, folded with the same
    operations in the same order, so equal to the bit.
    """

    from_day: date
    letter: MonthlyRollup


# A monthly rollup's figures as a plain tuple, what a period's settled months are folded from
# (``Store.monthly_figures``, ``coverage.monthly.LetterFold``): checkpoint, kind, building, estate, landlord,
# expected, basis, states, visits, presence, first and last seen in microseconds since the epoch (None when
# unseen), then the idleness segment: service, seen (0 or 1), lead, trail, inner n, s1, s2, worst. No month (the
# caller asked for it), no object or datetime a row: on SQLite the row as the driver gives it.
# A letter's states as a landlord's shares read them (``Store.suffix_states`` and the like): its checkpoint, basis and
# day states (``MonthlyFigures``' 0, 6 and 7)
LetterStates = tuple[str, str, str]
MonthlyFigures = tuple[
    str, str, str | None, str, str, int, str, str, int, float, int | None, int | None,
    float, int, float, float, int, float, float, float,
]  # fmt: skip


def monthly_figures_of(r: MonthlyRollup) -> MonthlyFigures:
    """A monthly rollup's ``MonthlyFigures`` (what a store without a cheaper read gives)."""
    first = None if r.first_seen is None else (r.first_seen - _EPOCH) // _US
    last = None if r.last_seen is None else (r.last_seen - _EPOCH) // _US
    return (
        r.checkpoint_id,
        r.kind,
        r.building,
        r.estate,
        r.landlord,
        r.expected,
        r.basis,
        r.states,
        r.visits,
        r.presence_s,
        first,
        last,
        r.service_s,
        int(r.seen),
        r.lead_s,
        r.trail_s,
        r.inner_n,
        r.inner_s1,
        r.inner_s2,
        r.inner_worst,
    )


@dataclass(frozen=True, slots=True)
class WriteBatch:
    """Everything one ingest batch wants stored, written in one durable step before any MQTT ack."""

    visits: tuple[StoredVisit, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    telemetry: tuple[BeaconTelemetryRecord, ...] = ()
    gateway_states: tuple[GatewayStateRecord, ...] = ()
    gaps: tuple[SequenceGap, ...] = ()

    def __len__(self) -> int:
        return len(self.visits) + len(self.rejections) + len(self.telemetry) + len(self.gateway_states) + len(self.gaps)


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Defaults follow the CNIL's guidance on employee geolocation (see docs/retention.md). These
    field defaults are the one place the default durations are written: every other place (store
    and ingest configuration, docs' figures) reads ``ronde.store.retention.DEFAULT_RETENTION``."""

    raw_days: int = 60  # visits, telemetry, gateway states: about two months
    proof_days: int = 365  # daily rollups (proof of service per checkpoint): about a year
    rejections_days: int = 60
    extra: dict[str, int] = field(default_factory=dict)
