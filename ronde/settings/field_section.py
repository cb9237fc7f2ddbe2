"""The ``[field]`` section (issue 14): field records' retention per kind, the photos' folder and limits.

Read by the API (``ronde api serve``), which turns it into ``ronde.api.field_context.FieldConfig``. The retention
defaults are ``FieldRetention``'s (``ronde.opdb.field_policy``: the one definition; reasons in docs/privacy.md).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ronde.opdb.field_policy import DEFAULT_FIELD_RETENTION, MAX_DAYS, FieldRetention

_D = DEFAULT_FIELD_RETENTION


class FieldSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    media_dir: Path | None = Field(
        default=None,
        description="folder of the report photos (default: <database>.media beside a SQLite database, else a "
        "temporary folder: set it in production)",
    )
    max_photo_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024, description="largest upload")
    max_photo_px: int = Field(default=2048, ge=64, le=8192, description="longer side of a stored photo")
    technique_days: int = Field(default=_D.technique_days, ge=1, le=MAX_DAYS, description="technical reports kept")
    sollicitation_days: int = Field(default=_D.sollicitation_days, ge=1, le=MAX_DAYS, description="sollicitations")
    request_days: int = Field(default=_D.request_days, ge=1, le=MAX_DAYS, description="requests kept")
    contact_days: int = Field(default=_D.contact_days, ge=1, le=MAX_DAYS, description="a consented contact kept")
    enrolment_days: int = Field(default=_D.enrolment_days, ge=1, le=MAX_DAYS, description="spent enrolment codes")

    @field_validator("media_dir")
    @classmethod
    def _folder(cls, p: Path | None) -> Path | None:
        if p is not None and not p.parent.is_dir():
            raise ValueError(f"directory {p.parent} does not exist")
        return p

    def retention(self) -> FieldRetention:
        return FieldRetention(
            technique_days=self.technique_days,
            sollicitation_days=self.sollicitation_days,
            request_days=self.request_days,
            contact_days=self.contact_days,
            enrolment_days=self.enrolment_days,
        )
