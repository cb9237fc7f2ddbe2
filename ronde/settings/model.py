"""The one settings model of every server role (issue 13, item 3): shared sections once, one section per role.

The shared sections (``database``, ``store``, ``mqtt``, ``retention``) have the same names for every role; each
role reads its own section too (``api``, ``ingest``, ``audit``, ``dashboards``, ``notify``). Where the
values come from and in which order is ``ronde.settings.sources``; ``docs/configuration.md`` lists every setting.

Secrets are ``SecretStr`` fields: that type is what marks a secret (refused in the TOML file, shown ``***``), so a
new secret needs nothing else than its type.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ronde.protocol.topics import GATEWAY_ID_PATTERN
from ronde.redact import redact_url
from ronde.settings.field_section import FieldSection
from ronde.settings.notify_section import NotifySection
from ronde.store.records import DEFAULT_SEQUENCE_ANOMALY_AFTER, RetentionPolicy
from ronde.store.retention import DEFAULT_RETENTION, RetentionError, validate

# the operational database's default (ronde.opdb.engine.DEFAULT_DATABASE_URL, which tests/settings checks is the
# same): not imported from there, which would load SQLAlchemy for `ronde config check --role dashboards`
DEFAULT_DATABASE_URL = "sqlite:///var/ronde/ronde.db"
STORE_DATABASE_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$"  # ronde.store.config.DATABASE_PATTERN

ROLES: dict[str, tuple[str, ...]] = {
    # role → the sections it reads (``ronde config check --role``)
    "api": ("database", "store", "api", "audit", "field"),
    "ingest": ("database", "store", "mqtt", "retention", "ingest"),
    "audit": ("database", "store", "audit"),
    "dashboards": ("database", "dashboards"),
    "store": ("store", "retention"),
    "notify": ("database", "store", "audit", "notify"),
}


class Section(BaseModel):
    """A section: unknown keys are errors (a typo is not silently a default), values fixed once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSection(Section):
    url: str = Field(
        default=DEFAULT_DATABASE_URL,
        min_length=1,
        description="the operational database: sqlite:///PATH, or postgresql://user@host/db in production",
    )
    password: SecretStr | None = Field(default=None, description="the PostgreSQL password (else ~/.pgpass)")
    secret_key: SecretStr | None = Field(
        default=None, description="32 random bytes, base64url: seals the EID identity keys at rest"
    )

    def engine_url(self) -> str:
        """``url`` with ``password`` put in it, when the URL names none (what ``make_engine`` is given)."""
        if self.password is None:
            return self.url
        from sqlalchemy.engine import make_url

        u = make_url(self.url)
        if u.password is not None:
            return self.url
        return u.set(password=self.password.get_secret_value()).render_as_string(hide_password=False)


class StoreSection(Section):
    url: str | None = Field(
        default=None, min_length=1, description="sqlite://PATH or http(s)://host:port of an InfluxDB"
    )
    database: str = Field(
        default="ronde", pattern=STORE_DATABASE_PATTERN, description="InfluxDB database (1.x) or DBRP/bucket name"
    )
    org: str | None = Field(default=None, min_length=1, description="InfluxDB 2.x organisation")
    user: str | None = Field(default=None, min_length=1, description="InfluxDB 1.x user")
    token: SecretStr | None = Field(default=None, description="InfluxDB 2.x/3.x token (1.8: user:password)")
    password: SecretStr | None = Field(default=None, description="InfluxDB 1.x password of `user`")
    timeout_s: float = Field(default=10.0, gt=0, le=600, description="one request to the store")
    retry_budget_s: float = Field(default=10.0, ge=0, le=600, description="the store's own retries inside one call")
    retry_max_s: float = Field(default=10.0, gt=0, le=3600, description="cap of the backoff between write attempts")

    @field_validator("url")
    @classmethod
    def _scheme(cls, url: str | None) -> str | None:
        if url is None:
            return None
        scheme, sep, rest = url.partition("://")
        if not sep or scheme.lower() not in ("sqlite", "http", "https") or not rest:
            raise ValueError(f"{redact_url(url)!r}: expected sqlite://PATH or http(s)://host:port")
        return url


class MqttSection(Section):
    host: str = Field(default="127.0.0.1", min_length=1, description="the broker")
    port: int = Field(default=1883, ge=1, le=65535)
    tls: bool = False
    tls_ca: Path | None = Field(default=None, description="CA file of the broker's certificate (default: system CAs)")
    username: str | None = Field(default=None, min_length=1)
    password: SecretStr | None = None
    version: Literal["5", "3.1.1"] = Field(default="5", description="3.1.1 only for brokers without MQTT v5")
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    reconnect_min_s: float = Field(default=0.5, gt=0, le=3600)
    reconnect_max_s: float = Field(default=30.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _coherent(self) -> MqttSection:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be >= reconnect_min_s")
        if self.tls_ca is not None and not self.tls_ca.is_file():
            raise ValueError(f"tls_ca: file not found: {self.tls_ca}")
        return self


class RetentionSection(Section):
    """Defaults read from ``DEFAULT_RETENTION`` (``RetentionPolicy``'s fields: the one definition)."""

    raw_days: int = Field(default=DEFAULT_RETENTION.raw_days, ge=1, le=3650)
    proof_days: int = Field(default=DEFAULT_RETENTION.proof_days, ge=1, le=3650)
    rejections_days: int = Field(default=DEFAULT_RETENTION.rejections_days, ge=1, le=3650)

    @model_validator(mode="after")
    def _valid(self) -> RetentionSection:
        try:
            validate(self.policy())
        except RetentionError as exc:
            raise ValueError(str(exc)) from None
        return self

    def policy(self) -> RetentionPolicy:
        return RetentionPolicy(raw_days=self.raw_days, proof_days=self.proof_days, rejections_days=self.rejections_days)


class ApiSection(Section):
    """``ronde api serve``: what ``ronde.api.settings.ApiSettings`` holds, plus where to listen."""

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8080, ge=1, le=65535)
    access_log: Path | None = Field(
        default=None, description="append-only JSONL file of audit-data reads (default: the database's log)"
    )
    stale_after_min: int = Field(default=45, ge=1, le=24 * 60, description="idleness above which a checkpoint is stale")
    gateway_offline_after_s: int = Field(default=180, ge=10, le=86_400)
    sequence_anomaly_after: int = Field(default=DEFAULT_SEQUENCE_ANOMALY_AFTER, ge=1, le=2**53)
    low_battery_mv: int = Field(default=2500, ge=0, le=5000)
    max_period_days: int = Field(default=400, ge=1, le=3660, description="longest period one request may cover")
    cookie_secure: bool = Field(default=False, description="the Secure flag on the session cookie (HTTPS)")
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=64 * 1024 * 1024)
    max_import_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    session_idle_min: int = Field(default=60, ge=1, le=7 * 24 * 60)
    session_absolute_h: int = Field(default=12, ge=1, le=30 * 24)
    default_lang: Literal["fr", "en"] = "fr"
    title: str = Field(default="Ronde", min_length=1, max_length=80)

    @field_validator("access_log")
    @classmethod
    def _folder(cls, p: Path | None) -> Path | None:
        if p is not None and not p.parent.is_dir():
            raise ValueError(f"directory {p.parent} does not exist")
        return p


class IngestSection(Section):
    """``ronde ingest run``: the worker, its subscription, batching, validation limits and maintenance loops."""

    name: str = Field(default="w1", pattern=f"^{GATEWAY_ID_PATTERN}$", description="worker name: client id ingest-NAME")
    session_expiry_s: int = Field(default=7 * 86400, ge=60, le=0xFFFFFFFE)
    receive_maximum: int = Field(default=3000, ge=1, le=65535)
    shared: bool = Field(default=True, description="shared subscription (several workers share the stream)")
    batch_size: int = Field(default=1000, ge=1, le=20000)
    batch_window_ms: int = Field(default=100, ge=0, le=10_000)
    registry_poll_s: float = Field(default=2.0, gt=0, le=3600, description="how often the registry revision is read")
    accept_unknown_gateways: bool = Field(default=False, description="demo only: unknown gateways let in, unsigned")
    max_payload_bytes: int = Field(default=4096, ge=256, le=1_000_000)
    max_future_s: float = Field(default=300.0, ge=0, le=86400)
    eid_drift_ppm: float = Field(default=150.0, ge=0, le=10_000)
    eid_min_periods: int = Field(default=2, ge=1, le=100)
    eid_replay_horizon_days: float = Field(default=7.0, gt=0, le=60)
    max_walk_speed_mps: float = Field(default=1.5, gt=0, le=50)
    radio_range_m: float = Field(default=50.0, ge=0, le=1000)
    replay_check_window_s: float = Field(default=900.0, ge=0, le=86400)
    max_visit_s: float = Field(default=3900.0, gt=0, le=86400)
    maintenance: bool = True
    maintenance_interval_s: float = Field(default=60.0, gt=0, le=86400)
    gap_grace_s: float = Field(default=600.0, ge=0, le=86400)
    gap_window_h: float = Field(default=48.0, gt=0, le=24 * 60)
    rollup_grace_s: float = Field(default=3600.0, ge=0, le=86400)
    rollup_lookback_days: int = Field(default=3, ge=1, le=60)
    retention_interval_s: float = Field(default=6 * 3600.0, gt=0, le=7 * 86400)

    @model_validator(mode="after")
    def _coherent(self) -> IngestSection:
        if self.receive_maximum < self.batch_size:
            raise ValueError(
                f"receive_maximum ({self.receive_maximum}) must be >= batch_size ({self.batch_size}): the broker "
                "stops sending once receive_maximum messages are unacked (recommended: 3 × batch_size)"
            )
        return self


class AuditSection(Section):
    key: Path | None = Field(
        default=None,
        description="Ed25519 private key (PEM) signing audit reports (default: $XDG_DATA_HOME/ronde/audit-key.pem)",
    )


class DashboardsSection(Section):
    grafana_url: str | None = Field(default=None, min_length=1, description="Grafana base URL")
    grafana_token: SecretStr | None = Field(default=None, description="service account token, Admin role")
    timeout_s: float = Field(default=10.0, gt=0, le=600)

    @field_validator("grafana_url")
    @classmethod
    def _http(cls, url: str | None) -> str | None:
        if url is not None and not url.lower().startswith(("http://", "https://")):
            raise ValueError(f"{redact_url(url)!r}: expected http(s)://host[:port]")
        return url


class RondeSettings(BaseSettings):
    """Every server role's settings. Build it with ``ronde.settings.load_settings`` (which says where a bad value
    came from); ``RondeSettings()`` alone reads ``RONDE_CONFIG`` and the environment the same way."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True)

    database: DatabaseSection = Field(default_factory=DatabaseSection)
    store: StoreSection = Field(default_factory=StoreSection)
    mqtt: MqttSection = Field(default_factory=MqttSection)
    retention: RetentionSection = Field(default_factory=RetentionSection)
    api: ApiSection = Field(default_factory=ApiSection)
    ingest: IngestSection = Field(default_factory=IngestSection)
    audit: AuditSection = Field(default_factory=AuditSection)
    dashboards: DashboardsSection = Field(default_factory=DashboardsSection)
    notify: NotifySection = Field(default_factory=NotifySection)
    field: FieldSection = Field(default_factory=FieldSection)  # issue 14: field records (docs/field.md)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - replaced by ours (flat and nested names)
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - no .env files
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - secrets: *_FILE variables
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        from ronde.settings.sources import current_sources

        return (init_settings, *current_sources(settings_cls))


def secret_fields(model: type[BaseModel] = RondeSettings, prefix: str = "") -> frozenset[str]:
    """Dotted names of every secret (``SecretStr``) field: ``store.token``, ``mqtt.password``…"""
    out: set[str] = set()
    for name, field in model.model_fields.items():
        ann: Any = field.annotation
        args = getattr(ann, "__args__", ())
        if ann is SecretStr or SecretStr in args:
            out.add(prefix + name)
        for kind in (ann, *args):
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                out |= secret_fields(kind, f"{prefix}{name}.")
    return frozenset(out)
