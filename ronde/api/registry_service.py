"""The live registry behind the API: the estate plus gateways and team badges.

Changes are validated by rebuilding an ``EstateDocument`` (so cross-references are checked by the
same code as the estate file), swapped in atomically, and written to the registry files if
configured (write to a temporary file, then rename). EID identity keys are kept server-side: the
export omits them and an import that omits them keeps the current ones.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ronde.protocol import safe_yaml
from ronde.protocol.estate import (
    EstateDocument,
    EstateError,
    EstateFileError,
    Registry,
    estate_errors,
    parse_estate,
    registry_from_document,
)
from ronde.protocol.estate_digest import registry_digest
from ronde.protocol.gateways import EnrolmentError, GatewayEntry, GatewayRegistry, dump_gateways, load_gateways
from ronde.protocol.messages import BADGE_PATTERN
from ronde.protocol.plain_text import control_character_problem


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
        "buildings": [
            {"id": x.id, "name": x.name, "estate": x.estate, "landlord": x.landlord, "dwellings": x.dwellings}
            for x in registry.buildings.values()
        ],
        "checkpoints": [
            {
                "id": c.id, "name": c.name, "kind": c.kind.value, "estate": c.estate, "landlord": c.landlord,
                "building": c.building, "lat": c.lat, "lon": c.lon, "level": c.level,
                "expected_visits": c.expected_visits, "radius_m": c.radius_m,
                "beacon": _beacon_dict(registry, c.id, secrets=secrets),
            }
            for c in registry.checkpoints.values()
        ],
        "paths": [{"a": a, "b": b} for a, b in registry.paths],
    }


def registry_to_yaml(registry: Registry, *, secrets: bool) -> str:
    head = "# Ronde estate file, exported by the API.\n"
    if not secrets:
        head += "# EID identity keys are omitted (write-only); re-importing keeps the server's keys.\n"
    return head + yaml.safe_dump(registry_to_data(registry, secrets=secrets), sort_keys=False, allow_unicode=True)


def _line_index(text: str) -> dict[tuple[str | int, ...], int]:
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


class RegistryService:
    def __init__(
        self,
        registry: Registry,
        *,
        gateways: GatewayRegistry | None = None,
        badges: Mapping[str, BadgeEntry] | None = None,
        estate_file: Path | None = None,
        gateways_file: Path | None = None,
        badges_file: Path | None = None,
    ) -> None:
        """Files given here are loaded when ``gateways``/``badges`` are not, and rewritten on change."""
        self._lock = threading.Lock()
        self._registry = registry
        if gateways is None and gateways_file is not None and gateways_file.exists():
            gateways = load_gateways(gateways_file)
        if badges is None and badges_file is not None and badges_file.exists():
            badges = load_badges(badges_file)
        self._gateways = gateways if gateways is not None else GatewayRegistry()
        self._badges: dict[str, BadgeEntry] = dict(badges or {})
        self._estate_file = estate_file
        self._gateways_file = gateways_file
        self._badges_file = badges_file
        self._revisions: dict[str, str] = self._load_revisions()
        self._revisions.setdefault(registry.revision, registry_digest(registry))

    # ---- reads (snapshots: attribute reads are atomic) ----

    @property
    def registry(self) -> Registry:
        return self._registry

    @property
    def gateways(self) -> GatewayRegistry:
        return self._gateways

    def badges(self) -> dict[str, BadgeEntry]:
        return dict(self._badges)

    # ---- estate changes ----

    def _data_with(self, section: str, item: dict[str, Any] | None, item_id: str) -> dict[str, Any]:
        data = registry_to_data(self._registry, secrets=True)
        items = [x for x in data[section] if x["id"] != item_id]
        if item is not None:
            old = [i for i, x in enumerate(data[section]) if x["id"] == item_id]
            items.insert(old[0] if old else len(items), item)
        data[section] = items
        return data

    def _apply(self, data: dict[str, Any]) -> Registry:
        data["revision"] = datetime.now(UTC).strftime("api-%Y%m%dT%H%M%S.%fZ")
        try:
            doc = EstateDocument.model_validate(data)
        except ValidationError as exc:
            raise RegistryChangeError(_errors_of(exc)) from None
        self._install(doc)
        return self._registry

    def _install(self, doc: EstateDocument) -> None:
        registry = registry_from_document(doc)
        if self._estate_file is not None:
            _atomic_write(self._estate_file, registry_to_yaml(registry, secrets=True))
        self._registry = registry
        if registry.revision not in self._revisions:
            self._revisions[registry.revision] = registry_digest(registry)
            if self._estate_file is not None:
                _atomic_write(self._revisions_file(self._estate_file), json.dumps(self._revisions, indent=1) + "\n")

    # ---- revision labels: one content each ----

    @staticmethod
    def _revisions_file(estate_file: Path) -> Path:
        return estate_file.with_name(estate_file.name + ".revisions.json")

    def _load_revisions(self) -> dict[str, str]:
        """Revision → content digest of every registry installed here (kept beside the registry file,
        so a restart still refuses a reused label)."""
        if self._estate_file is None:
            return {}
        path = self._revisions_file(self._estate_file)
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: cannot read the revision history: {exc}") from None
        if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            raise ValueError(f"{path}: the revision history must map revision labels to digests")
        return dict(data)

    def check_revision(self, doc: EstateDocument) -> None:
        """Raise RevisionConflict when ``doc`` reuses a revision label for another content."""
        used = self._revisions.get(doc.revision)
        if used is None:
            return
        digest = registry_digest(registry_from_document(doc))
        if digest != used:
            raise RevisionConflict(
                f"revision {doc.revision!r} is already used for another registry content (digest {used[:16]}…, "
                f"this file {digest[:16]}…): give the changed estate file a new revision"
            )

    def put(self, section: str, item_id: str, item: dict[str, Any]) -> Registry:
        """Create or replace one landlord/estate/building/checkpoint (``section`` is the file's key)."""
        with self._lock:
            if section == "checkpoints":
                item = self._keep_eid_key(item_id, item)
            return self._apply(self._data_with(section, {**item, "id": item_id}, item_id))

    def delete(self, section: str, item_id: str) -> Registry:
        with self._lock:
            data = self._data_with(section, None, item_id)
            if section == "checkpoints":
                data["paths"] = [p for p in data["paths"] if item_id not in (p["a"], p["b"])]
            return self._apply(data)

    def _keep_eid_key(self, checkpoint_id: str, item: dict[str, Any]) -> dict[str, Any]:
        beacon = item.get("beacon")
        current = self._registry.checkpoints.get(checkpoint_id)
        if (
            isinstance(beacon, dict) and beacon.get("format") == "eddystone_eid" and "identity_key" not in beacon
            and current is not None and current.beacon.identity_key is not None
        ):
            return {**item, "beacon": {**beacon, "identity_key": current.beacon.identity_key.hex()}}
        return item

    def check_import(self, text: str, source: str = "estate.yaml") -> EstateDocument:
        """Validate an estate file (errors carry their line); EID keys omitted by an export are refilled."""
        try:
            data: Any = safe_yaml.safe_load(text, source)
        except yaml.YAMLError:  # YamlLimitError included
            return parse_estate(text, source)  # reports the YAML error or the limit with its line
        refill = False
        if isinstance(data, dict) and isinstance(data.get("checkpoints"), list):
            for i, c in enumerate(data["checkpoints"]):
                if isinstance(c, dict) and isinstance(c.get("id"), str):
                    filled = self._keep_eid_key(c["id"], c)
                    if filled is not c:
                        data["checkpoints"][i] = filled
                        refill = True
        if not refill:
            return parse_estate(text, source)
        try:
            return parse_estate(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), source)
        except EstateFileError as exc:
            lines = _line_index(text)
            errors = [
                EstateError(_nearest(lines, _location_tuple(e.location)), e.location, e.message) for e in exc.errors
            ]
            raise EstateFileError(source, errors) from None

    def import_text(self, text: str, source: str = "estate.yaml") -> Registry:
        with self._lock:
            doc = self.check_import(text, source)
            self.check_revision(doc)
            self._install(doc)
            return self._registry

    # ---- gateways (ingest's gateways file) and team badges ----

    def put_gateway(self, entry: GatewayEntry) -> None:
        """Enrol or re-key a gateway with the same checks as the gateways file (``GatewayRegistry.enrol``:
        no reserved id, no key enrolled under another id); build ``entry`` with ``gateway_entry``,
        which vets the key itself."""
        with self._lock:
            try:
                self._gateways = self._gateways.enrol(entry)
            except EnrolmentError as exc:
                raise RegistryChangeError([EstateError(None, "public_key", str(exc))]) from None
            if self._gateways_file is not None:
                _atomic_write(self._gateways_file, dump_gateways(self._gateways))

    def delete_gateway(self, gateway_id: str) -> bool:
        with self._lock:
            entries = dict(self._gateways.entries)
            found = entries.pop(gateway_id, None) is not None
            self._gateways = GatewayRegistry(entries)
            if found and self._gateways_file is not None:
                _atomic_write(self._gateways_file, dump_gateways(self._gateways))
            return found

    def put_badge(self, entry: BadgeEntry) -> None:
        with self._lock:
            self._badges[entry.badge] = entry
            self._save_badges()

    def delete_badge(self, badge: str) -> bool:
        with self._lock:
            found = self._badges.pop(badge, None) is not None
            self._save_badges()
            return found

    def _save_badges(self) -> None:
        if self._badges_file is None:
            return
        data = {
            "format": "ronde-badges",
            "version": 1,
            "badges": [{"badge": b.badge, "team": b.team, "active": b.active} for b in self._badges.values()],
        }
        _atomic_write(self._badges_file, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def load_badges(path: Path) -> dict[str, BadgeEntry]:
    """The team badges file (``format: ronde-badges``): pseudonyms only, never names.

    Badges must be valid wire badges (``BADGE_PATTERN``, whole string) and teams one line of visible
    text, since both are shown in API answers and on the supervision pages."""
    try:
        data: Any = safe_yaml.load_file(path)
        if not isinstance(data, dict) or data.get("format") != "ronde-badges":
            raise ValueError("expected a mapping with format: ronde-badges")
        out: dict[str, BadgeEntry] = {}
        for i, b in enumerate(data.get("badges") or []):
            if not isinstance(b, dict) or not isinstance(b.get("badge"), str) or not isinstance(b.get("team"), str):
                raise ValueError(f"badges[{i}]: needs 'badge' and 'team' strings")
            if not re.fullmatch(BADGE_PATTERN, b["badge"]):
                raise ValueError(f"badges[{i}].badge: {b['badge']!r} is not a valid badge ({BADGE_PATTERN})")
            problem = control_character_problem(b["team"])
            if problem is not None:
                raise ValueError(f"badges[{i}].team: {problem}")
            out[b["badge"]] = BadgeEntry(b["badge"], b["team"], bool(b.get("active", True)))
        return out
    except safe_yaml.YamlLimitError as exc:
        raise ValueError(f"{path}: badges file refused: {exc}") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read badges file: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _nearest(lines: dict[tuple[str | int, ...], int], loc: tuple[str | int, ...]) -> int | None:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def _errors_of(exc: ValidationError) -> list[EstateError]:
    return estate_errors(exc)


def _atomic_write(path: Path, text: str) -> None:
    """Write a sibling temporary file (owner-only: the estate file holds EID keys), fsync, rename."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
