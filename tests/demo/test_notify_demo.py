"""The demo's bilan and alerts (issue 15): after the evening, the supervision page shows the evening's alerts and
Paris Habitat downloads its bilan of the month so far, which verifies against the store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from ronde.audit.export import read_report
from ronde.audit.keys import load_signing_key
from ronde.audit.verify import verify_manifest
from ronde.demo.field_records import add_demo_field_records
from ronde.demo.notify_demo import demo_notify
from ronde.protocol.estate import load_default_estate
from ronde.store.records import WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.api.support import NOW, WED, auth, make_app, paris, visit


def test_the_demo_leaves_alerts_and_a_bilan(tmp_path: Path) -> None:
    registry = load_default_estate()
    store = SqliteStore(tmp_path / "ronde.db")
    store.open()
    checkpoints = sorted(c.id for c in registry.checkpoints.values() if c.landlord == "paris-habitat")[:10]
    start = paris(WED, 21, 0)  # ten halls passed late in the evening: they are not idle at 22:14, the rest are
    visits = [
        visit(registry, cid, start + timedelta(minutes=5 * i), 3, badge="EQUIPE-A") for i, cid in enumerate(checkpoints)
    ]
    store.write(WriteBatch(visits=tuple(visits)))
    app, _, _ = make_app(tmp_path, store=store, registry=registry)
    engine = app.state.opdb_engine
    add_demo_field_records(engine, store, registry, WED, seed=3)
    made = demo_notify(engine, store, WED, NOW)
    assert made.alerts == len(registry.checkpoints) - len(checkpoints)
    with TestClient(app) as client:
        html = client.get("/ui/supervision", headers=auth("tok-super")).text
        section = html.split('id="live-alerts"')[1].split("</section>")[0]
        assert "sans passage depuis" in section
        r = client.get(f"/api/v1/notify/bilans/{made.bilan_id}/{made.pdf}", headers=auth("tok-ph"))
        assert r.status_code == 200
        manifest = client.get(f"/api/v1/notify/bilans/{made.bilan_id}/{made.pdf}.manifest.json", headers=auth("tok-ph"))
    (tmp_path / made.pdf).write_bytes(r.content)
    (tmp_path / f"{made.pdf}.manifest.json").write_bytes(manifest.content)
    parsed, problems = read_report(tmp_path / made.pdf)
    result = verify_manifest(parsed, store, public_key=load_signing_key().public_key(), document_problems=problems)
    assert result.ok, result.message()
    store.close()
    engine.dispose()
