"""Editing or deleting a stored event after a report was issued makes verification fail and name
the day. Tampering is done on the SQLite file directly, as an intruder with file access would."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from ronde.audit.export import ReportFormat, read_report, write_report
from ronde.audit.keys import load_signing_key
from ronde.audit.labels import Lang
from ronde.audit.report import build_report
from ronde.audit.verify import VerifyResult, verify_manifest
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.store.sqlite import SqliteStore
from tests.audit.conftest import DAYS
from tests.coverage.factory import local, registry

CAL = ServiceCalendar()
NOW = local(date(2026, 11, 20), 12)


def _issue(store: SqliteStore, out: Path, fmt: ReportFormat = ReportFormat.CSV) -> Path:
    report = build_report(store, registry(), CAL, "paris-habitat", DAYS[0], DAYS[-1], now=NOW)
    write_report(report, out, fmt, Lang.FR, load_signing_key())
    return out


def _verify(path: Path, store_path: Path, estate: Registry | None = None) -> VerifyResult:
    manifest, problems = read_report(path)
    s = SqliteStore(store_path)
    s.open()
    try:
        return verify_manifest(
            manifest, s, public_key=load_signing_key().public_key(), document_problems=problems, estate=estate
        )
    finally:
        s.close()


def _sql(path: Path, statement: str, *params: object) -> int:
    conn = sqlite3.connect(path)
    try:
        cur = conn.execute(statement, params)
        conn.commit()
        return cur.rowcount
    finally:
        conn.close()


def test_untouched_store_verifies(store: SqliteStore, store_path: Path, tmp_path: Path) -> None:
    report = _issue(store, tmp_path / "r.csv")
    result = _verify(report, store_path)
    assert result.ok, result.message()
    assert result.message().startswith("OK: ")
    assert [x.day for x in result.recomputed.links] == DAYS


def test_edited_event_fails_and_names_the_day(store: SqliteStore, store_path: Path, tmp_path: Path) -> None:
    report = _issue(store, tmp_path / "r.csv")
    # stretch one visit of Friday 6 November by a minute
    n = _sql(
        store_path,
        "UPDATE visits SET last_seen = last_seen + 60000 WHERE checkpoint_id = 'a' AND service_day = '2026-11-06'",
    )
    assert n == 1
    result = _verify(report, store_path)
    assert not result.ok
    assert result.first_bad_day == date(2026, 11, 6)
    assert result.difference.changed_days == (date(2026, 11, 6),)
    assert "2026-11-06" in result.message()


def test_deleted_event_fails_and_names_the_day(store: SqliteStore, store_path: Path, tmp_path: Path) -> None:
    report = _issue(store, tmp_path / "r.csv")
    assert _sql(store_path, "DELETE FROM visits WHERE checkpoint_id = 'b' AND service_day = '2026-11-08'") == 1
    result = _verify(report, store_path)
    assert result.first_bad_day == date(2026, 11, 8)
    assert result.difference.expected is not None
    assert result.difference.found is not None
    assert (result.difference.expected.events, result.difference.found.events) == (2, 1)


@pytest.mark.parametrize(
    ("column", "value"),
    [("verification", "signed"), ("payload_sha256", "0" * 64), ("landlord", "other"), ("service_day", "2026-11-12")],
)
def test_any_field_edit_is_detected(
    store: SqliteStore, store_path: Path, tmp_path: Path, column: str, value: str
) -> None:
    report = _issue(store, tmp_path / "r.csv")
    _sql(store_path, f"UPDATE visits SET {column} = ? WHERE checkpoint_id = 'b' AND service_day = '2026-11-04'", value)
    result = _verify(report, store_path)
    assert result.first_bad_day == date(2026, 11, 4), column


def test_other_landlords_events_do_not_matter(store: SqliteStore, store_path: Path, tmp_path: Path) -> None:
    report = _issue(store, tmp_path / "r.csv")
    _sql(store_path, "DELETE FROM visits WHERE landlord = 'other'")
    assert _verify(report, store_path).ok


def test_pdf_with_sidecar_verifies_and_detects_file_change(
    store: SqliteStore, store_path: Path, tmp_path: Path
) -> None:
    report = _issue(store, tmp_path / "r.pdf", ReportFormat.PDF)
    assert _verify(report, store_path).ok
    data = bytearray(report.read_bytes())
    data[-10] ^= 1
    report.write_bytes(bytes(data))
    result = _verify(report, store_path)
    assert not result.ok
    assert result.file_problem is not None
    assert result.first_bad_day is None
    assert "SHA-256 differs" in result.message()


def test_another_registry_revision_changes_the_anchor(store: SqliteStore, store_path: Path, tmp_path: Path) -> None:
    report = _issue(store, tmp_path / "r.csv")
    other = replace(registry(), revision="someone-elses")
    result = _verify(report, store_path, estate=other)
    assert not result.ok
    assert result.difference.anchor_differs
    assert "ANCHOR DIFFERS" in result.message()
    assert "revision 'someone-elses'" in result.message()


def test_same_revision_other_content_changes_the_anchor(store: SqliteStore, store_path: Path, tmp_path: Path) -> None:
    """The anchor binds the registry's content, not only its revision label."""
    report = _issue(store, tmp_path / "r.csv")
    reg = registry()
    renamed = replace(reg, checkpoints={**reg.checkpoints, "a": replace(reg.checkpoints["a"], name="Autre hall")})
    assert renamed.revision == reg.revision
    result = _verify(report, store_path, estate=renamed)
    assert not result.ok
    assert result.difference.anchor_differs
    assert "is not the registry the report was computed with" in result.message()
    assert _verify(report, store_path, estate=reg).ok
