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

from ronde.settings.model import IngestSection
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


class IngestConfig(IngestSection):
    """The worker's whole configuration: the settings' ``[ingest]`` section (its fields and bounds, written once in
    ``ronde.settings``) plus what the worker takes from the shared sections (broker, store, database, retention),
    flattened by ``from_settings``."""

    # broker
    broker_host: str = "127.0.0.1"
    broker_port: int = Field(default=1883, ge=1, le=65535)
    tls: bool = False
    tls_ca: Path | None = None
    username: str | None = None
    password: SecretStr | None = None
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    mqtt_version: Literal["5", "3.1.1"] = Field(
        default="5",
        description="3.1.1 only for brokers without MQTT v5 (the demo's embedded amqtt): "
        "no Receive Maximum nor session expiry, and usually no shared subscriptions (shared: false)",
    )
    reconnect_min_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)
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
    retention: RetentionConfig = Field(default_factory=RetentionConfig)

    @model_validator(mode="after")
    def _connection(self) -> IngestConfig:
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
