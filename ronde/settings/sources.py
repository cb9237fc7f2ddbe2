"""Where settings come from, each value with its origin (so an error names the file or the variable).

Precedence, highest first: command-line flags; the flat ``RONDE_*`` variables (``RONDE_DATABASE_URL``,
``RONDE_STORE_TOKEN``…, :data:`FLAT`); the nested ``RONDE_<SECTION>__<FIELD>`` variables; the TOML file
(``--config FILE``, else ``RONDE_CONFIG``); the defaults. Secrets (``SecretStr`` fields) come only from the
environment or from a file a variable names (``RONDE_STORE_TOKEN_FILE=/run/secrets/store-token``): one written in
the TOML file is refused, naming the field. Every source refuses text holding control characters, and the TOML
file is read only when it is a regular file of at most :data:`MAX_CONFIG_BYTES` (a FIFO or ``/dev/zero`` would
hang or fill memory).
"""

from __future__ import annotations

import json
import logging
import os
import stat
import tomllib
import warnings
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from ronde.settings.errors import ConfigError, ConfigIssue
from ronde.settings.model import RondeSettings, secret_fields
from ronde.store.credentials import StoreTokenDeprecation

log = logging.getLogger(__name__)

CONFIG_VARIABLE = "RONDE_CONFIG"
PREFIX = "RONDE_"
NESTED = "__"
FILE_SUFFIX = "_FILE"
MAX_CONFIG_BYTES = 256 * 1024  # a settings file is a few kilobytes
MAX_SECRET_BYTES = 64 * 1024
COMMAND_LINE = "command line"

# today's flat spellings: variable → setting (docs/configuration.md)
FLAT: dict[str, str] = {
    "RONDE_DATABASE_URL": "database.url",
    "RONDE_DATABASE_PASSWORD": "database.password",
    "RONDE_OPDB_SECRET_KEY": "database.secret_key",
    "RONDE_STORE_URL": "store.url",
    "RONDE_STORE_TOKEN": "store.token",
    "RONDE_STORE_PASSWORD": "store.password",
    "RONDE_MQTT_PASSWORD": "mqtt.password",
    "RONDE_AUDIT_KEY": "audit.key",
    "RONDE_GRAFANA_URL": "dashboards.grafana_url",
    "RONDE_GRAFANA_TOKEN": "dashboards.grafana_token",
    "RONDE_SMTP_PASSWORD": "notify.smtp_password",
    "RONDE_WEBHOOK_SECRET": "notify.webhook_secret",
}
# older names still read when the new one is not set, with a warning
DEPRECATED: dict[str, str] = {
    "RONDE_INFLUX_TOKEN": "RONDE_STORE_TOKEN",
    "GRAFANA_URL": "RONDE_GRAFANA_URL",
    "GRAFANA_TOKEN": "RONDE_GRAFANA_TOKEN",
}
SECRETS = secret_fields()
FLAT_NAME = {dotted: var for var, dotted in FLAT.items()}


def env_name(dotted: str) -> str:
    """The variable a setting is read from: its flat name if it has one, else ``RONDE_SECTION__FIELD``."""
    return FLAT_NAME.get(dotted) or PREFIX + dotted.upper().replace(".", NESTED)


def _control(text: str) -> bool:
    return any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text)  # noqa: PLR2004 - C0, DEL and C1


def _put(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = data
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            return  # a scalar where a section is expected: pydantic reports it
        node = child
    node[path[-1]] = value


def _walk(data: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every leaf of a nested mapping (lists are leaves), with its path."""
    if isinstance(data, dict) and data:
        for key, value in data.items():
            yield from _walk(value, (*path, str(key)))
    else:
        yield path, data


def _check_text(origin: str, path: tuple[str, ...], value: Any) -> None:
    """Refuse control characters in a key or a text value (a terminal escape in a title, a NUL in a path)."""
    where = ".".join(repr(p) if _control(p) else p for p in path) or "(top level)"
    if any(_control(p) for p in path):
        raise ConfigError(ConfigIssue(origin, where, "a key holds control characters"))
    texts = value if isinstance(value, list) else [value]
    if any(isinstance(t, str) and _control(t) for t in texts):
        raise ConfigError(ConfigIssue(origin, where, "the value holds control characters"))


def read_secret_file(variable: str, dotted: str, path_text: str) -> str:
    """The secret ``dotted`` in the file ``variable`` names: a regular file, at most 64 KiB of UTF-8, surrounding
    white space removed; anything else a ConfigError naming the variable and the setting."""
    path = Path(path_text)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(ConfigIssue(variable, dotted, f"{path}: not a regular file"))
        if info.st_size > MAX_SECRET_BYTES:
            raise ConfigError(ConfigIssue(variable, dotted, f"{path}: larger than {MAX_SECRET_BYTES} bytes"))
        text = path.read_bytes()[:MAX_SECRET_BYTES].decode("utf-8").strip()
    except OSError as exc:
        raise ConfigError(ConfigIssue(variable, dotted, f"{path}: cannot read: {exc.strerror}")) from None
    except UnicodeDecodeError:
        raise ConfigError(ConfigIssue(variable, dotted, f"{path}: not UTF-8 text")) from None
    if not text:
        raise ConfigError(ConfigIssue(variable, dotted, f"{path}: the file is empty"))
    if _control(text):
        raise ConfigError(ConfigIssue(variable, dotted, f"{path}: the secret holds control characters"))
    return text


class OriginSource(PydanticBaseSettingsSource):
    """A source whose values remember where each came from: ``origins[path] = label``."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self.data: dict[str, Any] = {}
        self.origins: dict[tuple[str, ...], str] = {}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:  # noqa: ARG002
        return None, field_name, False  # everything is done in __call__ (the sources fill whole sections)

    def __call__(self) -> dict[str, Any]:
        return self.data

    def set(self, path: tuple[str, ...], value: Any, origin: str) -> None:
        _check_text(origin, path, value)
        _put(self.data, path, value)
        self.origins[path] = origin

    def origin_of(self, loc: tuple[str, ...]) -> str | None:
        """The origin of the value at ``loc``, or of one below or above it (a section's own check)."""
        for path, origin in self.origins.items():
            if path[: len(loc)] == loc or loc[: len(path)] == path:
                return origin
        return None


class FlagSource(OriginSource):
    """The role's command-line flags, given as ``{"store.url": value}`` (None: not given)."""

    def __init__(self, settings_cls: type[BaseSettings], flags: Mapping[str, Any]) -> None:
        super().__init__(settings_cls)
        for dotted, value in flags.items():
            if value is not None:
                self.set(tuple(dotted.split(".")), value, COMMAND_LINE)


class FlatEnvSource(OriginSource):
    """``RONDE_DATABASE_URL``, ``RONDE_STORE_TOKEN``… and, for a secret, ``<NAME>_FILE``. Empty means unset."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        for var, dotted in FLAT.items():
            self._one(environ, var, dotted)
        for old, new in DEPRECATED.items():
            path = tuple(FLAT[new].split("."))
            if environ.get(old) and path not in self.origins:
                message = f"{old} is deprecated: set {new} instead (docs/configuration.md)"
                log.warning("%s", message)
                category = StoreTokenDeprecation if new == "RONDE_STORE_TOKEN" else DeprecationWarning
                warnings.warn(message, category, stacklevel=2)
                self._one(environ, old, FLAT[new])

    def _one(self, environ: Mapping[str, str], var: str, dotted: str) -> None:
        path = tuple(dotted.split("."))
        value, file_value = environ.get(var), environ.get(var + FILE_SUFFIX)
        if dotted in SECRETS and file_value:
            if value:
                raise ConfigError(ConfigIssue(var, dotted, f"set {var} or {var}{FILE_SUFFIX}, not both"))
            self.set(path, read_secret_file(var + FILE_SUFFIX, dotted, file_value), var + FILE_SUFFIX)
        elif value:
            self.set(path, value, var)


class NestedEnvSource(OriginSource):
    """``RONDE_<SECTION>__<FIELD>`` (case-insensitive): ``RONDE_API__STALE_AFTER_MIN=30``; a secret may be
    ``RONDE_<SECTION>__<FIELD>_FILE``. A variable naming no setting is reported by validation, naming it."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        for var, value in sorted(environ.items()):
            upper = var.upper()
            if not upper.startswith(PREFIX) or NESTED not in upper or not value:
                continue
            path = tuple(upper[len(PREFIX) :].lower().split(NESTED))
            if not all(path):
                raise ConfigError(ConfigIssue(var, var, f"an empty name between {NESTED!r}"))
            plain = (*path[:-1], path[-1].removesuffix("_file"))
            if path[-1].endswith("_file") and ".".join(plain) in SECRETS:
                self.set(plain, read_secret_file(var, ".".join(plain), value), var)
            else:
                self.set(path, _structured(var, path, value), var)


def _structured(var: str, path: tuple[str, ...], value: str) -> Any:
    """A list or a table given in one variable is JSON (``RONDE_NOTIFY__SUPERVISORS='["a@b.fr"]'``); any other
    value is the text itself, converted by the setting's type."""
    if not value.lstrip().startswith(("[", "{")):
        return value
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        raise ConfigError(ConfigIssue(var, ".".join(path), "starts like JSON but is not valid JSON")) from None


class TomlSource(OriginSource):
    """The TOML settings file. Secrets in it are refused, naming the field and the variable to use instead."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        if path is None:
            return
        label = str(path)
        for leaf, value in _walk(_read_toml(path, label)):
            if leaf:
                self.set(leaf, value, label)
        for dotted in sorted(SECRETS):
            path_ = tuple(dotted.split("."))
            if path_ in self.origins:
                var = env_name(dotted)
                raise ConfigError(
                    ConfigIssue(
                        label,
                        dotted,
                        f"a secret is never written in the settings file: set {var} or {var}{FILE_SUFFIX} "
                        "(a file holding it) in the environment",
                    )
                )


def _read_toml(path: Path, label: str) -> dict[str, Any]:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(ConfigIssue(label, "(file)", "not a regular file"))
        if info.st_size > MAX_CONFIG_BYTES:
            raise ConfigError(
                ConfigIssue(label, "(file)", f"larger than {MAX_CONFIG_BYTES} bytes: not a settings file")
            )
        with path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(ConfigIssue(label, "(file)", f"cannot read: {exc.strerror}")) from None
    if len(raw) > MAX_CONFIG_BYTES:  # grew since stat
        raise ConfigError(ConfigIssue(label, "(file)", f"larger than {MAX_CONFIG_BYTES} bytes: not a settings file"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(ConfigIssue(label, "(file)", f"not UTF-8 text (byte {exc.start})")) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(ConfigIssue(label, "(file)", f"not valid TOML: {exc}")) from None
    except RecursionError:
        raise ConfigError(ConfigIssue(label, "(file)", "nested too deeply")) from None


@dataclass
class Sources:
    """The sources of one load, highest precedence first (flags come first, as BaseSettings' init values)."""

    flags: FlagSource
    flat: FlatEnvSource
    nested: NestedEnvSource
    toml: TomlSource
    config_file: Path | None
    environ: Mapping[str, str] = field(repr=False)

    def ordered(self) -> tuple[OriginSource, ...]:
        return (self.flags, self.flat, self.nested, self.toml)

    def origin_of(self, loc: tuple[str, ...]) -> str | None:
        for source in self.ordered():
            found = source.origin_of(loc)
            if found is not None:
                return found
        return None


_CURRENT: ContextVar[Sources | None] = ContextVar("ronde_settings_sources", default=None)


def config_path(config_file: str | Path | None, environ: Mapping[str, str]) -> Path | None:
    """``--config FILE``, else ``RONDE_CONFIG``, else none."""
    if config_file:
        return Path(config_file)
    named = environ.get(CONFIG_VARIABLE)
    return Path(named) if named else None


def build_sources(
    config_file: str | Path | None = None,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Sources:
    """Read every source now (a problem in one is a ConfigError naming it)."""
    env = dict(os.environ if environ is None else environ)
    path = config_path(config_file, env)
    return Sources(
        flags=FlagSource(RondeSettings, flags or {}),
        flat=FlatEnvSource(RondeSettings, env),
        nested=NestedEnvSource(RondeSettings, env),
        toml=TomlSource(RondeSettings, path),
        config_file=path,
        environ=env,
    )


def current_sources(settings_cls: type[BaseSettings]) -> tuple[PydanticBaseSettingsSource, ...]:  # noqa: ARG001
    """The sources ``RondeSettings`` merges after its init values: those of the load under way, else read now
    from the process's environment (``RondeSettings()`` alone)."""
    sources = _CURRENT.get() or build_sources()
    return (sources.flat, sources.nested, sources.toml)


def using(sources: Sources) -> Any:
    """Make ``sources`` the current ones (returns the token for ``_CURRENT.reset``)."""
    return _CURRENT.set(sources)


def reset(token: Any) -> None:
    _CURRENT.reset(token)
