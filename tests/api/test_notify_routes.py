"""Bilans and alerts over HTTP (issue 15), on the app the product runs: supervisors preview, list deliveries and
their log, resend; a landlord reads only its own bilans; every bilan file read is in the access log."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ronde.audit.bilan import build_bilan
from ronde.audit.bilan_export import render_bilan_files
from ronde.audit.keys import load_signing_key
from ronde.audit.labels import Lang
from ronde.opdb import notify_repo
from ronde.opdb.engine import session_factory
from ronde.protocol.calendar import ServiceCalendar
from tests.api.support import NOW, auth, make_app


@dataclass
class NotifyApp:
    client: TestClient
    engine: Engine
    bilan_id: str
    delivery_id: int
    tmp: Path


@pytest.fixture
def na(tmp_path: Path) -> Iterator[NotifyApp]:
    app, store, registry = make_app(tmp_path)
    engine: Engine = app.state.opdb_engine
    bilan = build_bilan(store, registry, ServiceCalendar(), "paris-habitat", date(2026, 10, 1), now=NOW)
    files = render_bilan_files(bilan, Lang.FR, load_signing_key())
    with session_factory(engine).begin() as s:
        stored = notify_repo.put_bilan(
            s,
            bilan_id=bilan.bilan_id,
            landlord="paris-habitat",
            month=bilan.month,
            lang="fr",
            files={n: (hashlib.sha256(d).hexdigest(), d) for n, d in files.items()},
            now=NOW,
        )
        notify_repo.enqueue(
            s,
            key="bilan:paris-habitat:2026-10:fr:email:direction@ph.example",
            kind="bilan",
            channel="email",
            target="direction@ph.example",
            subject="Bilan",
            body="Bonjour",
            now=NOW,
            landlord="paris-habitat",
            bilan=stored.id,
        )
        (delivery_id,) = notify_repo.due(s, NOW)
        assert notify_repo.claim(s, delivery_id, "r1", NOW, timedelta(minutes=5)) is not None
        notify_repo.mark_failed(
            s, delivery_id, "r1", NOW, "SMTP mail:587: ConnectionRefusedError", NOW + timedelta(hours=1)
        )
        notify_repo.raise_alert(
            s, cause="gateway:gw-1", rule="gateway_offline", title="passerelle gw-1 hors ligne", now=NOW
        )
    with TestClient(app) as client:
        yield NotifyApp(client, engine, bilan.bilan_id, delivery_id, tmp_path)
    store.close()


def test_a_supervisor_sees_a_failed_delivery_and_resends_it(na: NotifyApp) -> None:
    r = na.client.get("/api/v1/notify/deliveries?status=failed", headers=auth("tok-super"))
    assert r.status_code == 200, r.text
    (d,) = r.json()
    assert d["status"] == "failed"
    assert "ConnectionRefusedError" in d["last_error"]
    r = na.client.post(f"/api/v1/notify/deliveries/{na.delivery_id}/resend", headers=auth("tok-super"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "pending"
    log = na.client.get(f"/api/v1/notify/deliveries/{na.delivery_id}/log", headers=auth("tok-super")).json()
    assert [e["outcome"] for e in log] == ["failed", "resend"]
    assert log[1]["detail"] == "asked by chef-equipe"
    assert na.client.post("/api/v1/notify/deliveries/999/resend", headers=auth("tok-super")).status_code == 404


def test_landlords_do_not_see_deliveries_nor_alerts(na: NotifyApp) -> None:
    for path in (
        "/api/v1/notify/deliveries",
        "/api/v1/notify/alerts",
        f"/api/v1/notify/deliveries/{na.delivery_id}/log",
    ):
        assert na.client.get(path, headers=auth("tok-ph")).status_code == 403, path
    assert (
        na.client.post(f"/api/v1/notify/deliveries/{na.delivery_id}/resend", headers=auth("tok-ph")).status_code == 403
    )
    assert na.client.get("/api/v1/notify/deliveries").status_code == 401


def test_a_landlord_downloads_its_own_bilan_only(na: NotifyApp) -> None:
    mine = na.client.get("/api/v1/notify/bilans", headers=auth("tok-ph")).json()
    assert [b["bilan_id"] for b in mine] == [na.bilan_id]
    assert na.client.get("/api/v1/notify/bilans", headers=auth("tok-3f")).json() == []
    name = "bilan-paris-habitat-2026-10.pdf"
    r = na.client.get(f"/api/v1/notify/bilans/{na.bilan_id}/{name}", headers=auth("tok-ph"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    manifest = na.client.get(f"/api/v1/notify/bilans/{na.bilan_id}/{name}.manifest.json", headers=auth("tok-ph"))
    assert manifest.json()["file_sha256"] == hashlib.sha256(r.content).hexdigest()
    assert na.client.get(f"/api/v1/notify/bilans/{na.bilan_id}/{name}", headers=auth("tok-3f")).status_code == 404
    for bad in ("../../etc/passwd", "bilan-paris-habitat-2026-10.exe", "x.pdf"):
        assert na.client.get(f"/api/v1/notify/bilans/{na.bilan_id}/{bad}", headers=auth("tok-ph")).status_code == 404
    assert na.client.get(f"/api/v1/notify/bilans/not-a-uuid/{name}", headers=auth("tok-ph")).status_code in (404, 422)
    log = (na.tmp / "access.jsonl").read_text(encoding="utf-8")
    assert f"bilan={na.bilan_id} file={name}" in log


def test_a_supervisor_previews_a_bilan_and_reads_the_alerts(na: NotifyApp) -> None:
    r = na.client.get(
        "/api/v1/notify/preview", params={"landlord": "immobiliere-3f", "month": "2026-11"}, headers=auth("tok-super")
    )
    assert r.status_code == 200, r.text
    assert r.content.startswith(b"%PDF")
    bad = na.client.get(
        "/api/v1/notify/preview", params={"landlord": "immobiliere-3f", "month": "2026-13"}, headers=auth("tok-super")
    )
    assert bad.status_code == 422
    unknown = na.client.get(
        "/api/v1/notify/preview", params={"landlord": "nobody", "month": "2026-11"}, headers=auth("tok-super")
    )
    assert unknown.status_code == 404
    (alert,) = na.client.get("/api/v1/notify/alerts", headers=auth("tok-super")).json()
    assert alert["title"] == "passerelle gw-1 hors ligne"
    assert alert["resolved_at"] is None


def test_the_supervision_page_shows_the_alert_in_progress(na: NotifyApp) -> None:
    html = na.client.get("/ui/supervision", headers=auth("tok-super")).text
    section = html.split('id="live-alerts"')[1].split("</section>")[0]
    assert "passerelle gw-1 hors ligne" in section
    assert "Aucune alerte en cours." not in section
    # the failed delivery waits for its retry, and says so with its reason
    assert "1 envoi(s) en échec, réessayé(s) :" in section
    assert "Bilan → direction@ph.example : SMTP mail:587: ConnectionRefusedError" in section
    live = na.client.get("/ui/supervision/live", headers=auth("tok-super")).json()
    assert "passerelle gw-1 hors ligne" in live["sections"]["alerts"]
    with session_factory(na.engine).begin() as s:
        notify_repo.resolve_alerts(s, [], NOW)
    live = na.client.get("/ui/supervision/live", headers=auth("tok-super")).json()
    assert "Aucune alerte en cours." in live["sections"]["alerts"]


def test_an_alert_title_is_text_on_the_page_never_markup(na: NotifyApp) -> None:
    with session_factory(na.engine).begin() as s:
        notify_repo.raise_alert(s, cause="x", rule="checkpoint_idle", title='<script>alert("x")</script>', now=NOW)
    html = na.client.get("/ui/supervision", headers=auth("tok-super")).text
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;" in html


def test_the_audit_page_links_the_landlords_bilans(na: NotifyApp) -> None:
    html = na.client.get("/ui/audit", headers=auth("tok-ph")).text
    section = html.split('id="bilans"')[1].split("</section>")[0]
    assert "octobre 2026 (fr)" in section
    links = re.findall(r'href="([^"]+)"', section)
    pdf = f"/api/v1/notify/bilans/{na.bilan_id}/bilan-paris-habitat-2026-10.pdf"
    assert pdf in links
    assert pdf + ".manifest.json" in links
    assert na.client.get(pdf, headers=auth("tok-ph")).content.startswith(b"%PDF")
    other = na.client.get("/ui/audit", headers=auth("tok-3f")).text
    assert "Aucun bilan émis pour ce bailleur." in other
    assert na.bilan_id not in other
