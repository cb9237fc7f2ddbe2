"""The HTTP API and web pages (FastAPI): registry, coverage, live supervision, landlord audit.

``create_app_on_database(settings, store, engine, …)`` builds the app on the operational database, which
``ronde api serve`` runs on uvicorn; ``create_app(settings, store, registry, calendar, *, tokens, clock=utc_now)``
builds it on an in-memory registry (tests, benchmarks). See docs/api.md. Exports are loaded lazily so that
the ``ronde`` command does not import the web stack for other sub-commands.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ronde.api.app import create_app
    from ronde.api.auth import Principal, Role, TokenBook
    from ronde.api.registry_service import RegistryService
    from ronde.api.settings import ApiSettings

_EXPORTS = {
    "create_app": "ronde.api.app",
    "ApiSettings": "ronde.api.settings",
    "Principal": "ronde.api.auth",
    "Role": "ronde.api.auth",
    "TokenBook": "ronde.api.auth",
    "RegistryService": "ronde.api.registry_service",
}
__all__ = ["ApiSettings", "Principal", "RegistryService", "Role", "TokenBook", "create_app"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ronde.api' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
