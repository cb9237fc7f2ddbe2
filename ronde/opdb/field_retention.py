"""How long field records are kept (issue 14), per kind, and the purge that applies it.

The durations are written once, as ``FieldRetention``'s defaults (``ronde.opdb.field_policy``, free of
SQLAlchemy so that the settings can read them); ``docs/privacy.md`` gives their reasons
and sources. Records name places, never tenants, but a sollicitation's free text and an optional contact may
still concern a person: the contact, given with consent for one follow-up, has its own short retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ronde.opdb.field_policy import DEFAULT_FIELD_RETENTION, FieldRetention
from ronde.opdb.field_repo import SOLLICITATION, TECHNIQUE
from ronde.opdb.models import (
    EnrolmentRow,
    FieldContactRow,
    FieldEventRow,
    FieldPhotoRow,
    FieldRecordRow,
    FieldRequestRow,
)

__all__ = ["DEFAULT_FIELD_RETENTION", "FieldRetention", "PurgeResult", "purge_field"]


@dataclass(frozen=True, slots=True)
class PurgeResult:
    records: int
    contacts: int
    requests: int
    enrolments: int
    orphan_photos: tuple[str, ...]  # media digests no record uses any more: the caller deletes the files


def purge_field(session: Session, retention: FieldRetention, now: datetime) -> PurgeResult:
    """Delete what is past its retention; returns the counts and the photo digests left unused."""
    contacts = _delete_ids(
        session,
        FieldContactRow,
        FieldContactRow.record_id,
        (FieldContactRow.expires_at <= now)
        | (FieldContactRow.consent_at < now - timedelta(days=retention.contact_days)),
    )
    old_ids: list[str] = []
    for kind, days in ((TECHNIQUE, retention.technique_days), (SOLLICITATION, retention.sollicitation_days)):
        old_ids += session.scalars(
            select(FieldRecordRow.id).where(
                FieldRecordRow.kind == kind, FieldRecordRow.created_at < now - timedelta(days=days)
            )
        )
    digests = set(session.scalars(select(FieldPhotoRow.sha256).where(FieldPhotoRow.record_id.in_(old_ids))))
    for table, column in (
        (FieldContactRow, FieldContactRow.record_id),
        (FieldPhotoRow, FieldPhotoRow.record_id),
        (FieldEventRow, FieldEventRow.record_id),
        (FieldRecordRow, FieldRecordRow.id),
    ):
        session.execute(delete(table).where(column.in_(old_ids)))
    requests = _delete_ids(
        session,
        FieldRequestRow,
        FieldRequestRow.id,
        FieldRequestRow.created_at < now - timedelta(days=retention.request_days),
    )
    enrolments = _delete_ids(
        session,
        EnrolmentRow,
        EnrolmentRow.code_sha256,
        EnrolmentRow.expires_at < now - timedelta(days=retention.enrolment_days),
    )
    still = set(session.scalars(select(FieldPhotoRow.sha256).where(FieldPhotoRow.sha256.in_(digests))))
    session.flush()
    return PurgeResult(len(old_ids), contacts, requests, enrolments, tuple(sorted(digests - still)))


def _delete_ids(session: Session, table: type, key: object, condition: object) -> int:
    ids = list(session.scalars(select(key).where(condition)))  # type: ignore[call-overload]
    if ids:
        session.execute(delete(table).where(key.in_(ids)))  # type: ignore[attr-defined]
    return len(ids)
