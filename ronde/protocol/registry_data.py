"""The registry as data: an estate document of a ``Registry``, an estate-file import checked against the
registry in force, the team badges file, and the errors a registry change answers.

Pure functions and records shared by the API (its routes) and the operational database (its repositories
and ``ronde registry import|export``): ``ronde.opdb`` sits below the API and must not import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ronde.protocol.estate import (
    Building,
    EstateDocument,
    EstateError,
    EstateFileError,
    Registry,
    Walkway,
    estate_errors,
    parse_estate,
)
from ronde.protocol.messages import BADGE_PATTERN
from ronde.protocol.plain_text import control_character_problem

if TYPE_CHECKING:  # PyYAML is imported by the functions that read or write a file: an ingest worker calls none
    import yaml


@dataclass(frozen=True, slots=True)
class BadgeEntry:
    badge: str  # pseudonymous: never a person's name
    team: str
    active: bool = True


class RevisionConflict(ValueError):
    """An estate import carries a revision label already used for another content (HTTP 409).

    Why refuse: audit reports name the registry by revision and content digest; a label that meant
    two contents would let a report be re-read against other names and checkpoints.
    """


class RegistryChangeError(ValueError):
    """A change that would make the registry inconsistent; ``errors`` name the fields."""

    def __init__(self, errors: list[EstateError]) -> None:
        super().__init__("; ".join(f"{e.location}: {e.message}" for e in errors))
        self.errors = errors


def change_errors(exc: ValidationError) -> list[EstateError]:
    """The estate errors of a change refused by ``EstateDocument``."""
    return estate_errors(exc)


def _beacon_dict(registry: Registry, checkpoint_id: str, *, secrets: bool) -> dict[str, Any]:
    b = registry.checkpoints[checkpoint_id].beacon
    out: dict[str, Any] = {"format": b.format}
    if b.format == "eddystone_eid":
        if secrets and b.identity_key is not None:
            out["identity_key"] = b.identity_key.hex()
        out["rotation_exponent"] = b.rotation_exponent
        out["clock_epoch"] = b.clock_epoch
    else:
        out.update(dict(b.fields))
    out["tx_power"] = b.tx_power
    out["interval_ms"] = b.interval_ms
    return out


def registry_to_data(registry: Registry, *, secrets: bool) -> dict[str, Any]:
    """The estate document (plain data) of a registry; ``secrets=False`` omits EID identity keys."""
    return {
        "format": "ronde-estate",
        "version": 1,
        "revision": registry.revision,
        "landlords": [{"id": x.id, "name": x.name, "dwellings": x.dwellings} for x in registry.landlords.values()],
        "estates": [{"id": x.id, "name": x.name, "city": x.city} for x in registry.estates.values()],
        "buildings": [_building_dict(x) for x in registry.buildings.values()],
        "checkpoints": [
            {
                "id": c.id,
                "name": c.name,
                "kind": c.kind.value,
                "estate": c.estate,
                "landlord": c.landlord,
                "building": c.building,
                "lat": c.lat,
                "lon": c.lon,
                "level": c.level,
                "expected_visits": c.expected_visits,
                "radius_m": c.radius_m,
                "beacon": _beacon_dict(registry, c.id, secrets=secrets),
            }
            for c in registry.checkpoints.values()
        ],
        "paths": [{"a": a, "b": b} for a, b in registry.paths],
        "walkways": [_walkway_dict(w) for w in registry.walkways.values()],
    }


def _building_dict(x: Building) -> dict[str, Any]:
    out: dict[str, Any] = {"id": x.id, "name": x.name, "estate": x.estate, "landlord": x.landlord}
    out["dwellings"] = x.dwellings
    if x.footprint:
        out["footprint"] = [[lat, lon] for lat, lon in x.footprint]
    return out


def _walkway_dict(w: Walkway) -> dict[str, Any]:
    out: dict[str, Any] = {"id": w.id, "estate": w.estate}
    if w.name is not None:
        out["name"] = w.name
    out["points"] = [[lat, lon] for lat, lon in w.points]
    return out


def registry_to_yaml(registry: Registry, *, secrets: bool) -> str:
    head = "# Ronde estate file, exported by the API.\n"
    if not secrets:
        head += "# EID identity keys are omitted (write-only); re-importing keeps the server's keys.\n"
    import yaml

    data = registry_to_data(registry, secrets=secrets)
    return head + yaml.dump(data, Dumper=_estate_dumper(), sort_keys=False, allow_unicode=True)


@cache
def _estate_dumper() -> type[yaml.SafeDumper]:
    """The safe dumper, writing each [lat, lon] pair of an outline or walkway on one line (``[48.79, 2.52]``)
    rather than three: an exported estate file stays the size and shape of the hand-written one."""
    import yaml

    class EstateDumper(yaml.SafeDumper):
        def represent_list(self, data: Any) -> yaml.SequenceNode:
            pair = len(data) == 2 and all(isinstance(x, float) for x in data)  # noqa: PLR2004 - a coordinate pair
            return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=pair or None)

    EstateDumper.add_representer(list, EstateDumper.represent_list)
    return EstateDumper


def keep_eid_key(current: Registry | None, checkpoint_id: str, item: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint item whose EID beacon omits its identity key, with the key ``current`` holds (the
    export omits keys; a change or re-import keeps them). Returns ``item`` itself when nothing is added."""
    beacon = item.get("beacon")
    was = None if current is None else current.checkpoints.get(checkpoint_id)
    if (
        isinstance(beacon, dict)
        and beacon.get("format") == "eddystone_eid"
        and "identity_key" not in beacon
        and was is not None
        and was.beacon.identity_key is not None
    ):
        return {**item, "beacon": {**beacon, "identity_key": was.beacon.identity_key.hex()}}
    return item


def check_estate_import(text: str, current: Registry | None, source: str = "estate.yaml") -> EstateDocument:
    """Validate an estate file (errors carry their line); EID keys it omits are refilled from ``current``."""
    import yaml

    from ronde.protocol import safe_yaml

    try:
        data: Any = safe_yaml.safe_load(text, source)
    except yaml.YAMLError:  # YamlLimitError included
        return parse_estate(text, source)  # reports the YAML error or the limit with its line
    refill = False
    if isinstance(data, dict) and isinstance(data.get("checkpoints"), list):
        for i, c in enumerate(data["checkpoints"]):
            if isinstance(c, dict) and isinstance(c.get("id"), str):
                filled = keep_eid_key(current, c["id"], c)
                if filled is not c:
                    data["checkpoints"][i] = filled
                    refill = True
    if not refill:
        return parse_estate(text, source)
    try:
        return parse_estate(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), source)
    except EstateFileError as exc:
        lines = _line_index(text)
        errors = [EstateError(_nearest(lines, _location_tuple(e.location)), e.location, e.message) for e in exc.errors]
        raise EstateFileError(source, errors) from None


def _line_index(text: str) -> dict[tuple[str | int, ...], int]:
    import yaml

    from ronde.protocol import safe_yaml

    out: dict[tuple[str | int, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[str | int, ...]) -> None:
        out.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                out[(*path, k.value)] = k.start_mark.line + 1
                walk(v, (*path, k.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    root = safe_yaml.compose(text)  # the text was parsed within the limits already: same result
    if root is not None:
        walk(root, ())
    return out


def _location_tuple(location: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for chunk in location.replace("[", ".[").split("."):
        if not chunk:
            continue
        parts.append(int(chunk[1:-1]) if chunk.startswith("[") and chunk.endswith("]") else chunk)
    return tuple(parts)


def _nearest(lines: dict[tuple[str | int, ...], int], loc: tuple[str | int, ...]) -> int | None:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def badges_data(entries: dict[str, BadgeEntry]) -> dict[str, Any]:
    """The badges file's document (``format: ronde-badges``)."""
    return {
        "format": "ronde-badges",
        "version": 1,
        "badges": [{"badge": b.badge, "team": b.team, "active": b.active} for b in entries.values()],
    }


def load_badges(path: Path) -> dict[str, BadgeEntry]:
    """The team badges file (``format: ronde-badges``): pseudonyms only, never names.

    Badges must be valid wire badges (``BADGE_PATTERN``, whole string) and teams one line of visible
    text, since both are shown in API answers and on the supervision pages."""
    import yaml

    from ronde.protocol import safe_yaml

    try:
        data: Any = safe_yaml.load_file(path)
        if not isinstance(data, dict) or data.get("format") != "ronde-badges":
            raise ValueError("expected a mapping with format: ronde-badges")  # noqa: TRY301 - prefixed with the path by the except below
        out: dict[str, BadgeEntry] = {}
        for i, b in enumerate(data.get("badges") or []):
            if not isinstance(b, dict) or not isinstance(b.get("badge"), str) or not isinstance(b.get("team"), str):
                raise ValueError(f"badges[{i}]: needs 'badge' and 'team' strings")  # noqa: TRY004,TRY301 - a malformed file is a ValueError, prefixed with the path below
            if not re.fullmatch(BADGE_PATTERN, b["badge"]):
                raise ValueError(f"badges[{i}].badge: {b['badge']!r} is not a valid badge ({BADGE_PATTERN})")  # noqa: TRY301 - prefixed with the path by the except below
            problem = control_character_problem(b["team"])
            if problem is not None:
                raise ValueError(f"badges[{i}].team: {problem}")  # noqa: TRY301 - prefixed with the path by the except below
            out[b["badge"]] = BadgeEntry(b["badge"], b["team"], bool(b.get("active", True)))
    except safe_yaml.YamlLimitError as exc:
        raise ValueError(f"{path}: badges file refused: {exc}") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read badges file: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return out
