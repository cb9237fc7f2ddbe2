"""Field records, requests, devices and their retention in the operational database (issue 14), on SQLite and
PostgreSQL: ids are idempotency keys, the timeline is appended, a code enrols once, a revoked device is refused
at once, and the purge removes what is past its retention and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from ronde.opdb import access_repo, device_repo, field_repo, request_repo
from ronde.opdb.engine import session_factory
from ronde.opdb.field_repo import BadTransition, IdConflict, NewRecord, Photo, Place, RecordFilter
from ronde.opdb.field_retention import FieldRetention, purge_field
from ronde.opdb.models import FieldContactRow, FieldEventRow, FieldPhotoRow
from ronde.protocol.access import Role
from ronde.protocol.registry_data import BadgeEntry

T0 = datetime(2026, 11, 26, 19, 0, tzinfo=UTC)
PLACE = Place("mordacs", "paris-habitat", "Hall A", "mor-b01-hall-a", "mor-b01")
OTHER_PLACE = Place("mordacs", "immobiliere-3f", "Hall A", "mor-b06-hall-a", "mor-b06")


def report(record_id: str, *, digest: str = "d" * 64, place: Place = PLACE, at: datetime = T0) -> NewRecord:
    return NewRecord(
        id=record_id,
        kind=field_repo.TECHNIQUE,
        digest=digest,
        team="Équipe A",
        device_id=None,
        created_at=at,
        place=place,
        status="nouveau",
        category="eclairage",
        urgency="urgent",
    )


def test_a_record_is_stored_once_and_its_id_never_takes_other_content(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:
        rec, created = field_repo.add_record(s, report("01JD00000000000000000000AA"), now=T0)
        assert created
        assert (rec.status, rec.place.landlord_id, rec.category) == ("nouveau", "paris-habitat", "eclairage")
    with sessions.begin() as s:
        again, created = field_repo.add_record(s, report("01JD00000000000000000000AA"), now=T0 + timedelta(hours=1))
        assert not created
        assert again.received_at == T0
    with sessions.begin() as s, pytest.raises(IdConflict, match="other content"):
        field_repo.add_record(s, report("01JD00000000000000000000AA", digest="e" * 64), now=T0)
    with sessions() as s:
        found, cursor = field_repo.list_records(s, RecordFilter())
        assert [r.id for r in found] == ["01JD00000000000000000000AA"]
        assert cursor is None


def test_status_moves_forward_with_a_timeline_and_instants(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:
        field_repo.add_record(s, report("01JD00000000000000000000AB"), now=T0)
    with sessions.begin() as s:
        rec = field_repo.set_status(
            s,
            "01JD00000000000000000000AB",
            "en_cours",
            comment="ticket 42",
            actor_role="landlord",
            now=T0 + timedelta(hours=1),
        )
        # skipping "pris_en_compte" still dates it: delays are measured from every step
        assert rec.acknowledged_at == rec.in_progress_at == T0 + timedelta(hours=1)
    with sessions.begin() as s, pytest.raises(BadTransition, match="forward only"):
        field_repo.set_status(s, "01JD00000000000000000000AB", "pris_en_compte", comment=None, actor_role="x", now=T0)
    with sessions.begin() as s:
        rec = field_repo.set_status(
            s,
            "01JD00000000000000000000AB",
            "resolu",
            comment="remplacé",
            actor_role="landlord",
            now=T0 + timedelta(days=1),
        )
    assert [(st.status, st.comment) for st in rec.timeline] == [
        ("nouveau", None),
        ("en_cours", "ticket 42"),
        ("resolu", "remplacé"),
    ]
    assert rec.resolved_at == T0 + timedelta(days=1)
    assert rec.comment == "remplacé"


def test_lists_are_scoped_newest_first_and_paged(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:
        for i in range(5):
            field_repo.add_record(s, report(f"01JD0000000000000000000{i:03d}", at=T0 + timedelta(minutes=i)), now=T0)
        field_repo.add_record(s, report("01JD00000000000000000000ZZ", place=OTHER_PLACE), now=T0)
    with sessions() as s:
        page1, cursor = field_repo.list_records(s, RecordFilter(landlord="paris-habitat"), limit=3)
        assert [r.id[-3:] for r in page1] == ["004", "003", "002"]
        page2, cursor2 = field_repo.list_records(s, RecordFilter(landlord="paris-habitat"), limit=3, cursor=cursor)
        assert [r.id[-3:] for r in page2] == ["001", "000"]
        assert cursor2 is None
        only_3f, _ = field_repo.list_records(s, RecordFilter(landlord="immobiliere-3f"))
        assert [r.id for r in only_3f] == ["01JD00000000000000000000ZZ"]


def test_enrolment_codes_work_once_and_expire(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as s:
        access_repo.put_badge(s, BadgeEntry("EQUIPE-A", "Équipe A"))
    with sessions.begin() as s, pytest.raises(device_repo.UnknownTeam):
        device_repo.create_enrolment(s, "Équipe Z", by="chef", now=T0)
    with sessions.begin() as s:
        code = device_repo.create_enrolment(s, "EQUIPE-A", by="chef", now=T0)
        late = device_repo.create_enrolment(s, "Équipe A", by="chef", now=T0)
    assert code.team == late.team == "Équipe A"
    with sessions.begin() as s:
        made = device_repo.enrol_device(s, code.code, "Téléphone 1", now=T0 + timedelta(minutes=14))
    with sessions.begin() as s, pytest.raises(device_repo.EnrolmentRefused):
        device_repo.enrol_device(s, code.code, "Téléphone 2", now=T0 + timedelta(minutes=14))  # used
    with sessions.begin() as s, pytest.raises(device_repo.EnrolmentRefused):
        device_repo.enrol_device(s, late.code, "Téléphone 3", now=T0 + timedelta(minutes=15))  # expired
    with sessions.begin() as s, pytest.raises(device_repo.EnrolmentRefused):
        device_repo.enrol_device(s, "not-a-code-at-all", "Téléphone 4", now=T0)
    tokens = device_repo.FieldTokens(engine)
    principal = tokens.authenticate(made.token)
    assert principal is not None
    assert (principal.role, principal.team, principal.device) == (Role.DEVICE, "Équipe A", made.device.id)
    with sessions.begin() as s:
        assert device_repo.revoke_device(s, made.device.id, now=T0)
    assert tokens.authenticate(made.token) is None  # the next look-up, no cache
    with sessions() as s:
        assert [d.revoked_at for d in device_repo.devices(s)] == [T0]


def test_requests_are_assigned_then_answered_once(engine: Engine) -> None:
    sessions = session_factory(engine)
    who = request_repo.Requester("audit-ph", "landlord", "paris-habitat")
    with sessions.begin() as s:
        req, created = request_repo.add_request(
            s, "01JD0000000000000000000R01", "a" * 64, who, PLACE, "hall B", None, now=T0
        )
        assert created
        assert req.status == "nouvelle"
    with sessions.begin() as s, pytest.raises(IdConflict):
        request_repo.add_request(s, "01JD0000000000000000000R01", "b" * 64, who, PLACE, "autre", None, now=T0)
    with sessions.begin() as s:
        req = request_repo.assign_request(s, "01JD0000000000000000000R01", "Équipe A", now=T0 + timedelta(minutes=5))
        assert (req.status, req.assigned_team) == ("assignee", "Équipe A")
        req = request_repo.answer_request(s, req.id, "01JD0000000000000000000S01", now=T0 + timedelta(minutes=40))
        again = request_repo.answer_request(s, req.id, "01JD0000000000000000000S02", now=T0 + timedelta(hours=2))
    assert again.answer_record_id == "01JD0000000000000000000S01"
    assert again.status == "traitee"
    with sessions.begin() as s, pytest.raises(request_repo.RequestClosed):
        request_repo.assign_request(s, req.id, "Équipe B", now=T0)
    with sessions() as s:
        assert [r.id for r in request_repo.list_requests(s, requester=who)] == [req.id]
        assert request_repo.list_requests(s, requester=request_repo.Requester("x", "landlord", "immobiliere-3f")) == []
        assert [r.id for r in request_repo.list_requests(s, team="Équipe A")] == [req.id]


def test_purge_applies_each_kinds_retention(engine: Engine) -> None:
    sessions = session_factory(engine)
    retention = FieldRetention(technique_days=30, sollicitation_days=60, request_days=30, contact_days=7)
    old = T0 - timedelta(days=45)
    with sessions.begin() as s:
        field_repo.add_record(s, report("01JD0000000000000000000P01", at=old), now=old)
        field_repo.put_photo(s, "01JD0000000000000000000P01", Photo("f" * 64, 10, 1, 1, "image/jpeg"), now=old)
        sollicitation = NewRecord(
            id="01JD0000000000000000000P02",
            kind=field_repo.SOLLICITATION,
            digest="s" * 64,
            team="Équipe A",
            device_id=None,
            created_at=old,
            place=PLACE,
            status="close",
            origin="locataire",
            type="voisinage",
            response="information",
            contact="06 00 00 00 00",
            contact_expires_at=old + timedelta(days=7),
        )
        field_repo.add_record(s, sollicitation, now=old)
        field_repo.add_record(s, report("01JD0000000000000000000P03"), now=T0)  # recent: kept
        request_repo.add_request(
            s,
            "01JD0000000000000000000P04",
            "r" * 64,
            request_repo.Requester("a", "landlord", "p"),
            PLACE,
            "t",
            None,
            now=old,
        )
    with sessions.begin() as s:
        result = purge_field(s, retention, T0)
    assert (result.records, result.contacts, result.requests) == (1, 1, 1)
    assert result.orphan_photos == ("f" * 64,)
    with sessions() as s:
        kept = {r.id for r in field_repo.list_records(s, RecordFilter())[0]}
        assert kept == {"01JD0000000000000000000P02", "01JD0000000000000000000P03"}  # the sollicitation keeps 60 days
        assert s.scalar(select(func.count()).select_from(FieldContactRow)) == 0  # its contact went after 7
        assert s.scalar(select(func.count()).select_from(FieldPhotoRow)) == 0
        assert (
            s.scalar(
                select(func.count())
                .select_from(FieldEventRow)
                .where(FieldEventRow.record_id == "01JD0000000000000000000P01")
            )
            == 0
        )
    with pytest.raises(ValueError, match="contact_days"):
        FieldRetention(contact_days=0)
