"""The worker's configuration, built from the one settings model (``ronde.settings``, issue 13).

``ronde ingest run|retire|gaps`` read the settings once at start-up (a TOML file, ``RONDE_*`` variables, flags:
docs/configuration.md) and hand the worker this flat ``IngestConfig`` (``from_settings``): the ``ingest`` section
with what it needs of the shared ``mqtt``, ``store``, ``database`` and ``retention`` sections. The worker's code,
the demo and the tests build an ``IngestConfig`` directly; its bounds are the settings' own.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from ronde.protocol.topics import GATEWAY_ID_PATTERN
from ronde.store.records import RetentionPolicy
from ronde.store.retention import DEFAULT_RETENTION

if TYPE_CHECKING:
    from ronde.settings import RondeSettings


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
    influx_user: str | None = Field(default=None, description="InfluxDB 1.x user (its password: influx_password)")
    influx_password: SecretStr | None = None
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


def from_settings(settings: RondeSettings) -> IngestConfig:
    """The worker's configuration from the settings (validated already: the bounds are the same). ``store.url``
    must be set (``settings_for(..., require=("store.url",))``)."""
    m, st = settings.mqtt, settings.store
    if st.url is None:
        raise ValueError("store.url: not set")
    return IngestConfig(
        **settings.ingest.model_dump(),
        broker_host=m.host,
        broker_port=m.port,
        tls=m.tls,
        tls_ca=m.tls_ca,
        username=m.username,
        password=m.password,
        keepalive_s=m.keepalive_s,
        mqtt_version=m.version,
        reconnect_min_s=m.reconnect_min_s,
        reconnect_max_s=m.reconnect_max_s,
        store_url=st.url,
        influx_token=st.token,
        influx_org=st.org,
        influx_database=st.database,
        influx_user=st.user,
        influx_password=st.password,
        store_timeout_s=st.timeout_s,
        store_retry_budget_s=st.retry_budget_s,
        store_retry_max_s=st.retry_max_s,
        database_url=settings.database.engine_url(),
        retention=RetentionConfig(**settings.retention.model_dump()),
    )
