"""The estate registry in the operational database: read models, revisions, and changes in one transaction each.

Every change (an import, a put or delete of one landlord/estate/building/checkpoint) is validated by the same
code as the estate file (``EstateDocument``: cross-references, beacon uniqueness), then written under the lock
of the ``registry_state`` row, so concurrent writers from any process are serialised and each change is one
revision with its content digest (``ronde.protocol.estate_digest.registry_digest``).

Revision rules (the audit anchors bind label *and* content): a new label is a new revision; the label of an
existing revision with the same content installs that content again without a new revision (re-importing a
file changes nothing); the label of an existing revision with another content is refused (RevisionConflict).

Read models never carry EID identity keys: :meth:`RegistryRepository.snapshot` strips them (it says which
checkpoints have one); only :meth:`RegistryRepository.registry_with_keys` (ingest's EID resolver, an export
with ``--with-eid-keys``) opens them, with the sealing key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ronde.opdb.engine import read_only, session_factory
from ronde.opdb.models import (
    BeaconRow,
    BuildingRow,
    CheckpointRow,
    EstateRow,
    LandlordRow,
    PathRow,
    RegistryStateRow,
    RevisionRow,
    WalkwayRow,
)
from ronde.opdb.sealing import SecretBox
from ronde.protocol.estate import (
    BeaconSpec,
    Building,
    Checkpoint,
    CheckpointKind,
    Estate,
    EstateDocument,
    EstateError,
    Landlord,
    LatLon,
    Registry,
    Walkway,
    registry_from_document,
)
from ronde.protocol.estate_digest import registry_digest
from ronde.protocol.registry_data import (
    RegistryChangeError,
    RevisionConflict,
    change_errors,
    keep_eid_key,
    registry_to_data,
)

__all__ = [
    "InstallResult",
    "RegistryChangeError",
    "RegistryRepository",
    "RegistrySnapshot",
    "RevisionConflict",
    "RevisionInfo",
    "bump_version",
    "install_document",
    "load_registry",
    "lock_state",
]

SECTIONS = ("landlords", "estates", "buildings", "checkpoints")


@dataclass(frozen=True, slots=True)
class RevisionInfo:
    id: int
    label: str
    digest: str
    created_at: datetime
    author: str
    parent_id: int | None


@dataclass(frozen=True, slots=True)
class RegistrySnapshot:
    """The registry as it is, without secrets: ``version`` grows by one per change (registry, gateways,
    badges), ``eid_enrolled`` names the checkpoints whose EID identity key is held (never the key)."""

    version: int
    revision: RevisionInfo | None
    registry: Registry | None
    eid_enrolled: frozenset[str]


@dataclass(frozen=True, slots=True)
class InstallResult:
    revision: RevisionInfo
    created: bool  # a new revision row
    changed: bool  # rows changed (False: the same content was installed again)
    version: int


def _revision_info(row: RevisionRow) -> RevisionInfo:
    return RevisionInfo(row.id, row.label, row.digest, row.created_at, row.author, row.parent_id)


def _eid_context(checkpoint_id: str) -> bytes:
    return f"ronde-eid-identity-key:{checkpoint_id}".encode()


# ---- the state row: lock, version ----------------------------------------------------------------------------


def lock_state(session: Session) -> RegistryStateRow:
    """The state row, locked for the rest of the transaction (created on a fresh database)."""
    state = session.execute(select(RegistryStateRow).where(RegistryStateRow.id == 1).with_for_update()).scalar()
    if state is None:
        state = RegistryStateRow(id=1, revision_id=None, version=0, updated_at=datetime.now(UTC))
        session.add(state)
        session.flush()
    return state


def bump_version(session: Session, state: RegistryStateRow | None = None) -> int:
    """One more change to what workers follow (call under the lock, inside the writing transaction)."""
    state = state or lock_state(session)
    state.version += 1
    state.updated_at = datetime.now(UTC)
    return state.version


# ---- reading ------------------------------------------------------------------------------------------------


def load_registry(session: Session, box: SecretBox | None) -> tuple[Registry | None, frozenset[str]]:
    """The current registry (None on an empty database) and the checkpoints with an EID key. EID identity keys
    are opened only when ``box`` is given; otherwise they are None."""
    state = session.get(RegistryStateRow, 1)
    revision = None if state is None or state.revision_id is None else session.get(RevisionRow, state.revision_id)
    if revision is None:
        return None, frozenset()
    beacons = {b.checkpoint_id: b for b in session.scalars(select(BeaconRow))}
    checkpoints: dict[str, Checkpoint] = {}
    enrolled: set[str] = set()
    for c in session.scalars(select(CheckpointRow).order_by(CheckpointRow.id)):
        b = beacons[c.id]
        key: bytes | None = None
        if b.eid_key_sealed is not None:
            enrolled.add(c.id)
            if box is not None:
                key = box.open(b.eid_key_sealed, _eid_context(c.id))
        fields: dict[str, str | int] = json.loads(b.fields_json)
        spec = BeaconSpec(
            format=b.format,
            key=b.beacon_key,
            tx_power=b.tx_power,
            interval_ms=b.interval_ms,
            identity_key=key,
            rotation_exponent=b.rotation_exponent,
            clock_epoch=b.clock_epoch,
            fields=tuple(sorted(fields.items())),
        )
        checkpoints[c.id] = Checkpoint(
            id=c.id,
            name=c.name,
            kind=CheckpointKind(c.kind),
            estate=c.estate_id,
            landlord=c.landlord_id,
            building=c.building_id,
            lat=c.lat,
            lon=c.lon,
            level=c.level,
            expected_visits=c.expected_visits,
            radius_m=c.radius_m,
            beacon=spec,
        )
    registry = Registry(
        revision=revision.label,
        landlords={
            x.id: Landlord(x.id, x.name, x.dwellings)
            for x in session.scalars(select(LandlordRow).order_by(LandlordRow.id))
        },
        estates={x.id: Estate(x.id, x.name, x.city) for x in session.scalars(select(EstateRow).order_by(EstateRow.id))},
        buildings={
            x.id: Building(x.id, x.name, x.estate_id, x.landlord_id, x.dwellings, _points_of(x.footprint_json))
            for x in session.scalars(select(BuildingRow).order_by(BuildingRow.id))
        },
        checkpoints=checkpoints,
        paths=tuple((p.a_id, p.b_id) for p in session.scalars(select(PathRow).order_by(PathRow.a_id, PathRow.b_id))),
        by_beacon_key={c.beacon.key: c.id for c in checkpoints.values() if c.beacon.key is not None},
        walkways={
            w.id: Walkway(w.id, w.estate_id, w.name, _points_of(w.points_json))
            for w in session.scalars(select(WalkwayRow).order_by(WalkwayRow.id))
        },
    )
    return registry, frozenset(enrolled)


def _points_of(text: str | None) -> tuple[LatLon, ...]:
    """Plan geometry as stored (JSON [[lat, lon], ...], written by :func:`_points_json`)."""
    return () if not text else tuple((float(lat), float(lon)) for lat, lon in json.loads(text))


def _points_json(points: tuple[LatLon, ...]) -> str | None:
    return json.dumps([[lat, lon] for lat, lon in points]) if points else None


# ---- writing: rows follow a Registry ------------------------------------------------------------------------


def _sync(session: Session, model: type[Any], wanted: Mapping[str, dict[str, Any]], *, delete: bool = True) -> int:
    """Make ``model``'s rows (primary key ``id``) equal ``wanted`` (id → column values); returns how many rows
    changed. Deletions (unless ``delete`` is false) are flushed first."""
    existing = {row.id: row for row in session.scalars(select(model))}
    changes = 0
    if delete:
        for pk, row in existing.items():
            if pk not in wanted:
                session.delete(row)
                changes += 1
        session.flush()
    for pk, values in wanted.items():
        row = existing.get(pk)
        if row is None:
            session.add(model(**values))
            changes += 1
        elif any(getattr(row, col) != v for col, v in values.items()):
            for col, v in values.items():
                setattr(row, col, v)
            changes += 1
    session.flush()
    return changes


def _beacon_rows(session: Session, registry: Registry, box: SecretBox | None) -> int:
    """Beacons: a changed row is deleted then inserted (beacon keys may swap between checkpoints); an EID key
    is sealed again only when it changed."""
    existing = {b.checkpoint_id: b for b in session.scalars(select(BeaconRow))}
    changes = 0
    keep: dict[str, BeaconRow] = {}
    fresh: list[BeaconRow] = []
    for c in registry.checkpoints.values():
        b = c.beacon
        values: dict[str, Any] = {
            "checkpoint_id": c.id,
            "format": b.format,
            "beacon_key": b.key,
            "tx_power": b.tx_power,
            "interval_ms": b.interval_ms,
            "fields_json": json.dumps(dict(b.fields), sort_keys=True),
            "rotation_exponent": b.rotation_exponent,
            "clock_epoch": b.clock_epoch,
        }
        old = existing.get(c.id)
        old_key: bytes | None = None
        if old is not None and old.eid_key_sealed is not None and box is not None:
            old_key = box.open(old.eid_key_sealed, _eid_context(c.id))
        same_key = (b.identity_key is None and (old is None or old.eid_key_sealed is None)) or (
            b.identity_key is not None and old_key == b.identity_key
        )
        if old is not None and same_key and all(getattr(old, k) == v for k, v in values.items()):
            keep[c.id] = old
            continue
        sealed = None
        if b.identity_key is not None:
            if box is None:
                raise RegistryChangeError(
                    [
                        _error(
                            "checkpoints",
                            c.id,
                            "an EID beacon needs the sealing key (RONDE_OPDB_SECRET_KEY) to be stored",
                        )
                    ]
                )
            sealed = (
                old.eid_key_sealed if same_key and old is not None else box.seal(b.identity_key, _eid_context(c.id))
            )
        fresh.append(BeaconRow(**values, eid_key_sealed=sealed))
    for cid, row in existing.items():
        if cid not in keep:
            session.delete(row)
            changes += 1
    session.flush()
    for row in fresh:
        session.add(row)
        changes += 1
    session.flush()
    return changes


def _error(section: str, item_id: str, message: str) -> EstateError:
    return EstateError(None, f"{section}[{item_id}]", message)


def _write_rows(session: Session, registry: Registry, box: SecretBox | None) -> int:
    changes = 0
    # children first for deletions: paths and beacons, then checkpoints, buildings, estates, landlords
    wanted_paths = {(a, b): {"a_id": a, "b_id": b} for a, b in registry.paths}
    existing_paths = {(p.a_id, p.b_id): p for p in session.scalars(select(PathRow))}
    for pk, path in existing_paths.items():
        if pk not in wanted_paths:
            session.delete(path)
            changes += 1
    gone = set(session.scalars(select(CheckpointRow.id))) - set(registry.checkpoints)
    for beacon in session.scalars(select(BeaconRow).where(BeaconRow.checkpoint_id.in_(gone))):
        session.delete(beacon)
        changes += 1
    session.flush()
    # parents are added or updated now, deleted after the checkpoints that may still refer to them
    changes += _sync(
        session,
        LandlordRow,
        {x.id: {"id": x.id, "name": x.name, "dwellings": x.dwellings} for x in registry.landlords.values()},
        delete=False,
    )
    changes += _sync(
        session,
        EstateRow,
        {x.id: {"id": x.id, "name": x.name, "city": x.city} for x in registry.estates.values()},
        delete=False,
    )
    # walkways after their estates are in, and gone before an estate that went away is deleted
    changes += _sync(
        session,
        WalkwayRow,
        {
            w.id: {"id": w.id, "estate_id": w.estate, "name": w.name, "points_json": _points_json(w.points)}
            for w in registry.walkways.values()
        },
    )
    changes += _sync(
        session,
        BuildingRow,
        {
            x.id: {
                "id": x.id,
                "name": x.name,
                "estate_id": x.estate,
                "landlord_id": x.landlord,
                "dwellings": x.dwellings,
                "footprint_json": _points_json(x.footprint),
            }
            for x in registry.buildings.values()
        },
        delete=False,
    )
    changes += _sync(
        session,
        CheckpointRow,
        {
            c.id: {
                "id": c.id,
                "name": c.name,
                "kind": c.kind.value,
                "estate_id": c.estate,
                "landlord_id": c.landlord,
                "building_id": c.building,
                "lat": c.lat,
                "lon": c.lon,
                "level": c.level,
                "expected_visits": c.expected_visits,
                "radius_m": c.radius_m,
            }
            for c in registry.checkpoints.values()
        },
    )
    changes += _beacon_rows(session, registry, box)
    # parents that went away: after the checkpoints that referred to them
    parents: tuple[tuple[type[BuildingRow | EstateRow | LandlordRow], Mapping[str, object]], ...] = (
        (BuildingRow, registry.buildings),
        (EstateRow, registry.estates),
        (LandlordRow, registry.landlords),
    )
    for model, wanted in parents:
        for parent in session.scalars(select(model)):
            if str(getattr(parent, "id")) not in wanted:  # noqa: B009 - the three models have an id
                session.delete(parent)
                changes += 1
        session.flush()
    for pk, values in wanted_paths.items():
        if pk not in existing_paths:
            session.add(PathRow(**values))
            changes += 1
    session.flush()
    return changes


def install_document(
    session: Session,
    doc: EstateDocument,
    box: SecretBox | None,
    *,
    author: str,
    now: datetime | None = None,
) -> InstallResult:
    """Install a validated estate document as the current registry (inside the caller's transaction)."""
    state = lock_state(session)
    registry = registry_from_document(doc)
    digest = registry_digest(registry)
    used = session.execute(select(RevisionRow).where(RevisionRow.label == doc.revision)).scalar()
    if used is not None and used.digest != digest:
        raise RevisionConflict(
            f"revision {doc.revision!r} is already used for another registry content (digest {used.digest[:16]}…, "
            f"this one {digest[:16]}…): give the changed estate file a new revision"
        )
    changes = _write_rows(session, registry, box)
    created = used is None
    if used is None:
        used = RevisionRow(
            label=doc.revision,
            digest=digest,
            created_at=now or datetime.now(UTC),
            author=author,
            parent_id=state.revision_id,
        )
        session.add(used)
        session.flush()
    moved = state.revision_id != used.id
    if moved or changes:
        state.revision_id = used.id
        bump_version(session, state)
    return InstallResult(_revision_info(used), created, bool(changes) or moved, state.version)


class RegistryRepository:
    """The registry for one engine; each method is one transaction."""

    def __init__(self, engine: Engine, box: SecretBox | None = None) -> None:
        self.engine = engine
        self._box = box
        self._sessions = session_factory(engine)
        self._read_sessions = session_factory(read_only(engine))

    # ---- reads ----

    def version(self) -> int:
        """The change counter (cheap: one row), for workers polling for changes."""
        with self._read_sessions() as s:
            v = s.execute(select(RegistryStateRow.version).where(RegistryStateRow.id == 1)).scalar()
            return int(v or 0)

    def snapshot(self) -> RegistrySnapshot:
        with self._read_sessions() as s, s.begin():
            state = s.get(RegistryStateRow, 1)
            registry, enrolled = load_registry(s, None)
            rev = None if state is None or state.revision_id is None else s.get(RevisionRow, state.revision_id)
            return RegistrySnapshot(
                0 if state is None else state.version, None if rev is None else _revision_info(rev), registry, enrolled
            )

    def registry_with_keys(self) -> Registry | None:
        """The registry with EID identity keys opened: for ingest's resolver and secret exports only."""
        if self._box is None:
            raise RegistryChangeError([_error("checkpoints", "*", "opening EID keys needs RONDE_OPDB_SECRET_KEY")])
        with self._read_sessions() as s, s.begin():
            return load_registry(s, self._box)[0]

    def revisions(self) -> list[RevisionInfo]:
        with self._read_sessions() as s:
            return [_revision_info(r) for r in s.scalars(select(RevisionRow).order_by(RevisionRow.id))]

    def revision_count(self) -> int:
        with self._read_sessions() as s:
            return int(s.execute(select(func.count()).select_from(RevisionRow)).scalar_one())

    # ---- writes ----

    def install(self, doc: EstateDocument, *, author: str) -> InstallResult:
        with self._sessions.begin() as s:
            return install_document(s, doc, self._box, author=author)

    def put(self, section: str, item_id: str, item: dict[str, Any], *, author: str) -> InstallResult:
        """Create or replace one landlord/estate/building/checkpoint (``section`` is the estate file's key); an
        EID beacon given without its identity key keeps the current one."""
        return self._change(section, item_id, item, author=author)

    def delete(self, section: str, item_id: str, *, author: str) -> InstallResult:
        """Remove one item (a checkpoint takes its paths with it); a missing id is a RegistryChangeError."""
        return self._change(section, item_id, None, author=author)

    def _change(self, section: str, item_id: str, item: dict[str, Any] | None, *, author: str) -> InstallResult:
        if section not in SECTIONS:
            raise ValueError(f"unknown registry section {section!r}")
        with self._sessions.begin() as s:
            state = lock_state(s)
            current, _ = load_registry(s, self._box)
            if current is None:
                raise RegistryChangeError([_error(section, item_id, "the registry is empty: import an estate first")])
            data = registry_to_data(current, secrets=True)
            old = [i for i, x in enumerate(data[section]) if x["id"] == item_id]
            items = [x for x in data[section] if x["id"] != item_id]
            if item is None:
                if not old:
                    raise RegistryChangeError([_error(section, item_id, "no such item")])
                if section == "checkpoints":
                    data["paths"] = [p for p in data["paths"] if item_id not in (p["a"], p["b"])]
            else:
                item = {**item, "id": item_id}
                if section == "checkpoints":
                    item = keep_eid_key(current, item_id, item)
                items.insert(old[0] if old else len(items), item)
            data[section] = items
            data["revision"] = _new_label(s, state.version + 1)
            try:
                doc = EstateDocument.model_validate(data)
            except ValidationError as exc:
                raise RegistryChangeError(change_errors(exc)) from None
            return install_document(s, doc, self._box, author=author)


def _new_label(session: Session, version: int) -> str:
    label = datetime.now(UTC).strftime("api-%Y%m%dT%H%M%S.%fZ")
    taken = session.execute(select(RevisionRow.id).where(RevisionRow.label == label)).scalar()
    return label if taken is None else f"{label}-{version}"


def strip_keys(registry: Registry) -> Registry:
    """The registry without EID identity keys (for read models built from a keyed registry)."""
    return replace(
        registry,
        checkpoints={
            cid: replace(c, beacon=replace(c.beacon, identity_key=None)) for cid, c in registry.checkpoints.items()
        },
    )
