"""Landlord audit over HTTP: CSV, PDF, PDF + manifest; chain digest; every read logged."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from ronde.audit.export import read_report
from ronde.audit.keys import parse_public_key
from ronde.audit.verify import verify_manifest
from ronde.store.sqlite import SqliteStore
from tests.api.support import PH_CP, auth

PERIOD = {"first": "2026-11-01", "last": "2026-11-26"}
BASE = "/api/v1/audit/landlords/paris-habitat/report"


def test_json_report_with_chain_digest(client: TestClient) -> None:
    r = client.get(BASE, params=PERIOD, headers=auth("tok-ph"))
    assert r.status_code == 200
    rep = r.json()
    assert rep["landlord"] == "paris-habitat"
    assert rep["first"] == "2026-11-01"
    assert len(rep["chain_digest"]) == 64
    assert rep["manifest"]["chain"]["final"] == rep["chain_digest"]
    wed = next(d for d in rep["days"] if d["service_day"] == "2026-11-25")
    assert wed["events"] == 3
    assert wed["covered"] == 2
    assert all(d["service_day"] < "2026-11-26" for d in rep["days"])  # closed days only
    row = next(c for c in rep["checkpoints"] if c["checkpoint_id"] == PH_CP)
    assert row["passes"] == 2
    assert row["signed"] == 2
    assert row["static"] == 2
    assert "EQUIPE" not in r.text
    assert "gw-" not in r.text


def test_csv_and_pdf_carry_the_digest(client: TestClient) -> None:
    digest = client.get(BASE, params=PERIOD, headers=auth("tok-ph")).json()["chain_digest"]
    csv = client.get(BASE + ".csv", params=PERIOD, headers=auth("tok-ph"))
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["x-ronde-chain-digest"] == digest
    assert digest in csv.text
    assert csv.text.startswith("# Rapport d'audit")
    assert "attachment" in csv.headers["content-disposition"]
    en = client.get(BASE + ".csv", params={**PERIOD, "lang": "en"}, headers=auth("tok-ph"))
    assert en.text.startswith("# ")
    assert "Rapport" not in en.text.splitlines()[0]
    pdf = client.get(BASE + ".pdf", params=PERIOD, headers=auth("tok-ph"))
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert pdf.headers["x-ronde-chain-digest"] == digest


def test_zip_verifies_against_the_store_then_fails_after_an_edit(
    client: TestClient, store: SqliteStore, tmp_path: Path
) -> None:
    r = client.get(BASE + ".zip", params=PERIOD, headers=auth("tok-ph"))
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        names = sorted(z.namelist())
        z.extractall(tmp_path)
    assert names[0].endswith(".pdf")
    assert names[1].endswith(".pdf.manifest.json")
    key = client.get("/api/v1/audit/key", headers=auth("tok-ph")).json()
    public_key = parse_public_key(key["public_key"])
    assert r.headers["x-ronde-key-fingerprint"] == key["fingerprint"]
    manifest, problems = read_report(tmp_path / names[0])
    assert problems == ()
    assert verify_manifest(manifest, store, public_key=public_key).ok
    # the report file itself is bound to its manifest
    (tmp_path / names[0]).write_bytes(b"%PDF-1.4 forged")
    assert read_report(tmp_path / names[0])[1] != ()
    # deleting one stored event makes the chain fail on its day
    import sqlite3

    with sqlite3.connect(store.path) as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        visits_table = next(t for t in tables if "visit" in t)
        db.execute(f"DELETE FROM {visits_table} WHERE checkpoint_id = ? AND service_day = ?", (PH_CP, "2026-11-25"))
    result = verify_manifest(read_report(tmp_path / names[1])[0], store, public_key=public_key)
    assert not result.ok
    assert result.first_bad_day is not None
    assert result.first_bad_day.isoformat() == "2026-11-25"


def test_every_audit_read_is_logged(app: FastAPI, client: TestClient, tmp_path: Path) -> None:
    client.get(BASE + ".csv", params=PERIOD, headers=auth("tok-ph"))
    client.get(BASE + ".pdf", params=PERIOD, headers=auth("tok-super"))
    client.get(f"/api/v1/checkpoints/{PH_CP}/visits", params=PERIOD, headers=auth("tok-ph"))
    client.get(BASE, params=PERIOD, headers=auth("tok-3f"))  # refused: logged as denied, not as a read of data
    log = client.get("/api/v1/audit/access-log", headers=auth("tok-admin"))
    assert log.status_code == 200
    entries = log.json()
    got = [(e["who"], e["role"], e["what"]) for e in entries]
    assert got[:3] == [
        ("audit-ph", "landlord", "audit.report.csv"),
        ("chef-equipe", "supervisor", "audit.report.pdf"),
        ("audit-ph", "landlord", "events.checkpoint"),
    ]
    assert entries[0]["at"] == "2026-11-26T19:00:00Z"
    assert "landlord=paris-habitat first=2026-11-01 last=2026-11-26" in entries[0]["target"]
    probes = [e for e in entries if e["who"] == "audit-3f"]
    assert [(e["what"], e["status"], e["denied"]) for e in probes] == [
        ("GET /api/v1/audit/landlords/{landlord_id}/report", 404, True)
    ]
    assert not any(e["denied"] for e in entries if e["who"] != "audit-3f")
    # the log is an append-only JSONL file, and reading it is itself logged
    path = app.state.ronde.access_log.path
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [x["what"] for x in lines] == [*(e["what"] for e in entries), "audit.access_log"]
    assert client.get("/api/v1/audit/access-log", headers=auth("tok-super")).status_code == 403


def test_report_period_must_be_valid(client: TestClient) -> None:
    r = client.get(BASE + ".pdf", params={"first": "2026-11-26", "last": "2026-11-01"}, headers=auth("tok-ph"))
    assert r.status_code == 422


def test_no_trace_no_data(tmp_path: Path) -> None:
    """If the access log cannot be written, audit data is refused (503), never served unlogged."""
    from tests.api.support import make_app

    app, store, _ = make_app(tmp_path)
    (tmp_path / "access.jsonl").mkdir()  # writing the log now fails (a directory is in the way)
    with TestClient(app) as c:
        r = c.get(BASE + ".csv", params=PERIOD, headers=auth("tok-ph"))
        assert r.status_code == 503
        assert r.json()["code"] == "unavailable"
        assert "x-ronde-chain-digest" not in r.headers
        assert "manifest" not in r.text
        assert c.get(f"/api/v1/checkpoints/{PH_CP}/visits", headers=auth("tok-ph")).status_code == 503
        assert c.get("/api/v1/coverage/landlords", headers=auth("tok-ph")).status_code == 200  # not audit data
    store.close()
