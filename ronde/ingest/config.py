"""Ingest configuration: validated once at start-up (pydantic: this is an edge), fail fast.

From a YAML/JSON file (``ronde ingest run --config ingest.yaml``) and/or command-line flags,
flags winning. Every field has a safe default except what only the operator knows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from ronde.protocol import safe_yaml
from ronde.protocol.errors import format_validation_error
from ronde.protocol.topics import GATEWAY_ID_PATTERN
from ronde.store.records import RetentionPolicy
from ronde.store.retention import DEFAULT_RETENTION


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetentionConfig(_Cfg):
    """Defaults read from ``DEFAULT_RETENTION`` (the one definition, docs/retention.md): written here
    again, they drifted apart from the store's."""

    raw_days: int = Field(default=DEFAULT_RETENTION.raw_days, ge=1, le=3650)
    proof_days: int = Field(default=DEFAULT_RETENTION.proof_days, ge=1, le=3650)
    rejections_days: int = Field(default=DEFAULT_RETENTION.rejections_days, ge=1, le=3650)

    def to_policy(self) -> RetentionPolicy:
        return RetentionPolicy(raw_days=self.raw_days, proof_days=self.proof_days, rejections_days=self.rejections_days)


# the file mode's settings (removed): what replaced them is said when a configuration still has one
_MOVED_TO_DATABASE = ("estate_file", "gateways_file", "calendar")


class IngestConfig(_Cfg):
    # identity
    name: str = Field(
        default="w1", pattern=f"^{GATEWAY_ID_PATTERN}$", description="worker name: client id ingest-{name}"
    )
    # broker
    broker_host: str = "127.0.0.1"
    broker_port: int = Field(default=1883, ge=1, le=65535)
    tls: bool = False
    tls_ca: Path | None = None
    username: str | None = None
    password: SecretStr | None = None
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    session_expiry_s: int = Field(
        default=7 * 86400, ge=60, le=0xFFFFFFFE, description="the broker keeps our queue this long while we are away"
    )
    receive_maximum: int = Field(default=3000, ge=1, le=65535, description="unacked messages the broker may send us")
    shared: bool = True
    mqtt_version: Literal["5", "3.1.1"] = Field(
        default="5",
        description="3.1.1 only for brokers without MQTT v5 (the demo's embedded amqtt): "
        "no Receive Maximum nor session expiry, and usually no shared subscriptions (shared: false)",
    )
    reconnect_min_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)
    # batching
    batch_size: int = Field(default=1000, ge=1, le=20000)
    batch_window_ms: int = Field(default=100, ge=0, le=10_000)
    # store
    store_url: str = Field(
        default="sqlite://ronde.db", min_length=1, description="sqlite://PATH (sqlite:///abs) or InfluxDB URL"
    )
    influx_token: SecretStr | None = None
    influx_org: str | None = None
    influx_database: str | None = None
    store_retry_max_s: float = Field(default=10.0, gt=0, description="cap of the backoff between write attempts")
    store_timeout_s: float = Field(default=10.0, gt=0, description="one request to the store")
    store_retry_budget_s: float = Field(default=10.0, ge=0, description="the store's own retries inside one write")
    # reference data (registry, EID keys, gateways, calendar): the operational database, nothing else
    database_url: str | None = Field(
        default=None,
        min_length=1,
        description="the operational database (registry, gateways, calendar); default RONDE_DATABASE_URL",
    )
    registry_poll_s: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="how often the registry version row is read (changes followed)",
    )
    # validation (unsigned messages: per gateway, its ``allow_unsigned`` in the operational database)
    accept_unknown_gateways: bool = Field(
        default=False, description="demo only: gateways not enrolled in the operational database are let in, unsigned"
    )
    max_payload_bytes: int = Field(default=4096, ge=256, le=1_000_000)
    max_future_s: float = Field(default=300.0, ge=0, le=86400)
    eid_drift_ppm: float = Field(default=150.0, ge=0, le=10_000)
    eid_min_periods: int = Field(default=2, ge=1, le=100)
    eid_replay_horizon_days: float = Field(default=7.0, gt=0, le=60)
    max_walk_speed_mps: float = Field(default=1.5, gt=0, le=50)
    radio_range_m: float = Field(default=50.0, ge=0, le=1000)
    replay_check_window_s: float = Field(default=900.0, ge=0, le=86400)
    max_visit_s: float = Field(
        default=3900.0,
        gt=0,
        le=86400,
        description="longest visit accepted (visit_too_long beyond): the gateway's max_visit_s (3600) + 5 min",
    )
    # maintenance loops (any worker may run them: idempotent)
    maintenance: bool = True
    maintenance_interval_s: float = Field(default=60.0, gt=0)
    gap_grace_s: float = Field(default=600.0, ge=0)
    gap_window_h: float = Field(default=48.0, gt=0)
    rollup_grace_s: float = Field(default=3600.0, ge=0)
    rollup_lookback_days: int = Field(default=3, ge=1, le=60)
    retention_interval_s: float = Field(default=6 * 3600.0, gt=0)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: Any) -> Any:
        """Settings that moved elsewhere get a message saying where, not "extra inputs not permitted"."""
        if not isinstance(data, dict):
            return data
        if "allow_unsigned" in data:
            raise ValueError(
                "allow_unsigned is no longer an ingest setting: remove it, and set allow_unsigned: true on each "
                "gateway that may send unsigned messages: PUT /api/v1/gateways/{id}, or in the gateways file that "
                "`ronde registry import` loads (gateways[].allow_unsigned)"
            )
        moved = [k for k in _MOVED_TO_DATABASE if k in data]
        if moved:
            raise ValueError(
                f"{', '.join(moved)}: no longer ingest settings: a worker reads the registry, the gateways and the "
                "service calendar from the operational database (database_url); load the files into it once with "
                "`ronde registry import --estate FILE --gateways FILE`"
            )
        return data

    @model_validator(mode="after")
    def _coherent(self) -> IngestConfig:
        if self.receive_maximum < self.batch_size:
            raise ValueError(
                f"receive_maximum ({self.receive_maximum}) must be >= batch_size ({self.batch_size}): "
                "the broker stops sending once receive_maximum messages are unacked, so a batch could never fill "
                "(recommended: receive_maximum = 3 × batch_size)"
            )
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be >= reconnect_min_s")
        if self.tls_ca is not None and not self.tls_ca.is_file():
            raise ValueError(f"file not found: {self.tls_ca}")
        return self

    @property
    def client_id(self) -> str:
        return f"ingest-{self.name}"


class ConfigError(ValueError):
    """A configuration that cannot run: the message says which field and why."""


def _render(exc: ValidationError) -> str:
    text = format_validation_error(exc, echo_input=True, separator="\n  ", default_where="config")
    return "invalid ingest configuration:\n  " + text


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> IngestConfig:
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            raw = safe_yaml.load_file(p)
        except OSError as exc:
            raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{p}: not UTF-8 text") from None
        except safe_yaml.YamlLimitError as exc:  # names the file, the line and the limit
            raise ConfigError(str(exc)) from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{p}: not valid YAML/JSON: {getattr(exc, 'problem', exc)}") from None
        if raw is not None and not isinstance(raw, dict):
            raise ConfigError(f"{p}: expected a mapping of settings")
        data.update(raw or {})
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return IngestConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_render(exc)) from None
