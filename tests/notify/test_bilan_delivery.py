"""The 1st-of-month run for the sample estate: six bilans, one per landlord, each to its own addresses only, the
PDF attached and verifiable; a rerun sends nothing; with the SMTP server down the failure is recorded and each
bilan goes once when it is back. A real aiosmtpd server and a webhook receiver that checks the HMAC."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from ronde.audit.export import read_report
from ronde.audit.keys import load_signing_key
from ronde.audit.verify import verify_manifest
from ronde.notify.runner import Runner
from ronde.opdb.engine import make_engine, session_factory
from ronde.opdb.field_facts_db import DatabaseFieldFacts
from ronde.opdb.notify_repo import FAILED, SENT, deliveries, delivery_log
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import load_default_estate
from ronde.protocol.gateways import GatewayRegistry
from ronde.settings.notify_section import LandlordRecipients, NotifySection
from ronde.store.records import StoredVisit, WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.coverage.factory import local, visit
from tests.notify.conftest import WEBHOOK_SECRET, SmtpSink, WebhookReceiver
from tests.support.opdb_site import site_database

PARIS = ZoneInfo("Europe/Paris")
FIRST = datetime(2026, 11, 1, 2, 30, tzinfo=PARIS)  # after the hour on the 1st: October is due
LANDLORDS = (
    "cooperation-et-famille",
    "idf-habitat",
    "immobiliere-3f",
    "paris-habitat",
    "toit-et-joie",
    "valophis-habitat",
)


def addresses(landlord: str) -> tuple[str, ...]:
    if landlord == "paris-habitat":
        return ("direction@paris-habitat.example", "gestion@paris-habitat.example")
    return (f"direction@{landlord}.example",)


def settings(sink: SmtpSink, webhook: WebhookReceiver | None = None) -> NotifySection:
    landlords = {lid: LandlordRecipients(emails=addresses(lid)) for lid in LANDLORDS}
    if webhook is not None:
        landlords["toit-et-joie"] = LandlordRecipients(emails=addresses("toit-et-joie"), webhook=webhook.url)
    return NotifySection.model_validate(
        {
            "smtp_host": sink.host,
            "smtp_port": sink.port,
            "smtp_security": "none",
            "smtp_timeout_s": 5,
            "mail_from": "ronde@mediation.example",
            "webhook_secret": WEBHOOK_SECRET,
            "landlords": landlords,
            "retry_base_s": 60,
            "retry_cap_s": 600,
        }
    )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Engine, SqliteStore]]:
    """The sample estate in an operational database (default calendar), and a store holding October's passes of
    two checkpoints of every landlord, every service evening."""
    url = site_database(tmp_path / "ronde.db", GatewayRegistry(), calendar=ServiceCalendar())
    reg = load_default_estate()
    cal = ServiceCalendar()
    visits: list[StoredVisit] = []
    for landlord in LANDLORDS:
        for i, cp in enumerate(sorted(c.id for c in reg.checkpoints.values() if c.landlord == landlord)[:2]):
            visits.extend(
                visit(reg, cp, d, local(d, 17, 10 * i), local(d, 17, 10 * i + 4), event_id=f"{cp}-{d}")
                for d in cal.service_days(date(2026, 10, 1), date(2026, 10, 31))
            )
    store = SqliteStore(tmp_path / "store.db")
    store.open()
    store.write(WriteBatch(visits=tuple(visits)))
    engine = make_engine(url)
    yield engine, store
    store.close()
    engine.dispose()


def _runner(site: tuple[Engine, SqliteStore], cfg: NotifySection, name: str = "r1") -> Runner:
    engine, store = site
    return Runner(engine, store, cfg, load_signing_key(), name, DatabaseFieldFacts(engine))


def test_six_bilans_each_to_its_landlord_then_nothing_on_rerun(
    site: tuple[Engine, SqliteStore], smtp_sink: SmtpSink, webhook: WebhookReceiver, tmp_path: Path
) -> None:
    runner = _runner(site, settings(smtp_sink, webhook))
    before = runner.tick(FIRST - timedelta(hours=1))  # 01:30: not yet
    assert before.leader
    assert before.bilans == 0
    assert smtp_sink.received == []
    result = runner.tick(FIRST)
    assert result.bilans == 6
    assert result.delivered.sent == 7 + 1  # seven addresses, one webhook
    assert result.delivered.failed == 0
    by_address = {r.rcpt_tos[0]: r for r in smtp_sink.received}
    assert sorted(by_address) == sorted(a for lid in LANDLORDS for a in addresses(lid))
    for got in smtp_sink.received:
        assert len(got.rcpt_tos) == 1
        landlord = next(lid for lid in LANDLORDS if got.rcpt_tos[0] in addresses(lid))
        names = sorted(str(p.get_filename()) for p in got.message.iter_attachments())
        stem = f"bilan-{landlord}-2026-10"
        assert names == sorted(f"{stem}.{x}{m}" for x in ("pdf", "csv", "json") for m in ("", ".manifest.json"))
        assert "octobre 2026" in str(got.message["Subject"])
        body = got.message.get_body(("plain",))
        assert body is not None
        assert "Veuillez trouver ci-joint le bilan mensuel" in body.get_content()
    # the PDF a landlord received verifies, with its manifest, against the store
    got = by_address["direction@idf-habitat.example"]
    for part in got.message.iter_attachments():
        (tmp_path / str(part.get_filename())).write_bytes(part.get_payload(decode=True))  # type: ignore[arg-type]
    manifest, problems = read_report(tmp_path / "bilan-idf-habitat-2026-10.pdf")
    result_v = verify_manifest(
        manifest, site[1], public_key=load_signing_key().public_key(), document_problems=problems
    )
    assert result_v.ok, result_v.message()
    assert manifest.landlord == "idf-habitat"
    # the webhook: signed (the receiver checked it), the files inside
    (hook,) = webhook.accepted
    assert hook["type"] == "bilan"
    assert hook["landlord"] == "toit-et-joie"
    pdf = base64.b64decode(hook["files"]["bilan-toit-et-joie-2026-10.pdf"])
    sidecar = json.loads(base64.b64decode(hook["files"]["bilan-toit-et-joie-2026-10.pdf.manifest.json"]))
    assert hashlib.sha256(pdf).hexdigest() == sidecar["file_sha256"]
    # a rerun, and a later tick, send nothing
    for later in (FIRST, FIRST + timedelta(minutes=5), FIRST + timedelta(days=3)):
        again = runner.tick(later)
        assert again.bilans == 0
        assert again.delivered.sent == 0
    assert len(smtp_sink.received) == 7
    assert len(webhook.accepted) == 1


def test_a_copy_goes_to_the_bilan_folder(site: tuple[Engine, SqliteStore], smtp_sink: SmtpSink, tmp_path: Path) -> None:
    cfg = settings(smtp_sink).model_copy(update={"bilan_folder": tmp_path / "archive"})
    assert _runner(site, cfg).tick(FIRST).bilans == 6
    names = sorted(p.name for p in (tmp_path / "archive" / "paris-habitat").iterdir())
    assert names[0] == "bilan-paris-habitat-2026-10.csv"
    assert len(names) == 6


def test_smtp_down_at_two_is_recorded_then_sent_once(site: tuple[Engine, SqliteStore], smtp_sink: SmtpSink) -> None:
    runner = _runner(site, settings(smtp_sink))
    smtp_sink.stop()
    down = runner.tick(FIRST)
    assert down.bilans == 6
    assert down.delivered.failed == 7
    with session_factory(site[0]).begin() as s:
        rows = deliveries(s)
        assert {d.status for d in rows} == {FAILED}
        assert all("SMTP" in (d.last_error or "") for d in rows)
        assert [e.outcome for e in delivery_log(s, rows[0].id)] == [FAILED]
    still_down = runner.tick(FIRST + timedelta(minutes=11))  # past the cap of the first retry: all due again
    assert still_down.delivered.failed == 7
    smtp_sink.start()
    back = runner.tick(FIRST + timedelta(minutes=40))  # past the cap of the second retry (2 × 60 s ≤ 600 s)
    assert back.delivered.sent == 7
    assert len(smtp_sink.received) == 7
    assert len({r.rcpt_tos[0] for r in smtp_sink.received}) == 7
    assert runner.tick(FIRST + timedelta(hours=3)).delivered.sent == 0
    with session_factory(site[0]).begin() as s:
        assert {d.status for d in deliveries(s)} == {SENT}
        assert [e.outcome for e in delivery_log(s, deliveries(s)[0].id)] == [FAILED, FAILED, SENT]
