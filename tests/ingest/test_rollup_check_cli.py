"""``ronde ingest check-rollups``: maintenance's rollup check by hand, under the operational database's
registry and calendar; the API then reads its verdicts (``tests/api/test_rollup_warnings.py``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ronde.audit.rollups import stored_mismatches
from ronde.cli import main
from ronde.ingest.rollup import rollup_day
from ronde.opdb.sealing import KEY_VARIABLE
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import load_default_estate
from ronde.store.records import WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.ingest.helpers import GATEWAYS
from tests.store import factories as f
from tests.support.opdb_site import SECRET_KEY, site_database


def _one_visit_on_a_closed_day(
    tmp_path: Path, calendar: ServiceCalendar, now: datetime, *, within_days: int
) -> tuple[SqliteStore, date]:
    """A store holding one visit on the last service day of the past ``within_days`` whose evening has ended."""
    days = calendar.service_days(now.date() - timedelta(days=within_days), now.date())
    day = [d for d in days if calendar.window(d)[1] < now][-1]
    store = SqliteStore(tmp_path / "store.db")
    store.open()
    at = calendar.window(day)[0] + timedelta(minutes=30)
    visit = f.visit(1, at=at, checkpoint_id="mor-b01-hall-a", landlord="paris-habitat", service_day=day)
    store.write(WriteBatch(visits=(visit,)))
    return store, day


def test_check_rollups_stores_verdicts_the_api_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calendar, now = ServiceCalendar(), datetime.now(UTC)
    store, day = _one_visit_on_a_closed_day(tmp_path, calendar, now, within_days=9)
    assert rollup_day(store, load_default_estate(), calendar, day)
    site = site_database(tmp_path / "site.db", GATEWAYS, calendar=calendar)
    assert {m.finding.value for m in stored_mismatches(store, calendar, day, day, now=now)} == {"unchecked"}
    with pytest.MonkeyPatch.context() as env:
        env.setenv(KEY_VARIABLE, SECRET_KEY)
        assert main(["ingest", "check-rollups", "--store", f"sqlite://{store.path}", "--database", site]) == 0
    assert f"1 day(s) checked against the stored events: {day}" in capsys.readouterr().out
    assert stored_mismatches(store, calendar, day, day, now=now) == []
    assert {v.landlord for v in store.rollup_verdicts(day, day)} == {r.landlord for r in store.rollups(day, day)}
    store.close()


def test_maintenance_pass_rolls_then_checks_the_closed_day(tmp_path: Path) -> None:
    """``MaintenanceRunner.maintain``: the rollup step, then the check step in the same pass, so the API
    never shows a closed day as not checked for longer than one pass."""
    from ronde.ingest.config import IngestConfig
    from ronde.ingest.maintenance import MaintenanceRunner

    calendar, now = ServiceCalendar(), datetime.now(UTC)
    store, day = _one_visit_on_a_closed_day(tmp_path, calendar, now, within_days=2)
    config = IngestConfig.model_validate({"name": "m1", "maintenance": True, "rollup_grace_s": 0})
    runner = MaintenanceRunner.from_config(config, store, load_default_estate(), calendar)
    assert runner.check is not None
    runner.maintain(now)
    assert store.rollups(day, day)
    assert day in runner.check.checked
    assert stored_mismatches(store, calendar, day, day, now=now) == []
    store.close()
