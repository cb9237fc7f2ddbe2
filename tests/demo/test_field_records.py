"""The demo's field records (issue 14): made from the evening's stored visits, they show in the landlords'
queues through the real API, with an urgent report acknowledged and a request answered with its evidence."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from ronde.demo.field_records import add_demo_field_records
from ronde.protocol.estate import load_default_estate
from ronde.store.records import WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.api.support import WED, auth, make_app, paris, visit


def test_the_demo_evening_leaves_field_records_in_the_queues(tmp_path: Path) -> None:
    registry = load_default_estate()
    store = SqliteStore(tmp_path / "ronde.db")
    store.open()
    checkpoints = sorted(c.id for c in registry.checkpoints.values() if c.landlord == "paris-habitat")[:10]
    start = paris(WED, 16, 30)
    visits = [
        visit(registry, cid, start + timedelta(minutes=5 * i), 3, badge="EQUIPE-A") for i, cid in enumerate(checkpoints)
    ]
    store.write(WriteBatch(visits=tuple(visits)))
    app, _, _ = make_app(tmp_path, store=store, registry=registry)
    made = add_demo_field_records(app.state.opdb_engine, store, registry, WED, seed=3)
    assert (made.reports, made.sollicitations, made.requests) == (3, 3, 1)
    assert add_demo_field_records(app.state.opdb_engine, store, registry, WED, seed=3) == made  # same ids again
    with TestClient(app) as client:
        queue = client.get("/api/v1/field/records", headers=auth("tok-ph")).json()["items"]
        assert len(queue) == 6
        urgent = [r for r in queue if r["urgency"] == "urgent"]
        assert [r["status"] for r in urgent] == ["pris_en_compte"]
        requests = client.get("/api/v1/field/requests", headers=auth("tok-super")).json()
        assert [r["status"] for r in requests] == ["traitee"]
        assert requests[0]["answer_delay_s"] > 40 * 60
        assert requests[0]["evidence"]
        assert "Équipe" not in str(queue)
    store.close()
    app.state.opdb_engine.dispose()
