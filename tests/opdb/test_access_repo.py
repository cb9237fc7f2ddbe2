"""Gateways, badges, tokens, sessions, the access log, the calendar and partners, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from ronde.opdb import access_repo, service_repo
from ronde.opdb.access_repo import DbAccessLog, DbSessionStore, DbTokens
from ronde.opdb.engine import session_factory
from ronde.opdb.registry_repo import RegistryRepository
from ronde.opdb.sealing import SecretBox
from ronde.protocol.access import AccessEntry, PageSession, Principal, Role, TokenEntry, hash_token
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.gateways import EnrolmentError, GatewayRegistry, gateway_entry
from ronde.protocol.registry_data import BadgeEntry
from ronde.protocol.signing import public_key_text
from tests.opdb.test_registry_repo import sample


def key() -> str:
    return public_key_text(Ed25519PrivateKey.generate())


def test_gateways_enrol_revoke_and_bump_the_version(engine: Engine) -> None:
    sessions = session_factory(engine)
    repo = RegistryRepository(engine)
    k1, k2 = key(), key()
    file = GatewayRegistry.of(gateway_entry("gw-1", k1, frozenset({"EQUIPE-A"})), gateway_entry("gw-2", k2))
    with sessions.begin() as s:
        assert access_repo.import_gateways(s, file) == 2
    v1 = repo.version()
    with sessions.begin() as s:
        assert access_repo.import_gateways(s, file) == 0  # the same file again: nothing
        assert access_repo.gateway_registry(s).entries.keys() == {"gw-1", "gw-2"}
    assert repo.version() == v1
    with sessions.begin() as s:  # gw-2 left the file: revoked, not deleted
        assert access_repo.import_gateways(s, GatewayRegistry.of(gateway_entry("gw-1", k1, frozenset({"EQUIPE-A"}))))
    with sessions.begin() as s:
        assert set(access_repo.gateway_registry(s).entries) == {"gw-1"}
        records = {r.id: r for r in access_repo.gateway_records(s)}
    assert records["gw-2"].revoked_at is not None
    assert records["gw-1"].badges == frozenset({"EQUIPE-A"})
    assert repo.version() == v1 + 1
    with sessions.begin() as s, pytest.raises(EnrolmentError, match="already enrolled for gateway 'gw-1'"):
        access_repo.put_gateway(s, gateway_entry("gw-3", k1))
    with sessions.begin() as s:  # the revoked gateway's key may go to a new scanner
        assert access_repo.put_gateway(s, gateway_entry("gw-4", k2))
        assert access_repo.gateway_registry(s).key_holder(gateway_entry("gw-4", k2).public_key_raw or b"") == "gw-4"


def test_badges_tokens_sessions_and_access_log(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:
        assert access_repo.import_badges(s, {"EQUIPE-A": BadgeEntry("EQUIPE-A", "Équipe A")}) == 1
        assert access_repo.import_badges(s, {"EQUIPE-A": BadgeEntry("EQUIPE-A", "Équipe A", active=False)}) == 1
    with sessions.begin() as s:
        assert access_repo.badges(s) == {"EQUIPE-A": BadgeEntry("EQUIPE-A", "Équipe A", False)}
    tokens = [
        TokenEntry(sha256=hash_token("sup"), name="supervision", role=Role.SUPERVISOR),
        TokenEntry(sha256=hash_token("ll"), name="audit-ph", role=Role.LANDLORD, landlord="paris-habitat"),
    ]
    with sessions.begin() as s:
        assert access_repo.import_tokens(s, tokens) == 2
    book, other_process = DbTokens(engine), DbTokens(engine)
    assert book.authenticate("ll") == Principal("audit-ph", Role.LANDLORD, "paris-habitat")
    assert book.authenticate("nope") is None
    store = DbSessionStore(engine)
    t0 = datetime(2026, 12, 5, 18, tzinfo=UTC)
    store.put(PageSession("k" * 64, hash_token("sup"), t0, t0))
    store.put(PageSession("k" * 64, hash_token("sup"), t0, t0 + timedelta(minutes=5)))
    later = PageSession("k" * 64, hash_token("sup"), t0, t0 + timedelta(minutes=5))
    assert DbSessionStore(engine).get("k" * 64) == later  # another process sees it
    assert store.purge(lambda sess: sess.last_seen > t0 + timedelta(hours=1)) == 1
    assert store.get("k" * 64) is None
    assert book.revoke(hash_token("sup"))
    assert other_process.authenticate("sup") is None  # revoked: everywhere
    with sessions.begin() as s:  # the tokens file again: re-admits what it lists
        access_repo.import_tokens(s, tokens[:1])
    assert other_process.authenticate("sup") is not None
    assert other_process.authenticate("ll") is None
    log = DbAccessLog(engine)
    entry = AccessEntry(t0, "audit-ph", "landlord", "paris-habitat", "audit.report.pdf", "landlord=paris-habitat", 200)
    log.append(entry)
    log.append(AccessEntry(t0, "audit-ph", "landlord", "paris-habitat", "audit.report.pdf", "landlord=x", 403, True))
    assert log.entries()[0] == entry
    assert log.entries(limit=1)[0].denied


def test_calendar_with_an_estate_override_and_partners(engine: Engine, box: SecretBox) -> None:
    RegistryRepository(engine, box).install(sample(), author="t")
    estate = sample().estates[0].id
    sessions = session_factory(engine)
    with sessions.begin() as s:
        assert service_repo.get_calendar(s) == ServiceCalendar()
        service_repo.put_calendar(s, ServiceCalendar(closed=frozenset({date(2026, 12, 25)})))
        service_repo.put_calendar(
            s, ServiceCalendar(days=frozenset({4, 5}), start=time(18), end=time(1)), estate=estate
        )
    with sessions.begin() as s:
        assert service_repo.get_calendar(s).closed == frozenset({date(2026, 12, 25)})
        own = service_repo.get_calendar(s, estate=estate)
        assert own.days == frozenset({4, 5})
        assert own.crosses_midnight
        assert not own.closed
        assert service_repo.get_calendar(s, estate="elsewhere") == service_repo.get_calendar(s)
        service_repo.put_partner(s, "Centre social", "social_centre", frozenset({estate}))
    with sessions.begin() as s:
        [p] = service_repo.partners(s)
        assert (p.name, p.kind, p.estates) == ("Centre social", "social_centre", frozenset({estate}))
