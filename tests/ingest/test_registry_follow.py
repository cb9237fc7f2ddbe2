"""The registry follower (``ronde.ingest.registry_follow``) without a broker: a fake reference source, a real
SQLite operational database, and a worker on a fake message source. A database outage keeps the registry in
force and is logged once; a change is swapped in between batches; ``poll_now`` (SIGHUP) polls at once."""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from ronde.ingest.config import IngestConfig
from ronde.ingest.consumer import IngestWorker
from ronde.ingest.registry_follow import DbReference, Reference, ReferenceRefused, RegistryFollower
from ronde.opdb.access_repo import put_gateway, revoke_gateway
from ronde.opdb.engine import make_engine, session_factory
from ronde.opdb.migrate import upgrade
from ronde.opdb.registry_io import import_records
from ronde.opdb.sealing import SecretBox
from ronde.opdb.service_repo import put_calendar
from ronde.protocol.backoff import Backoff
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import EstateDocument
from ronde.protocol.gateways import GatewayRegistry
from ronde.protocol.registry_data import registry_to_data
from ronde.store.records import RejectReason
from tests.ingest.helpers import ALWAYS, GATEWAYS, GW, GW2, REGISTRY, encode, topic, visit
from tests.ingest.test_worker_unit import FakeSource, SwitchableStore, wait_for

ONLY_GW = GatewayRegistry.of(GATEWAYS.entries[GW])


class FakeReference:
    def __init__(self, reference: Reference) -> None:
        self.reference = reference
        self.down = False
        self.refuse: str | None = None
        self.loads = 0

    def version(self) -> int:
        if self.down:
            raise OperationalError("SELECT version", {}, ConnectionRefusedError("connection refused"))
        return self.reference.version

    def load(self) -> Reference:
        self.loads += 1
        if self.refuse is not None:
            raise ReferenceRefused(self.refuse)
        return self.reference


def _reference(version: int, gateways: GatewayRegistry = ONLY_GW, calendar: ServiceCalendar = ALWAYS) -> Reference:
    return Reference(version, REGISTRY, gateways, calendar)


def test_an_outage_keeps_the_registry_in_force_logs_once_and_backs_off(caplog: pytest.LogCaptureFixture) -> None:
    source = FakeReference(_reference(1))
    applied: list[Reference] = []
    follower = RegistryFollower(source, version=1, poll_s=2.0, backoff=Backoff(2.0, 30.0, rng=random.Random(7)))
    caplog.set_level(logging.INFO, "ronde.ingest.registry_follow")
    assert follower.poll_once(applied.append) == 2.0
    assert applied == []  # nothing moved: nothing read but the row

    source.down = True
    source.reference = _reference(2, GATEWAYS)
    delays = [follower.poll_once(applied.append) for _ in range(6)]
    assert applied == []
    assert follower.version == 1
    assert follower.database_down
    assert all(0 <= d <= 30.0 for d in delays)
    assert [follower.backoff.attempt] == [6]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "registry version 1 stays in force" in warnings[0].getMessage()

    source.down = False
    assert follower.poll_once(applied.append) == 2.0
    assert [r.version for r in applied] == [2]
    assert follower.version == 2
    assert not follower.database_down
    assert follower.backoff.attempt == 0
    assert sum("reachable again" in r.getMessage() for r in caplog.records) == 1
    assert any("registry version 2 in force" in r.getMessage() for r in caplog.records)


def test_a_refused_reference_is_logged_once_and_the_previous_stays(caplog: pytest.LogCaptureFixture) -> None:
    source = FakeReference(_reference(5))
    source.refuse = "EID beacons enrolled: set RONDE_OPDB_SECRET_KEY"
    applied: list[Reference] = []
    follower = RegistryFollower(source, version=4, poll_s=1.0)
    for _ in range(3):
        follower.poll_once(applied.append)
    assert applied == []
    assert follower.version == 4
    assert source.loads == 1  # not read again at every poll
    assert sum(r.levelno == logging.ERROR for r in caplog.records) == 1
    source.refuse = None
    source.reference = _reference(6)
    follower.poll_once(applied.append)
    assert [r.version for r in applied] == [6]


def test_poll_now_polls_at_once_and_stop_is_prompt() -> None:
    source = FakeReference(_reference(1))
    follower = RegistryFollower(source, version=1, poll_s=600.0)
    stopping = threading.Event()
    applied: list[Reference] = []
    thread = threading.Thread(target=follower.run, args=(stopping, applied.append), daemon=True)
    thread.start()
    source.reference = _reference(2)
    time.sleep(0.3)
    assert applied == []  # 600 s to the next poll
    follower.poll_now()  # SIGHUP
    assert wait_for(lambda: [r.version for r in applied] == [2], 2)
    stopping.set()
    thread.join(2)
    assert not thread.is_alive()


def _worker(store: SwitchableStore, follower: RegistryFollower) -> tuple[IngestWorker, FakeSource]:
    sources: list[FakeSource] = []

    def factory(config: IngestConfig, retire: bool) -> FakeSource:
        sources.append(FakeSource(config, retire))
        return sources[0]

    config = IngestConfig(name="f1", batch_size=50, receive_maximum=100, batch_window_ms=20, maintenance=False)
    worker = IngestWorker(config, store, REGISTRY, ALWAYS, ONLY_GW, source_factory=factory, follower=follower)
    return worker, sources[0]


def test_the_worker_swaps_the_context_between_batches(tmp_path: Path) -> None:
    store = SwitchableStore(tmp_path / "u.db")
    source = FakeReference(_reference(1))
    follower = RegistryFollower(source, version=1, poll_s=0.05)
    worker, messages = _worker(store, follower)
    resolver = worker.context.eid
    worker.start()
    try:
        assert worker.wait_connected(5)
        messages.send(encode(visit(1, gateway=GW2)), topic(GW2))
        assert wait_for(lambda: worker.counters.rejected == {RejectReason.UNKNOWN_GATEWAY.value: 1})
        source.reference = _reference(2, GATEWAYS)  # GW2 enrolled
        assert wait_for(lambda: follower.version == 2)
        assert worker.context.gateways is GATEWAYS
        assert worker.processor.context is worker.context
        assert worker.context.eid is resolver  # only the gateways moved: the EID cache is kept
        messages.send(encode(visit(2, gateway=GW2)), topic(GW2))
        assert wait_for(lambda: worker.counters.accepted.get("visit") == 1)
        later = replace(ALWAYS, closed=frozenset())  # an equal calendar: still the same resolver
        source.reference = Reference(3, replace(REGISTRY, revision="other"), GATEWAYS, later)
        assert wait_for(lambda: follower.version == 3)
        assert worker.context.eid is not resolver
        assert worker.context.registry.revision == "other"
    finally:
        worker.stop()
        store.close()
    assert worker.failure is None


# ---- DbReference on a real SQLite operational database ----------------------------------------------------------


@pytest.fixture
def opdb(tmp_path: Path) -> Any:
    engine = make_engine(f"sqlite:///{tmp_path / 'opdb.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def test_db_reference_reads_keys_gateways_in_force_and_the_calendar(opdb: Any) -> None:
    box = SecretBox(bytes(range(32)))
    ref = DbReference(opdb, box)
    with pytest.raises(ReferenceRefused, match="holds no registry yet"):
        ref.load()
    import_records(
        opdb,
        box,
        estate=EstateDocument.model_validate(registry_to_data(REGISTRY, secrets=True)),
        gateways=GATEWAYS,
        author="test",
    )
    first = ref.load()
    assert first.version == ref.version() > 0
    assert first.registry.eid_checkpoints()
    assert first.registry == REGISTRY  # EID identity keys opened
    assert set(first.gateways.entries) == {GW, GW2}
    assert first.calendar == ServiceCalendar()  # none stored: the default
    sessions = session_factory(opdb)
    with sessions.begin() as s:
        revoke_gateway(s, GW2)
    with sessions.begin() as s:
        put_calendar(s, ServiceCalendar(closed=frozenset({date(2026, 12, 25)})))
    second = ref.load()
    assert second.version == first.version + 2  # a revocation and a calendar change: the version moves for both
    assert set(second.gateways.entries) == {GW}
    assert second.calendar.closed
    with sessions.begin() as s:
        put_gateway(s, GATEWAYS.entries[GW2])  # re-admitted
    assert set(ref.load().gateways.entries) == {GW, GW2}
    with pytest.raises(ReferenceRefused, match="RONDE_OPDB_SECRET_KEY"):
        DbReference(opdb, None).load()  # EID beacons enrolled, no key to open them: refused, never half-loaded


def test_an_unreachable_database_is_a_database_error_the_follower_rides_out() -> None:
    engine = make_engine("postgresql://ronde@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    follower = RegistryFollower(DbReference(engine, None), version=3, poll_s=0.5)
    try:
        assert 0 <= follower.poll_once(lambda r: None) <= 30
        assert follower.database_down
        assert follower.version == 3
    finally:
        engine.dispose()
