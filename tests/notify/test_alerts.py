"""A scripted evening (Wednesday 4 November 2026, Europe/Paris): a hall left idle, a gateway silent for 20 minutes,
an urgent technical report; exactly one alert and one "résolu" per cause, none outside service hours, none on a
day the service does not run or is closed. Delivered to a real SMTP server and a webhook receiver checking the
HMAC; the landlord subscribed to urgent reports hears of its own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, update

from ronde.audit.keys import load_signing_key
from ronde.notify.runner import Runner
from ronde.opdb.engine import make_engine, session_factory
from ronde.opdb.field_facts_db import DatabaseFieldFacts
from ronde.opdb.models import FieldRecordRow
from ronde.opdb.notify_repo import Alert, recent_alerts
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import load_default_estate
from ronde.protocol.gateways import GatewayRegistry
from ronde.settings.notify_section import NotifySection
from ronde.store.records import GatewayStateRecord, StoredVisit, WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.coverage.factory import local, visit
from tests.notify.conftest import WEBHOOK_SECRET, SmtpSink, WebhookReceiver
from tests.support.opdb_site import site_database

PARIS = ZoneInfo("Europe/Paris")
MONDAY, WEDNESDAY, THURSDAY = date(2026, 11, 2), date(2026, 11, 4), date(2026, 11, 5)
CAL = ServiceCalendar(closed=frozenset({THURSDAY}))  # Wednesday to Sunday, 16:00–22:15; Thursday 5 closed
HALLS = ("mor-b01-hall-a", "mor-b01-hall-b")
STEP = timedelta(minutes=5)


def _events() -> list[tuple[datetime, StoredVisit | GatewayStateRecord]]:
    """Hall a: a pass every 20 minutes all evening. Hall b: a pass at 16:10, then nothing until 19:00, then every
    20 minutes (and idle all Thursday: a closed day). Gateway gw-1: a state every minute, silent 18:00–18:20."""
    reg = load_default_estate()
    out: list[tuple[datetime, StoredVisit | GatewayStateRecord]] = []
    d = WEDNESDAY
    for k in range(19):  # 16:05 … 22:05
        t = local(d, 16, 5) + k * timedelta(minutes=20)
        out.append((t, visit(reg, HALLS[0], d, t, t + timedelta(minutes=3), event_id=f"a-{k}")))
    for k, t in enumerate([local(d, 16, 10), *(local(d, 19) + i * timedelta(minutes=20) for i in range(10))]):
        out.append((t, visit(reg, HALLS[1], d, t, t + timedelta(minutes=3), event_id=f"b-{k}")))
    t = local(d, 15, 50)
    while t <= local(d, 22, 20):
        if not local(d, 18) <= t < local(d, 18, 20):
            out.append((t, GatewayStateRecord(at=t, gateway_id="gw-1", online=True, scanning=True, in_service=True)))
        t += timedelta(minutes=1)
    for k in range(20):  # Thursday, closed: hall a passed, hall b never; the gateway states go on
        t = local(THURSDAY, 16, 5) + k * timedelta(minutes=20)
        out.append((t, visit(reg, HALLS[0], THURSDAY, t, t + timedelta(minutes=3), event_id=f"th-{k}")))
    return sorted(out, key=lambda e: e[0])


@pytest.fixture
def evening(tmp_path: Path) -> Iterator[tuple[Engine, SqliteStore]]:
    reg = load_default_estate()
    small = replace(
        reg,
        checkpoints={k: reg.checkpoints[k] for k in HALLS},
        by_beacon_key={k: v for k, v in reg.by_beacon_key.items() if v in HALLS},
        paths=(),
    )
    url = site_database(tmp_path / "ronde.db", GatewayRegistry(), registry=small, calendar=CAL)
    store = SqliteStore(tmp_path / "store.db")
    store.open()
    engine = make_engine(url)
    yield engine, store
    store.close()
    engine.dispose()


def _report(engine: Engine, rid: str, at: datetime) -> None:
    with session_factory(engine).begin() as s:
        s.add(
            FieldRecordRow(
                id=rid,
                kind="technique",
                digest="0" * 64,
                team="équipe-1",
                device_id=None,
                created_at=at,
                received_at=at,
                checkpoint_id=HALLS[0],
                building_id="mor-b01",
                estate_id="mordacs",
                landlord_id="paris-habitat",
                place_name="Hall A – 4 rue Albert Thomas",
                category="ascenseur",
                urgency="urgent",
                status="nouveau",
            )
        )


def _acknowledge(engine: Engine, rid: str, at: datetime) -> None:
    with session_factory(engine).begin() as s:
        s.execute(
            update(FieldRecordRow).where(FieldRecordRow.id == rid).values(status="pris_en_compte", acknowledged_at=at)
        )


def test_one_alert_and_one_resolu_per_cause_in_service_hours_only(
    evening: tuple[Engine, SqliteStore], smtp_sink: SmtpSink, webhook: WebhookReceiver
) -> None:
    engine, store = evening
    cfg = NotifySection.model_validate(
        {
            "smtp_host": smtp_sink.host,
            "smtp_port": smtp_sink.port,
            "smtp_security": "none",
            "webhook_secret": WEBHOOK_SECRET,
            "supervisors": ["astreinte@mediation.example"],
            "supervisor_webhook": webhook.url,
            "landlords": {"paris-habitat": {"emails": ["gardien@paris-habitat.example"], "urgent_reports": True}},
            "idle_minutes": {"stairwell_hall": 60},
            "gateway_offline_after_s": 600,
            "bilan_day": 28,  # no bilan in this test
        }
    )
    runner = Runner(engine, store, cfg, load_signing_key(), "r1", DatabaseFieldFacts(engine))
    events = _events()
    # Monday: not a service day. An urgent report then raises nothing, and is acknowledged on Tuesday.
    _report(engine, "01JBMONDAY00000000000000001", local(MONDAY, 17))
    for minutes in range(0, 60, 5):
        assert runner.tick(local(MONDAY, 17) + timedelta(minutes=minutes)).raised == 0
    _acknowledge(engine, "01JBMONDAY00000000000000001", local(MONDAY + timedelta(days=1), 10))
    written = 0
    now = local(WEDNESDAY, 15)
    end = local(THURSDAY, 23, 30)
    while now <= end:
        batch = []
        while written < len(events) and events[written][0] <= now:
            batch.append(events[written][1])
            written += 1
        store.write(
            WriteBatch(
                visits=tuple(e for e in batch if isinstance(e, StoredVisit)),
                gateway_states=tuple(e for e in batch if isinstance(e, GatewayStateRecord)),
            )
        )
        if now == local(WEDNESDAY, 20):
            _report(engine, "01JBWEDNESDAY0000000000001", now)
        if now == local(WEDNESDAY, 20, 30):
            _acknowledge(engine, "01JBWEDNESDAY0000000000001", now)
        runner.tick(now)
        now += STEP if now < local(WEDNESDAY, 23, 59) else timedelta(minutes=30)
    with session_factory(engine).begin() as s:
        alerts = sorted(recent_alerts(s, local(MONDAY, 0)), key=lambda a: a.raised_at)
    assert [a.cause for a in alerts] == [
        f"idle:{HALLS[1]}",
        "gateway:gw-1",
        "urgent:01JBWEDNESDAY0000000000001",
    ]
    by = {a.cause: a for a in alerts}

    def span(a: Alert) -> tuple[datetime, datetime | None]:
        return a.raised_at.astimezone(PARIS), a.resolved_at.astimezone(PARIS) if a.resolved_at else None

    # hall b: last pass 16:10–16:13; more than 60 min idle from the 17:15 tick; passed again at 19:00
    assert span(by[f"idle:{HALLS[1]}"]) == (local(WEDNESDAY, 17, 15), local(WEDNESDAY, 19))
    # the gateway's last state before the silence is 17:59: more than 600 s at 18:10; states again from 18:20
    assert span(by["gateway:gw-1"]) == (local(WEDNESDAY, 18, 10), local(WEDNESDAY, 18, 20))
    assert span(by["urgent:01JBWEDNESDAY0000000000001"]) == (local(WEDNESDAY, 20), local(WEDNESDAY, 20, 30))
    for a in alerts:
        start, stop = CAL.window(WEDNESDAY)
        assert start <= a.raised_at < stop
    # mail: one "Alerte" and one "Résolu" per cause to the supervisor; the landlord, subscribed, for its urgent report
    mails = [(r.rcpt_tos[0], str(r.message["Subject"])) for r in smtp_sink.received]
    supervisor = [subject for to, subject in mails if to == "astreinte@mediation.example"]
    assert len(supervisor) == 6
    assert sum(s.startswith("[Ronde] Alerte : ") for s in supervisor) == 3
    assert sum(s.startswith("[Ronde] Résolu : ") for s in supervisor) == 3
    landlord = [subject for to, subject in mails if to == "gardien@paris-habitat.example"]
    assert len(landlord) == 2
    assert all("signalement urgent (Ascenseur) : Hall A – 4 rue Albert Thomas" in s for s in landlord), landlord
    assert all("équipe" not in s for _, s in mails)  # places only, never a team
    # webhook: the same six, each signed (the receiver refused none)
    assert webhook.refused == []
    assert sorted((h["cause"], h["state"]) for h in webhook.accepted) == sorted(
        (c, s) for c in by for s in ("raised", "resolved")
    )
