"""HTTP models of the field routes (issue 14; contract: docs/field.md). Pydantic at the edge only.

Free texts are bounded (``TEXT_MAX``) and one line of visible text (``PlainText``: no control, format or
separator characters, which end up in CSV, PDF and pages); vocabulary values are checked against
``ronde.protocol.field_vocab`` and listed as enums in the OpenAPI document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, model_validator
from pydantic.fields import FieldInfo

from ronde.protocol import field_vocab as vocab
from ronde.protocol.estate import ID
from ronde.protocol.plain_text import PlainText

TEXT_MAX = 500
ULID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"

Ulid = Annotated[str, Field(pattern=ULID_PATTERN, description="client-generated ULID: the idempotency key")]
ShortText = Annotated[PlainText, Field(max_length=TEXT_MAX)]
PlaceId = Annotated[str, Field(pattern=ID, max_length=63)]


def _one_of(terms: tuple[vocab.Term, ...], what: str) -> AfterValidator:
    allowed = vocab.ids(terms)

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"unknown {what} {value!r}: one of {', '.join(sorted(allowed))}")
        return value

    return AfterValidator(check)


def _enum(terms: tuple[vocab.Term, ...]) -> FieldInfo:
    values: list[JsonValue] = [t.id for t in terms]
    info: FieldInfo = Field(json_schema_extra={"enum": values})
    return info


Category = Annotated[str, _one_of(vocab.CATEGORIES, "category"), _enum(vocab.CATEGORIES)]
Urgency = Annotated[str, _one_of(vocab.URGENCIES, "urgency"), _enum(vocab.URGENCIES)]
Origin = Annotated[str, _one_of(vocab.ORIGINS, "origin"), _enum(vocab.ORIGINS)]
SollicitationType = Annotated[str, _one_of(vocab.TYPES, "type"), _enum(vocab.TYPES)]
Response = Annotated[str, _one_of(vocab.RESPONSES, "response"), _enum(vocab.RESPONSES)]
SollicitationStatus = Annotated[
    str, _one_of(vocab.SOLLICITATION_STATUSES, "status"), _enum(vocab.SOLLICITATION_STATUSES)
]
PartnerKind = Annotated[str, _one_of(vocab.PARTNER_KINDS, "partner kind"), _enum(vocab.PARTNER_KINDS)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


# ---- enrolment and devices ----------------------------------------------------------------------


class EnrolmentIn(_In):
    team: PlainText = Field(min_length=1, max_length=120, description="a team, or one of its badges")


class EnrolmentOut(_Out):
    code: str = Field(description="one-time code, valid 15 minutes; shown once")
    expires_at: datetime
    enrol_url: str
    qr_svg: str = Field(description="the enrolment URL as an inline SVG QR code")


class DeviceIn(_In):
    code: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    label: PlainText = Field(min_length=1, max_length=120)


class DeviceEnrolled(_Out):
    device_id: str
    token: str = Field(description="the device's bearer token: shown once, stored only hashed")
    team: str


class DeviceOut(_Out):
    device_id: str
    team: str
    label: str
    enrolled_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None


class TerrainMe(_Out):
    team: str
    device_id: str


# ---- places, suggestion, vocabulary, partners ---------------------------------------------------


class NamedPlace(_Out):
    id: str
    name: str


class BuildingPlaces(_Out):
    id: str
    name: str
    address: str | None = None
    checkpoints: list[NamedPlace]


class EstatePlaces(_Out):
    id: str
    name: str
    buildings: list[BuildingPlaces]
    checkpoints_outside_buildings: list[NamedPlace]


class Places(_Out):
    revision: str
    estates: list[EstatePlaces]


class SuggestedCheckpoint(_Out):
    id: str
    name: str
    building: str | None
    estate: str


class Suggestion(_Out):
    checkpoint: SuggestedCheckpoint | None
    seen_at: datetime | None = None


class TermOut(_Out):
    id: str
    label: str


class Vocabulary(_Out):
    categories: list[TermOut]
    urgencies: list[TermOut]
    origins: list[TermOut]
    types: list[TermOut]
    responses: list[TermOut]
    statuses: list[TermOut] = Field(description="technical report statuses")
    sollicitation_statuses: list[TermOut]
    request_statuses: list[TermOut]
    partner_kinds: list[TermOut]


class PartnerOut(_Out):
    id: int
    name: str
    kind: str
    estates: list[str] | None = Field(default=None, description="staff only")


class PartnerTokenIn(_In):
    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.@-]+$", description="as a token file's names")


class PartnerToken(_Out):
    name: str
    partner: int
    token: str = Field(description="the bearer token: shown once, stored only hashed")


class PartnerIn(_In):
    name: PlainText = Field(min_length=1, max_length=200)
    kind: PartnerKind
    estates: list[PlaceId] = Field(default_factory=list, max_length=200)


# ---- records ------------------------------------------------------------------------------------


class PlaceIn(_In):
    checkpoint: PlaceId | None = None
    building: PlaceId | None = None

    @model_validator(mode="after")
    def _one(self) -> PlaceIn:
        if (self.checkpoint is None) == (self.building is None):
            raise ValueError("a place is exactly one of 'checkpoint' or 'building'")
        return self


class ReportIn(_In):
    id: Ulid
    created_at: AwareDatetime
    place: PlaceIn
    category: Category
    urgency: Urgency = "normal"
    text: ShortText | None = None


class ContactIn(_In):
    value: PlainText = Field(min_length=1, max_length=200)
    consent: Literal[True] = Field(description="the person agreed to be contacted: required")


class SollicitationIn(_In):
    id: Ulid
    created_at: AwareDatetime
    place: PlaceIn
    origin: Origin
    type: SollicitationType
    response: Response
    partner: int | None = Field(default=None, ge=1, le=2**31 - 1)
    status: SollicitationStatus = "ouverte"
    text: ShortText | None = None
    contact: ContactIn | None = None
    request: Ulid | None = None

    @model_validator(mode="after")
    def _orientation_names_a_partner(self) -> SollicitationIn:
        if self.response == "orientation" and self.partner is None:
            raise ValueError("an orientation names its partner ('partner')")
        return self


class ReportCreated(_Out):
    id: str
    status: str
    landlord: str = Field(description="the landlord the report goes to (display name)")


class SollicitationCreated(_Out):
    id: str
    status: str


class PhotoOut(_Out):
    sha256: str
    width: int
    height: int


class PlaceOut(_Out):
    checkpoint: str | None = None
    building: str | None = None
    estate: str
    name: str


class StepOut(_Out):
    status: str
    at: datetime
    comment: str | None


class RecordOut(_Out):
    id: str
    kind: Literal["technique", "sollicitation"]
    place: PlaceOut
    created_at: datetime
    status: str
    category: str | None = None
    urgency: str | None = None
    origin: str | None = None
    type: str | None = None
    response: str | None = None
    partner: int | None = None
    request: str | None = None
    text: str | None = None
    comment: str | None = None
    acknowledged_at: datetime | None = None
    in_progress_at: datetime | None = None
    resolved_at: datetime | None = None
    has_photo: bool = False
    timeline: list[StepOut] | None = None


class RecordPage(_Out):
    items: list[RecordOut]
    next_cursor: str | None


class StatusIn(_In):
    status: Literal["pris_en_compte", "en_cours", "resolu", "orientee", "close"]  # a report's steps, a sollicitation's
    comment: ShortText | None = None


class ContactOut(_Out):
    value: str = Field(description="as the tenant gave it, with consent, for one follow-up")
    consent_at: datetime
    expires_at: datetime = Field(description="deleted then (retention 'contact_days' from the consent)")


class TeamStatusIn(_In):
    """A team's step on its own sollicitation, sent through the phone's outbox (``id`` is its key there)."""

    id: Ulid
    status: Literal["orientee", "close"]
    at: AwareDatetime = Field(description="when the team did it (the phone's clock, which may send it later)")
    partner: int | None = Field(default=None, ge=1, le=2**31 - 1, description="the partner oriented to")
    comment: ShortText | None = None

    @model_validator(mode="after")
    def _partner_with_orientation(self) -> TeamStatusIn:
        if self.partner is not None and self.status != "orientee":
            raise ValueError("'partner' goes with the status 'orientee' only")
        return self


# ---- requests -----------------------------------------------------------------------------------


class RequestIn(_In):
    id: Ulid
    place: PlaceIn
    text: ShortText = Field(min_length=1)
    wanted_by: PlainText | None = Field(default=None, max_length=120)


class AssignIn(_In):
    team: PlainText = Field(min_length=1, max_length=120, description="a team, or one of its badges")


class Evidence(_Out):
    checkpoint: str
    seen_at: datetime


class RequestResponse(_Out):
    record: str
    type: str | None
    response: str | None
    status: str
    created_at: datetime


class RequestOut(_Out):
    id: str
    place: PlaceOut
    text: str
    wanted_by: str | None
    status: str
    created_at: datetime
    assigned_at: datetime | None
    answered_at: datetime | None
    answer_delay_s: float | None = Field(description="seconds from the request to the team's answer")
    evidence: list[Evidence] = Field(description="scanner visits at the request's place after it was made")
    response: RequestResponse | None
    assigned_team: str | None = Field(default=None, description="staff and the team's device only")
