"""Every report document shows one longest wait: within evenings that had data, in whole minutes.

The PDF showed it first; the CSV, its signed manifest (version 3) and the JSON now carry the same
figure. Reports issued before (manifest version 2, whose CSV showed the cross-day worst idleness in
hours, counting days without data) still verify: ``tests/audit/data/report-v2-*.csv`` were issued by
the version 2 code on the test week of ``tests/audit/conftest.py`` with the fixed key below.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ronde.audit.export import parse_csv_figures, read_report, render_csv
from ronde.audit.keys import public_key_text, sign_manifest
from ronde.audit.labels import Lang
from ronde.audit.manifest import MANIFEST_VERSION, manifest_of, parse_manifest, report_figures
from ronde.audit.report import AuditReport, ReportError, build_report
from ronde.audit.verify import verify_manifest
from ronde.cli import main
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.csv_cells import restore_cell
from ronde.store.records import WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.audit.conftest import DAYS, week_visits
from tests.coverage.factory import local, registry

NOW = local(date(2026, 11, 20), 12)
DATA = Path(__file__).parent / "data"
V2_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))  # the test key the version 2 files were signed with


def _report(store: SqliteStore) -> AuditReport:
    return build_report(store, registry(), ServiceCalendar(), "paris-habitat", DAYS[0], DAYS[-1], now=NOW)


def _checkpoint_rows(text: str, lang: Lang) -> dict[str, dict[str, str]]:
    """The CSV's checkpoint table as {id: {column header: cell}}."""
    delimiter = ";" if lang is Lang.FR else ","
    rows = [r.split(delimiter) for r in text.splitlines() if r and not r.startswith(("#", '"#'))]
    head = rows[0]
    out: dict[str, dict[str, str]] = {}
    for row in rows[1:]:
        if len(row) != len(head):
            break
        out[row[0]] = dict(zip(head, (restore_cell(x) for x in row), strict=True))
    return out


def test_the_longest_wait_leaves_out_evenings_without_data(store: SqliteStore) -> None:
    """Service 16:00-22:15 (375 min). Point a, passed 17:00-17:05 every evening: 22:15 - 17:05 = 310 min.
    Point b: two evenings not visited (sensed, so a whole evening is a wait: 375 min) and 11 November
    without data, which version 2's cross-day worst idleness ran over (12.43 h). Point u never sensed."""
    by_id = {c.checkpoint_id: c for c in _report(store).checkpoints}
    assert by_id["a"].longest_wait_s == 310 * 60
    assert (by_id["b"].not_visited_days, by_id["b"].no_data_days) == (2, 1)
    assert by_id["b"].longest_wait_s == 375 * 60
    assert by_id["u"].no_data_days == len(DAYS)
    assert by_id["u"].longest_wait_s == 0.0  # no evening with data: no wait is evidenced
    v2 = (DATA / "report-v2-en.csv").read_text(encoding="utf-8")
    assert "\nb,Point b," in v2
    assert ",12.43," in v2.split("\nb,Point b,")[1].splitlines()[0]


@pytest.mark.parametrize(
    ("lang", "header"), [(Lang.FR, "Attente la plus longue (min)"), (Lang.EN, "Longest wait (min)")]
)
def test_csv_manifest_and_json_show_the_pdf_figure(store: SqliteStore, lang: Lang, header: str) -> None:
    report = _report(store)
    text = render_csv(report, lang, Ed25519PrivateKey.generate())
    rows = _checkpoint_rows(text, lang)
    figures = {c["id"]: c for c in report_figures(report)["checkpoints"]}
    for c in report.checkpoints:
        minutes = round(c.longest_wait_s / 60)
        assert rows[c.checkpoint_id][header] == str(minutes)
        assert figures[c.checkpoint_id]["longest_wait_min"] == minutes
        assert "worst_idle_h" not in figures[c.checkpoint_id]
    assert rows["b"][header] != "0"
    assert manifest_of(report)["version"] == MANIFEST_VERSION == 3
    assert ("soirée avec données" if lang is Lang.FR else "evening with data") in text  # the definition, stated
    issued = "# Émis le: vendredi 20 novembre 2026 à 12 h 00 (heure de Paris)"  # read by people: not ISO, local
    assert (issued if lang is Lang.FR else "# Issued at: Friday 20 November 2026 at 12:00 (Paris time)") in text
    assert parse_csv_figures(text, lang) == report_figures(report)


def test_an_edited_longest_wait_is_named(store: SqliteStore, tmp_path: Path) -> None:
    report = _report(store)
    text = render_csv(report, Lang.FR, Ed25519PrivateKey.generate())
    b = next(c for c in report.checkpoints if c.checkpoint_id == "b")
    minutes = round(b.longest_wait_s / 60)
    line = next(x for x in text.splitlines() if x.startswith("b;"))
    cells = line.split(";")
    assert cells[13] == str(minutes)
    cells[13] = str(minutes - 30)
    path = tmp_path / "rapport.csv"
    path.write_text(text.replace(line, ";".join(cells)), encoding="utf-8")
    _, problems = read_report(path)
    assert problems == (
        f"rapport.csv: checkpoint b: longest_wait_min: {minutes - 30} in the document, {minutes} signed",
    )


@pytest.fixture
def v2_store_path(tmp_path: Path) -> Path:
    """The store the version 2 files were issued from: the test week, events numbered from 1."""
    path = tmp_path / "v2.db"
    store = SqliteStore(path)
    store.open()
    store.write(WriteBatch(visits=tuple(replace(v, seq=i) for i, v in enumerate(week_visits(), start=1))))
    store.close()
    return path


@pytest.mark.parametrize("lang", list(Lang))
def test_a_version_2_report_still_verifies(v2_store_path: Path, lang: Lang) -> None:
    manifest, problems = read_report(DATA / f"report-v2-{lang.value}.csv")
    assert problems == ()
    assert manifest.version == 2
    assert "worst_idle_h" in manifest.figures["checkpoints"][0]
    store = SqliteStore(v2_store_path)
    store.open()
    try:
        result = verify_manifest(manifest, store, public_key=V2_KEY.public_key())
    finally:
        store.close()
    assert result.ok, result.message()


def test_a_version_2_report_edited_is_still_caught(tmp_path: Path) -> None:
    text = (DATA / "report-v2-fr.csv").read_text(encoding="utf-8")
    edited = tmp_path / "v2.csv"
    edited.write_text(text.replace(";0,50;2,90;6,17;", ";0,50;2,90;1,17;"), encoding="utf-8")
    _, problems = read_report(edited)
    assert problems == ("v2.csv: checkpoint a: worst_idle_h: '1.17' in the document, '6.17' signed",)


def test_ronde_audit_verify_reads_a_version_2_csv(
    v2_store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "public.txt"
    key.write_text(public_key_text(V2_KEY))
    path = DATA / "report-v2-en.csv"
    assert main(["audit", "verify", str(path), "--store", str(v2_store_path), "--public-key", str(key)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("OK: report ")


@pytest.mark.parametrize("version", [1, 4, "3"])
def test_other_manifest_versions_are_refused(store: SqliteStore, version: object) -> None:
    data = json.loads(json.dumps(manifest_of(_report(store))))
    data["version"] = version
    with pytest.raises(ReportError, match=r"unsupported manifest version .* reads versions 2, 3"):
        parse_manifest(sign_manifest(data, Ed25519PrivateKey.generate()))
