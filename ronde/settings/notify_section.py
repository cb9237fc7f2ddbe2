"""The ``[notify]`` section: ``ronde notify run`` (issue 15): the bilan's schedule, mail and webhook delivery, who
receives what, and the alert rules' thresholds. Validated once at start-up, like every section.

Why thresholds per checkpoint kind: a stairwell hall is passed several times an evening, a reception office
once; one idleness threshold for both would either cry wolf or stay silent.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ronde.protocol.calendar import timezone_problem
from ronde.protocol.estate import CheckpointKind

EMAIL = r"^[^@\s<>,;]+@[^@\s<>,;]+$"
KIND_IDS = tuple(k.value for k in CheckpointKind)
IDLE_RANGE_MIN = (5, 24 * 60)
MAX_TARGET = 300  # ronde.opdb.models.notify.KEY_LEN: a delivery's target column
MAX_ADDRESS = 254  # RFC 5321's longest path


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _http_url(url: str | None) -> str | None:
    if url is not None and not url.lower().startswith(("http://", "https://")):
        raise ValueError("expected an http(s):// URL")
    if url is not None and len(url) > MAX_TARGET:
        raise ValueError(f"a URL of at most {MAX_TARGET} characters (the delivery log keeps it whole)")
    return url


def _emails(emails: tuple[str, ...]) -> tuple[str, ...]:
    bad = [e for e in emails if not re.match(EMAIL, e) or len(e) > MAX_ADDRESS]
    if bad:
        raise ValueError(f"not e-mail addresses: {bad}")
    return emails


class LandlordRecipients(_Part):
    """Where one landlord's bilan goes (and, if it subscribes, its urgent technical reports)."""

    emails: tuple[str, ...] = Field(default=(), description="addresses receiving the bilan")
    webhook: str | None = Field(default=None, description="URL receiving the bilan as signed JSON")
    lang: Literal["fr", "en"] = "fr"
    urgent_reports: bool = Field(default=False, description="also alerted of urgent technical reports on its places")

    @field_validator("emails")
    @classmethod
    def _addresses(cls, emails: tuple[str, ...]) -> tuple[str, ...]:
        return _emails(emails)

    @field_validator("webhook")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        return _http_url(url)


class NotifySection(_Part):
    # the schedule of the bilan
    bilan_day: int = Field(default=1, ge=1, le=28, description="day of the month the previous month's bilan goes")
    bilan_hour: int = Field(default=2, ge=0, le=23, description="hour (in `timezone`) it goes, after the last evening")
    timezone: str = Field(default="Europe/Paris", min_length=1)
    bilan_folder: Path | None = Field(default=None, description="also write each bilan's files there")
    # mail
    smtp_host: str | None = Field(default=None, min_length=1, description="SMTP server (no mail without it)")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="starttls (port 587), tls (implicit, port 465), none (a local relay only)"
    )
    smtp_user: str | None = Field(default=None, min_length=1)
    smtp_password: SecretStr | None = None
    smtp_ca: Path | None = Field(default=None, description="CA file the SMTP server's certificate is checked with")
    smtp_timeout_s: float = Field(default=30.0, gt=0, le=600)
    mail_from: str = Field(default="ronde@localhost", pattern=EMAIL)
    # webhooks
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key of the X-Ronde-Signature header"
    )
    webhook_timeout_s: float = Field(default=15.0, gt=0, le=600)
    # recipients
    supervisors: tuple[str, ...] = Field(default=(), description="addresses receiving the alerts")
    supervisor_webhook: str | None = Field(default=None, description="URL receiving the alerts")
    landlords: dict[str, LandlordRecipients] = Field(default_factory=dict, description="landlord id → recipients")
    # retries and the runner
    retry_base_s: float = Field(default=60.0, gt=0, le=86_400, description="first retry after a failed delivery")
    retry_cap_s: float = Field(default=3600.0, gt=0, le=7 * 86_400, description="longest wait between two retries")
    tick_s: float = Field(default=30.0, gt=0, le=3600, description="how often the runner looks")
    lease_s: float = Field(default=90.0, gt=0, le=3600, description="leader lease; renewed every tick")
    # alert rules
    idle_minutes: dict[str, int] = Field(
        default_factory=lambda: {"stairwell_hall": 90, "reception_office": 180},
        description="checkpoint kind → minutes without a pass (in service) before an alert",
    )
    idle_default_minutes: int = Field(default=120, ge=5, le=24 * 60)
    gateway_offline_after_s: int = Field(default=600, ge=30, le=86_400)
    outbox_alarm_depth: int = Field(default=500, ge=1, le=10_000_000)
    battery_low_mv: int = Field(default=2500, ge=0, le=5000)
    beacon_silent_after_min: int = Field(default=240, ge=5, le=7 * 24 * 60)
    request_unassigned_min: int = Field(default=30, ge=1, le=24 * 60)

    @field_validator("supervisor_webhook")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        return _http_url(url)

    @field_validator("supervisors")
    @classmethod
    def _supervisors(cls, emails: tuple[str, ...]) -> tuple[str, ...]:
        return _emails(emails)

    @field_validator("idle_minutes")
    @classmethod
    def _kinds(cls, minutes: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(minutes) - set(KIND_IDS))
        if unknown:
            raise ValueError(f"unknown checkpoint kinds {unknown} (known: {', '.join(KIND_IDS)})")
        lo, hi = IDLE_RANGE_MIN
        bad = {k: v for k, v in minutes.items() if not lo <= v <= hi}
        if bad:
            raise ValueError(f"idle minutes must be {lo}..{hi}: {bad}")
        return minutes

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        problem = timezone_problem(name)
        if problem:
            raise ValueError(problem)
        return name

    @model_validator(mode="after")
    def _coherent(self) -> NotifySection:
        if self.retry_cap_s < self.retry_base_s:
            raise ValueError("retry_cap_s must be >= retry_base_s")
        if self.smtp_ca is not None and not self.smtp_ca.is_file():
            raise ValueError(f"smtp_ca: file not found: {self.smtp_ca}")
        if self.smtp_password is not None and self.smtp_user is None:
            raise ValueError("smtp_password without smtp_user")
        return self
