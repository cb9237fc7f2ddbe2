"""Registry API: reads, admin changes validated like the estate file, persistence, EID keys write-only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ronde.api.app import create_app
from ronde.api.auth import TokenBook
from ronde.api.settings import ApiSettings
from ronde.opdb.registry_repo import RegistryRepository
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry, default_estate_path, load_default_estate
from ronde.protocol.signing import new_private_key, public_key_text
from ronde.store.sqlite import SqliteStore
from tests.api.support import PH_CP, TOKENS, auth, opdb_box

ADMIN = auth("tok-admin")


def _keyed(app: FastAPI) -> Registry:
    """The registry in force with its EID identity keys, which the API's read models never hold."""
    registry = RegistryRepository(app.state.opdb_engine, opdb_box()).registry_with_keys()
    assert registry is not None
    return registry


def _eid_keys() -> set[str]:
    return {c.beacon.identity_key.hex() for c in load_default_estate().eid_checkpoints() if c.beacon.identity_key}


def test_landlords_with_dwellings(client: TestClient) -> None:
    rows = {x["id"]: x for x in client.get("/api/v1/landlords", headers=ADMIN).json()}
    assert len(rows) == 6
    assert sum(x["dwellings"] for x in rows.values()) == 5836
    ph = rows["paris-habitat"]
    assert ph["dwellings"] == 2891
    assert round(ph["dwelling_share"], 3) == 0.495
    assert ph["checkpoints"] == 36


def test_checkpoint_kinds_expected_visits_and_labels(client: TestClient) -> None:
    cp = client.get(f"/api/v1/checkpoints/{PH_CP}", headers=ADMIN).json()
    assert cp["kind"] == "stairwell_hall"
    assert cp["expected_visits"] == 1
    assert cp["kind_label"] == "hall d'immeuble (espaces communs)"
    en = client.get(f"/api/v1/checkpoints/{PH_CP}", params={"lang": "en"}, headers=ADMIN).json()
    assert en["kind_label"] == "stairwell hall"
    assert cp["beacon"]["format"] == "ibeacon"
    assert cp["beacon"]["identifiers"]["major"] == 1


def test_eid_identity_keys_are_never_returned(client: TestClient) -> None:
    keys = _eid_keys()
    assert keys
    eid = load_default_estate().eid_checkpoints()[0]
    texts = [
        client.get("/api/v1/checkpoints", headers=ADMIN).text,
        client.get(f"/api/v1/checkpoints/{eid.id}", headers=ADMIN).text,
        client.get("/api/v1/beacons", headers=ADMIN).text,
        client.get("/api/v1/estate-file", headers=ADMIN).text,
        client.get("/api/openapi.json").text,
    ]
    for text in texts:
        for k in keys:
            assert k not in text
    got = client.get(f"/api/v1/checkpoints/{eid.id}", headers=ADMIN).json()["beacon"]
    assert got["has_identity_key"] is True
    assert got["key"] is None
    assert got["format"] == "eddystone_eid"


def test_put_checkpoint_keeps_enrolled_eid_key_and_accepts_a_new_one(app: FastAPI, client: TestClient) -> None:
    eid = load_default_estate().eid_checkpoints()[0]
    body: dict[str, Any] = {
        "name": "Renamed",
        "kind": eid.kind.value,
        "estate": eid.estate,
        "landlord": eid.landlord,
        "building": eid.building,
        "lat": eid.lat,
        "lon": eid.lon,
        "beacon": {"format": "eddystone_eid", "clock_epoch": eid.beacon.clock_epoch, "rotation_exponent": 10},
    }
    r = client.put(f"/api/v1/checkpoints/{eid.id}", json=body, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["beacon"]["has_identity_key"] is True
    registry = _keyed(app)
    assert registry.checkpoints[eid.id].name == "Renamed"
    assert registry.checkpoints[eid.id].beacon.identity_key == eid.beacon.identity_key
    new_key = "0f" * 16
    body["beacon"] = {**body["beacon"], "identity_key": new_key}
    r = client.put(f"/api/v1/checkpoints/{eid.id}", json=body, headers=ADMIN)
    assert r.status_code == 200
    assert new_key not in r.text
    registry = _keyed(app)
    assert registry.checkpoints[eid.id].beacon.identity_key == bytes.fromhex(new_key)
    # a new EID checkpoint without a key: the error names the field
    no_key = {**body, "beacon": {"format": "eddystone_eid", "clock_epoch": 0}}
    r = client.put("/api/v1/checkpoints/new-eid", json=no_key, headers=ADMIN)
    assert r.status_code == 422
    assert any(e["location"] == "checkpoints[82].beacon.identity_key" for e in r.json()["errors"]), r.text


def test_changes_are_checked_for_references(client: TestClient) -> None:
    cp = client.get(f"/api/v1/checkpoints/{PH_CP}", headers=ADMIN).json()
    body: dict[str, Any] = {k: cp[k] for k in ("name", "kind", "estate", "building", "lat", "lon")}
    body["landlord"] = "immobiliere-3f"  # building mor-b01 is Paris Habitat's
    body["beacon"] = {"format": "ibeacon", "uuid": "5f1c2a7e0d4b4e6a9c3b8d2f6a1e4b70", "major": 9, "minor": 9}
    r = client.put(f"/api/v1/checkpoints/{PH_CP}", json=body, headers=ADMIN)
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert r.json()["code"] == "estate_invalid"
    assert any(e["location"].endswith(".building") and "another landlord" in e["message"] for e in errors)
    body["landlord"] = "paris-habitat"
    body["beacon"].update(major=1, minor=2)  # mor-b01-hall-b's beacon
    r = client.put(f"/api/v1/checkpoints/{PH_CP}", json=body, headers=ADMIN)
    assert r.status_code == 422
    assert "beacon already used" in r.text


def test_estate_import_errors_name_field_and_line(client: TestClient) -> None:
    text = default_estate_path().read_text()
    broken = text.replace("landlord: immobiliere-3f\n    building: mor-b06", "landlord: i3f\n    building: mor-b06", 1)
    assert broken != text
    line = broken.splitlines().index("    landlord: i3f") + 1
    r = client.post("/api/v1/estate-file/check", content=broken, headers={**ADMIN, "content-type": "application/yaml"})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "estate_invalid"
    err = next(e for e in body["errors"] if e["message"] == "unknown landlord 'i3f'")
    assert err["location"].startswith("checkpoints[")
    assert err["location"].endswith("].landlord")
    assert err["line"] == line
    r = client.put("/api/v1/estate-file", content="format: ronde-estate\nversion: 1\nrevision: [\n", headers=ADMIN)
    assert r.status_code == 422
    assert "not valid YAML" in r.json()["errors"][0]["message"]
    r = client.put("/api/v1/estate-file", content=b"\xff\xfe", headers=ADMIN)
    assert r.status_code == 422
    assert r.json()["errors"][0]["message"] == "not UTF-8 text"


def test_export_then_import_round_trips_and_keeps_eid_keys(app: FastAPI, client: TestClient) -> None:
    exported = client.get("/api/v1/estate-file", headers=ADMIN)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/yaml")
    data = yaml.safe_load(exported.text)
    assert all("identity_key" not in c["beacon"] for c in data["checkpoints"])
    # the export imports back as is (same revision, same content)
    assert client.put("/api/v1/estate-file", content=exported.text, headers=ADMIN).status_code == 200
    # change one name in the exported text and import it back, keys omitted: under the same revision
    # label it is refused (409), under a new one it applies
    renamed = exported.text.replace("Hall A – 4 rue Albert Thomas", "Hall A – 4 rue Albert-Thomas", 1)
    r = client.put("/api/v1/estate-file", content=renamed, headers=ADMIN)
    assert r.status_code == 409
    assert r.json()["code"] == "conflict"
    assert "revision '2026-12-05.1' is already used for another registry content" in r.json()["detail"]
    assert app.state.ronde.registry.registry.checkpoints[PH_CP].name == "Hall A – 4 rue Albert Thomas"
    edited = renamed.replace("revision: 2026-12-05.1", "revision: 2026-12-05.2", 1)
    assert edited != renamed
    r = client.put("/api/v1/estate-file", content=edited, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["applied"] is True
    assert r.json()["checkpoints"] == 82
    registry = _keyed(app)
    assert registry.checkpoints[PH_CP].name == "Hall A – 4 rue Albert-Thomas"
    before = {c.id: c.beacon.identity_key for c in load_default_estate().eid_checkpoints()}
    assert {c.id: c.beacon.identity_key for c in registry.eid_checkpoints()} == before


def test_registry_changes_in_memory_write_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``create_app`` on an in-memory registry (tests, benchmarks): changes hold in the process, and nothing is
    written anywhere (the API's YAML persistence is gone: the operational database is where changes last)."""
    monkeypatch.chdir(tmp_path)
    store = SqliteStore(tmp_path / "r.db")
    store.open()
    before = sorted(p.name for p in tmp_path.iterdir())
    app = create_app(
        ApiSettings(), store, load_default_estate(), ServiceCalendar(), tokens=TokenBook.from_tokens(TOKENS)
    )
    pub = public_key_text(new_private_key())
    with TestClient(app) as c:
        assert (
            c.put(
                "/api/v1/landlords/paris-habitat", json={"name": "Paris Habitat", "dwellings": 2900}, headers=ADMIN
            ).status_code
            == 200
        )
        assert (
            c.put(
                "/api/v1/gateways/gw-mordacs-9", json={"public_key": pub, "badges": ["EQUIPE-Q"]}, headers=ADMIN
            ).status_code
            == 200
        )
        # re-keying keeps the badge restriction
        pub = public_key_text(new_private_key())
        got = c.put("/api/v1/gateways/gw-mordacs-9", json={"public_key": pub}, headers=ADMIN).json()
        assert got["badges"] == ["EQUIPE-Q"]
        assert got["enrolled"] is True
        assert got["public_key"] == pub
        assert c.put("/api/v1/badges/EQUIPE-Q", json={"team": "Équipe 4"}, headers=ADMIN).status_code == 200
        bad = c.put("/api/v1/gateways/gw-x", json={"public_key": "A" * 43}, headers=ADMIN)
        assert bad.status_code == 422
        assert "small-order" in bad.text  # the all-zero key: forgeable
        assert c.delete(f"/api/v1/checkpoints/{PH_CP}", headers=ADMIN).status_code == 204
        assert c.get(f"/api/v1/checkpoints/{PH_CP}", headers=ADMIN).status_code == 404
        badges = c.get("/api/v1/badges", headers=ADMIN).json()
        assert {"badge": "EQUIPE-Q", "team": "Équipe 4", "active": True} in badges
        assert any(
            g["gateway_id"] == "gw-mordacs-9" and g["public_key"] == pub
            for g in c.get("/api/v1/gateways", headers=ADMIN).json()
        )
        assert c.get("/api/v1/landlords/paris-habitat", headers=ADMIN).json()["dwellings"] == 2900
    store.close()
    assert set(sorted(p.name for p in tmp_path.iterdir())) <= set(before)  # no estate, gateways or badges file


def test_settings_fail_fast(tmp_path: Path) -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="tokens_file"):  # the API reads no tokens file
        ApiSettings(tokens_file=tmp_path / "tokens.yaml")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="access_log"):
        ApiSettings(access_log=tmp_path / "no" / "such" / "dir.jsonl")
    with pytest.raises(ValidationError):
        ApiSettings(stale_after_min=0)
