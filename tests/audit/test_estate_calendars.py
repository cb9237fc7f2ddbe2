"""An audit uses its landlord's estates' calendar: another estate's closed date does not touch a landlord who has
nothing there, and a landlord on both estates gets a report whose manifest states each estate's own calendar and
still verifies against the store."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ronde.audit.export import ReportFormat, read_report, write_report
from ronde.audit.keys import load_signing_key
from ronde.audit.labels import Lang
from ronde.audit.manifest import manifest_of
from ronde.audit.report import build_report
from ronde.audit.verify import verify_manifest
from ronde.protocol.calendar import Calendars, ServiceCalendar
from ronde.store.sqlite import SqliteStore
from tests.audit.conftest import DAYS
from tests.coverage.factory import local, registry

CLOSED = date(2026, 11, 6)  # a Friday of the week the store holds
CALS = Calendars.of(ServiceCalendar(), {"e2": ServiceCalendar(closed=frozenset({CLOSED}))})
NOW = local(date(2026, 11, 20), 12)


def test_a_landlord_on_one_estate_keeps_the_plain_calendar(store: SqliteStore) -> None:
    report = build_report(store, registry(), CALS, "paris-habitat", DAYS[0], DAYS[-1], now=NOW)  # e1 only
    assert type(report.calendar) is ServiceCalendar
    assert "estates" not in manifest_of(report)["calendar"]
    assert CLOSED in [day for day, _ in report.days]


def test_a_landlord_on_two_estates_has_each_estate_judged_by_its_own(
    store: SqliteStore, store_path: Path, tmp_path: Path
) -> None:
    report = build_report(store, registry(), CALS, "other", DAYS[0], DAYS[-1], now=NOW)  # p in e1, c in e2
    by_id = {r.checkpoint_id: r for r in report.checkpoints}
    assert by_id["c"].service_days == len(DAYS) - 1  # e2 was closed that Friday
    assert by_id["p"].service_days == len(DAYS)
    stated = manifest_of(report)["calendar"]
    assert stated["closed"] == []
    assert stated["estates"]["e2"]["closed"] == [CLOSED.isoformat()]

    path = tmp_path / "other.csv"
    write_report(report, path, ReportFormat.CSV, Lang.FR, load_signing_key())
    manifest, problems = read_report(path)
    assert manifest.calendar == report.calendar  # the manifest gives the calendars back
    s = SqliteStore(store_path)
    s.open()
    try:
        result = verify_manifest(manifest, s, public_key=load_signing_key().public_key(), document_problems=problems)
    finally:
        s.close()
    assert result.ok, result.message()
