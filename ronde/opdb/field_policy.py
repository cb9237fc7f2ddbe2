"""How long field records are kept (issue 14): one frozen dataclass whose defaults are the one definition.

Pure (no SQLAlchemy): ``ronde.settings`` reads these defaults for its ``[field]`` section, and ``ronde config
check`` must not load the database layer. The purge is ``ronde.opdb.field_retention``; the reasons and sources
of each figure are in ``docs/privacy.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_DAYS = 3660


@dataclass(frozen=True, slots=True)
class FieldRetention:
    """Days kept after a record's client instant (``created_at``); a contact after its consent.

    - ``technique_days`` 365: a technical report names a place and a fault, no person; a year covers the
      landlord's yearly maintenance review and the service's yearly activity report (its copy of record is
      the landlord's own maintenance system, which it feeds).
    - ``sollicitation_days`` 365: the main courante is the service's activity record; the mediation
      evaluation framework (France Médiation / CIV) reports yearly; beyond a year only counts are kept.
    - ``request_days`` 365: as the records that answer them.
    - ``contact_days`` 30: a tenant's contact, given with consent, serves one follow-up, then goes.
    - ``enrolment_days`` 1: spent or expired one-time codes (their hashes) are kept one day for diagnosis.
    """

    technique_days: int = 365
    sollicitation_days: int = 365
    request_days: int = 365
    contact_days: int = 30
    enrolment_days: int = 1

    def __post_init__(self) -> None:
        for name in ("technique_days", "sollicitation_days", "request_days", "contact_days", "enrolment_days"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
                raise ValueError(f"field retention {name}: {value!r} is not a number of days in 1..{MAX_DAYS}")


DEFAULT_FIELD_RETENTION = FieldRetention()
