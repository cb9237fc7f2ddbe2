"""An operational database as a site makes it, for tests and benchmarks that run a real ``ronde ingest run``.

A worker reads its registry, gateways and calendar from the operational database only (issue 13): a test that
starts one makes the database first (``site_database``: upgraded to this code's schema, the sample estate with
its EID identity keys sealed, the gateways enrolled, a calendar), then gives the worker the database URL and
the sealing key (``worker_env``). ``enrol`` changes the gateways in force while a worker runs, as
``ronde registry import --gateways`` would (the worker follows the registry version row, or polls on SIGHUP).
"""

from __future__ import annotations

import base64
import os
from datetime import time
from pathlib import Path

from ronde.opdb.engine import make_engine, session_factory
from ronde.opdb.migrate import upgrade
from ronde.opdb.registry_io import import_records
from ronde.opdb.registry_repo import RegistryRepository
from ronde.opdb.sealing import KEY_VARIABLE, SecretBox
from ronde.opdb.service_repo import put_calendar
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import EstateDocument, Registry, load_default_estate
from ronde.protocol.gateways import GatewayRegistry
from ronde.protocol.registry_data import registry_to_data

# the sealing key of the EID identity keys in these databases (a test value: 32 bytes, urlsafe base64)
SECRET_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()

# every hour of every day is service time, so tests run whatever the wall clock says (the one calendar rule
# refuses end == start: the day ends one microsecond before midnight)
WHOLE_DAY = ServiceCalendar(days=frozenset(range(7)), start=time(0, 0), end=time(23, 59, 59, 999999), timezone="UTC")


def site_database(
    path: Path,
    gateways: GatewayRegistry,
    *,
    registry: Registry | None = None,
    calendar: ServiceCalendar = WHOLE_DAY,
) -> str:
    """A SQLite operational database at ``path`` holding ``registry`` (default: the sample estate), ``gateways``
    and ``calendar``; returns its URL."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        estate = EstateDocument.model_validate(registry_to_data(registry or load_default_estate(), secrets=True))
        import_records(engine, SecretBox.from_text(SECRET_KEY), estate=estate, gateways=gateways, author="tests")
        with session_factory(engine).begin() as s:
            put_calendar(s, calendar)
    finally:
        engine.dispose()
    return url


def enrol(url: str, gateways: GatewayRegistry) -> int:
    """Make ``gateways`` the ones in force (those missing are revoked); returns the registry version after."""
    engine = make_engine(url)
    try:
        import_records(engine, SecretBox.from_text(SECRET_KEY), gateways=gateways, author="tests")
        return RegistryRepository(engine).version()
    finally:
        engine.dispose()


def worker_env(url: str, **extra: str) -> dict[str, str]:
    """The environment of a worker process on ``url``: the database URL and the sealing key, nothing else of a
    site (no file). ``extra``: more variables (``RONDE_MQTT_PASSWORD``…)."""
    return {**os.environ, "RONDE_DATABASE_URL": url, KEY_VARIABLE: SECRET_KEY, "PYTHONUNBUFFERED": "1", **extra}
