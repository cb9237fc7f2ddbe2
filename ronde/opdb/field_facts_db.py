"""``FieldFacts`` read from the operational database's field tables (issue 14, migration 0003).

Only the columns a bilan or an alert may show are selected: never ``team``, ``device_id``, ``text``, ``comment``
or a contact. A request counts as the landlord's own when a landlord principal of that landlord posted it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ronde.opdb.engine import read_only
from ronde.opdb.field_facts import RequestFact, SollicitationFact, TechnicalFact
from ronde.opdb.models import FieldRecordRow, FieldRequestRow, PartnerRow

TECHNIQUE, SOLLICITATION = "technique", "sollicitation"


class DatabaseFieldFacts:
    """Each call reads in its own read-only transaction (one consistent picture per call)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = read_only(engine)

    def _session(self) -> Session:
        return Session(self._engine, expire_on_commit=False)

    def sollicitations(self, landlord: str | None, start: datetime, end: datetime) -> list[SollicitationFact]:
        r = FieldRecordRow
        q = (
            select(r.id, r.created_at, r.landlord_id, r.estate_id, r.building_id, r.origin, r.type, r.response)
            .add_columns(r.status, PartnerRow.name)
            .outerjoin(PartnerRow, PartnerRow.id == r.partner_id)
            .where(r.kind == SOLLICITATION, r.created_at >= start, r.created_at < end)
            .order_by(r.created_at, r.id)
        )
        if landlord is not None:
            q = q.where(r.landlord_id == landlord)
        with self._session() as s, s.begin():
            return [
                SollicitationFact(
                    id=row[0],
                    created_at=row[1],
                    landlord=row[2],
                    estate=row[3],
                    building=row[4],
                    origin=row[5] or "",
                    type=row[6] or "",
                    response=row[7] or "",
                    partner=row[9],
                    status=row[8],
                )
                for row in s.execute(q)
            ]

    def technical_reports(self, landlord: str | None, start: datetime, end: datetime) -> list[TechnicalFact]:
        r = FieldRecordRow
        q = (
            select(
                r.id,
                r.created_at,
                r.landlord_id,
                r.estate_id,
                r.building_id,
                r.place_name,
                r.category,
                r.urgency,
                r.status,
                r.acknowledged_at,
                r.resolved_at,
            )
            .where(r.kind == TECHNIQUE, r.created_at >= start, r.created_at < end)
            .order_by(r.created_at, r.id)
        )
        if landlord is not None:
            q = q.where(r.landlord_id == landlord)
        with self._session() as s, s.begin():
            return [
                TechnicalFact(
                    id=row[0],
                    created_at=row[1],
                    landlord=row[2],
                    estate=row[3],
                    building=row[4],
                    place=row[5],
                    category=row[6] or "",
                    urgency=row[7] or "normal",
                    status=row[8],
                    acknowledged_at=row[9],
                    resolved_at=row[10],
                )
                for row in s.execute(q)
            ]

    def requests(self, landlord: str | None, start: datetime, end: datetime) -> list[RequestFact]:
        q = (
            select(FieldRequestRow)
            .where(FieldRequestRow.created_at >= start, FieldRequestRow.created_at < end)
            .order_by(FieldRequestRow.created_at, FieldRequestRow.id)
        )
        if landlord is not None:
            q = q.where(FieldRequestRow.landlord_id == landlord)
        with self._session() as s, s.begin():
            return [
                RequestFact(
                    id=x.id,
                    created_at=x.created_at,
                    landlord=x.landlord_id,
                    estate=x.estate_id,
                    building=x.building_id,
                    place=x.place_name,
                    from_landlord=x.requester_role == "landlord" and x.requester_landlord_id == x.landlord_id,
                    status=x.status,
                    assigned_at=x.assigned_at,
                    answered_at=x.answered_at,
                )
                for x in s.scalars(q)
            ]
