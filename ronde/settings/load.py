"""Loading the settings once at start-up: every error names its origin and field, and the role exits 2."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_core import to_jsonable_python

from ronde.protocol.errors import dotted, validation_issues
from ronde.redact import redact_url
from ronde.settings.errors import ConfigError, ConfigIssue
from ronde.settings.model import ROLES, RondeSettings
from ronde.settings.sources import Sources, build_sources, env_name, reset, using

EXIT_CONFIG = 2
REDACTED = "***"


def load_with_sources(
    config_file: str | Path | None = None,
    flags: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> tuple[RondeSettings, Sources]:
    """The settings and the sources they came from (``ronde config check`` shows each value's origin)."""
    sources = build_sources(config_file, flags, environ)
    token = using(sources)
    try:
        return RondeSettings(**sources.flags()), sources
    except ValidationError as exc:
        raise _located(exc, sources) from None
    finally:
        reset(token)


def load_settings(
    config_file: str | Path | None = None,
    flags: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> RondeSettings:
    """The settings from ``flags`` (``{"store.url": …}``; None values are not given), the environment
    (``environ``, default ``os.environ``) and the TOML file (``config_file``, else ``RONDE_CONFIG``).
    Raises ConfigError."""
    return load_with_sources(config_file, flags, environ=environ)[0]


def _located(exc: ValidationError, sources: Sources) -> ConfigError:
    issues = []
    for issue in validation_issues(exc, echo_input=True):
        loc = tuple(str(p) for p in issue.loc)
        origin = sources.origin_of(loc)
        if origin is None:
            origin = str(sources.config_file) if sources.config_file else "defaults"
        what = issue.what
        if what.startswith("Extra inputs"):
            what = "unknown setting (docs/configuration.md lists them)"
        issues.append(ConfigIssue(origin, dotted(loc) or "(top level)", what))
    return ConfigError(*issues)


def settings_for(
    role: str,
    config_file: str | Path | None = None,
    flags: Mapping[str, Any] | None = None,
    *,
    require: tuple[str, ...] = (),
) -> RondeSettings | None:
    """What a role's command calls: the settings, or None once each problem is printed on stderr as
    ``ronde <role>: config <origin>: <section.field>: <what>`` (the command then exits 2). ``require`` lists the
    settings this role cannot run without (``store.url``)."""
    try:
        settings = load_settings(config_file, flags)
        for name in require:
            check_required(settings, name, role)
    except ConfigError as exc:
        for line in exc.lines(role):
            print(line, file=sys.stderr)
        return None
    return settings


def check_required(settings: RondeSettings, name: str, role: str) -> None:
    """ConfigError when the setting ``name`` (``store.url``) is unset."""
    section, _, field = name.partition(".")
    if getattr(getattr(settings, section), field) is None:
        var = env_name(name)
        raise ConfigError(
            ConfigIssue(
                var,
                name,
                f"required by ronde {role}: set {field} in [{section}] of the settings file, or {var} "
                "(docs/configuration.md)",
            )
        )


def _shown(value: Any) -> str:
    if isinstance(value, SecretStr):
        return REDACTED
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple | dict | BaseModel):  # secrets inside show as pydantic's "**********"
        return json.dumps(to_jsonable_python(value), ensure_ascii=False)
    text = redact_url(value) if isinstance(value, str) and "://" in value else str(value)  # a password in a URL
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def effective_lines(settings: RondeSettings, sources: Sources | None = None, role: str | None = None) -> list[str]:
    """The settings as TOML-like lines, each with its origin; secrets as ``***`` (set) or ``(unset)``. With
    ``role``, only the sections that role reads."""
    names = ROLES.get(role, ()) if role else tuple(RondeSettings.model_fields)
    lines: list[str] = []
    for name in names:
        section: BaseModel = getattr(settings, name)
        lines.append(f"[{name}]")
        for field in type(section).model_fields:
            origin = sources.origin_of((name, field)) if sources else None
            lines.append(f"{field} = {_shown(getattr(section, field))}  # {origin or 'default'}")
        lines.append("")
    return lines
