"""Reads a request is about to make, started together on a few threads (``Store.reading_ahead``).

Why: on InfluxDB a cold coverage request waits on influxd, then computes, then waits again: its wall time is the
sum of the API's CPU and influxd's (a landlord's cold year at city scale: ~250 ms and ~200 ms, a 300 ms target). The
open tail's daily figures, the heard days around it and tonight's visits do not depend on the settled part the
request folds first; started at the request's start, influxd answers them on the other core while the API folds,
and each is then served to the very call that would have made it. A read is served once, to the thread that
started it, within the ``with`` that started it (so at most that request's age old, as if the request had made it a
little earlier); one no call takes is dropped at the end (its thread finishes it, its answer or error is ignored).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from typing import Any, NamedTuple

log = logging.getLogger(__name__)


class ReadAhead(NamedTuple):
    """A read a request is about to make: the store method's name and its arguments (``Store.reading_ahead``).

    ``rollup_figures_by_day(first, last, landlord=)`` is served to a later call on any range within ``first..last``
    (the rows of those days: what that call would read); ``heard_days(first, last, landlord=)`` and
    ``visit_spans_kept(first, last, landlord=, day=, kept=None)``, ``span_figures(first, last, landlord=)``,
    ``monthly_figures(first, landlord=)`` (``last`` the same month), ``tail_figures(first, landlord=)`` (``last``
    the same day; so ``monthly_states``, ``suffix_states`` and ``tail_states``, their answers as ``Served``,
    and ``span_states`` as ``span_figures``),
    ``rollup_visited(first, last, landlord=)``, ``rollup_marks(first, last, landlord=)``,
    ``rollup_day_states(first, last, landlord=)``,
    ``latest_gateway_states()`` and ``latest_telemetry()`` (``first``, ``last`` and ``landlord`` None: ``LATEST``)
    to the same call only."""

    method: str
    first: Any  # a date, or a datetime for ``visit_spans_kept``
    last: Any
    landlord: str | None
    day: date | None = None  # ``visit_spans_kept``'s


METHODS = frozenset(
    {
        "rollup_figures_by_day",
        "rollup_day_states",
        "heard_days",
        "visit_spans_kept",
        "span_figures",
        "monthly_figures",
        "rollup_visited",
        "tail_figures",
        "visited_sets",
        "rollup_marks",
        "suffix_figures",
        "monthly_states",
        "suffix_states",
        "tail_states",
        "span_states",
        "latest_gateway_states",
        "latest_telemetry",
    }
)


class Served(NamedTuple):
    """A read's answer that may itself be None (``monthly_states`` and the like): ``take`` gives None for a read
    not started, so those reads are served wrapped."""

    value: Any


LATEST = (ReadAhead("latest_gateway_states", None, None, None), ReadAhead("latest_telemetry", None, None, None))
"""The sensing evidence's reads (``coverage.compute.latest_sensing``): the first a tail's stamp makes."""


class ReadAheads:
    """The pending reads of each thread, and the threads that make them (created on first use)."""

    def __init__(self, max_workers: int = 3) -> None:
        self._max_workers = max_workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._local = threading.local()

    @contextlib.contextmanager
    def started(self, calls: Sequence[tuple[ReadAhead, Callable[[], Any]]]) -> Iterator[None]:
        """Start ``calls`` (each a read and what makes it) and serve them to this thread until the block ends.
        Nested in another block (the API starts the per-day counts' read before the coverage request starts its
        own): its reads join the outer block's, served until the inner block ends, then dropped if not taken."""
        outer: dict[ReadAhead, Future[Any]] | None = getattr(self._local, "pending", None)
        if not calls:
            yield
            return
        pool = self._executor()
        if outer is not None:
            mine = {
                read: pool.submit(make)
                for read, make in calls
                if read not in outer and _visited_holding(outer, read) is None  # derived from it: not read
            }
            outer.update(mine)
            try:
                yield
            finally:
                _drop({read: outer.pop(read) for read in mine if read in outer})
            return
        pending: dict[ReadAhead, Future[Any]] = {read: pool.submit(make) for read, make in calls}
        self._local.pending = pending
        try:
            yield
        finally:
            self._local.pending = None
            _drop(pending)

    def take(self, method: str, first: Any, last: Any, landlord: str | None, day: date | None = None) -> Any:
        """The answer of a pending read for this call, else ``None`` (the caller reads): the same read, or for
        ``rollup_figures_by_day`` one over a range holding ``first..last``, its rows cut to those days, or for
        ``heard_days`` a ``rollup_visited`` over a range holding ``first..last``, left pending for its own call."""
        pending: dict[ReadAhead, Future[Any]] | None = getattr(self._local, "pending", None)
        if not pending:
            return None
        exact = ReadAhead(method, first, last, landlord, day)
        future = pending.pop(exact, None)
        if future is not None:
            return future.result()
        if method == "heard_days":
            holding = _visited_holding(pending, exact)
            return None if holding is None else _heard(holding.result(), first, last)
        if method != "rollup_figures_by_day":
            return None
        for read in list(pending):
            if read.method == method and read.landlord == landlord and read.first <= first and last <= read.last:
                rows = pending.pop(read).result()
                return [r for r in rows if first <= r[0] <= last]
        return None

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._max_workers, thread_name_prefix="ronde-read-ahead")
            return self._pool


def _visited_holding(pending: dict[ReadAhead, Future[Any]], read: ReadAhead) -> Future[Any] | None:
    """A pending ``rollup_visited`` of the same landlord over a range holding a ``heard_days`` ``read``'s: the same
    rows (each day's newest rollups), so that read is derived from it (``_heard``), not made. Why: the API's month
    reads its settled days' visits for its per-day counts, and its open tail the week before it heard; at city scale
    that week is ~20,000 packed rows influxd sends and the API splits twice."""
    if read.method != "heard_days":
        return None
    for other, future in pending.items():
        if (
            other.method == "rollup_visited"
            and other.landlord == read.landlord
            and other.first <= read.first
            and read.last <= other.last
        ):
            return future
    return None


def _heard(visited: dict[date, list[str]], first: date, last: date) -> dict[str, tuple[date, date]]:
    """``Store.heard_days`` of ``first..last`` from ``Store.rollup_visited`` of a range holding it: each checkpoint's
    first and last day with a visit."""
    out: dict[str, tuple[date, date]] = {}
    for day in sorted(d for d in visited if first <= d <= last):
        for cid in visited[day]:
            seen = out.get(cid)
            out[cid] = (day, day) if seen is None else (seen[0], day)
    return out


def _drop(pending: dict[ReadAhead, Future[Any]]) -> None:
    """Reads not taken: cancelled if not begun, else finished and dropped."""
    for future in pending.values():
        if not future.cancel():
            future.add_done_callback(_ignored)


def _ignored(future: Future[Any]) -> None:
    """A read no call took: its error, if any, is logged at debug level (the request did not need it)."""
    if not future.cancelled() and future.exception() is not None:
        log.debug("a read made ahead and not taken failed: %s", future.exception())
