"""SQLite's per-(day, landlord) rollup counts kept by triggers: the marks read from them equal the marks counted from
the rows, whatever wrote the rows (the store, ``INSERT OR REPLACE`` moving a checkpoint to another landlord, the
sqlite3 shell updating or deleting, retention), and a file made before them gets them, counted, as it opens."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ronde.store.port import StoreAccess
from ronde.store.records import RetentionPolicy
from ronde.store.sqlite import _ROLLUP_VERSIONS, SqliteStore
from tests.store import factories as f
from tests.store.factories import DAY

NEXT = DAY + timedelta(days=1)


def _counted_from_rows(path: Path, first: date, last: date) -> dict[tuple[date, str], str]:
    """The marks as counted from the rows (what a file without the counts reads)."""
    sql = _ROLLUP_VERSIONS.format(where="service_day >= ? AND service_day <= ?")
    with sqlite3.connect(path) as db:
        rows = db.execute(sql, (first.isoformat(), last.isoformat())).fetchall()
    return {(date.fromisoformat(r[0]), r[1]): f"v{r[2]}|{r[3]}" for r in rows}


def _shell(path: Path, *statements: str) -> None:
    with sqlite3.connect(path) as db:
        for s in statements:
            db.execute(s)


def test_counted_marks_equal_the_rows_counts_whatever_writes(tmp_path: Path) -> None:
    path = tmp_path / "ronde.db"
    store = SqliteStore(path)
    store.open()
    lo, hi = DAY - timedelta(days=2), NEXT + timedelta(days=2)

    def same() -> None:
        assert store.rollup_marks(lo, hi) == _counted_from_rows(path, lo, hi)
        assert store.rollup_marks(lo, hi, landlord="valophis") == {
            k: v for k, v in _counted_from_rows(path, lo, hi).items() if k[1] == "valophis"
        }

    store.write_rollups([f.rollup(f"cp-{i}") for i in range(5)] + [f.rollup("cp-9", NEXT, landlord="paris-habitat")])
    same()
    store.write_rollups([f.rollup("cp-1", visits=9)])  # replaced, same landlord
    same()
    store.write_rollups([f.rollup("cp-2", landlord="paris-habitat")])  # replaced by another landlord's
    same()
    assert store.rollup_marks(DAY, DAY)[(DAY, "valophis")].startswith("v4|")
    _shell(path, "UPDATE rollups SET landlord = 'idf-habitat' WHERE checkpoint_id = 'cp-3'")
    same()
    _shell(path, f"UPDATE rollups SET service_day = '{NEXT.isoformat()}' WHERE checkpoint_id = 'cp-4'")
    same()
    _shell(path, "DELETE FROM rollups WHERE checkpoint_id = 'cp-0'")
    same()
    _shell(path, "DELETE FROM rollups WHERE checkpoint_id = 'cp-9'")
    same()
    assert (NEXT, "paris-habitat") not in store.rollup_marks(lo, hi)  # its last rollup gone: no mark, as counted
    later = datetime(2027, 1, 1, tzinfo=UTC)
    store.apply_retention(RetentionPolicy(raw_days=1, proof_days=1, rejections_days=1), later)
    same()
    assert store.rollup_marks(lo, hi) == {}  # every rollup past the retention: none counted either
    store.close()


def test_a_file_made_before_the_counts_gets_them_counted_and_a_reader_counts_meanwhile(tmp_path: Path) -> None:
    path = tmp_path / "ronde.db"
    store = SqliteStore(path)
    store.open()
    store.write_rollups([f.rollup(f"cp-{i}") for i in range(4)] + [f.rollup("cp-8", NEXT, landlord="toit-et-joie")])
    want = store.rollup_marks(DAY, NEXT)
    store.close()
    _shell(
        path,
        *(f"DROP TRIGGER {t}" for t in ("rollups_count_replaced", "rollups_count_insert", "rollups_count_update")),
        "DROP TRIGGER rollups_count_delete",
        "DROP TABLE rollup_counts",
    )
    reader = SqliteStore(path, access=StoreAccess.READ)
    reader.open()
    assert reader.rollup_marks(DAY, NEXT) == want  # counted from the rows
    writer = SqliteStore(path)
    writer.open()  # adds the counts
    with sqlite3.connect(path) as db:
        assert sorted(db.execute("SELECT service_day, landlord, n FROM rollup_counts").fetchall()) == [
            (DAY.isoformat(), "valophis", 4),
            (NEXT.isoformat(), "toit-et-joie", 1),
        ]
    assert writer.rollup_marks(DAY, NEXT) == want
    writer.write_rollups([f.rollup("cp-5")])
    assert writer.rollup_marks(DAY, NEXT) == _counted_from_rows(path, DAY, NEXT)
    writer.open()  # again: nothing counted twice
    assert writer.rollup_marks(DAY, NEXT) == _counted_from_rows(path, DAY, NEXT)
    reader.close()
    writer.close()
