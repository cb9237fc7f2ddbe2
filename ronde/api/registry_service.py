"""The live registry behind the API: the estate plus gateways and team badges.

Changes are validated by rebuilding an ``EstateDocument`` (so cross-references are checked by the
same code as the estate file) and swapped in atomically. ``RegistryService`` keeps them in memory only
(``create_app``: tests, benchmarks): the API writes no registry file; what lasts is the operational
database's (``ronde.api.db_registry.DbRegistryService``). EID identity keys are kept server-side: the
export omits them and an import that omits them keeps the current ones.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import ValidationError

from ronde.protocol.estate import EstateDocument, EstateError, Registry, registry_from_document
from ronde.protocol.estate_digest import registry_digest
from ronde.protocol.gateways import EnrolmentError, GatewayEntry, GatewayRegistry
from ronde.protocol.registry_data import (
    BadgeEntry,
    RegistryChangeError,
    RevisionConflict,
    change_errors,
    check_estate_import,
    keep_eid_key,
    load_badges,
    registry_to_data,
    registry_to_yaml,
)

__all__ = [
    "BadgeEntry",
    "Registries",
    "RegistryChangeError",
    "RegistryService",
    "RevisionConflict",
    "load_badges",
    "registry_to_data",
    "registry_to_yaml",
]


class Registries(Protocol):
    """What the routes ask of the registry: ``RegistryService`` (in memory, optionally YAML files) or
    ``ronde.api.db_registry.DbRegistryService`` (the operational database, what ``ronde api serve`` uses)."""

    @property
    def registry(self) -> Registry: ...

    @property
    def gateways(self) -> GatewayRegistry: ...

    def badges(self) -> dict[str, BadgeEntry]: ...

    def has_identity_key(self, checkpoint_id: str) -> bool: ...

    def put(self, section: str, item_id: str, item: dict[str, Any], *, author: str = "api") -> Registry: ...

    def delete(self, section: str, item_id: str, *, author: str = "api") -> Registry: ...

    def check_import(self, text: str, source: str = "estate.yaml") -> EstateDocument: ...

    def import_text(self, text: str, source: str = "estate.yaml", *, author: str = "api") -> Registry: ...

    def put_gateway(self, entry: GatewayEntry) -> None: ...

    def delete_gateway(self, gateway_id: str) -> bool: ...

    def put_badge(self, entry: BadgeEntry) -> None: ...

    def delete_badge(self, badge: str) -> bool: ...


class RegistryService:
    def __init__(
        self,
        registry: Registry,
        *,
        gateways: GatewayRegistry | None = None,
        badges: Mapping[str, BadgeEntry] | None = None,
    ) -> None:
        """In memory only: nothing is read from nor written to any file."""
        self._lock = threading.Lock()
        self._registry = registry
        self._gateways = gateways if gateways is not None else GatewayRegistry()
        self._badges: dict[str, BadgeEntry] = dict(badges or {})
        # revision → content digest of every registry installed here: a label names one content
        self._revisions: dict[str, str] = {registry.revision: registry_digest(registry)}

    # ---- reads (snapshots: attribute reads are atomic) ----

    @property
    def registry(self) -> Registry:
        return self._registry

    @property
    def gateways(self) -> GatewayRegistry:
        return self._gateways

    def badges(self) -> dict[str, BadgeEntry]:
        return dict(self._badges)

    def has_identity_key(self, checkpoint_id: str) -> bool:
        c = self._registry.checkpoints.get(checkpoint_id)
        return c is not None and c.beacon.identity_key is not None

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
            raise RegistryChangeError(change_errors(exc)) from None
        self._install(doc)
        return self._registry

    def _install(self, doc: EstateDocument) -> None:
        registry = registry_from_document(doc)
        self._registry = registry
        self._revisions.setdefault(registry.revision, registry_digest(registry))

    # ---- revision labels: one content each ----

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

    def put(self, section: str, item_id: str, item: dict[str, Any], *, author: str = "api") -> Registry:  # noqa: ARG002 - Registries protocol: only the database mode records the author
        """Create or replace one landlord/estate/building/checkpoint (``section`` is the file's key)."""
        with self._lock:
            if section == "checkpoints":
                item = self._keep_eid_key(item_id, item)
            return self._apply(self._data_with(section, {**item, "id": item_id}, item_id))

    def delete(self, section: str, item_id: str, *, author: str = "api") -> Registry:  # noqa: ARG002 - Registries protocol: only the database mode records the author
        with self._lock:
            data = self._data_with(section, None, item_id)
            if section == "checkpoints":
                data["paths"] = [p for p in data["paths"] if item_id not in (p["a"], p["b"])]
            return self._apply(data)

    def _keep_eid_key(self, checkpoint_id: str, item: dict[str, Any]) -> dict[str, Any]:
        return keep_eid_key(self._registry, checkpoint_id, item)

    def check_import(self, text: str, source: str = "estate.yaml") -> EstateDocument:
        """Validate an estate file (errors carry their line); EID keys omitted by an export are refilled."""
        return check_estate_import(text, self._registry, source)

    def import_text(self, text: str, source: str = "estate.yaml", *, author: str = "api") -> Registry:  # noqa: ARG002 - Registries protocol: only the database mode records the author
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

    def delete_gateway(self, gateway_id: str) -> bool:
        with self._lock:
            entries = dict(self._gateways.entries)
            found = entries.pop(gateway_id, None) is not None
            self._gateways = GatewayRegistry(entries)
            return found

    def put_badge(self, entry: BadgeEntry) -> None:
        with self._lock:
            self._badges[entry.badge] = entry

    def delete_badge(self, badge: str) -> bool:
        with self._lock:
            return self._badges.pop(badge, None) is not None
