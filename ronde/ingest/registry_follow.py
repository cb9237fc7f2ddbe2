"""What a worker validates with, from the operational database, and following its changes by itself.

``DbReference`` reads the reference data in one read transaction (one consistent picture): the registry
``version`` row, the registry with its EID identity keys opened (``load_registry`` with the sealing key, what
``RegistryRepository.registry_with_keys`` does), the gateways in force (revoked ones left out, with their badges)
and the service calendars (``Calendars``: the default and each estate's own). ``RegistryFollower`` reads the
version row every ``registry_poll_s`` (one indexed row: see ``bench/bench_registry_follow.py`` for its cost per
batch) and, when it moved, reads the whole reference again and hands it to the worker, which swaps its validation
context in one attribute assignment (``IngestWorker.apply_reference``). ``poll_now()`` (SIGHUP in
``ronde ingest run``) polls at once.

A database outage does not stop ingest: the reference in force stays, the outage is logged once (and its end
once), and the version is read again after full-jitter backoff delays (``ronde.protocol.backoff``) from
``registry_poll_s`` up to ``max(30 s, registry_poll_s)``. A reference that cannot be used (EID beacons enrolled
but no sealing key in this worker's environment, an empty registry) is refused, logged, and the one in force
stays until the next change; so is a service calendar row that breaks the calendar rule (edited outside Ronde).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from ronde.opdb import access_repo, service_repo
from ronde.opdb.engine import read_only, session_factory
from ronde.opdb.models import RegistryStateRow
from ronde.opdb.registry_repo import load_registry
from ronde.opdb.sealing import KEY_VARIABLE, SecretBox, SecretKeyError
from ronde.protocol.backoff import Backoff
from ronde.protocol.calendar import CalendarError, ServiceCalendar
from ronde.protocol.estate import Registry
from ronde.protocol.gateways import GatewayRegistry

__all__ = ["DbReference", "Reference", "ReferenceRefused", "ReferenceSource", "RegistryFollower"]

log = logging.getLogger(__name__)

DATABASE_ERRORS: tuple[type[BaseException], ...] = (SQLAlchemyError, OSError)


@dataclass(frozen=True, slots=True)
class Reference:
    """The registry (EID keys included), the gateways in force and the calendar, at one ``version``."""

    version: int
    registry: Registry
    gateways: GatewayRegistry
    calendar: ServiceCalendar  # a ``Calendars``: ``calendar.for_estate(id)`` is an estate's own

    def describe(self) -> str:
        # the key's text, not ``public_key``: that would load ``cryptography`` (8 MB) in every worker at start
        keyed = sum(1 for e in self.gateways.entries.values() if e.public_key_text is not None)
        return (
            f"registry version {self.version} in force: estate revision {self.registry.revision}, "
            f"{len(self.registry.checkpoints)} checkpoints, {len(self.gateways)} gateways enrolled "
            f"({keyed} with an Ed25519 key)"
        )


class ReferenceRefused(RuntimeError):
    """The database holds a reference this worker cannot validate with; the message says why."""


class ReferenceSource(Protocol):
    def version(self) -> int: ...

    def load(self) -> Reference: ...


class DbReference:
    """The reference data of one operational database (``box``: the sealing key of the EID identity keys)."""

    def __init__(self, engine: Engine, box: SecretBox | None) -> None:
        self.engine = engine
        self.box = box
        self._read = session_factory(read_only(engine))
        self._version = select(RegistryStateRow.version).where(RegistryStateRow.id == 1)

    def version(self) -> int:
        """One indexed row (what the follower reads every ``registry_poll_s``)."""
        with self.engine.connect() as conn:
            return int(conn.execute(self._version).scalar() or 0)

    def load(self) -> Reference:
        """Everything at one version, in one read transaction. ReferenceRefused: nothing usable."""
        with self._read() as s, s.begin():
            version = int(s.execute(self._version).scalar() or 0)
            try:
                registry, eid_enrolled = load_registry(s, self.box)
            except SecretKeyError as exc:
                raise ReferenceRefused(f"the EID identity keys do not open: {exc}") from None
            if registry is None:
                raise ReferenceRefused(
                    f"the operational database {self.engine.url.render_as_string(hide_password=True)} holds no "
                    "registry yet: run `ronde registry import --estate FILE --gateways FILE` first"
                )
            if eid_enrolled and self.box is None:
                raise ReferenceRefused(
                    f"{len(eid_enrolled)} EID beacon(s) are enrolled and their identity keys are sealed: set "
                    f"{KEY_VARIABLE} (or {KEY_VARIABLE}_FILE) for this worker, as for the API"
                )
            try:
                calendars = service_repo.get_calendars(s)
            except CalendarError as exc:  # a row edited outside Ronde: refused like any unusable reference
                raise ReferenceRefused(f"service calendar refused: {exc}") from None
            return Reference(version, registry, access_repo.gateway_registry(s), calendars)


class RegistryFollower:
    """Polls ``source.version()`` every ``poll_s``; on a change, loads the reference and calls ``apply``."""

    def __init__(
        self,
        source: ReferenceSource,
        *,
        version: int,
        poll_s: float = 2.0,
        backoff: Backoff | None = None,
    ) -> None:
        self.source = source
        self.version = version  # the version in force
        self.poll_s = poll_s
        self.backoff = backoff or Backoff(poll_s, max(30.0, poll_s))
        self._wake = threading.Event()
        self._down = False
        self._refused: int | None = None  # a version refused once is not loaded again at every poll
        self.polls = 0
        self.applied = 0

    @property
    def database_down(self) -> bool:
        return self._down

    def poll_now(self) -> None:
        """Poll at once (SIGHUP), whatever the delay left."""
        self._wake.set()

    def run(self, stopping: threading.Event, apply: Callable[[Reference], None]) -> None:
        """Poll until ``stopping`` is set (checked every 0.25 s, so the worker stops promptly)."""
        delay = self.poll_s
        while not stopping.is_set():
            deadline = time.monotonic() + delay
            while not stopping.is_set() and not self._wake.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._wake.wait(min(left, 0.25))
            if stopping.is_set():
                return
            self._wake.clear()
            delay = self.poll_once(apply)

    def poll_once(self, apply: Callable[[Reference], None]) -> float:
        """One poll; returns the delay before the next one."""
        self.polls += 1
        try:
            version = self.source.version()
            if version not in (self.version, self._refused):
                self._load(version, apply)
        except DATABASE_ERRORS as exc:
            if not self._down:
                self._down = True
                log.warning(
                    "operational database unreachable (%s): registry version %d stays in force; retrying with backoff",
                    _one_line(exc),
                    self.version,
                )
            return self.backoff.next_delay()
        if self._down:
            self._down = False
            log.info("operational database reachable again (registry version %d in force)", self.version)
        self.backoff.reset()
        return self.poll_s

    def _load(self, version: int, apply: Callable[[Reference], None]) -> None:
        try:
            reference = self.source.load()
        except ReferenceRefused as exc:
            self._refused = version
            log.error("registry change refused, version %d stays in force: %s", self.version, exc)  # noqa: TRY400 - its message, no traceback
            return
        apply(reference)
        self.version = reference.version
        self._refused = None
        self.applied += 1
        log.info("%s", reference.describe())


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__
