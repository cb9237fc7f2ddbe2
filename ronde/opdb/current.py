"""What the reading roles take from the operational database: the registry in force, its revision and content
digest (``registry_revisions``), and the service calendar (``service_calendars``), in one read transaction.

``ronde audit`` binds its reports to that revision and digest; ``ronde dashboards`` labels its panels with that
registry. Open the engine with ``ronde.opdb.startup.open_role_database`` (URL resolution and ``require_current``)
first.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from ronde.opdb.engine import read_only, session_factory, shown
from ronde.opdb.models import RegistryStateRow, RevisionRow
from ronde.opdb.registry_repo import load_registry
from ronde.opdb.service_repo import get_calendars
from ronde.protocol.calendar import Calendars
from ronde.protocol.estate import Registry
from ronde.protocol.estate_digest import registry_digest

__all__ = ["CurrentRegistry", "NoRegistry", "load_current", "load_revision_digests", "read_current", "revision_digests"]


class NoRegistry(RuntimeError):
    """The database holds no registry (``ronde registry import`` first), or its rows no longer match the digest
    of the revision they claim to be."""


@dataclass(frozen=True, slots=True)
class CurrentRegistry:
    registry: Registry  # without EID identity keys
    revision: str  # the label of the revision in force
    digest: str  # its content digest, as stored in registry_revisions
    calendar: Calendars  # the default calendar and each estate's own (held to ``check_calendar``)


def read_current(engine: Engine) -> CurrentRegistry:
    """The registry in force, its revision and digest, and the service calendars. Raises NoRegistry on an
    empty database, or when the rows' content is not the stored digest of their revision (rows edited outside
    Ronde: a report must not bind a digest its figures were not computed from); CalendarError for a calendar
    row that breaks the calendar rule."""
    with session_factory(read_only(engine))() as s, s.begin():
        state = s.get(RegistryStateRow, 1)
        row = None if state is None or state.revision_id is None else s.get(RevisionRow, state.revision_id)
        registry, _ = load_registry(s, None)
        if row is None or registry is None:
            raise NoRegistry(
                f"the operational database {shown(engine.url)} holds no registry yet: run "
                "`ronde registry import --estate FILE` (docs/opdb.md)"
            )
        calendar = get_calendars(s)
        revision, digest = row.label, row.digest
    content = registry_digest(registry)
    if content != digest:
        raise NoRegistry(
            f"the operational database {shown(engine.url)}: the registry rows' content digest {content} is not the "
            f"digest {digest} stored for their revision {revision!r}: edited outside Ronde? Import the estate again"
        )
    return CurrentRegistry(registry, revision, digest, calendar)


def revision_digests(engine: Engine) -> dict[str, str]:
    """Every registry revision the database ever held: label → content digest (what ``ronde audit verify``
    checks a report's revision against)."""
    with session_factory(read_only(engine))() as s:
        return {label: digest for label, digest in s.execute(select(RevisionRow.label, RevisionRow.digest))}


def load_current(explicit_url: str | None = None) -> CurrentRegistry:
    """``read_current`` on the database a role is pointed at (``--database``, else ``RONDE_DATABASE_URL``, else the
    SQLite default), after ``require_current``: the start-up of every role (``ronde.opdb.startup``). Raises
    DatabaseStartupError (the message names ``ronde db upgrade``), NoRegistry or CalendarError."""
    from ronde.opdb.startup import open_role_database

    database = open_role_database(explicit_url)
    try:
        return read_current(database.engine)
    finally:
        database.dispose()


def load_revision_digests(explicit_url: str | None = None) -> dict[str, str]:
    """``revision_digests`` on the database a role is pointed at, after ``require_current``."""
    from ronde.opdb.startup import open_role_database

    database = open_role_database(explicit_url)
    try:
        return revision_digests(database.engine)
    finally:
        database.dispose()
