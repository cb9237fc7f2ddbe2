"""Le bilan mensuel: a scripted October 2026 (the DST change of Sunday 25, a closed Wednesday 14) whose figures
are counted by hand below, its files, and ``ronde audit verify`` passing them and failing edited ones."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ronde.audit.bilan import Bilan, build_bilan, local_span, month_bounds
from ronde.audit.bilan_export import write_bilan
from ronde.audit.export import read_report
from ronde.audit.keys import load_signing_key
from ronde.audit.labels import Lang
from ronde.audit.verify import verify_manifest
from ronde.cli import main
from ronde.opdb.field_facts import ListedFieldFacts, RequestFact, SollicitationFact, TechnicalFact
from ronde.protocol.calendar import ServiceCalendar
from ronde.store.records import StoredVisit, WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.coverage.factory import local, registry, visit

OCTOBER = date(2026, 10, 1)
CLOSED = date(2026, 10, 14)  # a Wednesday
DST_SUNDAY = date(2026, 10, 25)  # clocks go back at 03:00 that morning
CAL = ServiceCalendar(closed=frozenset({CLOSED}))
NOW = local(date(2026, 11, 1), 3)  # after the last evening of the month


def _sol(
    n: int,
    at: datetime,
    origin: str,
    type_: str,
    response: str,
    partner: str | None = None,
    landlord: str = "paris-habitat",
) -> SollicitationFact:
    building = "b1" if landlord == "paris-habitat" else "b2"
    estate = "e1" if landlord == "paris-habitat" else "e2"
    return SollicitationFact(f"s{n}", at, landlord, estate, building, origin, type_, response, partner, "close")


FIELD = ListedFieldFacts(
    sollicitation_facts=(
        _sol(1, local(date(2026, 10, 2), 18), "locataire", "voisinage", "ecoute_mediation"),
        _sol(2, local(DST_SUNDAY, 20), "locataire", "voisinage", "orientation", "Centre social Youri Gagarine"),
        _sol(3, local(date(2026, 10, 31), 23, 30), "bailleur", "incivilites", "information"),  # 22:30 UTC: October
        _sol(4, local(date(2026, 11, 1), 0, 30), "locataire", "voisinage", "information"),  # 23:30 UTC on the 31st: not
        _sol(5, local(date(2026, 10, 9), 19), "spontanee", "voisinage", "information", landlord="other"),
        _sol(6, local(date(2026, 9, 30), 19), "locataire", "voisinage", "information"),  # September
    ),
    technical_facts=(
        TechnicalFact(
            "t1",
            local(DST_SUNDAY, 1, 30),  # 23:30 UTC on the 24th; acknowledged 3 h later across the change
            "paris-habitat",
            "e1",
            "b1",
            "Hall A",
            "eclairage",
            "urgent",
            "resolu",
            local(DST_SUNDAY, 3, 30),  # 02:30 UTC: 3 h after 23:30 UTC
            datetime(2026, 10, 24, 23, 30, tzinfo=UTC) + timedelta(hours=26),
        ),
        TechnicalFact(
            "t2",
            local(date(2026, 10, 3), 18),
            "paris-habitat",
            "e1",
            None,
            "Parking",
            "proprete",
            "normal",
            "pris_en_compte",
            local(date(2026, 10, 3), 22),
            None,
        ),
    ),
    request_facts=(
        RequestFact(
            "r1",
            local(date(2026, 10, 10), 17),
            "paris-habitat",
            "e1",
            "b1",
            "Hall B",
            True,
            "traitee",
            local(date(2026, 10, 10), 17, 30),
            local(date(2026, 10, 10), 19),
        ),
        RequestFact(
            "r2", local(date(2026, 10, 17), 18), "paris-habitat", "e1", "b1", "Hall A", False, "nouvelle", None, None
        ),
    ),
)


def october_visits() -> list[StoredVisit]:
    """Hall a: 5 minutes every service evening; hall b: 10 minutes on the 4th and on the DST Sunday; the car
    park u never; and one pass at a on the closed Wednesday (not a service day: it counts for nothing)."""
    reg = registry()
    out = []
    for d in CAL.service_days(date(2026, 10, 1), date(2026, 10, 31)):
        out.append(visit(reg, "a", d, local(d, 17), local(d, 17, 5)))
        if d.day in (4, 25):
            out.append(visit(reg, "b", d, local(d, 18), local(d, 18, 10)))
    out.append(visit(reg, "a", CLOSED, local(CLOSED, 17), local(CLOSED, 17, 5)))
    return out


@pytest.fixture
def october(tmp_path: Path) -> Path:
    path = tmp_path / "store.db"
    store = SqliteStore(path)
    store.open()
    store.write(WriteBatch(visits=tuple(october_visits())))
    store.close()
    return path


def _bilan(path: Path) -> Bilan:
    store = SqliteStore(path)
    store.open()
    try:
        return build_bilan(store, registry(), CAL, "paris-habitat", date(2026, 10, 17), field=FIELD, now=NOW)
    finally:
        store.close()


def test_month_span_follows_paris_days_across_the_dst_change() -> None:
    assert month_bounds(date(2026, 10, 17)) == (date(2026, 10, 1), date(2026, 10, 31))
    start, end = local_span(CAL, *month_bounds(OCTOBER))
    assert start == datetime(2026, 9, 30, 22, tzinfo=UTC)  # CEST, UTC+2
    assert end == datetime(2026, 10, 31, 23, tzinfo=UTC)  # CET, UTC+1
    assert (end - start) == timedelta(days=31, hours=1)


def test_scripted_october_figures_counted_by_hand(october: Path) -> None:
    b = _bilan(october)
    # Wed–Sun in October 2026: Thu 1–Sun 4 (4), then four weeks of five (7–11, 14–18, 21–25, 28–31 is four):
    # 4 + 5 + 5 + 5 + 4 = 23 service days, less the closed 14th = 22
    days = [d for d, _ in b.report.days]
    assert len(days) == 22
    assert CLOSED not in days
    assert DST_SUNDAY in days
    assert b.report.period.checkpoint_days == 3 * 22  # a, b and u of paris-habitat
    assert b.report.period.covered == 22 + 2
    assert b.current.passes == 24
    assert b.current.presence_s == 22 * 300 + 2 * 600
    assert dict(b.report.days)[DST_SUNDAY].covered == 2
    # field: s1, s2, s3 (the 31st at 23:30 Paris); not s4 (1 November in Paris), s5 (other landlord), s6
    assert b.current.sollicitations == 3
    assert dict(b.by_origin) == {"locataire": 2, "bailleur": 1}
    assert dict(b.by_type) == {"voisinage": 2, "incivilites": 1}
    assert dict(b.by_response) == {"ecoute_mediation": 1, "orientation": 1, "information": 1}
    assert b.orientations == (("Centre social Youri Gagarine", 1),)
    cats = {c.category: c for c in b.categories}
    assert cats["eclairage"].reports == 1
    assert cats["eclairage"].urgent == 1
    assert cats["eclairage"].median_ack_s == 3 * 3600  # 01:30 CEST → 03:30 CET is three hours
    assert cats["eclairage"].median_resolution_s == 26 * 3600
    assert cats["proprete"].resolved == 0
    assert cats["proprete"].median_ack_s == 4 * 3600
    assert b.current.technical == 2
    assert b.current.resolved == 1
    # requests: r1 is the landlord's own (30 min to assign, 2 h to handle); r2 a partner's
    r = b.requests
    assert (r.total, r.assigned, r.answered, r.still_open) == (1, 1, 1, 0)
    assert r.median_assign_s == 1800
    assert r.median_answer_s == 7200
    # places: estate e1, then building b1 (the parking report t2 has no building: estate row only)
    rows = {(p.estate, p.building): p for p in b.places}
    assert set(rows) == {("e1", None), ("e1", "b1")}
    assert rows[("e1", None)].technical == 2
    assert rows[("e1", "b1")].technical == 1
    assert rows[("e1", None)].requests == 2
    assert rows[("e1", "b1")].sollicitations == 3
    assert rows[("e1", "b1")].passes == 24
    # September: its service days are in the calendar, nothing stored, one sollicitation (s6)
    assert b.previous is not None
    assert b.previous.passes == 0
    assert b.previous.sollicitations == 1


def test_no_team_or_badge_in_any_file(october: Path, tmp_path: Path) -> None:
    b = _bilan(october)
    paths = write_bilan(b, tmp_path / "out", Lang.FR, load_signing_key())
    assert len(paths) == 6
    for p in paths:
        text = p.read_bytes()
        assert b"team-1" not in text
        assert b"gw-1" not in text


@pytest.mark.parametrize("fmt", ["pdf", "csv", "json"])
def test_verify_passes_a_bilan_and_fails_an_edited_one(october: Path, tmp_path: Path, fmt: str) -> None:
    b = _bilan(october)
    write_bilan(b, tmp_path / "out", Lang.FR, load_signing_key())
    doc = tmp_path / "out" / f"bilan-paris-habitat-2026-10.{fmt}"
    store = SqliteStore(october)
    store.open()
    try:
        manifest, problems = read_report(doc)
        ok = verify_manifest(manifest, store, public_key=load_signing_key().public_key(), document_problems=problems)
        assert ok.ok, ok.message()
        assert ok.message().startswith("OK: bilan ")
        raw = doc.read_bytes()
        edited = raw.replace(b"24", b"25", 1) if fmt != "pdf" else raw[:-20] + b"%tampered%" + raw[-10:]
        assert edited != raw
        doc.write_bytes(edited)
        manifest, problems = read_report(doc)
        bad = verify_manifest(manifest, store, public_key=load_signing_key().public_key(), document_problems=problems)
        assert not bad.ok
        assert "SHA-256 differs" in bad.message()
    finally:
        store.close()


def test_edited_figures_in_the_manifest_fail_the_signature(october: Path, tmp_path: Path) -> None:
    write_bilan(_bilan(october), tmp_path / "out", Lang.FR, load_signing_key())
    sidecar = tmp_path / "out" / "bilan-paris-habitat-2026-10.pdf.manifest.json"
    data = json.loads(sidecar.read_text())
    data["figures"]["bilan"]["current"]["sollicitations"] = 30
    sidecar.write_text(json.dumps(data))
    store = SqliteStore(tmp_path / "store.db")
    store.open()
    try:
        manifest, problems = read_report(tmp_path / "out" / "bilan-paris-habitat-2026-10.pdf")
        result = verify_manifest(
            manifest, store, public_key=load_signing_key().public_key(), document_problems=problems
        )
    finally:
        store.close()
    assert not result.ok
    assert "SIGNATURE" in result.message()
    assert "figures_sha256" in result.message()


def test_ronde_audit_verify_command_on_a_bilan(
    october: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_bilan(_bilan(october), tmp_path / "out", Lang.FR, load_signing_key())
    pdf = tmp_path / "out" / "bilan-paris-habitat-2026-10.pdf"
    assert main(["audit", "verify", str(pdf), "--store", str(october)]) == 0
    assert capsys.readouterr().out.startswith("OK: bilan ")
    csv = tmp_path / "out" / "bilan-paris-habitat-2026-10.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace("Les Mordacs", "Les Mordacs (édité)"), encoding="utf-8")
    assert main(["audit", "verify", str(csv), "--store", str(october)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAILED: bilan ")
    assert "DOCUMENT ALTERED" in out


def test_english_on_request(october: Path, tmp_path: Path) -> None:
    paths = write_bilan(_bilan(october), tmp_path / "en", Lang.EN, load_signing_key())
    csv = next(p for p in paths if p.suffix == ".csv")
    text = csv.read_text(encoding="utf-8")
    assert "Monthly report" in text
    assert "Tenant" in text
    assert csv.name == "bilan-paris-habitat-2026-10-en.csv"


def test_field_words_are_the_field_apps_own(october: Path, tmp_path: Path) -> None:
    paths = write_bilan(_bilan(october), tmp_path / "fr", Lang.FR, load_signing_key())
    text = next(p for p in paths if p.suffix == ".csv").read_text(encoding="utf-8")
    # ids of ronde.protocol.field_vocab, each with the label of its own group ("information" is both a type and a
    # response; here it is a response)
    for label in ("Troubles de voisinage", "Orientation vers un partenaire", "Éclairage", "Propreté, encombrants"):
        assert label in text, label
    assert "Information;1" in text
    assert "Centre social Youri Gagarine;1" in text
