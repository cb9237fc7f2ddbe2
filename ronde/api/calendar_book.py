"""The service calendars the API judges by, and where its calendar routes write them.

``DbCalendars`` (``ronde api serve``, the operational database): the ``Calendars`` are read again when the registry
``version`` row moved (read on every access, one indexed row, as ``DbRegistryService`` does), so a change made by
``ronde calendar`` or through another API process is in force here at once. ``FixedCalendars``: a calendar handed
in (tests, file mode, the demo's accelerated evening); it refuses writes, which belong to the database.
"""

from __future__ import annotations

import logging
import threading
import time
from contextvars import ContextVar
from datetime import date
from typing import TYPE_CHECKING, Protocol

from ronde.protocol.calendar import CalendarError, Calendars, ServiceCalendar

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["CalendarBook", "CalendarsReadOnly", "DbCalendars", "FixedCalendars"]

log = logging.getLogger(__name__)

MEMO_S = 1.0
# (book, monotonic deadline, calendars): within one request handler's context (each request, and each sync
# handler's thread call, runs in its own copy), the calendars already checked against the version row are reused
# for up to MEMO_S, so a page that asks ``ctx.calendar`` for each of 30 days reads the version row once; the next
# request checks again, so a change made elsewhere still holds at once.
_MEMO: ContextVar[tuple[int, float, Calendars] | None] = ContextVar("ronde_calendars_memo", default=None)


class CalendarsReadOnly(RuntimeError):
    """This API holds a calendar handed in at start-up: changes go to the operational database."""


class CalendarBook(Protocol):
    @property
    def calendars(self) -> Calendars: ...

    def put(self, calendar: ServiceCalendar, *, estate: str | None) -> Calendars: ...

    def set_closed(self, day: date, *, closed: bool, estate: str | None) -> Calendars: ...

    def drop(self, estate: str) -> Calendars: ...


class FixedCalendars:
    def __init__(self, calendar: ServiceCalendar) -> None:
        self._calendars = calendar if isinstance(calendar, Calendars) else Calendars.of(calendar)

    @property
    def calendars(self) -> Calendars:
        return self._calendars

    def _refuse(self) -> Calendars:
        raise CalendarsReadOnly(
            "this API was started with a fixed service calendar: change it in the operational database "
            "(`ronde calendar`, or the API of `ronde api serve --database URL`)"
        )

    def put(self, calendar: ServiceCalendar, *, estate: str | None) -> Calendars:  # noqa: ARG002 - refused
        return self._refuse()

    def set_closed(self, day: date, *, closed: bool, estate: str | None) -> Calendars:  # noqa: ARG002 - refused
        return self._refuse()

    def drop(self, estate: str) -> Calendars:  # noqa: ARG002 - refused
        return self._refuse()


class DbCalendars:
    """The operational database's calendars (sqlalchemy and ``ronde.opdb`` are imported when one is built)."""

    def __init__(self, engine: Engine) -> None:
        from sqlalchemy import select

        from ronde.opdb import service_repo
        from ronde.opdb.engine import read_only, session_factory
        from ronde.opdb.models import RegistryStateRow

        self._repo = service_repo
        self._sessions = session_factory(engine)
        self._read = session_factory(read_only(engine))
        self._version = select(RegistryStateRow.version).where(RegistryStateRow.id == 1)
        self._engine = engine
        self._lock = threading.Lock()
        self._held: tuple[int, Calendars] | None = None

    @property
    def calendars(self) -> Calendars:
        """Read again only when the registry version moved (every change of a calendar bumps it)."""
        memo = _MEMO.get()
        if memo is not None and memo[0] == id(self) and time.monotonic() < memo[1]:
            return memo[2]
        calendars = self.current()
        _MEMO.set((id(self), time.monotonic() + MEMO_S, calendars))
        return calendars

    def current(self) -> Calendars:
        """The calendars in force now, checked against the version row (no memo: what start-up checks)."""
        with self._engine.connect() as conn:
            version = int(conn.execute(self._version).scalar() or 0)
        held = self._held
        if held is not None and held[0] == version:
            return held[1]
        with self._lock, self._read() as s, s.begin():
            version = int(s.execute(self._version).scalar() or 0)
            try:
                calendars = self._repo.get_calendars(s)
            except CalendarError as exc:  # a row edited by hand: the calendars in force stay (none yet: raise)
                if held is None:
                    raise
                message = "service calendar at version %d refused, version %d stays in force: %s"
                log.error(message, version, held[0], exc)  # noqa: TRY400 - its message, no traceback
                calendars = held[1]
        self._held = (version, calendars)
        return calendars

    def put(self, calendar: ServiceCalendar, *, estate: str | None) -> Calendars:
        with self._sessions.begin() as s:
            self._repo.put_calendar(s, calendar, estate=estate)
        _MEMO.set(None)
        return self.calendars

    def set_closed(self, day: date, *, closed: bool, estate: str | None) -> Calendars:
        with self._sessions.begin() as s:
            self._repo.set_closed(s, day, closed=closed, estate=estate)
        _MEMO.set(None)
        return self.calendars

    def drop(self, estate: str) -> Calendars:
        with self._sessions.begin() as s:
            self._repo.drop_calendar(s, estate)
        _MEMO.set(None)
        return self.calendars
