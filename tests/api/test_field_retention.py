"""The API applies the field retention by itself (issue 14): at most once an hour, on a request, the rows past
their retention go with their photo files, and a contact goes after its own short retention."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from ronde.opdb.field_policy import FieldRetention
from tests.api.field_support import Clock, field_app, jpeg_with_gps
from tests.api.support import NOW, auth


def test_old_records_and_their_photos_are_purged_by_the_api(tmp_path: Path) -> None:
    clock = Clock()
    gen = field_app(tmp_path, clock, retention=FieldRetention(technique_days=30, contact_days=2))
    fa = next(gen)
    _, token = fa.enrol()
    old = fa.report(token, created_at=(NOW - timedelta(days=29, hours=23, minutes=30)).isoformat())
    young = fa.report(token)
    photo = fa.client.put(
        f"/api/v1/terrain/reports/{old['id']}/photo",
        content=jpeg_with_gps(),
        headers={**auth(token), "Content-Type": "image/jpeg"},
    ).json()
    media = tmp_path / "opdb.db.media" / photo["sha256"][:2] / photo["sha256"]
    assert media.is_file()
    contact = fa.sollicitation(token, contact={"value": "06 00 00 00 00", "consent": True})
    clock.now = NOW + timedelta(minutes=59)  # not yet an hour since the first purge: nothing runs
    ids = [r["id"] for r in fa.client.get("/api/v1/field/records", headers=auth("tok-super")).json()["items"]]
    assert old["id"] in ids
    clock.now = NOW + timedelta(hours=3)  # the report is now 30 days and 2.5 hours old
    ids = [r["id"] for r in fa.client.get("/api/v1/field/records", headers=auth("tok-super")).json()["items"]]
    assert old["id"] not in ids
    assert young["id"] in ids
    assert contact["id"] in ids
    assert not media.exists()
    clock.now = NOW + timedelta(days=3)
    fa.client.get("/api/v1/field/records", headers=auth("tok-super"))
    with fa.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM field_contacts")).scalar_one() == 0
        assert (
            conn.execute(text("SELECT count(*) FROM field_records WHERE id = :i"), {"i": contact["id"]}).scalar_one()
            == 1
        )
    for _ in gen:
        pass
