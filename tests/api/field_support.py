"""Helpers of the field tests (issue 14): the API as the product runs it (``create_app_on_database``) with two
teams' badges and a partner, device enrolment through the routes, client ULIDs, and photos with EXIF GPS."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine

from ronde.gateway.ulid import encode_ulid
from ronde.opdb.access_repo import put_badge
from ronde.opdb.device_repo import create_partner_token
from ronde.opdb.engine import session_factory
from ronde.opdb.service_repo import put_partner
from ronde.protocol.registry_data import BadgeEntry
from ronde.store.sqlite import SqliteStore
from tests.api.support import F3_CP, NOW, PH_CP, auth, make_app

TEAM_A, BADGE_A = "Équipe Mordacs", "EQUIPE-A"  # the sample visits' badges (tests/api/support.py)
TEAM_B, BADGE_B = "Équipe Bois", "EQUIPE-B"
PH_BUILDING = "mor-b01"  # Paris Habitat
F3_BUILDING = "mor-b06"  # Immobilière 3F
PSEUDONYMS = (TEAM_A, BADGE_A, TEAM_B, BADGE_B)
_ids = itertools.count(1)


def ulid() -> str:
    """A fresh ULID at NOW (the tests' clock), unique within the run."""
    return encode_ulid((int(NOW.timestamp() * 1000) << 80) | next(_ids))


@dataclass
class FieldApp:
    app: FastAPI
    client: TestClient
    store: SqliteStore
    engine: Engine
    partner_id: int
    partner_token: str
    foreign_partner_token: str
    tmp: Path

    def enrol(self, team: str = BADGE_A, label: str = "Téléphone équipe") -> tuple[str, str]:
        """A device of ``team`` enrolled through the routes: (device id, token)."""
        r = self.client.post("/api/v1/terrain/enrolments", json={"team": team}, headers=auth("tok-super"))
        assert r.status_code == 201, r.text
        r = self.client.post("/api/v1/terrain/devices", json={"code": r.json()["code"], "label": label})
        assert r.status_code == 201, r.text
        return r.json()["device_id"], r.json()["token"]

    def report(self, token: str, **over: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": ulid(),
            "created_at": (NOW - timedelta(minutes=1)).isoformat(),
            "place": {"checkpoint": PH_CP},
            "category": "eclairage",
            "urgency": "normal",
            "text": "Éclairage du hall en panne",
        }
        body.update(over)
        r = self.client.post("/api/v1/terrain/reports", json=body, headers=auth(token))
        assert r.status_code == 201, r.text
        return body

    def sollicitation(self, token: str, **over: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": ulid(),
            "created_at": (NOW - timedelta(minutes=1)).isoformat(),
            "place": {"checkpoint": F3_CP},
            "origin": "locataire",
            "type": "voisinage",
            "response": "orientation",
            "partner": self.partner_id,
            "status": "orientee",
        }
        body.update(over)
        r = self.client.post("/api/v1/terrain/sollicitations", json=body, headers=auth(token))
        assert r.status_code == 201, r.text
        return body


class Clock:
    """The app's clock, moved by the test (a request answered 40 minutes later)."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def field_app(tmp: Path, clock: Clock | None = None, **config: Any) -> Iterator[FieldApp]:
    from ronde.api.field_context import FieldConfig

    app, store, _ = make_app(tmp)
    engine: Engine = app.state.opdb_engine
    if config or clock is not None:  # rebuild with this clock and these field settings, on the same database
        from ronde.api.app import create_app_on_database
        from ronde.api.settings import ApiSettings
        from tests.api.support import opdb_box

        app = create_app_on_database(
            ApiSettings(), store, engine, box=opdb_box(), clock=clock or Clock(), field=FieldConfig(**config)
        )
    with session_factory(engine).begin() as s:
        put_badge(s, BadgeEntry(BADGE_A, TEAM_A))
        put_badge(s, BadgeEntry(BADGE_B, TEAM_B))
        partner = put_partner(s, "Centre social des Mordacs", "association", frozenset({"mordacs"}))
        other = put_partner(s, "CCAS de Chennevières", "ccas", frozenset({"bois-labbe"}))
        partner_token = create_partner_token(s, "partner-centre-social", partner.id)
        foreign_token = create_partner_token(s, "partner-ccas", other.id)
    with TestClient(app) as client:
        yield FieldApp(app, client, store, engine, partner.id, partner_token, foreign_token, tmp)
    store.close()
    engine.dispose()


def jpeg_with_gps(size: tuple[int, int] = (640, 480)) -> bytes:
    """A JPEG whose EXIF carries a GPS position, a camera model and a date: all must be gone once stored."""
    img = Image.new("RGB", size, (200, 120, 40))
    exif = Image.Exif()
    exif[0x0110] = "Pixel 8 Pro"  # Model
    exif[0x0132] = "2026:11:26 20:00:00"  # DateTime
    gps = {1: "N", 2: (48.0, 47.0, 30.0), 3: "E", 4: (2.0, 30.0, 15.0)}
    exif[0x8825] = gps  # GPSInfo IFD
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825), "the test photo carries GPS"
    return data


def no_field_leak(text: str) -> list[str]:
    """The team pseudonyms and badges found in an answer's text (a landlord's must have none)."""
    return [p for p in PSEUDONYMS if p in text]
