"""Rollup check verdicts and fingerprints on both engines (SQLite in tmp_path, a real influxd 1.6.7),
and maintenance's check end to end on each: an edited rollup shows at once through the fingerprint,
an edited raw event after the next pass, a day never checked as not checked."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ronde.audit.rollups import Finding, stored_mismatches
from ronde.ingest.rollup import rollup_day
from ronde.ingest.rollup_check import RollupCheck
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import load_default_estate
from ronde.store.checks import ROLLUP_MARK, VISIT_MARK, RollupVerdict, mark_of
from ronde.store.config import open_store
from ronde.store.influx import InfluxStore
from ronde.store.lineprotocol import encode_line
from ronde.store.port import Store
from ronde.store.records import RetentionPolicy, StoredVisit, WriteBatch
from ronde.store.schema import VISIT, RetentionClass, to_ms
from ronde.store.sqlite import SqliteStore
from tests.store import factories as f
from tests.store.factories import DAY
from tests.support.stores import edit_rollup_around_the_store, store_of_kind

CALENDAR = ServiceCalendar()
NOW = datetime.now(UTC)
# the two latest service days closed a day ago or more: inside every retention, checkable
_closed = [
    d
    for d in CALENDAR.service_days(NOW.date() - timedelta(days=12), NOW.date())
    if CALENDAR.window(d)[1] < NOW - timedelta(days=1)
]
EARLIER, LATER = _closed[-2], _closed[-1]
PH = "paris-habitat"
CP = "mor-b01-hall-a"  # Paris Habitat's, in the sample estate


@pytest.fixture(params=["sqlite", pytest.param("influx", marks=pytest.mark.influx)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with store_of_kind(request, tmp_path) as s:
        yield s


def _verdict(day: date, landlord: str, at: datetime, **changes: object) -> RollupVerdict:
    v = RollupVerdict(day, landlord, at, "fp-r", "fp-e", f.sha("prev"), f.sha("link"), ())
    return replace(v, **changes)  # type: ignore[arg-type]


def test_verdicts_round_trip_newest_wins_and_filter(store: Store) -> None:
    at = datetime(2026, 12, 1, 20, 0, 0, 123000, tzinfo=UTC)
    many = tuple(
        (f"cp-{i:04d}", "chain link differs from the one recomputed (events or rollups edited)") for i in range(3000)
    )
    first = [_verdict(DAY, PH, at), _verdict(DAY, "valophis", at, mismatches=many)]
    store.write_rollup_verdicts(first)
    assert store.rollup_verdicts(DAY, DAY) == first
    assert store.rollup_verdicts(DAY, DAY, landlord="valophis") == [first[1]]
    newer = _verdict(
        DAY,
        PH,
        at + timedelta(minutes=1),
        rollups="fp-r2",
        mismatches=(("cp-1", "passes: 2 in the rollup, 1 from the stored events"),),
    )
    store.write_rollup_verdicts([newer])
    assert store.rollup_verdicts(DAY, DAY) == [newer, first[1]]
    assert store.rollup_verdicts(DAY + timedelta(days=1), DAY + timedelta(days=3)) == []


def test_rollup_fingerprints_move_with_any_rewrite_and_agree_by_landlord(store: Store) -> None:
    rows = [f.rollup("cp-1"), f.rollup("cp-2"), f.rollup("cp-3", landlord="toit-et-joie")]
    store.write_rollups(rows)
    before = store.rollup_fingerprints(DAY, DAY)
    assert set(before) == {(DAY, "valophis"), (DAY, "toit-et-joie")}
    assert store.rollup_fingerprints(DAY, DAY, landlord="valophis") == {(DAY, "valophis"): before[(DAY, "valophis")]}
    # (an identical replay may move it: SQLite counts writes; it costs one more check, never a missed edit)
    for edited in (replace(rows[0], visits=4), replace(rows[0], covered=False), replace(rows[0], presence_s=300.0)):
        store.write_rollups([edited])
        now = store.rollup_fingerprints(DAY, DAY)
        assert now[(DAY, "valophis")] != before[(DAY, "valophis")], edited
        assert now[(DAY, "toit-et-joie")] == before[(DAY, "toit-et-joie")]
        before = now


def test_event_fingerprints_move_when_a_day_gains_an_event(store: Store) -> None:
    store.write(WriteBatch(visits=(f.visit(1), f.visit(2))))
    before = store.event_fingerprints(DAY - timedelta(days=1), DAY)
    assert DAY in before
    store.write(WriteBatch(visits=(f.visit(3),)))
    assert store.event_fingerprints(DAY - timedelta(days=1), DAY)[DAY] != before[DAY]


def _evening(day: date, n: int) -> list[StoredVisit]:
    start = CALENDAR.window(day)[0]
    return [
        f.visit(
            1000 * day.toordinal() % 100_000 + i,
            at=start + timedelta(minutes=20 * i + 5),
            checkpoint_id=CP,
            landlord=PH,
            estate="mordacs",
            building="mor-b01",
            service_day=day,
        )
        for i in range(n)
    ]


def test_maintenance_check_on_each_engine(store: Store) -> None:
    registry = load_default_estate()
    store.write(WriteBatch(visits=tuple(_evening(EARLIER, 2) + _evening(LATER, 3))))
    assert rollup_day(store, registry, CALENDAR, EARLIER)
    assert rollup_day(store, registry, CALENDAR, LATER)

    def findings() -> set[tuple[date, str, Finding]]:
        return {
            (m.service_day, m.checkpoint_id, m.finding)
            for m in stored_mismatches(store, CALENDAR, EARLIER, LATER, now=NOW, landlord=PH)
        }

    assert findings() == {(EARLIER, "", Finding.UNCHECKED), (LATER, "", Finding.UNCHECKED)}
    check = RollupCheck(store, registry, CALENDAR)
    assert check.run(NOW) == [EARLIER, LATER]
    assert findings() == set()
    assert check.run(NOW) == []
    # an edited rollup (a rewrite through the store, as a tool with write access would): at once
    row = next(r for r in store.rollups(LATER, LATER, landlord=PH) if r.checkpoint_id == CP)
    store.write_rollups([replace(row, visits=row.visits + 4)])
    assert findings() == {(LATER, "", Finding.CHANGED)}
    assert check.run(NOW) == [LATER]
    assert (LATER, CP, Finding.MISMATCH) in findings()
    store.write_rollups([row])
    assert check.run(NOW) == [LATER]
    assert findings() == set()
    # an event stored after the day was rolled up (and its rollups not re-rolled): the next pass
    late = f.visit(
        99_999, at=CALENDAR.window(EARLIER)[0] + timedelta(hours=2), checkpoint_id=CP, landlord=PH, service_day=EARLIER
    )
    store.write(WriteBatch(visits=(late,)))
    assert findings() == set()
    assert EARLIER in check.run(NOW)
    reasons = {
        m.checkpoint_id: m.reason for m in stored_mismatches(store, CALENDAR, EARLIER, EARLIER, now=NOW, landlord=PH)
    }
    assert reasons[CP].startswith("passes: 2 in the rollup, 3 from the stored events")


def test_sqlite_without_version_triggers_falls_back_to_sums(tmp_path: Path) -> None:
    """Someone who drops the version triggers before editing a rollup: the fingerprint then is the rows'
    sums (a different kind: the day is re-checked, never taken as unchanged), and the edit moves it."""
    import sqlite3

    s = open_store(f"sqlite://{tmp_path}/ronde.db")
    rows = [f.rollup("cp-1"), f.rollup("cp-2")]
    s.write_rollups(rows)
    versioned = s.rollup_fingerprints(DAY, DAY)
    with sqlite3.connect(tmp_path / "ronde.db") as db:
        db.execute("DROP TRIGGER rollups_version_update")
    summed = s.rollup_fingerprints(DAY, DAY)
    assert summed != versioned
    with sqlite3.connect(tmp_path / "ronde.db") as db:
        db.execute("UPDATE rollups SET visits = 9 WHERE checkpoint_id = 'cp-1'")
    assert s.rollup_fingerprints(DAY, DAY) != summed
    s.close()


def test_sqlite_event_fingerprint_moves_with_edits_made_outside_the_store(tmp_path: Path) -> None:
    """The cheap fingerprint (count, highest rowid, and a version the triggers bump on update or delete): an
    edit in place, and a row deleted then put back identical (same count, same rowid), each move it; with the
    triggers dropped it falls back to the sums, another kind, so the day is re-checked."""
    s = open_store(f"sqlite://{tmp_path}/ronde.db")
    s.write(WriteBatch(visits=(f.visit(1), f.visit(2))))
    seen = [s.event_fingerprints(DAY, DAY)[DAY]]
    assert seen[0].startswith("v")
    with sqlite3.connect(tmp_path / "ronde.db") as db:
        db.execute("UPDATE visits SET rssi_max = rssi_max + 1 WHERE rowid = 1")
    seen.append(s.event_fingerprints(DAY, DAY)[DAY])
    with sqlite3.connect(tmp_path / "ronde.db") as db:
        row = db.execute("SELECT rowid, * FROM visits ORDER BY rowid DESC LIMIT 1").fetchone()
        db.execute("DELETE FROM visits WHERE rowid = ?", (row[0],))
        db.execute(f"INSERT INTO visits (rowid, {_columns(db)}) VALUES ({', '.join('?' * len(row))})", row)
    seen.append(s.event_fingerprints(DAY, DAY)[DAY])
    with sqlite3.connect(tmp_path / "ronde.db") as db:
        db.execute("DROP TRIGGER visits_version_delete")
    seen.append(s.event_fingerprints(DAY, DAY)[DAY])
    assert not seen[-1].startswith("v")
    assert len(set(seen)) == len(seen), seen
    s.close()


def _columns(db: sqlite3.Connection) -> str:
    return ", ".join(r[1] for r in db.execute("PRAGMA table_info(visits)"))


def test_marks_follow_writes_through_the_store_and_maintenance_catches_edits_around_it(store: Store) -> None:
    """The API compares marks (cheap); maintenance whole fingerprints. A rewrite through the store moves
    both; an edit around it moves the fingerprint (and SQLite's mark, which is its fingerprint): maintenance
    re-checks that day at its next pass and the API shows the mismatch from then on."""
    registry = load_default_estate()
    store.write(WriteBatch(visits=tuple(_evening(EARLIER, 2) + _evening(LATER, 3))))
    assert rollup_day(store, registry, CALENDAR, EARLIER)
    assert rollup_day(store, registry, CALENDAR, LATER)
    prints = store.rollup_fingerprints(EARLIER, LATER)
    assert store.rollup_marks(EARLIER, LATER) == {k: mark_of(fp) for k, fp in prints.items()}
    assert store.rollup_marks(LATER, LATER, landlord=PH) == {(LATER, PH): mark_of(prints[(LATER, PH)])}
    check = RollupCheck(store, registry, CALENDAR)
    assert check.run(NOW) == [EARLIER, LATER]
    assert stored_mismatches(store, CALENDAR, EARLIER, LATER, now=NOW, landlord=PH) == []
    marks = store.rollup_marks(EARLIER, LATER)
    edit_rollup_around_the_store(store, LATER, CP, 7)
    assert store.rollup_fingerprints(EARLIER, LATER)[(LATER, PH)] != prints[(LATER, PH)]
    moved = {k for k, m in store.rollup_marks(EARLIER, LATER).items() if m != marks[k]}
    assert moved == (set() if isinstance(store, InfluxStore) else {(LATER, PH)})
    # on influxd the pass comparing LATER's whole fingerprints sees it (one day a pass, EARLIER's turn first)
    assert _passes_until_rechecked(check) == ([[], [LATER]] if isinstance(store, InfluxStore) else [[LATER]])
    found = stored_mismatches(store, CALENDAR, EARLIER, LATER, now=NOW, landlord=PH)
    assert [(m.service_day, m.checkpoint_id, m.finding) for m in found] == [(LATER, CP, Finding.MISMATCH)]
    assert found[0].reason.startswith("passes: 7 in the rollup, 3 from the stored events")


@pytest.fixture(params=[pytest.param("influx", marks=pytest.mark.influx)])
def influx_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with store_of_kind(request, tmp_path) as s:
        yield s


def test_influx_rollups_written_before_marks_get_theirs_from_maintenance(influx_store: Store) -> None:
    """A store upgraded with rollups but no marks: the API lists none of those days (no mark) until
    maintenance's first fingerprint read marks them."""
    store = influx_store
    assert isinstance(store, InfluxStore)
    store.write_rollups([f.rollup("cp-1"), f.rollup("cp-2", landlord="toit-et-joie")])
    store._ql.query([f"DROP MEASUREMENT {ROLLUP_MARK}"])
    assert store.rollup_marks(DAY, DAY) == {}
    prints = store.rollup_fingerprints(DAY, DAY)
    assert set(prints) == {(DAY, "valophis"), (DAY, "toit-et-joie")}
    assert store.rollup_marks(DAY, DAY) == {k: mark_of(fp) for k, fp in prints.items()}
    assert all(mark_of(fp) for fp in prints.values())
    assert store.rollup_fingerprints(DAY, DAY) == prints  # marked once


def _passes_until_rechecked(check: RollupCheck, most: int = 3) -> list[list[date]]:
    """What each maintenance pass recomputed, up to the first that recomputed something (``most`` at most)."""
    seen: list[list[date]] = []
    while len(seen) < most and not (seen and seen[-1]):
        seen.append(check.run(NOW))
    return seen


def _checked_evenings(store: Store) -> RollupCheck:
    """EARLIER and LATER stored, rolled up and checked (a maintenance process's first pass)."""
    registry = load_default_estate()
    store.write(WriteBatch(visits=tuple(_evening(EARLIER, 2) + _evening(LATER, 3))))
    assert rollup_day(store, registry, CALENDAR, EARLIER)
    assert rollup_day(store, registry, CALENDAR, LATER)
    check = RollupCheck(store, registry, CALENDAR)
    assert check.run(NOW) == [EARLIER, LATER]
    return check


def test_event_marks_follow_writes_through_the_store(store: Store) -> None:
    """Each write of visits moves the marks of the service days it touched, and only those; a mark is the
    part of the whole fingerprint before ``#`` (on SQLite all of it)."""
    store.write(WriteBatch(visits=tuple(_evening(EARLIER, 2) + _evening(LATER, 3))))
    marks = store.event_marks(EARLIER, LATER)
    assert set(marks) == {EARLIER, LATER}
    prints = store.event_fingerprints(EARLIER, LATER)
    assert {d: mark_of(prints[d]) for d in marks} == marks
    store.write(WriteBatch(visits=(_late_visit(EARLIER),)))
    now = store.event_marks(EARLIER, LATER)
    assert now[EARLIER] != marks[EARLIER]
    assert now[LATER] == marks[LATER]
    store.write(WriteBatch(visits=(_late_visit(EARLIER),)))  # a duplicate: nothing written, nothing moves
    assert store.event_marks(EARLIER, LATER) == now


def _late_visit(day: date) -> StoredVisit:
    at = CALENDAR.window(day)[0] + timedelta(hours=2)
    return f.visit(99_999, at=at, checkpoint_id=CP, landlord=PH, estate="mordacs", building="mor-b01", service_day=day)


def test_a_late_visit_rechecks_only_its_day(store: Store) -> None:
    """Through the marks, only the late visit's service day is due. (On influxd a neighbouring day's whole
    fingerprint spans the UTC day of its evening, so the rotation re-checks that neighbour at its turn too:
    left out here, ``compare_per_pass=0``; the edit test below has the rotation.)"""
    check = _checked_evenings(store)
    check.compare_per_pass = 0
    assert check.run(NOW) == []
    store.write(WriteBatch(visits=(_late_visit(EARLIER),)))
    assert check.run(NOW) == [EARLIER]
    found = stored_mismatches(store, CALENDAR, EARLIER, LATER, now=NOW, landlord=PH)
    assert [(m.service_day, m.checkpoint_id) for m in found] == [(EARLIER, CP)]
    assert found[0].reason.startswith("passes: 2 in the rollup, 3 from the stored events")


def _edit_visit_around_the_store(store: Store, day: date) -> None:
    """As an intruder with write access to the engine: a stored visit's signal changed in place (SQLite: an
    UPDATE, which the version triggers see; influxd: its point overwritten, same series and time)."""
    if isinstance(store, SqliteStore):
        with sqlite3.connect(store.path) as db:
            last = "SELECT max(rowid) FROM visits WHERE service_day = ?"
            sql = f"UPDATE visits SET rssi_max = rssi_max + 1 WHERE rowid = ({last})"
            assert db.execute(sql, (day.isoformat(),)).rowcount == 1
        return
    assert isinstance(store, InfluxStore)
    start, end = (to_ms(t) * 1_000_000 for t in CALENDAR.window(day))
    rows = store._select(VISIT, [f"time >= {start}", f"time < {end}"])
    row = rows[-1]
    tags = {t: str(row[t]) for t in VISIT.tags if row.get(t) is not None}
    line = encode_line(VISIT.name, tags, {"rssi_max": int(row["rssi_max"]) + 1}, int(row["time"]))
    store.write_lines(RetentionClass.RAW, [line])


def test_an_edit_of_a_visit_around_the_store_is_caught_by_the_rotating_comparison(store: Store) -> None:
    """On influxd the mark does not move (no write through the store): the pass comparing LATER's whole
    fingerprint recomputes it, one day a pass, EARLIER's turn first (whose fingerprint may span LATER's UTC
    day: then it is re-checked too); on SQLite the mark is the fingerprint: the next pass."""
    check = _checked_evenings(store)
    marks = store.event_marks(EARLIER, LATER)
    _edit_visit_around_the_store(store, LATER)
    assert (store.event_marks(EARLIER, LATER) == marks) is isinstance(store, InfluxStore)
    passes = [check.run(NOW), check.run(NOW)]
    if isinstance(store, InfluxStore):
        assert LATER not in passes[0]
        assert passes[1] == [LATER]
    else:
        assert passes == [[LATER], []]
    found = stored_mismatches(store, CALENDAR, LATER, LATER, now=NOW, landlord=PH)
    assert found
    assert all("chain link differs" in m.reason for m in found), found


def test_influx_visits_written_before_marks_get_theirs_from_maintenance(influx_store: Store) -> None:
    """A store upgraded with visits but no ``visit_mark``: maintenance's first pass (whole fingerprints) marks
    them, once; the marks then move with the next write as any."""
    store = influx_store
    assert isinstance(store, InfluxStore)
    store.write(WriteBatch(visits=tuple(_evening(EARLIER, 2) + _evening(LATER, 3))))
    store._ql.query([f"DROP MEASUREMENT {VISIT_MARK}"])
    assert store.event_marks(EARLIER, LATER) == {}
    prints = store.event_fingerprints(EARLIER, LATER)
    marks = store.event_marks(EARLIER, LATER)
    assert {EARLIER, LATER} <= set(marks)
    assert marks == {d: mark_of(fp) for d, fp in prints.items() if d in marks}
    assert store.event_fingerprints(EARLIER, LATER) == prints  # marked once
    store.write(WriteBatch(visits=(_late_visit(EARLIER),)))
    assert store.event_marks(EARLIER, LATER)[EARLIER] != marks[EARLIER]


def test_event_marks_go_with_their_visits_under_retention(store: Store) -> None:
    """Retention deletes a day's marks with its raw visits (InfluxDB: ``visit_mark`` beside ``visit``)."""
    now = datetime.now(UTC).replace(microsecond=0)
    old_day, recent_day = (now - timedelta(days=20)).date(), (now - timedelta(days=2)).date()
    old = f.visit(1, at=now - timedelta(days=20), service_day=old_day)
    recent = f.visit(2, at=now - timedelta(days=2), service_day=recent_day)
    store.write(WriteBatch(visits=(old, recent)))
    assert set(store.event_marks(old_day, recent_day)) == {old_day, recent_day}
    store.apply_retention(RetentionPolicy(raw_days=10, proof_days=30, rejections_days=30), now)
    assert set(store.event_marks(old_day, recent_day)) == {recent_day}


def test_influx_maintenance_first_pass_marks_visits_written_before_marks(influx_store: Store) -> None:
    """Rolled-up days without events marks: the first pass reads every day's whole events fingerprint, which
    marks them; a later process's first pass then finds every day marked and reads marks only."""
    store = influx_store
    assert isinstance(store, InfluxStore)
    registry = load_default_estate()
    store.write(WriteBatch(visits=tuple(_evening(EARLIER, 2) + _evening(LATER, 3))))
    assert rollup_day(store, registry, CALENDAR, EARLIER)
    assert rollup_day(store, registry, CALENDAR, LATER)
    store._ql.query([f"DROP MEASUREMENT {VISIT_MARK}"])
    assert RollupCheck(store, registry, CALENDAR).run(NOW) == [EARLIER, LATER]
    assert {EARLIER, LATER} <= set(store.event_marks(EARLIER, LATER))
    verdicts = store.rollup_verdicts(EARLIER, LATER)
    assert all(mark_of(v.events) == store.event_marks(v.service_day, v.service_day)[v.service_day] for v in verdicts)
    later = RollupCheck(store, registry, CALENDAR, recheck_per_pass=0)
    assert later.run(NOW) == []
    assert later._compared == {}  # no whole events read: the rotation starts at its next pass
