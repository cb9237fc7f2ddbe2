"""Two ``ronde notify run`` processes at once on one operational database, SQLite or PostgreSQL: each bilan goes
out once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ronde.audit.bilan import previous_month
from ronde.audit.bilan_labels import month_text
from ronde.audit.keys import load_signing_key
from ronde.audit.labels import Lang
from ronde.opdb.engine import make_engine, session_factory
from ronde.opdb.migrate import upgrade
from ronde.opdb.notify_repo import SENT, deliveries, delivery_log
from ronde.opdb.registry_io import import_records
from ronde.opdb.sealing import SecretBox
from ronde.opdb.service_repo import put_calendar
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import EstateDocument, load_default_estate
from ronde.protocol.gateways import GatewayRegistry
from ronde.protocol.registry_data import registry_to_data
from ronde.store.sqlite import SqliteStore
from tests.notify.conftest import SmtpSink
from tests.notify.test_bilan_delivery import LANDLORDS, addresses
from tests.support.opdb_site import SECRET_KEY, site_database
from tests.support.postgres import Postgres, run_postgres

PARIS = ZoneInfo("Europe/Paris")
RONDE = str(Path(sys.executable).with_name("ronde"))


def _settings(path: Path, db_url: str, store: Path, sink: SmtpSink) -> Path:
    lines = [
        "[database]",
        f'url = "{db_url}"',
        "[store]",
        f'url = "sqlite://{store}"',
        "[notify]",
        f'smtp_host = "{sink.host}"',
        f"smtp_port = {sink.port}",
        'smtp_security = "none"',
        "bilan_hour = 0",  # the previous month is due whenever the test runs
        "tick_s = 0.2",
        "lease_s = 3",
    ]
    for landlord in LANDLORDS:
        emails = ", ".join(f'"{a}"' for a in addresses(landlord))
        lines += [f"[notify.landlords.{landlord}]", f"emails = [{emails}]"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cluster() -> Iterator[Postgres]:
    with run_postgres() as pg:
        yield pg


def _postgres_site(pg: Postgres, name: str) -> str:
    """The sample estate and the default calendar in a fresh PostgreSQL database (what site_database makes)."""
    url = pg.create_database(name)
    engine = make_engine(url)
    try:
        upgrade(engine)
        estate = EstateDocument.model_validate(registry_to_data(load_default_estate(), secrets=True))
        import_records(engine, SecretBox.from_text(SECRET_KEY), estate=estate, gateways=GatewayRegistry(), author="t")
        with session_factory(engine).begin() as s:
            put_calendar(s, ServiceCalendar())
    finally:
        engine.dispose()
    return url


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_runners_at_once_send_each_bilan_once(
    tmp_path: Path, smtp_sink: SmtpSink, backend: str, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = site_database(tmp_path / "ronde.db", GatewayRegistry(), calendar=ServiceCalendar())
    else:
        url = _postgres_site(request.getfixturevalue("cluster"), "two_runners")
    store = SqliteStore(tmp_path / "store.db")
    store.open()
    store.close()
    load_signing_key()  # the audit key exists before both start (RONDE_AUDIT_KEY, set for the session)
    config = _settings(tmp_path / "ronde.toml", url, tmp_path / "store.db", smtp_sink)
    env = {**os.environ, "RONDE_CONFIG": str(config)}
    procs = [
        subprocess.Popen(
            [RONDE, "notify", "run", "--name", name],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("runner-a", "runner-b")
    ]
    try:
        deadline = time.monotonic() + 120
        while len(smtp_sink.received) < 7 and time.monotonic() < deadline:
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.2)
        time.sleep(3)  # long enough for a lease to change hands: nothing more may go out
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        outputs = [p.communicate(timeout=30) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    got = sorted(r.rcpt_tos[0] for r in smtp_sink.received)
    assert got == sorted(a for lid in LANDLORDS for a in addresses(lid))
    month = month_text(previous_month(datetime.now(PARIS).date()), Lang.FR)
    assert all(month in str(r.message["Subject"]) for r in smtp_sink.received)
    engine = make_engine(url)
    try:
        with session_factory(engine).begin() as s:
            rows = deliveries(s)
            assert len(rows) == 7
            assert {d.status for d in rows} == {SENT}
            assert all([e.outcome for e in delivery_log(s, d.id)] == [SENT] for d in rows)
    finally:
        engine.dispose()
    leaders = ["leader=True" in out for out, _ in outputs]
    assert any(leaders), outputs
