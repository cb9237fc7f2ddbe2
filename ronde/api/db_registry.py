"""The registry behind the API when it lives in the operational database (``ronde api serve``).

The same interface as ``RegistryService`` (the routes do not know which they talk to), backed by
``ronde.opdb``: reads come from one read transaction (registry without EID keys, gateways in force, team
badges), cached until the registry ``version`` row changes, which is read on every access (one indexed row),
so a change made through another API process on the same database is seen at once. Every change is one
transaction of the repositories, serialised across processes by the ``registry_state`` row lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import Engine, select

from ronde.opdb import access_repo
from ronde.opdb.engine import read_only, session_factory
from ronde.opdb.models import RegistryStateRow
from ronde.opdb.registry_repo import RegistryRepository, load_registry
from ronde.opdb.sealing import SecretBox
from ronde.protocol.estate import EstateDocument, EstateError, Registry
from ronde.protocol.gateways import EnrolmentError, GatewayEntry, GatewayRegistry
from ronde.protocol.registry_data import BadgeEntry, RegistryChangeError, check_estate_import

__all__ = ["DbRegistryService", "EmptyRegistry"]

NO_KEY = (
    "registry changes need the sealing key of the EID identity keys: set RONDE_OPDB_SECRET_KEY "
    "(or RONDE_OPDB_SECRET_KEY_FILE) for `ronde api serve`"
)


class EmptyRegistry(RuntimeError):
    """The operational database holds no registry yet: `ronde registry import --estate FILE` first."""


@dataclass(frozen=True, slots=True)
class _View:
    version: int
    registry: Registry
    eid_enrolled: frozenset[str]
    gateways: GatewayRegistry
    badges: dict[str, BadgeEntry]


class DbRegistryService:
    def __init__(self, engine: Engine, box: SecretBox | None = None) -> None:
        self.engine = engine
        self._box = box
        self._repo = RegistryRepository(engine, box)
        self._sessions = session_factory(engine)
        self._read = session_factory(read_only(engine))
        self._lock = threading.Lock()
        self._view: _View | None = None

    # ---- reads: one consistent view per registry version ----

    def _current(self) -> _View:
        view = self._view
        if view is not None and view.version == self._repo.version():
            return view
        with self._lock, self._read() as s, s.begin():
            version = s.execute(select(RegistryStateRow.version).where(RegistryStateRow.id == 1)).scalar()
            registry, enrolled = load_registry(s, None)
            if registry is None:
                raise EmptyRegistry(
                    f"the operational database {self.engine.url.render_as_string(hide_password=True)} holds no "
                    "registry yet: run `ronde registry import --estate FILE` (and --gateways, --badges, --tokens)"
                )
            view = _View(int(version or 0), registry, enrolled, access_repo.gateway_registry(s), access_repo.badges(s))
            self._view = view
            return view

    @property
    def registry(self) -> Registry:
        """The registry in force, without EID identity keys (``has_identity_key`` says which have one)."""
        return self._current().registry

    @property
    def gateways(self) -> GatewayRegistry:
        return self._current().gateways

    def badges(self) -> dict[str, BadgeEntry]:
        return dict(self._current().badges)

    def has_identity_key(self, checkpoint_id: str) -> bool:
        return checkpoint_id in self._current().eid_enrolled

    def version(self) -> int:
        return self._repo.version()

    # ---- estate changes ----

    def _need_box(self) -> None:
        if self._box is None and self._current().eid_enrolled:
            raise RegistryChangeError([EstateError(None, "", NO_KEY)])

    def put(self, section: str, item_id: str, item: dict[str, object], *, author: str = "api") -> Registry:
        self._need_box()
        self._repo.put(section, item_id, dict(item), author=author)
        return self.registry

    def delete(self, section: str, item_id: str, *, author: str = "api") -> Registry:
        self._need_box()
        self._repo.delete(section, item_id, author=author)
        return self.registry

    def check_import(self, text: str, source: str = "estate.yaml") -> EstateDocument:
        """Validate an estate file (errors carry their line); EID keys omitted by an export are refilled from
        the database (which needs the sealing key)."""
        current = self._repo.registry_with_keys() if self._box is not None else self.registry
        return check_estate_import(text, current, source)

    def import_text(self, text: str, source: str = "estate.yaml", *, author: str = "api") -> Registry:
        doc = self.check_import(text, source)
        self._repo.install(doc, author=author)  # RevisionConflict: a used label with another content
        return self.registry

    # ---- gateways and team badges ----

    def put_gateway(self, entry: GatewayEntry) -> None:
        """Enrol or re-key a gateway with the gateways file's checks (``GatewayRegistry.enrol``)."""
        try:
            with self._sessions.begin() as s:
                access_repo.put_gateway(s, entry)
        except EnrolmentError as exc:
            raise RegistryChangeError([EstateError(None, "public_key", str(exc))]) from None

    def delete_gateway(self, gateway_id: str) -> bool:
        """Revoke (never delete: what was once allowed stays answerable)."""
        with self._sessions.begin() as s:
            return access_repo.revoke_gateway(s, gateway_id)

    def put_badge(self, entry: BadgeEntry) -> None:
        with self._sessions.begin() as s:
            access_repo.put_badge(s, entry)

    def delete_badge(self, badge: str) -> bool:
        with self._sessions.begin() as s:
            return access_repo.delete_badge(s, badge)
