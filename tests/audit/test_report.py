"""Report content: places only, French first, verification status, gaps and no-data days."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest

from ronde.audit.export import ReportFormat, read_report, render_csv, write_report
from ronde.audit.keys import load_signing_key
from ronde.audit.labels import Lang
from ronde.audit.manifest import manifest_of, parse_manifest
from ronde.audit.pdf import font_paths
from ronde.audit.report import AuditReport, ReportError, build_report
from ronde.protocol.calendar import ServiceCalendar
from ronde.store.sqlite import SqliteStore
from tests.audit.conftest import DAYS
from tests.coverage.factory import local, registry

CAL = ServiceCalendar()
NOW = local(date(2026, 11, 20), 12)


def _report(store: SqliteStore, landlord: str = "paris-habitat") -> AuditReport:
    return build_report(store, registry(), CAL, landlord, DAYS[0], DAYS[-1], now=NOW, report_id="r-1")


def test_figures_per_checkpoint(store: SqliteStore) -> None:
    r = _report(store)
    assert r.revision == "test-rev-1"
    assert r.landlord_name == "Paris Habitat"
    rows = {c.checkpoint_id: c for c in r.checkpoints}
    assert sorted(rows) == ["a", "b", "u"]  # its own checkpoints only
    a, b, u = rows["a"], rows["b"], rows["u"]
    assert (a.service_days, a.passes, a.covered_days, a.presence_s) == (6, 6, 6, 6 * 300.0)
    assert (a.signed, a.unsigned, a.static, a.eid_resolved) == (6, 0, 6, 0)
    # b: passes on 4, 6, 8 Nov (unsigned); 5 and 7 Nov are "not visited" (beacon heard before and
    # after, a gateway alive: 'a' was visited); on 11 Nov the beacon had not been heard since the 8th
    # and still was not when the report was issued on the 20th: "no data"
    assert (b.passes, b.covered_days, b.not_visited_days, b.no_data_days) == (3, 3, 2, 1)
    assert b.days_not_visited == (date(2026, 11, 5), date(2026, 11, 7))
    assert b.days_no_data == (date(2026, 11, 11),)
    assert (b.signed, b.unsigned) == (0, 3)
    # u: never heard → every day is "no data", not "not visited"
    assert (u.covered_days, u.no_data_days) == (0, 6)
    assert u.days_no_data == tuple(DAYS)
    assert r.period.checkpoint_days == 18
    assert r.period.covered == 9
    assert (r.period.not_visited, r.period.no_data) == (2, 7)


def test_period_stops_at_the_last_closed_evening(store: SqliteStore) -> None:
    r = build_report(store, registry(), CAL, "paris-habitat", DAYS[0], DAYS[-1], now=local(DAYS[-1], 20))
    assert [x.day for x in r.chain.links] == DAYS[:-1]  # 11 Nov still in progress at 20:00


def test_csv_is_french_first_and_holds_no_badge(store: SqliteStore) -> None:
    text = render_csv(_report(store), Lang.FR, load_signing_key())
    assert "badge-secret" not in text
    assert "team" not in text
    assert "Bailleur: Paris Habitat (paris-habitat)" in text
    assert "hall d'immeuble (espaces communs)" in text
    assert "Empreinte finale de la chaîne" in text
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=";") if not (r and r[0].startswith("#"))]
    assert rows[0][:3] == ["Identifiant", "Point de passage", "Type d'espace"]
    a = next(row for row in rows if row and row[0] == "a")
    assert a[rows[0].index("Présence (h)")] == "0,50"  # French decimal comma
    assert rows[-2][:3] == [
        "Synthèse",
        "Taux de couverture (points de passage × jours)",
        "Taux de couverture hors jours sans données",
    ]
    assert rows[-1][0] == "Période"
    assert rows[-1][3:5] == ["18", "9"]  # checkpoint-days, covered
    english = render_csv(_report(store), Lang.EN, load_signing_key())
    assert "Landlord: Paris Habitat" in english
    assert "stairwell hall" in english


def test_manifest_round_trip(store: SqliteStore, tmp_path: Path) -> None:
    r = _report(store)
    sidecar = write_report(r, tmp_path / "r.csv", ReportFormat.CSV, Lang.FR, load_signing_key())
    data = json.loads(sidecar.read_text())
    assert data["report_id"] == "r-1"
    assert data["landlord"] == "paris-habitat"
    assert data["registry_revision"] == "test-rev-1"
    assert len(data["registry_digest"]) == 64
    assert data["chain"]["final"] == r.chain.final
    assert len(data["chain"]["links"]) == len(DAYS)
    assert data["signature"]["algorithm"] == "Ed25519"
    assert data["document"] == {"format": "csv", "lang": "fr"}
    a = next(c for c in data["figures"]["checkpoints"] if c["id"] == "a")
    assert (a["passes"], a["presence_h"]) == (6, "0.50")
    (tmp_path / "r.csv.manifest.json").unlink()  # the CSV alone is enough
    manifest, problems = read_report(tmp_path / "r.csv")
    assert problems == ()
    assert manifest.chain == r.chain
    assert manifest.first == DAYS[0]


def test_pdf_renders_with_embedded_unicode_font(store: SqliteStore, tmp_path: Path) -> None:
    assert font_paths()["sans"].name == "DejaVuSans.ttf"
    write_report(_report(store), tmp_path / "r.pdf", ReportFormat.PDF, Lang.FR, load_signing_key())
    data = (tmp_path / "r.pdf").read_bytes()
    assert data.startswith(b"%PDF-")
    assert b"/FontFile2" in data  # TrueType font embedded
    assert (tmp_path / "r.pdf.manifest.json").exists()


def test_unknown_landlord_is_a_clear_error(store: SqliteStore) -> None:
    with pytest.raises(ReportError, match="nobody"):
        _report(store, "nobody")


def test_bad_manifest_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "ronde-audit-report", "version": 2, "chain": {}}')
    with pytest.raises(ReportError, match=r"malformed manifest|chain version"):
        read_report(bad)


def test_period_not_yet_served_gives_an_empty_verifiable_report(store: SqliteStore) -> None:
    from ronde.audit.keys import sign_manifest
    from ronde.audit.verify import verify_manifest

    key = load_signing_key()
    r = build_report(store, registry(), CAL, "paris-habitat", date(2026, 12, 1), date(2026, 12, 31), now=NOW)
    assert r.chain.links == ()
    assert r.checkpoints == ()
    assert r.chain.final == r.chain.anchor
    assert verify_manifest(parse_manifest(sign_manifest(manifest_of(r), key)), store, public_key=key.public_key()).ok
    assert "# manifest: " in render_csv(r, Lang.FR, key)


def test_other_landlords_passes_prove_a_gateway_was_on_the_estate(tmp_path: Path) -> None:
    """'p' (landlord 'other', estate e1) is skipped on Thursday while a team passed Paris Habitat's
    hall 'a' on the same estate: "not visited", not "no data" (nothing rolled up: raw visits)."""
    from ronde.store.records import WriteBatch
    from tests.coverage.factory import visit

    reg = registry()
    wed, thu, fri = date(2026, 11, 4), date(2026, 11, 5), date(2026, 11, 6)
    visits = [
        visit(reg, "p", wed, local(wed, 17), local(wed, 17, 5)),
        visit(reg, "a", thu, local(thu, 17), local(thu, 17, 5)),
        visit(reg, "p", fri, local(fri, 17), local(fri, 17, 5)),
    ]
    s = SqliteStore(tmp_path / "x.db")
    s.open()
    s.write(WriteBatch(visits=tuple(visits)))
    r = build_report(s, reg, CAL, "other", wed, fri, now=NOW)
    p = next(c for c in r.checkpoints if c.checkpoint_id == "p")
    # the playground expects 2 passes a day: one pass on Wednesday and Friday is "not visited" too
    assert p.days_not_visited == (wed, thu, fri)
    assert p.days_no_data == ()
    # and from the coverage side, with the same store
    from ronde.coverage.query import landlord_coverage

    cov = landlord_coverage(s, reg, CAL, wed, fri, landlord="other", now=NOW)
    cp = next(c for c in cov.checkpoints if c.checkpoint_id == "p")
    assert (cp.covered_days, cp.not_visited_days, cp.no_data_days) == (0, 3, 0)
    s.close()
