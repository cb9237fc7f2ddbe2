"""Data for the API tests: the sample estate, a SQLite store filled with hand-built visits.

Clock: Thursday 26 November 2026, 20:00 Paris (19:00 UTC), in service. Wednesday 25 is a closed
service day (rolled up or not, per test), Thursday 26 is the evening in progress.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import json
import shutil
import tempfile
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import Engine

from ronde.api.access_log import AccessLog
from ronde.api.app import create_app_on_database
from ronde.api.auth import Principal, Role
from ronde.api.settings import ApiSettings
from ronde.opdb.engine import make_engine
from ronde.opdb.migrate import upgrade
from ronde.opdb.registry_io import import_records
from ronde.opdb.sealing import SecretBox
from ronde.protocol.access import token_entries
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import EstateDocument, Registry, load_default_estate
from ronde.protocol.registry_data import registry_to_data
from ronde.store.records import (
    BeaconCheck,
    BeaconTelemetryRecord,
    GatewayStateRecord,
    Rejection,
    RejectReason,
    SequenceGap,
    StoredVisit,
    Verification,
    WriteBatch,
)
from ronde.store.sqlite import SqliteStore

NOW = datetime(2026, 11, 26, 19, 0, tzinfo=UTC)
WED = date(2026, 11, 25)
THU = date(2026, 11, 26)

TOKENS = {
    "tok-admin": Principal("root", Role.ADMIN),
    "tok-super": Principal("chef-equipe", Role.SUPERVISOR),
    "tok-ph": Principal("audit-ph", Role.LANDLORD, "paris-habitat"),
    "tok-3f": Principal("audit-3f", Role.LANDLORD, "immobiliere-3f"),
    "tok-gw": Principal("gw-mordacs-1", Role.GATEWAY),
}
PH_CP = "mor-b01-hall-a"  # Paris Habitat
PH_CP2 = "mor-b01-hall-b"
F3_CP = "mor-b06-hall-a"  # Immobilière 3F
F3_CP2 = "mor-b06-hall-b"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def paris(day: date, hh: int, mm: int) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=ZoneInfo("Europe/Paris")).astimezone(UTC)


_seq = {"n": 0}


def visit(
    registry: Registry,
    checkpoint_id: str,
    start: datetime,
    minutes: float,
    *,
    badge: str = "EQUIPE-A",
    gateway: str = "gw-mordacs-1",
) -> StoredVisit:
    c = registry.checkpoints[checkpoint_id]
    _seq["n"] += 1
    n = _seq["n"]
    day = ServiceCalendar().service_day(start)
    assert day is not None
    return StoredVisit(
        event_id=f"01JD{n:022d}",
        gateway_id=gateway,
        seq=n,
        badge=badge,
        checkpoint_id=c.id,
        kind=str(c.kind),
        building=c.building,
        estate=c.estate,
        landlord=c.landlord,
        service_day=day,
        first_seen=start,
        last_seen=start + timedelta(minutes=minutes),
        count=int(minutes * 60) + 1,
        rssi_max=-60,
        rssi_mean=-70.0,
        verification=Verification.SIGNED,
        beacon_check=BeaconCheck.STATIC,
        received_at=start + timedelta(minutes=minutes, seconds=2),
        payload_sha256=hashlib.sha256(f"payload-{n}".encode()).hexdigest(),
    )


def sample_visits(registry: Registry) -> list[StoredVisit]:
    return [
        # Wednesday (closed): PH hall A twice, PH hall B once, 3F hall A once
        visit(registry, PH_CP, paris(WED, 16, 30), 5),
        visit(registry, PH_CP, paris(WED, 20, 0), 4, badge="EQUIPE-B", gateway="gw-bois-1"),
        visit(registry, PH_CP2, paris(WED, 16, 40), 3),
        visit(registry, F3_CP, paris(WED, 17, 10), 6),
        # Thursday (in progress, now 20:00): PH hall A at 19:30, 3F hall B at 18:00
        visit(registry, PH_CP, paris(THU, 19, 30), 5),
        visit(registry, F3_CP2, paris(THU, 18, 0), 2, badge="EQUIPE-B", gateway="gw-bois-1"),
    ]


def fill(store: SqliteStore, registry: Registry) -> list[StoredVisit]:
    visits = sample_visits(registry)
    store.write(
        WriteBatch(
            visits=tuple(visits),
            rejections=(
                Rejection(
                    NOW - timedelta(hours=1),
                    RejectReason.UNKNOWN_BEACON,
                    "no such beacon",
                    "ronde/v1/gw/gw-mordacs-1/visit",
                    "gw-mordacs-1",
                    "ab" * 32,
                    None,
                ),
            ),
            gaps=(SequenceGap("gw-mordacs-1", 7, 9, NOW - timedelta(minutes=30)),),
            telemetry=(
                BeaconTelemetryRecord(NOW - timedelta(hours=2), PH_CP2, "gw-mordacs-1", 2100, 12.5, 100, 3600.0),
            ),
            gateway_states=(
                GatewayStateRecord(NOW - timedelta(minutes=1), "gw-mordacs-1", True, True, True),
                GatewayStateRecord(NOW - timedelta(hours=3), "gw-bois-1", False, False, True),
            ),
        )
    )
    return visits


# the sealing key of the EID identity keys in the tests' operational databases (as tests/opdb)
OPDB_SECRET_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()
_TEMPLATES: dict[str, Path] = {}


def opdb_box() -> SecretBox:
    return SecretBox.from_text(OPDB_SECRET_KEY)


def make_database(tmp: Path, registry: Registry | None = None, tokens: Mapping[str, Principal] | None = None) -> Engine:
    """A migrated SQLite operational database holding ``registry`` (default: the sample estate) and the
    tokens (default: ``TOKENS``), imported by the opdb import code. Built once per content and copied."""
    registry = registry or load_default_estate()
    tokens = TOKENS if tokens is None else tokens
    data = registry_to_data(registry, secrets=True)
    key = hashlib.sha256(
        json.dumps([data, sorted((t, repr(p)) for t, p in tokens.items())], sort_keys=True).encode()
    ).hexdigest()
    template = _TEMPLATES.get(key)
    if template is None:
        folder = Path(tempfile.mkdtemp(prefix="ronde-opdb-template-"))
        atexit.register(shutil.rmtree, folder, True)
        template = folder / "opdb.db"
        engine = make_engine(f"sqlite:///{template}")
        upgrade(engine)
        import_records(
            engine, opdb_box(), estate=EstateDocument.model_validate(data), tokens=token_entries(tokens), author="tests"
        )
        engine.dispose()
        _TEMPLATES[key] = template
    target = tmp / "opdb.db"
    shutil.copyfile(template, target)
    return make_engine(f"sqlite:///{target}")


def make_app(
    tmp: Path, *, store: SqliteStore | None = None, registry: Registry | None = None, access_log: bool = True
) -> tuple[FastAPI, SqliteStore, Registry]:
    """The API as ``ronde api serve`` builds it: on an operational database (registry, tokens, sessions) and a
    SQLite store. ``access_log``: the JSONL file in ``tmp`` (its tests read the file), else the database's."""
    registry = registry or load_default_estate()
    if store is None:
        store = SqliteStore(tmp / "ronde.db")
        store.open()
        fill(store, registry)
    engine = make_database(tmp, registry)
    app = create_app_on_database(
        ApiSettings(),
        store,
        engine,
        box=opdb_box(),
        clock=lambda: NOW,
        access_log=AccessLog(tmp / "access.jsonl") if access_log else None,
    )
    app.state.opdb_engine = engine
    return app, store, registry
