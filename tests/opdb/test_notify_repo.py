"""The notify tables on SQLite and PostgreSQL: migration 0005, the leader lease, deliveries claimed once, alerts
open once per cause."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from ronde.opdb.engine import session_factory
from ronde.opdb.migrate import head, upgrade
from ronde.opdb.models import Base
from ronde.opdb.notify_repo import (
    FAILED,
    PENDING,
    SENT,
    acquire_lease,
    bilan_by_id,
    bilan_files,
    claim,
    deliveries,
    delivery_log,
    due,
    enqueue,
    failed_count,
    mark_failed,
    mark_sent,
    open_alerts,
    put_bilan,
    raise_alert,
    release_lease,
    resend,
    resolve_alerts,
)

T0 = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def test_0004_with_data_is_upgraded_to_the_notify_tables(bare_engine: Engine) -> None:
    assert upgrade(bare_engine, "0004") == "0004"
    with bare_engine.begin() as conn:
        conn.execute(text("INSERT INTO partners (name, kind) VALUES ('Centre social', 'association')"))
    assert upgrade(bare_engine) == head() == "0005"
    with bare_engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM partners")).scalar() == "Centre social"
        assert conn.execute(text("SELECT count(*) FROM notify_deliveries")).scalar() == 0
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_the_lease_has_one_holder_until_it_expires(engine: Engine) -> None:
    sessions = session_factory(engine)
    ttl = timedelta(seconds=90)
    with sessions.begin() as s:
        assert acquire_lease(s, "notify", "a", T0, ttl)
    with sessions.begin() as s:
        assert not acquire_lease(s, "notify", "b", T0 + MIN, ttl)
    with sessions.begin() as s:
        assert acquire_lease(s, "notify", "a", T0 + MIN, ttl)  # renewed: now until T0 + 1 min + 90 s
    with sessions.begin() as s:
        assert not acquire_lease(s, "notify", "b", T0 + 2 * MIN, ttl)
    with sessions.begin() as s:
        assert acquire_lease(s, "notify", "b", T0 + 3 * MIN, ttl)  # a stopped renewing
    with sessions.begin() as s:
        assert not acquire_lease(s, "notify", "a", T0 + 3 * MIN, ttl)
    with sessions.begin() as s:
        release_lease(s, "notify", "b")
    with sessions.begin() as s:
        assert acquire_lease(s, "notify", "a", T0 + 3 * MIN, ttl)


def test_a_delivery_is_queued_once_and_claimed_by_one_runner(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:
        files = {"b.pdf": ("00" * 32, b"%PDF"), "b.pdf.manifest.json": ("11" * 32, b"{}")}
        stored = put_bilan(s, bilan_id="id-1", landlord="l1", month=date(2026, 10, 1), lang="fr", files=files, now=T0)
        again = put_bilan(s, bilan_id="id-2", landlord="l1", month=date(2026, 10, 1), lang="fr", files={}, now=T0)
        assert again.bilan_id == "id-1"  # an issued bilan is never replaced
        mail = {"kind": "bilan", "channel": "email", "target": "a@b.example", "subject": "s", "body": "b"}
        assert enqueue(s, key="k1", now=T0, bilan=stored.id, landlord="l1", **mail)
        assert not enqueue(s, key="k1", now=T0, **mail)  # type: ignore[arg-type]
    with sessions.begin() as s:
        assert bilan_files(s, stored.id) == {"b.pdf": b"%PDF", "b.pdf.manifest.json": b"{}"}
        found = bilan_by_id(s, "id-1")
        assert found is not None
        assert found.files == ("b.pdf", "b.pdf.manifest.json")
        (delivery_id,) = due(s, T0)
    hold = timedelta(minutes=5)
    with sessions.begin() as s:
        first = claim(s, delivery_id, "runner-a", T0, hold)
    with sessions.begin() as s:
        second = claim(s, delivery_id, "runner-b", T0, hold)
    assert first is not None
    assert first.attempts == 1
    assert second is None
    with sessions.begin() as s:
        assert due(s, T0 + MIN) == []  # claimed
        mark_failed(s, delivery_id, "runner-a", T0 + MIN, "SMTP down", T0 + 10 * MIN)
    with sessions.begin() as s:
        assert failed_count(s) == 1
        assert due(s, T0 + 5 * MIN) == []
        assert due(s, T0 + 10 * MIN) == [delivery_id]
        again_claimed = claim(s, delivery_id, "runner-b", T0 + 10 * MIN, hold)
        assert again_claimed is not None
        assert again_claimed.attempts == 2
        mark_sent(s, delivery_id, "runner-b", T0 + 10 * MIN, "accepted")
    with sessions.begin() as s:
        (d,) = deliveries(s)
        assert d.status == SENT
        assert d.last_error is None
        assert [e.outcome for e in delivery_log(s, delivery_id)] == [FAILED, SENT]
        assert resend(s, delivery_id, T0 + 20 * MIN, "supervisor")
    with sessions.begin() as s:
        (d,) = deliveries(s)
        assert d.status == PENDING
        assert due(s, T0 + 20 * MIN) == [delivery_id]
        assert [e.outcome for e in delivery_log(s, delivery_id)] == [FAILED, SENT, "resend"]


def test_a_claim_left_by_a_dead_runner_is_taken_over_after_it_expires(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:
        enqueue(s, key="k", kind="alert", channel="email", target="a@b.example", subject="s", body="b", now=T0)
        (delivery_id,) = due(s, T0)
        assert claim(s, delivery_id, "dead", T0, timedelta(minutes=2)) is not None
    with sessions.begin() as s:
        assert due(s, T0 + MIN) == []
        assert due(s, T0 + 3 * MIN) == [delivery_id]
        assert claim(s, delivery_id, "alive", T0 + 3 * MIN, timedelta(minutes=2)) is not None


def test_one_open_alert_per_cause_then_resolved(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:
        a = raise_alert(s, cause="idle:x", rule="checkpoint_idle", title="Hall A", now=T0, estate="e1")
        assert a is not None
        assert raise_alert(s, cause="idle:x", rule="checkpoint_idle", title="Hall A", now=T0 + MIN) is None
        assert raise_alert(s, cause="gateway:g", rule="gateway_offline", title="g", now=T0) is not None
    with sessions.begin() as s:
        assert [x.cause for x in open_alerts(s)] == ["idle:x", "gateway:g"]
        assert open_alerts(s)[0].last_seen_at == T0 + MIN
        (gone,) = resolve_alerts(s, ["idle:x"], T0 + 2 * MIN)
        assert gone.cause == "gateway:g"
    with sessions.begin() as s:
        assert [x.cause for x in open_alerts(s)] == ["idle:x"]
        assert resolve_alerts(s, [], T0 + 3 * MIN)[0].cause == "idle:x"
        again = raise_alert(s, cause="idle:x", rule="checkpoint_idle", title="Hall A", now=T0 + 4 * MIN)
        assert again is not None  # the same cause, once resolved, may be raised again
        assert again.id != a.id
