"""Names that identify a place: a checkpoint's display name made unambiguous from the registry.

The estate file names places as people on site call them, and three landlords each have a
"Parking en surface 1 (Les Mordacs)": a table listing all three cannot be read. A label keeps the
name and, only where the name is shared, adds what tells the places apart — the building (its
name usually carries the address), then the landlord, then, as a last resort, the checkpoint id.
Unique names are left as they are: qualifying every row would bury the name people know.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

from ronde.protocol.estate import Checkpoint, Registry

SEPARATOR = " — "


def _qualifiers(registry: Registry, c: Checkpoint) -> list[str]:
    """What can be added to the name, most telling first (the building holds the address)."""
    out: list[str] = []
    building = registry.buildings.get(c.building) if c.building else None
    if building is not None and building.name not in c.name:
        out.append(building.name)
    landlord = registry.landlords.get(c.landlord)
    out.append(landlord.name if landlord is not None else c.landlord)
    return out


def checkpoint_labels(registry: Registry, checkpoints: Iterable[Checkpoint] | None = None) -> dict[str, str]:
    """Checkpoint id → a label no other checkpoint of ``checkpoints`` (default: the whole registry)
    shares. Qualifiers are added one at a time, to the clashing names only."""
    items = list(registry.checkpoints.values() if checkpoints is None else checkpoints)
    names = {c.id: c.name for c in items}
    labels = dict(names)
    quals = {c.id: _qualifiers(registry, c) for c in items}
    for depth in range(1, 3):
        clashing = _clashes(labels)
        if not clashing:
            return labels
        for cid in clashing:
            labels[cid] = _with(names[cid], quals[cid][:depth])
    for cid in _clashes(labels):  # same name, building and landlord: only the id tells them apart
        labels[cid] = f"{labels[cid]} ({cid})"
    return labels


def _with(name: str, quals: list[str]) -> str:
    return name + SEPARATOR + ", ".join(quals) if quals else name


def _clashes(labels: Mapping[str, str]) -> list[str]:
    counts = Counter(labels.values())
    return sorted(cid for cid, text in labels.items() if counts[text] > 1)


def label_of(registry: Registry, checkpoint_id: str) -> str:
    """One checkpoint's label (its id when the registry no longer knows it: a visit outlives a rename)."""
    return checkpoint_labels(registry).get(checkpoint_id, checkpoint_id)


def duplicate_names(registry: Registry) -> dict[str, list[str]]:
    """Display names carried by more than one checkpoint → their ids (``ronde estate check`` warns:
    pages qualify them, but a name people can tell apart on its own is better)."""
    by_name: dict[str, list[str]] = defaultdict(list)
    for c in registry.checkpoints.values():
        by_name[c.name].append(c.id)
    return {name: sorted(ids) for name, ids in sorted(by_name.items()) if len(ids) > 1}
