"""One settings model for every server role (issue 13, item 3): a TOML file, ``RONDE_*`` variables, flags.

``load_settings`` (or ``settings_for(role, …)`` in a command) reads them once at start-up; ``RondeSettings`` and
its sections are in ``model``, the sources and their precedence in ``sources``; ``docs/configuration.md`` lists
every setting. ``ronde config check`` prints the effective settings, secrets as ``***``.
"""

from __future__ import annotations

from ronde.settings.errors import ConfigError, ConfigIssue
from ronde.settings.load import (
    EXIT_CONFIG,
    check_required,
    effective_lines,
    load_settings,
    load_with_sources,
    settings_for,
)
from ronde.settings.model import (
    ROLES,
    ApiSection,
    AuditSection,
    DashboardsSection,
    DatabaseSection,
    IngestSection,
    MqttSection,
    RetentionSection,
    RondeSettings,
    StoreSection,
)
from ronde.settings.sources import CONFIG_VARIABLE, FLAT, env_name

__all__ = [
    "CONFIG_VARIABLE",
    "EXIT_CONFIG",
    "FLAT",
    "ROLES",
    "ApiSection",
    "AuditSection",
    "ConfigError",
    "ConfigIssue",
    "DashboardsSection",
    "DatabaseSection",
    "IngestSection",
    "MqttSection",
    "RetentionSection",
    "RondeSettings",
    "StoreSection",
    "check_required",
    "effective_lines",
    "env_name",
    "load_settings",
    "load_with_sources",
    "settings_for",
]
