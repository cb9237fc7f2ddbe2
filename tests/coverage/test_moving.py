"""The evening in progress with ``now`` moving: kept figures moved with the window's end equal the whole path's.

``ronde.coverage.moving`` computes again only the trailing gap of a row and tonight's step of the idleness fold when
no pass began or ended between two cuts. ``now`` is swept across an evening (passes ended, going on at the cut,
begun later, of no duration, fragments of one pass, two teams at once, one across the window's end, a checkpoint
without a visit), landing on the passes' very edges and a millisecond either side, forwards and back; at each step
the kept cache's answer must be equal (``==``) to the whole path's (``keep_evenings=False``), year-like and
detailed, each landlord scope, on SQLite; on influxd, two of those eight cases that take every value of each.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ronde.coverage import evening
from ronde.coverage.moving import moved_row
from ronde.coverage.query import CoverageCache, landlord_coverage
from ronde.ingest.rollup import rollup_day
from ronde.protocol.calendar import ServiceCalendar
from ronde.store.port import Store
from ronde.store.records import StoredVisit, WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.coverage.factory import local, registry, visit
from tests.coverage.written_once import KEEP_THE_YEAR
from tests.support.stores import store_of_kind

REG = registry()
CAL = ServiceCalendar()
LAST = date(2026, 11, 25)  # a Wednesday: the evening in progress
FIRST = LAST - timedelta(days=40)  # a settled piece, then the tail


@pytest.fixture(params=["sqlite", pytest.param("influx", marks=pytest.mark.influx)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with store_of_kind(request, tmp_path, retry_budget_s=5.0, retention=KEEP_THE_YEAR) as s:
        yield s


def _closed_evenings() -> list[StoredVisit]:
    out: list[StoredVisit] = []
    for i, day in enumerate(CAL.service_days(FIRST - timedelta(days=10), LAST - timedelta(days=1))):
        for j, cid in enumerate(sorted(REG.checkpoints)):
            if (i + j) % 4 == 0:
                continue  # a quiet evening here and there
            start = local(day, 16 + (i + 2 * j) % 6, (7 * i + 11 * j) % 60)
            out.append(visit(REG, cid, day, start, start + timedelta(seconds=30 + 17 * j, milliseconds=i)))
    return out


def _tonight() -> list[StoredVisit]:
    d = LAST
    return [
        visit(REG, "a", d, local(d, 16, 10), local(d, 16, 15)),
        visit(REG, "a", d, local(d, 17, 0), local(d, 17, 2), badge="team-2"),
        visit(REG, "a", d, local(d, 17, 1), local(d, 17, 5), badge="team-3"),  # two teams at once
        visit(REG, "a", d, local(d, 20, 30), local(d, 20, 40)),  # begun later than the early cuts
        visit(REG, "b", d, local(d, 18, 0), local(d, 19, 30)),  # going on at many cuts
        visit(REG, "b", d, local(d, 19, 45), local(d, 19, 45)),  # of no duration
        visit(REG, "u", d, local(d, 17, 30), local(d, 17, 31)),
        visit(REG, "u", d, local(d, 17, 33), local(d, 17, 34)),  # a fragment of the same pass
        visit(REG, "c", d, local(d, 16, 0), local(d, 16, 0, 5)),  # at the window's start
        visit(REG, "c", d, local(d, 22, 10), local(d, 22, 30), badge="team-4"),  # across the window's end
    ]  # "p": nothing tonight


def _cuts(tonight: list[StoredVisit]) -> list[datetime]:
    """Forwards across the evening, on every edge of a visit and a millisecond either side, then a few back."""
    ms = timedelta(milliseconds=1)
    edges = sorted({t for v in tonight for t in (v.first_seen, v.last_seen)})
    steps = [local(LAST, 16, 0, 30)]
    for e in edges:
        steps += [e - ms, e, e + ms, e + timedelta(seconds=47)]
    steps += [local(LAST, 22, 14, 59), local(LAST, 22, 20)]
    forwards = sorted({s.astimezone(UTC) for s in steps if s > local(LAST, 16, 0)})
    return [*forwards, local(LAST, 19, 44).astimezone(UTC), local(LAST, 17, 0, 30).astimezone(UTC)]


def test_figures_moved_with_the_cut_equal_the_whole_path(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    closed = _closed_evenings()
    tonight = _tonight()
    store.write(WriteBatch(visits=tuple(closed + tonight)))
    for day in CAL.service_days(FIRST - timedelta(days=10), LAST - timedelta(days=1)):
        rollup_day(store, REG, CAL, day)
    moved = [0]
    real = moved_row

    def counted(*args: Any) -> Any:
        moved[0] += 1
        return real(*args)

    monkeypatch.setattr(evening, "moved_row", counted)
    kept = CoverageCache()
    cases = [(lo, ll, d) for lo in (FIRST, LAST - timedelta(days=28)) for ll in (None, "paris-habitat") for d in (0, 1)]
    if not isinstance(store, SqliteStore):
        # two of the eight, taking each value of each dimension: the fold is the same code on both engines, what
        # differs is what the engine returns (eight cases' whole paths over HTTP took 50 s of a loaded run)
        cases = [cases[1], cases[6]]
    for now in _cuts(tonight):
        for lo, landlord, detail in cases:
            args = (store, REG, CAL, lo, LAST)
            got = landlord_coverage(*args, landlord=landlord, now=now, include_days=bool(detail), cache=kept)
            whole = CoverageCache(keep_evenings=False)
            ref = landlord_coverage(*args, landlord=landlord, now=now, include_days=bool(detail), cache=whole)
            assert got == ref, (now, lo, landlord, detail)
    assert moved[0] > 100  # most rows moved with the cut alone
