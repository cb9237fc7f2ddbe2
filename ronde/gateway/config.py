"""The gateway's one TOML file, validated once at start-up.

Every error names its key, e.g. ``gateway.toml: mqtt.port: Input should be less than or equal to 65535``.
Unknown keys are errors too: a misspelt ``override_untill`` must not silently leave the gate closed.
Frozen dataclasses read by ``ronde.gateway.toml_table``, not pydantic models: a scanner's process does
not keep pydantic for a file it reads once (issue 17, item 2: its peak RSS).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Literal

from ronde.gateway.detection import DetectionConfig
from ronde.gateway.detection_config import DetectionConfigError, DetectionTable, build_detection_config, read_detection
from ronde.gateway.toml_table import (
    REQUIRED,
    Problems,
    Table,
    boolean,
    day,
    instant,
    integer,
    join,
    list_of,
    number,
    one_of,
    path,
    text,
    time_of_day,
)
from ronde.protocol.calendar import WEEKDAYS, ServiceCalendar, end_problem, timezone_problem
from ronde.protocol.topics import BADGE_PATTERN, GATEWAY_ID_PATTERN


@dataclass(frozen=True, slots=True)
class GatewaySection:
    id: str
    """Also the MQTT username."""
    badge: str
    """Pseudonymous team badge, never a name."""
    key_file: Path
    """Ed25519 device key made by ``ronde gateway enroll``."""


def _gateway(t: Table) -> GatewaySection | None:
    section = GatewaySection(
        id=t.take("id", text(pattern=f"^{GATEWAY_ID_PATTERN}$"), REQUIRED),
        badge=t.take("badge", text(pattern=BADGE_PATTERN), REQUIRED),
        key_file=t.take("key_file", path, REQUIRED),
    )
    return section if t.finish() else None


@dataclass(frozen=True, slots=True)
class MqttSection:
    host: str
    port: int = 8883
    tls: bool = True
    ca_file: Path | None = None
    client_cert_file: Path | None = None
    client_key_file: Path | None = None
    username: str | None = None
    """Defaults to gateway.id; the broker ACL needs it equal."""
    password_file: Path | None = None
    keepalive_s: int = 30
    session_expiry_s: int = 7 * 86400
    reconnect_initial_s: float = 1.0
    reconnect_max_s: float = 60.0
    inflight_window: int = 20
    client_id: str | None = None
    protocol: Literal["v5", "v3.1.1"] = "v5"
    """"v5", or "v3.1.1" only for a broker without MQTT 5 (the embedded demo broker)."""


def _mqtt(t: Table) -> MqttSection | None:
    d = MqttSection(host="")
    section = MqttSection(
        host=t.take("host", text(min_length=1), REQUIRED),
        port=t.take("port", integer(ge=1, le=65535), d.port),
        tls=t.take("tls", boolean, d.tls),
        ca_file=t.take("ca_file", path, None),
        client_cert_file=t.take("client_cert_file", path, None),
        client_key_file=t.take("client_key_file", path, None),
        username=t.take("username", text(), None),
        password_file=t.take("password_file", path, None),
        keepalive_s=t.take("keepalive_s", integer(ge=5, le=3600), d.keepalive_s),
        session_expiry_s=t.take("session_expiry_s", integer(ge=0, le=2**32 - 1), d.session_expiry_s),
        reconnect_initial_s=t.take("reconnect_initial_s", number(gt=0, le=60), d.reconnect_initial_s),
        reconnect_max_s=t.take("reconnect_max_s", number(gt=0, le=3600), d.reconnect_max_s),
        inflight_window=t.take("inflight_window", integer(ge=1, le=1000), d.inflight_window),
        client_id=t.take("client_id", text(min_length=1, max_length=128), None),
        protocol="v3.1.1" if t.take("protocol", one_of("v5", "v3.1.1"), "v5") == "v3.1.1" else "v5",
    )
    if not t.finish():
        return None
    if section.reconnect_max_s < section.reconnect_initial_s:
        t.check("reconnect_max_s must be >= reconnect_initial_s")
        return None
    return section


@dataclass(frozen=True, slots=True)
class ScannerSection:
    adapter: str | None = None
    """None: BlueZ default."""
    active: bool = False
    """Passive scanning saves battery; beacons need no scan request."""
    watchdog_s: float = 120.0


def _scanner(t: Table) -> ScannerSection:
    d = ScannerSection()
    section = ScannerSection(
        adapter=t.take("adapter", text(pattern=r"^hci[0-9]{1,2}$"), None),
        active=t.take("active", boolean, d.active),
        watchdog_s=t.take("watchdog_s", number(ge=5, le=3600), d.watchdog_s),
    )
    t.finish()
    return section


@dataclass(frozen=True, slots=True)
class OutboxSection:
    path: Path = Path("/var/lib/ronde/outbox.db")
    alarm_depth: int = 5000


def _outbox(t: Table) -> OutboxSection:
    d = OutboxSection()
    section = OutboxSection(
        path=t.take("path", path, d.path), alarm_depth=t.take("alarm_depth", integer(ge=1), d.alarm_depth)
    )
    t.finish()
    return section


@dataclass(frozen=True, slots=True)
class ServiceSection:
    days: tuple[str, ...] = ("wed", "thu", "fri", "sat", "sun")
    start: time = time(16, 0)
    end: time = time(22, 15)
    timezone: str = "Europe/Paris"
    closed: tuple[date, ...] = ()
    override_until: datetime | None = None
    """Scan outside service hours until this instant (with a reason)."""
    override_reason: str | None = None

    def calendar(self) -> ServiceCalendar:
        return ServiceCalendar(
            days=frozenset(WEEKDAYS.index(d) for d in self.days),
            start=self.start,
            end=self.end,
            timezone=self.timezone,
            closed=frozenset(self.closed),
        )


def _service(t: Table) -> ServiceSection:
    d = ServiceSection()
    section = ServiceSection(
        days=t.take("days", list_of(one_of(*WEEKDAYS), min_length=1), d.days),
        start=t.take("start", time_of_day, d.start),
        end=t.take("end", time_of_day, d.end),
        timezone=t.take("timezone", text(), d.timezone),
        closed=t.take("closed", list_of(day), d.closed),
        override_until=t.take("override_until", instant, None),
        override_reason=t.take("override_reason", text(min_length=3, max_length=160), None),
    )
    t.check(timezone_problem(section.timezone), "timezone")  # the one calendar rule (ronde.protocol.calendar)
    if not t.bad & {"start", "end"}:
        t.check(end_problem(section.start, section.end), "end")
    until = section.override_until
    if until is not None and until.tzinfo is None:
        t.check("override_until needs a UTC offset, e.g. 2026-04-01T23:00:00+02:00", "override_until")
    elif until is not None:
        section = replace(section, override_until=until.astimezone(UTC))
    if t.finish() and section.override_until is not None and not section.override_reason:
        t.check("override_until needs override_reason (it is logged and shown in the status)")
    return section


@dataclass(frozen=True, slots=True)
class TelemetrySection:
    period_s: float = 600.0
    """At most one TLM relay per beacon per period."""


@dataclass(frozen=True, slots=True)
class IndicatorSection:
    led: Path | None = None
    """A /sys/class/leds/NAME directory: on while scanning."""


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    gateway: GatewaySection
    mqtt: MqttSection
    scanner: ScannerSection = ScannerSection()
    detection: DetectionTable = field(default_factory=DetectionTable)
    outbox: OutboxSection = OutboxSection()
    service: ServiceSection = ServiceSection()
    telemetry: TelemetrySection = TelemetrySection()
    indicator: IndicatorSection = IndicatorSection()
    heartbeat_s: float = 60.0

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


def _read(t: Table) -> GatewayConfig | None:
    d = GatewayConfig(GatewaySection("", "", Path()), MqttSection(""))
    gateway = t.table("gateway", _gateway, REQUIRED)
    mqtt = t.table("mqtt", _mqtt, REQUIRED)
    config = GatewayConfig(
        gateway=gateway or d.gateway,
        mqtt=mqtt or d.mqtt,
        scanner=t.table("scanner", _scanner, d.scanner),
        detection=t.table("detection", read_detection, d.detection),
        outbox=t.table("outbox", _outbox, d.outbox),
        service=t.table("service", _service, d.service),
        telemetry=t.table("telemetry", _telemetry, d.telemetry),
        indicator=t.table("indicator", _indicator, d.indicator),
        heartbeat_s=t.take("heartbeat_s", number(ge=1, le=3600), d.heartbeat_s),
    )
    if not t.finish() or gateway is None or mqtt is None:
        return None
    if config.mqtt.username is not None and config.mqtt.username != config.gateway.id:
        t.check(
            f"mqtt.username {config.mqtt.username!r} must equal gateway.id {config.gateway.id!r} "
            "(the broker ACL only lets a gateway write under its own id)"
        )
        return None
    return config


def _telemetry(t: Table) -> TelemetrySection:
    section = TelemetrySection(period_s=t.take("period_s", number(ge=10, le=86400), TelemetrySection().period_s))
    t.finish()
    return section


def _indicator(t: Table) -> IndicatorSection:
    section = IndicatorSection(led=t.take("led", path, None))
    t.finish()
    return section


def parse_config(text: str, source: str = "<config>") -> GatewayConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [("", f"not valid TOML: {exc}")]) from None
    problems = Problems()
    config = _read(Table(data, "", problems))
    if config is None or problems.items:
        raise ConfigError(source, problems.items)
    try:
        build_detection_config(config.detection)  # thresholds' cross-checks and the estate file
    except DetectionConfigError as exc:
        raise ConfigError(source, [(join("detection", exc.key), exc.detail)]) from None
    return config


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
