"""A scripted data set written once per test process and copied into each test's store.

The scripted year of ``test_monthly`` goes through ``rollup_day`` day by day: about 4 s of round trips on influxd
(20-30 s in a loaded parallel run) and a few seconds on SQLite, and forty-odd tests start from it. The first test
of a process writes it for real; the others get a copy of what that left in the engine:

- on SQLite, the database file, through sqlite3's backup API;
- on influxd, the same line protocol in the same order: every write of the store goes through
  ``InfluxStore.write_lines``, and writing a year holds no delete, so the replay leaves the same points.

A copied store is like one another process wrote: the data are the same, nothing is warm in this object.
``test_written_once`` checks that a copy reads exactly as a set written afresh, on both engines.
"""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ronde.store.influx import InfluxStore
from ronde.store.port import Store
from ronde.store.records import RetentionPolicy
from ronde.store.schema import VISIT, RetentionClass
from ronde.store.sqlite import SqliteStore

Build = Callable[[Store], object]
_WEEK_NS = 7 * 86_400 * 10**9  # influxd's ``GROUP BY time(7d)`` buckets: from the epoch, as this

KEEP_THE_YEAR = RetentionPolicy(raw_days=3650, proof_days=3650, rejections_days=3650)
"""The retention the scripted year's stores are opened with. Its dates are fixed and the clock is not: influxd drops
a point older than its retention policy as it is written, so under the default policies the real clock would cut
into the year a little more each day, even between a test process's first write and its copies."""


@dataclass
class _InfluxRecording:
    """What a build sent to influxd, in order: (retention class, lines, points influxd dropped as older than the
    class's retention) per ``write_lines`` call."""

    writes: list[tuple[RetentionClass, list[str], int]] = field(default_factory=list)


_SQLITE: dict[str, Path] = {}
_INFLUX: dict[str, _InfluxRecording] = {}
_TEMPLATES = Path(tempfile.mkdtemp(prefix="ronde-written-once-"))
atexit.register(shutil.rmtree, _TEMPLATES, True)


def write_once(name: str, store: Store, build: Build) -> bool:
    """``build(store)`` the first time ``name`` is asked for on this kind of store, a copy of its result after.
    Returns whether the store got a copy."""
    if isinstance(store, SqliteStore):
        return _sqlite(name, store, build)
    if isinstance(store, InfluxStore):
        return _influx(name, store, build)
    raise TypeError(f"no copy for {type(store).__name__}")


def _sqlite(name: str, store: SqliteStore, build: Build) -> bool:
    template = _SQLITE.get(name)
    if template is None:
        build(store)
        template = _TEMPLATES / f"{name}.db"
        _backup(store.path, template)
        _SQLITE[name] = template
        return False
    _backup(template, store.path)
    return True


def _backup(source: Path, target: Path) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _influx(name: str, store: InfluxStore, build: Build) -> bool:
    key = f"{name} {store._retention!r}"  # influxd drops points older than the retention policies: one copy each
    recording = _INFLUX.get(key)
    if recording is None:
        recording = _record(store, build)
        _INFLUX[key] = recording
        return False
    for rp, lines, dropped in recording.writes:
        again = store.write_lines(rp, lines)
        assert again == dropped, f"influxd dropped {again} point(s) of a copy, {dropped} when written"
    _assert_visits_kept(store, recording)
    return True


def _assert_visits_kept(store: InfluxStore, recording: _InfluxRecording) -> None:
    """influxd shows every raw visit the build wrote, per week: a copy (or first write) it answered 204 for and
    does not show whole fails here, named, not later as a coverage difference (a fresh-clone run once read a year
    of raw visits about a week short of its rollups, December 7). A week short at first is asked again after a
    pause (a query racing influxd's own snapshot of its cache): only what it then shows counts."""
    written: Counter[int] = Counter()
    for rp, lines, dropped in recording.writes:
        if rp is VISIT.retention and not dropped:
            written.update(_week(int(line.rsplit(" ", 1)[1])) for line in lines if line.startswith(VISIT.name + ","))
    if not written:
        return
    shown = _visits_by_week(store)
    if shown != written:
        time.sleep(2.0)
        shown = _visits_by_week(store)
    short = {w: (n, shown.get(w, 0)) for w, n in sorted(written.items()) if shown.get(w, 0) != n}
    assert not short, f"influxd shows fewer raw visits than written, per week from (written, shown): {short}"


def _week(ns: int) -> int:
    return ns // _WEEK_NS


def _visits_by_week(store: InfluxStore) -> Counter[int]:
    """The raw visits influxd shows per week (one query: the event ids' count per 7-day bucket)."""
    statement = (
        f'SELECT count("event_id") FROM "{VISIT.name}" WHERE time >= 0 AND time < {2**62} GROUP BY time(7d) fill(none)'
    )
    [rows] = store._ql.query([statement], rp=VISIT.retention.value)
    return Counter({_week(int(r["time"])): int(r["count"]) for r in rows if r.get("count")})


def _record(store: InfluxStore, build: Build) -> _InfluxRecording:
    """Runs ``build`` with the store's ``write_lines`` wrapped (on this object only), every call kept."""
    recording = _InfluxRecording()
    write_lines = store.write_lines

    def recorded(rp: RetentionClass, lines: Sequence[str]) -> int:
        dropped = write_lines(rp, lines)
        recording.writes.append((rp, list(lines), dropped))
        return dropped

    store.write_lines = recorded  # type: ignore[method-assign]
    try:
        build(store)
    finally:
        del store.write_lines
    _assert_visits_kept(store, recording)
    return recording
