"""Choosing and configuring a store from one URL (validated once at start-up, failing fast).

``sqlite://PATH`` (``sqlite:///var/lib/ronde/ronde.db`` is the absolute path
``/var/lib/ronde/ronde.db``; ``sqlite://ronde.db`` is relative) → ``SqliteStore``;
``http(s)://host:port[/prefix]`` → ``InfluxStore`` (credentials as options, or ``user:password@``
in the URL for InfluxDB 1.x).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from ronde.protocol.errors import validation_issues
from ronde.redact import redact_url
from ronde.store.port import Store, StoreAccess
from ronde.store.records import RetentionPolicy
from ronde.store.retention import DEFAULT_RETENTION, RetentionError, validate
from ronde.store.sqlite import SqliteStore

if TYPE_CHECKING:  # imported by ``build`` for an InfluxDB URL only: a SQLite process is spared its HTTP client
    from ronde.store.influx import InfluxStore

DATABASE_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$"


class StoreConfigError(ValueError):
    """A store URL or option that cannot work; the message says why."""


class StoreConfig(BaseModel):
    """Everything needed to build a store. ``retention`` durations in days (docs/retention.md),
    defaulting to ``DEFAULT_RETENTION`` (the one definition). ``access``: who may change the layout
    (``StoreAccess``): readers pass READ, the maintenance role MAINTAIN."""

    # a URL may carry user:password@: pydantic would quote it back in its error messages
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    url: str = Field(description="sqlite://PATH or http(s)://host:port of an InfluxDB")
    database: str = Field(default="ronde", pattern=DATABASE_PATTERN)
    token: SecretStr | None = Field(default=None, description="InfluxDB 2.x/3.x API token")
    org: str | None = Field(default=None, description="InfluxDB 2.x organisation")
    username: str | None = Field(default=None, description="InfluxDB 1.x user (1.8: used as user:password token)")
    password: SecretStr | None = None
    write_api: Literal["auto", "v1", "v2"] = "auto"
    timeout_s: float = Field(default=10.0, gt=0)
    retry_budget_s: float = Field(default=10.0, ge=0)
    max_lines_per_request: int = Field(default=5000, ge=1, le=100_000)
    raw_days: int = Field(default=DEFAULT_RETENTION.raw_days, ge=1)
    proof_days: int = Field(default=DEFAULT_RETENTION.proof_days, ge=1)
    rejections_days: int = Field(default=DEFAULT_RETENTION.rejections_days, ge=1)
    extra_retention: dict[str, int] = Field(default_factory=dict)
    access: StoreAccess = StoreAccess.WRITE
    sqlite_cache_kib: int | None = Field(
        default=None, ge=1, description="SQLite: each connection's page cache in KiB (None: SQLite's 2,000)"
    )

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("sqlite", "http", "https"):
            what = f"unknown scheme {scheme!r}" if scheme else "no scheme"
            raise ValueError(f"store URL {redact_url(url)!r}: {what}; use sqlite://PATH or http(s)://host:port")
        return url

    @model_validator(mode="after")
    def _coherent(self) -> StoreConfig:
        parts = urlsplit(self.url)
        shown = redact_url(self.url)  # error messages end up in logs: never the credentials
        if parts.scheme.lower() == "sqlite":
            if not self.url[len("sqlite://") :]:
                raise ValueError(f"store URL {shown!r}: no file path after sqlite://")
        else:
            if not parts.hostname:
                raise ValueError(f"store URL {shown!r}: no host")
            if parts.query or parts.fragment:
                raise ValueError(f"store URL {shown!r}: options go in the configuration, not in the URL")
            try:
                parts.port  # noqa: B018 - raises on a bad port
            except ValueError as exc:
                raise ValueError(f"store URL {shown!r}: {exc}") from exc
        try:
            validate(self.retention())
        except RetentionError as exc:
            raise ValueError(str(exc)) from exc
        return self

    def retention(self) -> RetentionPolicy:
        return RetentionPolicy(
            raw_days=self.raw_days,
            proof_days=self.proof_days,
            rejections_days=self.rejections_days,
            extra=dict(self.extra_retention),
        )

    def open(self) -> Store:
        """The store, opened (schema and retention in place)."""
        store = self.build()
        store.open()
        return store

    def build(self) -> SqliteStore | InfluxStore:
        """The store, not yet opened."""
        parts = urlsplit(self.url)
        if parts.scheme.lower() == "sqlite":
            return SqliteStore(
                unquote(self.url[len("sqlite://") :]), access=self.access, cache_kib=self.sqlite_cache_kib
            )
        from ronde.store.influx import InfluxStore

        username = self.username or (unquote(parts.username) if parts.username else None)
        password = (
            self.password.get_secret_value() if self.password else (unquote(parts.password) if parts.password else None)
        )
        netloc = parts.hostname or ""
        if ":" in netloc:  # IPv6 literal
            netloc = f"[{netloc}]"
        if parts.port is not None:
            netloc += f":{parts.port}"
        return InfluxStore(
            urlunsplit((parts.scheme, netloc, parts.path, "", "")),
            database=self.database,
            token=self.token.get_secret_value() if self.token else None,
            org=self.org,
            username=username,
            password=password,
            retention=self.retention(),
            write_api=self.write_api,
            timeout_s=self.timeout_s,
            retry_budget_s=self.retry_budget_s,
            max_lines_per_request=self.max_lines_per_request,
            access=self.access,
        )


def open_store(
    url: str,
    *,
    token: str | None = None,
    org: str | None = None,
    database: str = "ronde",
    username: str | None = None,
    password: str | None = None,
    retention: RetentionPolicy | None = None,
    write_api: Literal["auto", "v1", "v2"] = "auto",
    timeout_s: float = 10.0,
    retry_budget_s: float = 10.0,
    access: StoreAccess = StoreAccess.WRITE,
) -> Store:
    """Build the store for ``url`` and ``open()`` it as ``access`` allows (``StoreAccess``). Bad URLs
    and options raise ``StoreConfigError``; an engine that does not answer raises ``StoreUnavailable``."""
    policy = retention or DEFAULT_RETENTION
    try:
        config = StoreConfig(
            url=url,
            token=SecretStr(token) if token else None,
            org=org,
            database=database,
            username=username,
            password=SecretStr(password) if password else None,
            write_api=write_api,
            timeout_s=timeout_s,
            retry_budget_s=retry_budget_s,
            raw_days=policy.raw_days,
            proof_days=policy.proof_days,
            rejections_days=policy.rejections_days,
            extra_retention=dict(policy.extra),
            access=access,
        )
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise StoreConfigError(_first_message(exc)) from exc
    return config.open()


def _first_message(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        issues = validation_issues(exc, echo_input=True)
        if issues:
            return f"{issues[0].where}: {issues[0].what}" if issues[0].where else issues[0].what
    return str(exc)
