"""API settings: validated once at start-up (pydantic: this is a config edge)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ronde.coverage.live import DEFAULT_SEQUENCE_ANOMALY_AFTER


class ApiSettings(BaseModel):
    """What the API needs besides its store, registry and calendar.

    ``tokens_file`` may be omitted only when a ``TokenBook`` is handed to ``create_app``.
    ``registry_file`` (estate YAML), ``gateways_file`` and ``badges_file`` make registry changes
    durable; without them changes live in memory only.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tokens_file: Path | None = Field(default=None, description="YAML file of hashed tokens (see docs/api.md)")
    registry_file: Path | None = Field(default=None, description="estate YAML rewritten on registry changes")
    gateways_file: Path | None = Field(
        default=None, description="ingest's gateways file (format: ronde-gateways), rewritten on changes"
    )
    badges_file: Path | None = Field(default=None, description="team badges file (format: ronde-badges)")
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
    tokens_reload_s: float = Field(
        default=5.0,
        ge=0.0,
        le=3600.0,
        description="how often, at most, the tokens file is checked for changes (mtime, size, inode)",
    )
    default_lang: Literal["fr", "en"] = "fr"
    title: str = Field(default="Ronde", min_length=1, max_length=80)

    @model_validator(mode="after")
    def _paths(self) -> ApiSettings:
        for name in ("tokens_file",):
            p = getattr(self, name)
            if p is not None and not Path(p).is_file():
                raise ValueError(f"{name}: {p} is not a readable file")
        for name in ("registry_file", "gateways_file", "badges_file", "access_log"):
            p = getattr(self, name)
            if p is not None and not Path(p).parent.is_dir():
                raise ValueError(f"{name}: directory {Path(p).parent} does not exist")
        return self
