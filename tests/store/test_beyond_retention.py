"""Visits InfluxDB drops on write as older than the retention policy become rejections (issue 11, item 5).

influxd answers "partial write: points beyond retention policy dropped=N", writes the rest and says
only how many: those visits used to be acked as stored while gone. On a real influxd 1.6.7 with a
one-day ``raw`` policy, visits first seen three days ago are dropped; the store records each as a
``beyond_retention`` rejection with its event id and payload digest, and supervision lists them.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from ronde.api.app import create_app
from ronde.api.auth import TokenBook
from ronde.api.settings import ApiSettings
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import load_default_estate
from ronde.store.influx import InfluxStore
from ronde.store.influx_http import beyond_retention_dropped
from ronde.store.port import StoreAccess
from ronde.store.records import RejectReason, RetentionPolicy, WriteBatch
from tests.api.support import TOKENS, auth
from tests.store import factories as f
from tests.support.services import Influxd


def test_the_dropped_count_is_read_from_influxdb_error() -> None:
    assert beyond_retention_dropped('{"error":"partial write: points beyond retention policy dropped=2"}') == 2
    assert beyond_retention_dropped("partial write: points beyond retention policy dropped=1500") == 1500
    assert beyond_retention_dropped('{"error":"field type conflict"}') == 0


@pytest.mark.influx
def test_visits_dropped_by_the_retention_policy_are_recorded_as_rejections(influxd: Influxd) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    store = InfluxStore(
        influxd.url,
        database=f"br_{uuid.uuid4().hex[:10]}",
        retention=RetentionPolicy(raw_days=1, proof_days=30, rejections_days=30),
    )
    store.open()
    try:
        old = [
            replace(
                f.visit(i),
                first_seen=now - timedelta(days=3, minutes=i),
                last_seen=now - timedelta(days=3, minutes=i) + timedelta(seconds=30),
                received_at=now - timedelta(minutes=5),
            )
            for i in (1, 2)
        ]
        fresh = replace(
            f.visit(3),
            first_seen=now - timedelta(hours=1),
            last_seen=now - timedelta(minutes=59),
            received_at=now - timedelta(minutes=5),
        )
        store.write(WriteBatch(visits=(old[0], fresh, old[1])))

        assert [v.event_id for v in store.visits(now - timedelta(days=4), now)] == [fresh.event_id]
        window = (now - timedelta(hours=1), now + timedelta(minutes=1))
        rejected = store.rejections(*window)
        assert sorted((r.reason, r.event_id, r.payload_sha256, r.gateway_id) for r in rejected) == sorted(
            (RejectReason.BEYOND_RETENTION, v.event_id, v.payload_sha256, v.gateway_id) for v in old
        )
        assert all(r.topic == "ronde/v1/gw/gw-1/visit" and "retention" in r.detail for r in rejected)

        store.write(WriteBatch(visits=(old[0],)))  # the same message redelivered: recorded once
        assert len(store.rejections(*window)) == 2

        reader = InfluxStore(influxd.url, database=store.database, access=StoreAccess.READ)
        reader.open()
        app = create_app(
            ApiSettings(), reader, load_default_estate(), ServiceCalendar(), tokens=TokenBook.from_tokens(TOKENS)
        )
        with TestClient(app) as client:
            listed = client.get("/api/v1/supervision/rejections", headers=auth("tok-super")).json()
            counts = client.get("/api/v1/supervision/rejections/counts", headers=auth("tok-super")).json()
        reader.close()
        assert sorted(r["event_id"] for r in listed if r["reason"] == "beyond_retention") == sorted(
            v.event_id for v in old
        )
        assert {"reason": "beyond_retention", "count": 2} in counts
    finally:
        store.close()
