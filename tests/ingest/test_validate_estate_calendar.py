"""Ingest judges a visit by its checkpoint's estate's calendar (``Calendars.for_estate``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from ronde.ingest.validate import Accepted, validate
from ronde.protocol.calendar import Calendars, ServiceCalendar
from ronde.protocol.estate import Checkpoint
from ronde.store.records import Rejection, RejectReason, StoredVisit
from tests.ingest.helpers import context, encode, static_checkpoints, topic, visit

FRIDAY = date(2026, 12, 4)
EVENING = datetime(2026, 12, 4, 19, 0, tzinfo=UTC)  # 20:00 Paris
NOON = datetime(2026, 12, 4, 11, 0, tzinfo=UTC)


def _one_of(estate: str) -> Checkpoint:
    return next(c for c in static_checkpoints() if c.estate == estate)


def test_a_closed_estate_evening_is_out_of_service_the_other_estate_in_service() -> None:
    cals = Calendars.of(ServiceCalendar(), {"mordacs": ServiceCalendar(closed=frozenset({FRIDAY}))})
    ctx = context(calendar=cals)
    closed = validate(topic(), encode(visit(1, checkpoint=_one_of("mordacs"), first_seen=EVENING)), EVENING, ctx)
    assert isinstance(closed, Rejection)
    assert closed.reason is RejectReason.OUT_OF_SERVICE
    assert "mordacs" in closed.detail
    open_ = validate(topic(), encode(visit(2, checkpoint=_one_of("bois-labbe"), first_seen=EVENING)), EVENING, ctx)
    assert isinstance(open_, Accepted)
    assert isinstance(open_.record, StoredVisit)
    assert open_.record.service_day == FRIDAY


def test_out_of_every_estate_hours_is_refused_before_the_beacon_is_resolved() -> None:
    cals = Calendars.of(ServiceCalendar(), {"mordacs": ServiceCalendar(closed=frozenset({FRIDAY}))})
    unknown = {"format": "ibeacon", "major": 9999, "minor": 9999, "uuid": "00000000000040008000000000000000"}
    result = validate(
        topic(), encode(visit(3, beacon=unknown, first_seen=NOON)), NOON + timedelta(minutes=1), context(calendar=cals)
    )
    assert isinstance(result, Rejection)
    assert result.reason is RejectReason.OUT_OF_SERVICE  # not UNKNOWN_BEACON: the cheapest refusal first
    evening = validate(
        topic(),
        encode(visit(4, beacon=unknown, first_seen=EVENING)),
        EVENING + timedelta(minutes=1),
        context(calendar=cals),
    )
    assert isinstance(evening, Rejection)
    assert evening.reason is RejectReason.UNKNOWN_BEACON
