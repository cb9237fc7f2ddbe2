"""A revision label names one registry content: an import that changes names under a used label is
refused (409 over HTTP, RevisionConflict here). After a restart, the operational database remembers the labels
(``registry_revisions``: tests/opdb)."""

from __future__ import annotations

import pytest

from ronde.api.registry_service import RegistryService, RevisionConflict, registry_to_yaml
from ronde.protocol.estate import load_default_estate
from ronde.protocol.estate_digest import registry_digest


def _renamed(text: str) -> str:
    out = text.replace("Hall A – 4 rue Albert Thomas", "Hall A – 4 rue Albert-Thomas", 1)
    assert out != text
    return out


def test_same_label_other_content_is_refused() -> None:
    reg = load_default_estate()
    service = RegistryService(reg)
    exported = registry_to_yaml(reg, secrets=False)
    service.import_text(exported)  # same label, same content: accepted (idempotent)
    assert registry_digest(service.registry) == registry_digest(reg)
    with pytest.raises(RevisionConflict, match="already used for another registry content"):
        service.import_text(_renamed(exported))
    moved = _renamed(exported).replace(f"revision: {reg.revision}", "revision: 2026-12-01.1", 1)
    service.import_text(moved)
    assert service.registry.revision == "2026-12-01.1"
    with pytest.raises(RevisionConflict):  # both labels remembered
        service.import_text(_renamed(exported))
    with pytest.raises(RevisionConflict):
        service.import_text(exported.replace(f"revision: {reg.revision}", "revision: 2026-12-01.1", 1))


def test_digest_covers_names_and_beacons_not_order_nor_eid_keys() -> None:
    reg = load_default_estate()
    base = registry_digest(reg)
    from dataclasses import replace

    cp = next(iter(reg.checkpoints.values()))
    renamed = replace(reg, checkpoints={**reg.checkpoints, cp.id: replace(cp, name=cp.name + " bis")})
    assert registry_digest(renamed) != base
    moved = replace(reg, checkpoints={**reg.checkpoints, cp.id: replace(cp, beacon=replace(cp.beacon, tx_power=-40))})
    assert registry_digest(moved) != base
    reordered = replace(reg, checkpoints=dict(reversed(list(reg.checkpoints.items()))))
    assert registry_digest(reordered) == base
    eid = reg.eid_checkpoints()[0]
    rekeyed = replace(
        reg,
        checkpoints={**reg.checkpoints, eid.id: replace(eid, beacon=replace(eid.beacon, identity_key=b"\x01" * 16))},
    )
    assert registry_digest(rekeyed) == base  # secret, omitted by the export: the landlord can recompute
