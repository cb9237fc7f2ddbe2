"""The partner directory by id (issue 14): ``PUT /api/v1/partners/{id}`` creates or changes one entry.

``service_repo.put_partner`` keys partners by name (the estate file's import); the API keys them by id, so a
partner can be renamed. Names stay unique (``uq_partners_name``): a name held by another id is refused.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ronde.opdb.models import PartnerEstateRow, PartnerRow
from ronde.opdb.service_repo import Partner


class PartnerNameTaken(ValueError):
    """Another partner already has this name."""


def put_partner_by_id(session: Session, partner_id: int, name: str, kind: str, estates: frozenset[str]) -> Partner:
    other = session.execute(select(PartnerRow).where(PartnerRow.name == name, PartnerRow.id != partner_id)).scalar()
    if other is not None:
        raise PartnerNameTaken(f"partner {other.id} is already named {name!r}")
    row = session.get(PartnerRow, partner_id)
    if row is None:
        row = PartnerRow(id=partner_id, name=name, kind=kind)
        session.add(row)
    else:
        row.name, row.kind = name, kind
    session.flush()
    session.execute(delete(PartnerEstateRow).where(PartnerEstateRow.partner_id == partner_id))
    for estate in sorted(estates):
        session.add(PartnerEstateRow(partner_id=partner_id, estate_id=estate))
    session.flush()
    return Partner(partner_id, name, kind, estates)


def delete_partner(session: Session, partner_id: int) -> bool:
    row = session.get(PartnerRow, partner_id)
    if row is None:
        return False
    session.execute(delete(PartnerEstateRow).where(PartnerEstateRow.partner_id == partner_id))
    session.delete(row)
    session.flush()
    return True
