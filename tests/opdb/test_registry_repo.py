"""The registry repository on SQLite and PostgreSQL: revisions and digests, EID keys sealed, consistent changes."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from ronde.opdb.registry_repo import RegistryChangeError, RegistryRepository, RevisionConflict
from ronde.opdb.sealing import SecretBox, SecretKeyError
from ronde.protocol.estate import EstateDocument, default_estate_path, parse_estate, registry_from_document
from ronde.protocol.estate_digest import registry_digest
from ronde.protocol.registry_data import registry_to_data


def sample() -> EstateDocument:
    return parse_estate(default_estate_path().read_text(encoding="utf-8"), "estate_sample.yaml")


def with_revision(doc: EstateDocument, label: str, **changes: Any) -> EstateDocument:
    data = doc.model_dump(mode="json")
    data.update(changes, revision=label)
    return EstateDocument.model_validate(data)


def test_import_records_one_revision_with_the_content_digest(engine: Engine, box: SecretBox) -> None:
    repo = RegistryRepository(engine, box)
    doc = sample()
    first = repo.install(doc, author="migration")
    assert first.created
    assert first.revision.label == doc.revision
    assert first.revision.digest == registry_digest(registry_from_document(doc))
    assert first.revision.author == "migration"
    again = repo.install(doc, author="migration")
    assert not again.created
    assert not again.changed
    assert repo.revision_count() == 1
    assert again.version == first.version
    renamed = doc.model_dump(mode="json")
    renamed["landlords"][0]["name"] = "Another name"
    with pytest.raises(RevisionConflict, match="already used for another registry content"):
        repo.install(EstateDocument.model_validate(renamed), author="x")
    assert repo.revision_count() == 1
    second = repo.install(EstateDocument.model_validate({**renamed, "revision": "2026-12-01.1"}), author="x")
    assert second.created
    assert second.revision.parent_id == first.revision.id
    assert repo.revision_count() == 2
    snap = repo.snapshot()
    assert snap.revision == second.revision
    assert snap.registry is not None
    assert snap.registry.landlords[doc.landlords[0].id].name == "Another name"
    assert registry_digest(snap.registry) == second.revision.digest
    # the earlier label with its own content: installed again, no new revision
    back = repo.install(doc, author="x")
    assert not back.created
    assert back.changed
    assert back.revision.id == first.revision.id
    assert repo.revision_count() == 2


def test_eid_keys_are_sealed_and_in_no_read_model(engine: Engine, box: SecretBox) -> None:
    repo = RegistryRepository(engine, box)
    doc = sample()
    repo.install(doc, author="t")
    keys = {c.id: c.beacon.identity_key for c in registry_from_document(doc).eid_checkpoints()}
    assert keys
    with engine.connect() as conn:
        raw: dict[str, bytes] = dict(
            conn.execute(
                sa.text("SELECT checkpoint_id, eid_key_sealed FROM beacons WHERE eid_key_sealed IS NOT NULL")
            ).all()
        )
        dump = " ".join(str(tuple(r)) for r in conn.execute(sa.text("SELECT * FROM beacons")).all())
    assert set(raw) == set(keys)
    for cid, key in keys.items():
        assert key is not None
        sealed = bytes(raw[cid])
        assert key not in sealed
        assert key.hex() not in dump
        assert key.hex().encode() not in sealed
    snap = repo.snapshot()
    assert snap.registry is not None
    assert snap.eid_enrolled == frozenset(keys)
    assert all(c.beacon.identity_key is None for c in snap.registry.checkpoints.values())
    assert "identity_key" not in repr(registry_to_data(snap.registry, secrets=True))
    opened = repo.registry_with_keys()
    assert opened is not None
    assert {c.id: c.beacon.identity_key for c in opened.eid_checkpoints()} == keys
    with pytest.raises(SecretKeyError, match="does not open"):  # another key does not open them
        RegistryRepository(engine, SecretBox(b"\x07" * 32)).registry_with_keys()
    with pytest.raises(RegistryChangeError, match="RONDE_OPDB_SECRET_KEY"):
        RegistryRepository(engine, None).registry_with_keys()


def test_put_and_delete_are_validated_revisions(engine: Engine, box: SecretBox) -> None:
    repo = RegistryRepository(engine, box)
    repo.install(sample(), author="t")
    snap = repo.snapshot()
    assert snap.registry is not None
    eid = sorted(snap.eid_enrolled)[0]
    item = next(c for c in registry_to_data(snap.registry, secrets=False)["checkpoints"] if c["id"] == eid)
    renamed = repo.put("checkpoints", eid, {**item, "name": "Parking B2"}, author="supervisor")  # key omitted: kept
    assert renamed.created
    assert renamed.revision.author == "supervisor"
    opened = repo.registry_with_keys()
    assert opened is not None
    assert opened.checkpoints[eid].name == "Parking B2"
    original = registry_from_document(sample()).checkpoints[eid].beacon.identity_key
    assert opened.checkpoints[eid].beacon.identity_key == original
    with pytest.raises(RegistryChangeError, match=r"checkpoints\[\d+\]\.landlord: unknown landlord 'nobody'"):
        repo.put("checkpoints", eid, {**item, "landlord": "nobody"}, author="x")
    with pytest.raises(RegistryChangeError, match="no such item"):
        repo.delete("checkpoints", "nowhere", author="x")
    gone = repo.delete("checkpoints", eid, author="x")
    after = repo.snapshot()
    assert after.registry is not None
    assert eid not in after.registry.checkpoints
    assert all(eid not in p for p in after.registry.paths)
    assert registry_digest(after.registry) == gone.revision.digest
    assert after.version == gone.version
    with pytest.raises(RegistryChangeError):  # a landlord still used by checkpoints cannot go
        repo.delete("landlords", next(iter(after.registry.landlords)), author="x")


def test_concurrent_writes_leave_a_consistent_registry_and_one_revision_each(engine: Engine, box: SecretBox) -> None:
    repo = RegistryRepository(engine, box)
    base = repo.install(sample(), author="t")
    snap = repo.snapshot()
    assert snap.registry is not None
    items = {c["id"]: c for c in registry_to_data(snap.registry, secrets=False)["checkpoints"]}
    ids = sorted(items)[:20]
    renames, deletes = ids[:10], ids[10:]
    errors: list[BaseException] = []
    start = threading.Barrier(20)

    def work(cid: str) -> None:
        writer = RegistryRepository(engine, box)  # each thread its own repository, as separate processes would
        try:
            start.wait()
            if cid in renames:
                writer.put("checkpoints", cid, {**items[cid], "name": f"renamed {cid}"}, author=f"w-{cid}")
            else:
                writer.delete("checkpoints", cid, author=f"w-{cid}")
        except BaseException as exc:  # noqa: BLE001 - a worker thread hands whatever it raised to the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(cid,)) for cid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    final = repo.snapshot()
    assert final.registry is not None
    assert all(final.registry.checkpoints[c].name == f"renamed {c}" for c in renames)
    assert not set(deletes) & set(final.registry.checkpoints)
    assert len(final.registry.checkpoints) == len(snap.registry.checkpoints) - 10
    revisions = repo.revisions()
    assert len(revisions) == 21
    assert final.version == base.version + 20
    assert sorted(r.author for r in revisions[1:]) == sorted(f"w-{c}" for c in ids)
    assert [r.parent_id for r in revisions] == [None, *[r.id for r in revisions[:-1]]]  # one line, no fork
    assert final.revision == revisions[-1]
    assert registry_digest(final.registry) == revisions[-1].digest
    assert len({r.digest for r in revisions}) == 21


def test_readers_are_not_blocked_by_a_writer(engine: Engine, box: SecretBox) -> None:
    import time

    from ronde.opdb.engine import session_factory
    from ronde.opdb.registry_repo import lock_state

    repo = RegistryRepository(engine, box)
    repo.install(sample(), author="t")
    with session_factory(engine).begin() as s:  # a writer holds the registry lock, uncommitted
        lock_state(s).version += 100
        started = time.monotonic()
        snap = repo.snapshot()  # a reader still sees the committed registry, at once
        assert time.monotonic() - started < 5
        assert snap.version == 1
        assert snap.registry is not None
        assert repo.version() == 1
        s.rollback()
