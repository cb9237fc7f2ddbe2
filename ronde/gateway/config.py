"""The gateway's one TOML file, validated once at start-up (pydantic: this is an edge).

Every error names its key, e.g. ``gateway.toml: mqtt.port: Input should be less than or equal to 65535``.
Unknown keys are errors too: a misspelt ``override_untill`` must not silently leave the gate closed.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from ronde.gateway.detection import DetectionConfig
from ronde.gateway.detection_config import DetectionConfigError, DetectionTable, build_detection_config
from ronde.protocol.calendar import WEEKDAYS, ServiceCalendar, end_problem, timezone_problem
from ronde.protocol.errors import validation_issues
from ronde.protocol.messages import BADGE_PATTERN
from ronde.protocol.topics import GATEWAY_ID_PATTERN

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GatewaySection(_Section):
    id: str = Field(pattern=f"^{GATEWAY_ID_PATTERN}$", description="also the MQTT username")
    badge: str = Field(pattern=BADGE_PATTERN, description="pseudonymous team badge, never a name")
    key_file: Path = Field(description="Ed25519 device key made by `ronde gateway enroll`")


class MqttSection(_Section):
    host: str = Field(min_length=1)
    port: int = Field(default=8883, ge=1, le=65535)
    tls: bool = True
    ca_file: Path | None = None
    client_cert_file: Path | None = None
    client_key_file: Path | None = None
    username: str | None = Field(default=None, description="defaults to gateway.id; the broker ACL needs it equal")
    password_file: Path | None = None
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    session_expiry_s: int = Field(default=7 * 86400, ge=0, le=2**32 - 1)
    reconnect_initial_s: float = Field(default=1.0, gt=0, le=60)
    reconnect_max_s: float = Field(default=60.0, gt=0, le=3600)
    inflight_window: int = Field(default=20, ge=1, le=1000)
    client_id: str | None = Field(default=None, min_length=1, max_length=128)
    protocol: Literal["v5", "v3.1.1"] = Field(
        default="v5", description="v3.1.1 only for a broker without MQTT 5 (the embedded demo broker)"
    )

    @model_validator(mode="after")
    def _backoff(self) -> MqttSection:
        if self.reconnect_max_s < self.reconnect_initial_s:
            raise ValueError("reconnect_max_s must be >= reconnect_initial_s")
        return self


class ScannerSection(_Section):
    adapter: str | None = Field(default=None, pattern=r"^hci[0-9]{1,2}$", description="None: BlueZ default")
    active: bool = Field(default=False, description="passive scanning saves battery; beacons need no scan request")
    watchdog_s: float = Field(default=120.0, ge=5, le=3600)


class OutboxSection(_Section):
    path: Path = Path("/var/lib/ronde/outbox.db")
    alarm_depth: int = Field(default=5000, ge=1)


class ServiceSection(_Section):
    days: list[Weekday] = Field(default=["wed", "thu", "fri", "sat", "sun"], min_length=1)
    start: time = time(16, 0)
    end: time = time(22, 15)
    timezone: str = "Europe/Paris"
    closed: list[date] = Field(default_factory=list)
    override_until: datetime | None = Field(
        default=None, description="scan outside service hours until this instant (with a reason)"
    )
    override_reason: str | None = Field(default=None, min_length=3, max_length=160)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        problem = timezone_problem(v)  # the one calendar rule (ronde.protocol.calendar)
        if problem is not None:
            raise ValueError(problem)
        return v

    @field_validator("end")
    @classmethod
    def _end(cls, v: time, info: ValidationInfo) -> time:
        start = info.data.get("start")
        problem = None if start is None else end_problem(start, v)
        if problem is not None:
            raise ValueError(problem)
        return v

    @field_validator("override_until")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("override_until needs a UTC offset, e.g. 2026-04-01T23:00:00+02:00")
        return None if v is None else v.astimezone(UTC)

    @model_validator(mode="after")
    def _override_reason(self) -> ServiceSection:
        if self.override_until is not None and not self.override_reason:
            raise ValueError("override_until needs override_reason (it is logged and shown in the status)")
        return self

    def calendar(self) -> ServiceCalendar:
        return ServiceCalendar(
            days=frozenset(WEEKDAYS.index(d) for d in self.days),
            start=self.start,
            end=self.end,
            timezone=self.timezone,
            closed=frozenset(self.closed),
        )


class TelemetrySection(_Section):
    period_s: float = Field(default=600.0, ge=10, le=86400, description="at most one TLM relay per beacon per period")


class IndicatorSection(_Section):
    led: Path | None = Field(default=None, description="a /sys/class/leds/NAME directory: on while scanning")


class GatewayConfig(_Section):
    gateway: GatewaySection
    mqtt: MqttSection
    scanner: ScannerSection = ScannerSection()
    detection: DetectionTable = DetectionTable()
    outbox: OutboxSection = OutboxSection()
    service: ServiceSection = ServiceSection()
    telemetry: TelemetrySection = TelemetrySection()
    indicator: IndicatorSection = IndicatorSection()
    heartbeat_s: float = Field(default=60.0, ge=1, le=3600)

    @model_validator(mode="after")
    def _username(self) -> GatewayConfig:
        if self.mqtt.username is not None and self.mqtt.username != self.gateway.id:
            raise ValueError(
                f"mqtt.username {self.mqtt.username!r} must equal gateway.id {self.gateway.id!r} "
                "(the broker ACL only lets a gateway write under its own id)"
            )
        return self

    @property
    def mqtt_username(self) -> str:
        return self.gateway.id

    def detection_config(self) -> DetectionConfig:
        return build_detection_config(self.detection)

    @property
    def client_id(self) -> str:
        return self.mqtt.client_id or f"ronde-gw-{self.gateway.id}"


class ConfigError(Exception):
    """Every problem found in one file, each as ``key: message``."""

    def __init__(self, source: str, errors: list[tuple[str, str]]) -> None:
        self.source = source
        self.errors = errors
        super().__init__("\n".join(f"{source}: {key}: {msg}" if key else f"{source}: {msg}" for key, msg in errors))


def parse_config(text: str, source: str = "<config>") -> GatewayConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [("", f"not valid TOML: {exc}")]) from None
    try:
        config = GatewayConfig.model_validate(data)
    except ValidationError as exc:
        errors = [(i.where, i.what) for i in validation_issues(exc, echo_input=True)]
        raise ConfigError(source, errors) from None
    try:
        build_detection_config(config.detection)  # thresholds' cross-checks and the estate file
    except DetectionConfigError as exc:
        raise ConfigError(source, [(_join("detection", exc.key), exc.detail)]) from None
    return config


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p)


def load_config(path: str | Path) -> GatewayConfig:
    """Read and validate ``path``; raises ConfigError (never a traceback) for any problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(p), [("", f"cannot read: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise ConfigError(str(p), [("", "not UTF-8 text")]) from None
    return parse_config(text, str(p))


def read_password(config: GatewayConfig) -> str | None:
    """The MQTT password from ``mqtt.password_file`` (first line, stripped)."""
    path = config.mqtt.password_file
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8").splitlines()[0].strip() if path.stat().st_size else ""
    except OSError as exc:
        raise ConfigError("<config>", [("mqtt.password_file", f"cannot read {path}: {exc.strerror}")]) from None
