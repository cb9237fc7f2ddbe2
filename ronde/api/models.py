"""HTTP models (pydantic: this is an edge). Every endpoint answers one of these."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ronde.api.auth import Role
from ronde.protocol.estate import (
    ID,
    MAX_FOOTPRINT_POINTS,
    AltBeaconFile,
    CheckpointKind,
    EddystoneUidFile,
    IBeaconFile,
)
from ronde.protocol.messages import BADGE_PATTERN
from ronde.protocol.topics import GATEWAY_ID_PATTERN


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- errors ------------------------------------------------------------------------------------


class ErrorBody(_Out):
    detail: str = Field(description="what went wrong, for a human")
    code: str = Field(description="stable machine code: unauthorized, forbidden, not_found, validation, ...")


class FieldError(_Out):
    loc: list[str | int] = Field(description="where: e.g. ['query', 'first']")
    msg: str
    type: str


class ValidationErrorBody(_Out):
    detail: str
    code: Literal["validation"] = "validation"
    errors: list[FieldError]


class EstateErrorItem(_Out):
    line: int | None = Field(description="1-based line in the submitted file, when known")
    location: str = Field(description="the field, e.g. checkpoints[3].landlord")
    message: str


class EstateErrorBody(_Out):
    detail: str
    code: Literal["estate_invalid"] = "estate_invalid"
    source: str
    errors: list[EstateErrorItem]


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "the body cannot be parsed (e.g. malformed JSON)"},
    401: {"model": ErrorBody, "description": "missing or unknown token"},
    403: {"model": ErrorBody, "description": "the token's role may not do this"},
    404: {"model": ErrorBody, "description": "does not exist, or is outside the token's patrimony"},
    422: {"model": ValidationErrorBody, "description": "invalid parameters or body"},
}


# ---- identity ----------------------------------------------------------------------------------


class Me(_Out):
    name: str
    role: Role
    landlord: str | None


class Health(_Out):
    status: Literal["ok"] = "ok"
    registry_revision: str
    checkpoints: int


# ---- registry ----------------------------------------------------------------------------------


class LandlordOut(_Out):
    id: str
    name: str
    dwellings: int
    dwelling_share: float = Field(description="share of all dwellings of the estates (0..1)")
    buildings: int
    checkpoints: int


class LandlordIn(_In):
    name: str = Field(min_length=1, max_length=120)
    dwellings: int = Field(ge=0, le=1_000_000)


class EstateOut(_Out):
    id: str
    name: str
    city: str
    checkpoints: int = Field(description="checkpoints visible to the caller")


class EstateIn(_In):
    name: str = Field(min_length=1, max_length=120)
    city: str = Field(min_length=1, max_length=120)


# [lat, lon] as a list of two numbers (a tuple would be ``prefixItems``, which OpenAPI tools misread); the
# ranges are checked where every outline is, by the estate file's model (``ronde.protocol.estate``)
Coordinate = Annotated[list[Annotated[float, Field(allow_inf_nan=False)]], Field(min_length=2, max_length=2)]


class BuildingOut(_Out):
    id: str
    name: str
    estate: str
    landlord: str
    dwellings: int
    checkpoints: int
    footprint: list[Coordinate] = Field(
        default_factory=list, description="outline drawn on the plan: [lat, lon] vertices (WGS 84); empty if none"
    )


class BuildingIn(_In):
    name: str = Field(min_length=1, max_length=200)
    estate: str = Field(pattern=ID)
    landlord: str = Field(pattern=ID)
    dwellings: int = Field(default=0, ge=0, le=100_000)
    footprint: list[Coordinate] | None = Field(
        default=None,
        min_length=3,
        max_length=MAX_FOOTPRINT_POINTS,
        description="outline as [lat, lon] vertices (WGS 84); omitted: the building keeps its current outline",
    )


class BeaconOut(_Out):
    format: str
    key: str | None = Field(description="observed identity; None for Eddystone-EID (rotating)")
    identifiers: dict[str, str | int]
    tx_power: int
    interval_ms: int
    has_identity_key: bool = Field(description="an EID identity key is enrolled (the key itself is never returned)")
    rotation_exponent: int | None = None
    clock_epoch: int | None = None


class EidBeaconIn(_In):
    format: Literal["eddystone_eid"] = "eddystone_eid"
    identity_key: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{32}$",
        description="AES-128 identity key, write-only; omit to keep the enrolled key",
    )
    rotation_exponent: int = Field(default=10, ge=0, le=15)
    clock_epoch: int = Field(ge=0)
    tx_power: int = Field(default=-18, ge=-100, le=20)
    interval_ms: int = Field(default=1000, ge=20, le=10_240)


BeaconIn = Annotated[IBeaconFile | AltBeaconFile | EddystoneUidFile | EidBeaconIn, Field(discriminator="format")]


class CheckpointOut(_Out):
    id: str
    name: str
    kind: CheckpointKind
    kind_label: str = Field(description="kind in the caller's language")
    estate: str
    landlord: str
    building: str | None
    lat: float
    lon: float
    level: int
    expected_visits: int = Field(description="visits expected per service day")
    radius_m: float
    beacon: BeaconOut


class CheckpointIn(_In):
    name: str = Field(min_length=1, max_length=200)
    kind: CheckpointKind
    estate: str = Field(pattern=ID)
    landlord: str = Field(pattern=ID)
    building: str | None = Field(default=None, pattern=ID)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    level: int = Field(default=0, ge=-5, le=30)
    expected_visits: int | None = Field(default=None, ge=0, le=50)
    radius_m: float | None = Field(default=None, gt=0, le=200)
    beacon: BeaconIn


class BeaconRow(_Out):
    checkpoint_id: str
    landlord: str
    beacon: BeaconOut
    battery_mv: int | None
    temperature_c: float | None
    telemetry_at: datetime | None


class GatewayOut(_Out):
    gateway_id: str
    public_key: str | None = Field(description="Ed25519 public key, base64url; None if not enrolled")
    enrolled: bool = Field(description="listed in the gateways file (may publish)")
    badges: list[str] | None = Field(description="team badges this gateway may report; None: any")
    allow_unsigned: bool | None = Field(
        default=None,
        description="its messages without a signature are accepted (marked unsigned); None if not enrolled",
    )
    online: bool | None = Field(description="last reported state; None if never heard from")
    scanning: bool | None
    state_at: datetime | None


class GatewayIn(_In):
    public_key: str = Field(pattern=r"^[A-Za-z0-9_-]{43}$", description="Ed25519 public key, base64url (32 bytes)")
    badges: list[Annotated[str, Field(pattern=BADGE_PATTERN)]] | None = Field(
        default=None, max_length=100, description="badges it may report; omitted: keep the current list (or any)"
    )
    allow_unsigned: bool | None = Field(
        default=None,
        description="accept its messages without a signature (a legacy scanner); omitted: keep the current "
        "setting (or false). A message with a bad signature is refused whatever this says",
    )


class BadgeOut(_Out):
    badge: str
    team: str
    active: bool


class BadgeIn(_In):
    team: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[\w .'-]+$",
        description="team pseudonym, e.g. 'Équipe 2': never a person's name",
    )
    active: bool = True


class EstateImportOut(_Out):
    revision: str
    landlords: int
    estates: int
    buildings: int
    checkpoints: int
    applied: bool


# ---- coverage ----------------------------------------------------------------------------------

Availability = Literal["visited", "not_visited", "no_data"]


class CheckpointDay(_Out):
    checkpoint_id: str
    landlord: str
    estate: str
    building: str | None
    kind: CheckpointKind
    service_day: date
    visits: int
    expected: int
    covered: bool = Field(description="visits >= expected for its kind")
    first_seen: datetime | None
    last_seen: datetime | None
    presence_s: float = Field(description="seconds of presence inside service hours")
    availability: Availability = Field(description="tells 'not visited' from 'no data' (sensing down)")
    partial: bool = Field(description="the evening is still in progress: figures so far")


class CheckpointCoverage(_Out):
    first: date
    last: date
    days: list[CheckpointDay]


class ShareDay(_Out):
    service_day: date
    checkpoints: int
    visited: int | None = Field(description="checkpoints with at least one pass (periods up to 92 days; else None)")
    covered: int
    no_data: int
    visited_share: float | None = Field(description="visited / checkpoints (None without checkpoints or detail)")
    covered_share: float | None = Field(description="covered / checkpoints")
    covered_share_sensed: float | None = Field(description="covered / checkpoints with data")


class RollupWarning(_Out):
    service_day: date
    checkpoint_id: str | None = Field(
        description="the checkpoint whose rollup disagrees; None: the day's rollups changed since they were checked"
    )
    reason: str = Field(
        description="what the daily rollup says that its day's stored events do not, or that the day changed"
    )


class GroupCoverage(_Out):
    level: Literal["landlord", "estate", "building"]
    id: str
    name: str
    first: date
    last: date
    checkpoints: int
    days: list[ShareDay]
    period: ShareDay = Field(description="over the period: counts are checkpoint-days; service_day is the last day")
    rollup_warnings: list[RollupWarning] = Field(
        default_factory=list,
        description="daily rollups of the group's checkpoints that disagree with their day's chain link or stored "
        "events (edited after they were computed), as maintenance's check found them, and days whose rollups changed "
        "since that check: the shares of those days are not to be trusted",
    )
    rollup_unchecked: list[date] = Field(
        default_factory=list,
        description="days of the period (raw events still kept) whose rollups maintenance has not checked yet",
    )


class IdlenessRow(_Out):
    checkpoint_id: str
    landlord: str
    estate: str
    visits: int
    current_idle_s: float = Field(description="service time since the last visit, now")
    current_idle_at_least: bool = Field(description="no visit in the look-back: the idleness is at least this")
    mean_idle_s: float | None
    worst_idle_s: float | None
    gap_cv: float | None = Field(description="coefficient of variation of gaps between visits (0 = regular)")
    last_seen: datetime | None


class FairShareRow(_Out):
    landlord: str
    name: str
    dwellings: int
    dwelling_share: float
    presence_s: float
    presence_share: float | None
    ratio: float | None = Field(description="presence_share / dwelling_share (1 = fair)")


class FairShareOut(_Out):
    first: date
    last: date
    rows: list[FairShareRow]


class VisitOut(_Out):
    event_id: str
    checkpoint_id: str
    service_day: date
    first_seen: datetime
    last_seen: datetime
    dwell_s: float
    count: int
    rssi_max: int
    verification: str
    beacon_check: str
    gateway_id: str | None = Field(description="hidden from landlords")
    badge: str | None = Field(description="team pseudonym; hidden from landlords")


# ---- supervision -------------------------------------------------------------------------------


class StaleRow(_Out):
    checkpoint_id: str
    name: str
    label: str = Field(
        description="the name told apart from any other it shares (building, landlord): what to show a person"
    )
    landlord: str
    estate: str
    idle_s: float = Field(description="service time since the last visit")
    at_least: bool = Field(description="no visit in the look-back: idleness is at least idle_s")
    last_seen: datetime | None


class TeamRow(_Out):
    badge: str
    team: str | None = Field(description="team pseudonym registered for the badge")
    checkpoint_id: str
    checkpoint_name: str
    checkpoint_label: str = Field(description="the checkpoint's name made unambiguous (see StaleRow.label)")
    estate: str
    at: datetime


class MaintenanceRow(_Out):
    checkpoint_id: str
    name: str
    label: str = Field(
        description="the name told apart from any other it shares (building, landlord): what to show a person"
    )
    estate: str
    landlord: str
    reason: Literal["low_battery", "not_seen_near_visits"]
    battery_mv: int | None
    last_seen_day: date | None
    missed_days: list[date] = Field(description="days teams passed its neighbours while it stayed silent")


class GatewayHealthRow(_Out):
    gateway_id: str
    enrolled: bool
    online: bool
    state_at: datetime | None
    reason: Literal["offline", "silent", "never_seen", "online"]


class RejectionOut(_Out):
    at: datetime
    reason: str
    detail: str
    topic: str
    gateway_id: str | None
    payload_sha256: str
    event_id: str | None


class GapOut(_Out):
    gateway_id: str
    first_missing: int
    last_missing: int
    detected_at: datetime
    still_missing: int = Field(description="numbers of the gap not received since (0: filled late, not lost)")
    filled: bool
    anomaly: bool = Field(
        description="a sequence anomaly: the gap is wider than the server's sequence_anomaly_after setting (default "
        "100,000), more events than a gateway can have sent; a jumped or forged counter, not lost events"
    )


class RejectionCountOut(_Out):
    reason: str
    count: int = Field(description="rejections with this reason in the period, counted by the store")


# ---- audit -------------------------------------------------------------------------------------


class AuditDay(_Out):
    service_day: date
    events: int = Field(description="stored events of the day covered by the chain")
    link: str = Field(description="hash-chain link of the day")
    checkpoints: int | None
    covered: int | None
    not_visited: int | None
    no_data: int | None
    covered_share: float | None


class CheckpointAuditOut(_Out):
    checkpoint_id: str
    name: str
    kind: str
    building: str | None
    estate: str
    expected_per_day: int
    service_days: int
    passes: int
    covered_days: int
    not_visited_days: int
    no_data_days: int
    presence_s: float
    average_idle_s: float
    longest_wait_s: float = Field(
        description="longest interval without a pass within one service evening that had data (the PDF's and CSV's "
        "'attente la plus longue', there in whole minutes); evenings without data do not count"
    )
    gap_cv: float | None
    days_not_visited: list[date]
    days_no_data: list[date]
    signed: int = Field(description="passes whose Ed25519 signature was verified")
    unsigned: int
    eid_resolved: int = Field(description="passes at Eddystone-EID beacons resolved in their time window")
    static: int


class AuditReportOut(_Out):
    report_id: str
    issued_at: datetime
    landlord: str
    landlord_name: str
    first: date
    last: date
    registry_revision: str
    chain_anchor: str
    chain_digest: str = Field(description="final link of the hash chain over the period's stored events")
    covered_share: float | None
    days: list[AuditDay]
    checkpoints: list[CheckpointAuditOut]
    manifest: dict[str, Any] = Field(
        description="signed manifest: what `ronde audit verify` checks (signature, figures, days, store)"
    )


class AuditKeyOut(_Out):
    algorithm: Literal["Ed25519"] = "Ed25519"
    public_key: str = Field(description="base64url of the 32-byte Ed25519 public key reports are signed with")
    fingerprint: str = Field(description="SHA-256 of the public key, first 16 bytes, to compare by voice")


class AccessEntryOut(_Out):
    at: datetime
    who: str
    role: str
    landlord: str | None
    what: str
    target: str
    status: int
    denied: bool = Field(
        default=False, description="the read was refused (403/404: e.g. another landlord's ids); no data left"
    )


BadgeStr = Annotated[str, Field(pattern=BADGE_PATTERN)]
GatewayIdStr = Annotated[str, Field(pattern=f"^{GATEWAY_ID_PATTERN}$")]
IdStr = Annotated[str, Field(pattern=ID)]
