"""A tenant's contact, given with consent on a sollicitation (issue 14's gap): staff read it, and the landlord
owning the place when the record is oriented to it (its agency or caretaker); nobody else, never in a list, a
queue page or another landlord's answer; every read is in the access log; past ``contact_days`` it is gone at
once (before the hourly purge), then deleted by the purge."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ronde.opdb.engine import session_factory
from ronde.opdb.models import FieldContactRow
from ronde.opdb.service_repo import put_partner
from tests.api.field_support import Clock, FieldApp, field_app
from tests.api.support import NOW, PH_CP, auth

PHONE = "06 12 34 56 78"
OTHER = "mme.dupont@example.org"
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def fa(tmp_path: Path, clock: Clock) -> Iterator[FieldApp]:
    yield from field_app(tmp_path, clock)


def _agency(fa: FieldApp) -> int:
    with session_factory(fa.engine).begin() as s:
        return put_partner(s, "Agence Paris Habitat Champigny", "agence_bailleur", frozenset({"mordacs"})).id


def _contact(fa: FieldApp, record: str, token: str) -> tuple[int, str]:
    r = fa.client.get(f"/api/v1/field/records/{record}/contact", headers=auth(token))
    return r.status_code, r.json().get("value", "") if r.status_code == 200 else r.json()["code"]


def _signed_in(fa: FieldApp, token: str) -> TestClient:
    c = TestClient(fa.app)
    r = c.post("/login", content=f"token={token}&next=/ui", headers=FORM, follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


def test_staff_and_the_landlord_it_is_oriented_to_read_the_contact_nobody_else(fa: FieldApp) -> None:
    agency = _agency(fa)
    _, token = fa.enrol()
    to_landlord = fa.sollicitation(
        token, place={"checkpoint": PH_CP}, partner=agency, contact={"value": PHONE, "consent": True}
    )["id"]
    to_association = fa.sollicitation(
        token, place={"checkpoint": PH_CP}, partner=fa.partner_id, contact={"value": OTHER, "consent": True}
    )["id"]
    without = fa.sollicitation(token, place={"checkpoint": PH_CP}, partner=agency)["id"]
    assert _contact(fa, to_landlord, "tok-super") == (200, PHONE)
    assert _contact(fa, to_landlord, "tok-admin") == (200, PHONE)
    assert _contact(fa, to_landlord, "tok-ph") == (200, PHONE)  # oriented to its agency, at its place
    assert _contact(fa, to_association, "tok-super") == (200, OTHER)
    # the landlord owns the place but the record went to an association: the same 404 as no contact at all
    assert _contact(fa, to_association, "tok-ph") == _contact(fa, without, "tok-ph") == (404, "not_found")
    assert _contact(fa, without, "tok-super") == (404, "not_found")
    assert _contact(fa, to_landlord, "tok-3f") == (404, "not_found")  # another landlord's place
    for other in (token, fa.partner_token):  # the phone and the partner: not queue readers at all
        assert _contact(fa, to_landlord, other)[0] == 403
    # never in a list, a record or the queue page a landlord reads
    listed = fa.client.get("/api/v1/field/records", headers=auth("tok-ph")).text
    one = fa.client.get(f"/api/v1/field/records/{to_landlord}", headers=auth("tok-ph")).text
    queue = _signed_in(fa, "tok-ph").get("/ui/signalements").text
    for text in (listed, one, queue):
        assert PHONE not in text
        assert OTHER not in text
    # the record's page shows it to whom the API shows it, with the consent and the deletion dates
    landlord = _signed_in(fa, "tok-ph")
    page = landlord.get(f"/ui/signalements/{to_landlord}").text
    assert 'id="record-contact"' in page
    assert PHONE in page
    assert "effacé le 26/12/2026" in page
    assert OTHER not in landlord.get(f"/ui/signalements/{to_association}").text
    assert OTHER in _signed_in(fa, "tok-super").get(f"/ui/signalements/{to_association}").text
    # every read is in the access log: who, which record
    log = fa.client.get("/api/v1/audit/access-log", headers=auth("tok-admin")).json()
    reads = [(e["role"], e["target"]) for e in log if e["what"] == "field.contact"]
    assert ("landlord", f"record={to_landlord}") in reads
    assert ("supervisor", f"record={to_association}") in reads
    assert ("landlord", f"record={to_association}") not in reads


def test_the_contact_goes_with_its_retention_then_the_purge_deletes_it(fa: FieldApp, clock: Clock) -> None:
    agency = _agency(fa)
    _, token = fa.enrol()
    record = fa.sollicitation(
        token, partner=agency, place={"checkpoint": PH_CP}, contact={"value": PHONE, "consent": True}
    )["id"]
    expires = datetime.fromisoformat(
        fa.client.get(f"/api/v1/field/records/{record}/contact", headers=auth("tok-super")).json()["expires_at"]
    )
    assert expires == NOW + timedelta(days=30)  # docs/privacy.md: contact_days, 30 by default
    clock.now = expires - timedelta(minutes=1)
    assert _contact(fa, record, "tok-ph") == (200, PHONE)
    clock.now = expires + timedelta(minutes=1)  # the purge ran two minutes ago: not due before an hour
    assert _contact(fa, record, "tok-super") == (404, "not_found")
    assert _contact(fa, record, "tok-ph") == (404, "not_found")
    assert _contact_rows(fa) == 1  # still stored, already never shown
    clock.now = expires + timedelta(hours=2)
    assert _contact(fa, record, "tok-super") == (404, "not_found")  # this request ran the purge
    assert _contact_rows(fa) == 0
    assert fa.client.get(f"/api/v1/field/records/{record}", headers=auth("tok-ph")).status_code == 200  # kept


def _contact_rows(fa: FieldApp) -> int:
    with session_factory(fa.engine)() as s:
        return int(s.scalar(select(func.count()).select_from(FieldContactRow)) or 0)
