"""The rules the scripted evening (test_alerts.py) does not reach: a beacon's battery low or silent, a gateway's
outbox past its alarm, a request left unassigned; each only in service hours. A real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from ronde.notify.alerts import beacons, current_causes, field, gateways
from ronde.opdb.field_facts import ListedFieldFacts, RequestFact
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import load_default_estate
from ronde.settings.notify_section import NotifySection
from ronde.store.records import BeaconTelemetryRecord, GatewayStateRecord, WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.coverage.factory import local

WED = date(2026, 11, 4)
CAL = ServiceCalendar()
EVENING = local(WED, 20)
NIGHT = local(WED, 23, 30)
CFG = NotifySection(battery_low_mv=2500, beacon_silent_after_min=60, outbox_alarm_depth=100, request_unassigned_min=30)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "store.db")
    s.open()

    def telemetry(cid: str, at: datetime, mv: int) -> BeaconTelemetryRecord:
        return BeaconTelemetryRecord(at, cid, "gw-1", mv, 12.0, 100, 3600.0)

    s.write(
        WriteBatch(
            telemetry=(
                telemetry("mor-b01-hall-a", EVENING - timedelta(minutes=5), 2300),  # low
                telemetry("mor-b01-hall-b", EVENING - timedelta(minutes=90), 3000),  # silent for 90 min
                telemetry("mor-b02-hall-a", EVENING - timedelta(minutes=1), 3000),  # fine
            ),
            gateway_states=(
                GatewayStateRecord(EVENING - timedelta(minutes=1), "gw-1", True, True, True, outbox_depth=250),
                GatewayStateRecord(EVENING - timedelta(minutes=1), "gw-2", True, True, True, outbox_depth=3),
            ),
        )
    )
    yield s
    s.close()


def test_battery_low_and_silent_beacons_in_service(store: SqliteStore) -> None:
    reg = load_default_estate()
    causes = beacons(store, reg, CAL, CFG, EVENING)
    assert sorted(c.key for c in causes) == ["battery:mor-b01-hall-a", "silent:mor-b01-hall-b"]
    low = next(c for c in causes if c.rule == "beacon_battery")
    assert "2300 mV" in low.title
    assert low.landlord == "paris-habitat"
    assert beacons(store, reg, CAL, CFG, NIGHT) == []


def test_an_outbox_past_its_alarm(store: SqliteStore) -> None:
    causes = gateways(store, CAL, CFG, EVENING)
    assert [c.key for c in causes] == ["outbox:gw-1"]
    assert "250 événements en attente" in causes[0].title
    assert gateways(store, CAL, CFG, NIGHT) == []


def test_a_request_unassigned_after_its_delay() -> None:
    def request(rid: str, created: datetime, assigned: datetime | None) -> RequestFact:
        status = "assignee" if assigned else "nouvelle"
        return RequestFact(rid, created, "paris-habitat", "mordacs", "mor-b01", "Hall B", True, status, assigned, None)

    facts = ListedFieldFacts(
        request_facts=(
            request("late", EVENING - timedelta(minutes=45), None),
            request("fresh", EVENING - timedelta(minutes=10), None),
            request("taken", EVENING - timedelta(minutes=50), EVENING - timedelta(minutes=40)),
        )
    )
    causes = field(facts, CAL, CFG, EVENING)
    assert [c.key for c in causes] == ["request:late"]
    assert "demande non affectée depuis 45 min : Hall B" in causes[0].title
    assert field(facts, CAL, CFG, NIGHT) == []


def test_nothing_on_a_closed_day(store: SqliteStore) -> None:
    closed = ServiceCalendar(closed=frozenset({WED}))
    assert current_causes(store, load_default_estate(), closed, CFG, EVENING) == []
    assert current_causes(store, load_default_estate(), CAL, CFG, EVENING) != []
