"""Hostile reads of a tenant's consented contact (``GET /api/v1/field/records/{id}/contact``): forged or foreign
ids, a landlord whose agency left the partner directory, a revoked phone. Each gets a clear 4xx naming the
reason, the same 404 for "no such contact" and "not yours"; none a 5xx, and no refused read leaks the value."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ronde.opdb.engine import session_factory
from ronde.opdb.service_repo import put_partner
from tests.api.field_support import FieldApp, field_app, ulid
from tests.api.support import PH_CP, auth

PHONE = "06 98 76 54 32"
FORGED = ["0", "x" * 300, "'; DROP TABLE field_contacts; --", "..%2F..%2Fetc%2Fpasswd", "%00", "01JD" + "\u00c9" * 22]


@pytest.fixture
def fa(tmp_path: Path) -> Iterator[FieldApp]:
    yield from field_app(tmp_path)


def test_forged_ids_and_foreign_callers_get_404_or_403_never_the_contact(fa: FieldApp) -> None:
    with session_factory(fa.engine).begin() as s:
        agency = put_partner(s, "Agence PH", "agence_bailleur", frozenset({"mordacs"})).id
    device, token = fa.enrol()
    record = fa.sollicitation(
        token, place={"checkpoint": PH_CP}, partner=agency, contact={"value": PHONE, "consent": True}
    )["id"]
    for forged in [*FORGED, ulid()]:
        r = fa.client.get(f"/api/v1/field/records/{forged}/contact", headers=auth("tok-super"))
        assert r.status_code in (404, 422), (forged, r.status_code)
        assert r.json()["detail"]
    refused = [
        fa.client.get(f"/api/v1/field/records/{record}/contact", headers=auth(t))
        for t in ("tok-3f", token, fa.partner_token, "not-a-token")
    ]
    assert [r.status_code for r in refused] == [404, 403, 403, 401]
    assert all(PHONE not in r.text for r in refused)
    assert fa.client.get(f"/api/v1/field/records/{record}/contact", headers=auth("tok-ph")).status_code == 200
    # the agency leaves the directory: the record is no longer oriented to the landlord, staff still read it
    assert fa.client.delete(f"/api/v1/partners/{agency}", headers=auth("tok-admin")).status_code == 204
    assert fa.client.get(f"/api/v1/field/records/{record}/contact", headers=auth("tok-ph")).status_code == 404
    assert fa.client.get(f"/api/v1/field/records/{record}/contact", headers=auth("tok-super")).status_code == 200
    assert fa.client.delete(f"/api/v1/terrain/devices/{device}", headers=auth("tok-super")).status_code == 204
    replayed = fa.client.get(f"/api/v1/field/records/{record}/contact", headers=auth(token))
    assert replayed.status_code == 401
