"""API settings: validated once at start-up (pydantic: this is a config edge)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ronde.store.records import DEFAULT_SEQUENCE_ANOMALY_AFTER


class ApiSettings(BaseModel):
    """What the API needs besides its store, registry, tokens and calendar: ``create_app``'s settings.

    ``ronde api serve`` builds it from the ``[api]`` and ``[audit]`` sections of the one settings model
    (``ronde.settings``, ``ronde.api.cli.api_settings``). It names no registry, gateways, badges or tokens file:
    the API reads those from the operational database, and never writes YAML (issue 13).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    access_log: Path | None = Field(
        default=None, description="append-only JSONL log of audit-data reads; None keeps it in memory"
    )
    audit_key: Path | None = Field(
        default=None,
        description="Ed25519 private key (PEM) signing audit reports; None: $RONDE_AUDIT_KEY, else "
        "$XDG_DATA_HOME/ronde/audit-key.pem, created (0600) on first use",
    )
    stale_after_min: int = Field(default=45, ge=1, le=24 * 60, description="idleness above which a checkpoint is stale")
    gateway_offline_after_s: int = Field(default=180, ge=10, le=86_400)
    sequence_anomaly_after: int = Field(
        default=DEFAULT_SEQUENCE_ANOMALY_AFTER,
        ge=1,
        le=2**53,
        description="a sequence gap wider than this many events is shown as a sequence anomaly, not as lost events",
    )
    low_battery_mv: int = Field(default=2500, ge=0, le=5000)
    max_period_days: int = Field(default=400, ge=1, le=3660, description="longest period one request may cover")
    cookie_secure: bool = Field(default=False, description="set the Secure flag on the session cookie (HTTPS)")
    max_body_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        description="largest request body of any route not listed below; larger answers 413 before it is read",
    )
    max_import_body_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=1024,
        le=256 * 1024 * 1024,
        description="largest body of the estate-file import and check routes",
    )
    session_idle_min: int = Field(
        default=60, ge=1, le=7 * 24 * 60, description="a page session unused this long is over"
    )
    session_absolute_h: int = Field(
        default=12, ge=1, le=30 * 24, description="a page session is over this long after sign-in, used or not"
    )
    default_lang: Literal["fr", "en"] = "fr"
    title: str = Field(default="Ronde", min_length=1, max_length=80)

    @model_validator(mode="after")
    def _paths(self) -> ApiSettings:
        if self.access_log is not None and not Path(self.access_log).parent.is_dir():
            raise ValueError(f"access_log: directory {Path(self.access_log).parent} does not exist")
        return self
