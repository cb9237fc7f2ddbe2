"""What the bilan and the alerts read of the field tables (``DatabaseFieldFacts``), on SQLite and PostgreSQL:
places, kinds and delays, the partner's name for an orientation, whose request it was; never a team."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from ronde.opdb.engine import session_factory
from ronde.opdb.field_facts import RequestFact, SollicitationFact, TechnicalFact
from ronde.opdb.field_facts_db import DatabaseFieldFacts
from ronde.opdb.models import FieldRecordRow, FieldRequestRow, PartnerRow

T0 = datetime(2026, 10, 10, 18, tzinfo=UTC)
H = timedelta(hours=1)


def _record(rid: str, kind: str, at: datetime, landlord: str = "paris-habitat", **over: object) -> FieldRecordRow:
    values: dict[str, object] = {
        "id": rid,
        "kind": kind,
        "digest": "0" * 64,
        "team": "Équipe Mordacs",
        "device_id": "dev_1",
        "created_at": at,
        "received_at": at,
        "checkpoint_id": "mor-b01-hall-a",
        "building_id": "mor-b01",
        "estate_id": "mordacs",
        "landlord_id": landlord,
        "place_name": "Hall A – 4 rue Albert Thomas",
        "status": "nouveau",
        "text": "texte libre",
    }
    values.update(over)
    return FieldRecordRow(**values)


def _request(rid: str, role: str, requester_landlord: str | None, **over: object) -> FieldRequestRow:
    values: dict[str, object] = {
        "id": rid,
        "digest": "0" * 64,
        "requester": "audit-ph",
        "requester_role": role,
        "requester_landlord_id": requester_landlord,
        "requester_partner_id": None,
        "checkpoint_id": None,
        "building_id": "mor-b01",
        "estate_id": "mordacs",
        "landlord_id": "paris-habitat",
        "place_name": "4 rue Albert Thomas",
        "text": "regroupement signalé",
        "status": "nouvelle",
        "created_at": T0,
    }
    values.update(over)
    return FieldRequestRow(**values)


def test_facts_carry_places_and_delays_never_a_team(engine: Engine) -> None:
    with session_factory(engine).begin() as s:
        partner = PartnerRow(name="Centre social des Mordacs", kind="association")
        s.add(partner)
        s.flush()
        s.add_all(
            [
                _record(
                    "S1",
                    "sollicitation",
                    T0,
                    origin="locataire",
                    type="voisinage",
                    response="orientation",
                    partner_id=partner.id,
                    status="orientee",
                ),
                _record("S2", "sollicitation", T0 + H, origin="spontanee", type="incivilites", response="information"),
                _record(
                    "S3", "sollicitation", T0, landlord="immobiliere-3f", origin="locataire", type="x", response="y"
                ),
                _record(
                    "T1",
                    "technique",
                    T0,
                    category="eclairage",
                    urgency="urgent",
                    status="resolu",
                    acknowledged_at=T0 + H,
                    resolved_at=T0 + 5 * H,
                ),
                _record("T2", "technique", T0 + 40 * 24 * H, category="proprete", urgency="normal"),  # next month
                _request(
                    "R1", "landlord", "paris-habitat", status="traitee", assigned_at=T0 + H, answered_at=T0 + 2 * H
                ),
                _request("R2", "partner", None, requester_partner_id=partner.id),
            ]
        )
    facts = DatabaseFieldFacts(engine)
    start, end = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
    sol = facts.sollicitations("paris-habitat", start, end)
    assert [(x.id, x.partner) for x in sol] == [("S1", "Centre social des Mordacs"), ("S2", None)]
    assert sol[0] == SollicitationFact(
        "S1", T0, "paris-habitat", "mordacs", "mor-b01", "locataire", "voisinage", "orientation",
        "Centre social des Mordacs", "orientee",
    )  # fmt: skip
    assert len(facts.sollicitations(None, start, end)) == 3
    (tech,) = facts.technical_reports("paris-habitat", start, end)
    assert tech == TechnicalFact(
        "T1", T0, "paris-habitat", "mordacs", "mor-b01", "Hall A – 4 rue Albert Thomas", "eclairage", "urgent",
        "resolu", T0 + H, T0 + 5 * H,
    )  # fmt: skip
    requests = {r.id: r for r in facts.requests("paris-habitat", start, end)}
    assert requests["R1"].from_landlord
    assert not requests["R2"].from_landlord
    assert requests["R1"].answered_at == T0 + 2 * H
    for fact_type in (SollicitationFact, TechnicalFact, RequestFact):
        names = {f.name for f in fields(fact_type)}
        assert not names & {"team", "device", "device_id", "text", "comment", "contact"}
