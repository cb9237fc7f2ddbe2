"""What the bilan mensuel and the alerts read of the field activity (issue 14): places and delays, never people.

Why a small read interface: the bilan (``ronde.audit.bilan``) and the alert rules (``ronde.notify``) need a
month's sollicitations, technical reports and requests of one landlord's places, by estate and building, with
their delays. They never need a team, a device or a contact, so the facts below carry none: a bilan cannot
show what it was never given. ``FieldFacts`` is what they are written against; :class:`ListedFieldFacts` holds
facts given by hand (tests, a scripted month) and ``ronde.opdb.field_facts_db`` reads the operational database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar


@dataclass(frozen=True, slots=True)
class SollicitationFact:
    """One entry of the main courante at a landlord's place."""

    id: str
    created_at: datetime
    landlord: str
    estate: str
    building: str | None
    origin: str  # locataire, bailleur, commanditaire, partenaire, spontanee
    type: str
    response: str  # ecoute_mediation, information, accompagnement, orientation, signalement
    partner: str | None  # the partner's name when the response is an orientation
    status: str


@dataclass(frozen=True, slots=True)
class TechnicalFact:
    """One technical report (signalement technique) and the delays of its handling."""

    id: str
    created_at: datetime
    landlord: str
    estate: str
    building: str | None
    place: str
    category: str
    urgency: str  # normal, urgent
    status: str  # nouveau, pris_en_compte, en_cours, resolu
    acknowledged_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class RequestFact:
    """One request of a commanditaire or partner at a landlord's place."""

    id: str
    created_at: datetime
    landlord: str  # the landlord owning the place
    estate: str
    building: str | None
    place: str
    from_landlord: bool  # asked by this landlord itself (not a partner)
    status: str  # nouvelle, assignee, traitee, close
    assigned_at: datetime | None
    answered_at: datetime | None


class FieldFacts(Protocol):
    """The field activity of ``landlord``'s places created in ``[start, end)`` (``landlord`` None: every one)."""

    def sollicitations(self, landlord: str | None, start: datetime, end: datetime) -> Sequence[SollicitationFact]: ...

    def technical_reports(self, landlord: str | None, start: datetime, end: datetime) -> Sequence[TechnicalFact]: ...

    def requests(self, landlord: str | None, start: datetime, end: datetime) -> Sequence[RequestFact]: ...


_Fact = TypeVar("_Fact", SollicitationFact, TechnicalFact, RequestFact)


def _within(items: Sequence[_Fact], landlord: str | None, start: datetime, end: datetime) -> list[_Fact]:
    return [x for x in items if (landlord is None or x.landlord == landlord) and start <= x.created_at < end]


@dataclass(frozen=True, slots=True)
class ListedFieldFacts:
    """Facts given by hand: a scripted month, or no field activity at all (the default)."""

    sollicitation_facts: tuple[SollicitationFact, ...] = ()
    technical_facts: tuple[TechnicalFact, ...] = ()
    request_facts: tuple[RequestFact, ...] = ()

    def sollicitations(self, landlord: str | None, start: datetime, end: datetime) -> list[SollicitationFact]:
        return _within(self.sollicitation_facts, landlord, start, end)

    def technical_reports(self, landlord: str | None, start: datetime, end: datetime) -> list[TechnicalFact]:
        return _within(self.technical_facts, landlord, start, end)

    def requests(self, landlord: str | None, start: datetime, end: datetime) -> list[RequestFact]:
        return _within(self.request_facts, landlord, start, end)
