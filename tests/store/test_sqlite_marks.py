"""A SQLite reader's rollup marks kept per connection (``ronde.store.sqlite_marks``): always the marks a fresh
query gives, the days already read not counted again, all of them read again once another connection commits."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from ronde.store.port import StoreAccess
from ronde.store.sqlite import SqliteStore
from ronde.store.sqlite_marks import KeptMarks, Marks
from tests.store import factories as f
from tests.store.factories import DAY
from tests.support.stores import edit_rollup_around_the_store

DAYS = [DAY + timedelta(days=i) for i in range(10)]


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[SqliteStore, SqliteStore]]:
    """A writer with rollups of two landlords on ten days, and a reader of its file."""
    writer = SqliteStore(tmp_path / "ronde.db")
    writer.open()
    writer.write_rollups(
        [f.rollup(f"cp-{i}", d, landlord=("valophis" if i % 2 else "paris-habitat")) for d in DAYS for i in range(4)]
    )
    reader = SqliteStore(tmp_path / "ronde.db", access=StoreAccess.READ)
    reader.open()
    try:
        yield writer, reader
    finally:
        reader.close()
        writer.close()


def _recorded(store: SqliteStore) -> list[tuple[date, date, str | None]]:
    """Each fingerprint query the store makes, as (first, last, landlord)."""
    calls: list[tuple[date, date, str | None]] = []
    read = store.rollup_fingerprints

    def recording(first: date, last: date, *, landlord: str | None = None) -> Marks:
        calls.append((first, last, landlord))
        return read(first, last, landlord=landlord)

    store.rollup_fingerprints = recording  # type: ignore[method-assign]
    return calls


def test_reader_counts_each_day_once_while_nothing_is_committed(stores: tuple[SqliteStore, SqliteStore]) -> None:
    writer, reader = stores
    calls = _recorded(reader)
    asks: list[tuple[date, date, str | None]] = [(DAYS[3], DAYS[5], None), (DAYS[0], DAYS[8], None)]
    asks += [(DAYS[4], DAYS[4], None), (DAYS[1], DAYS[9], None)]
    asks += [(DAYS[2], DAYS[6], "valophis"), (DAYS[0], DAYS[9], "valophis"), (DAYS[5], DAYS[9] + timedelta(3), None)]
    for first, last, landlord in asks:
        got = reader.rollup_marks(first, last, landlord=landlord)
        assert got == writer.rollup_fingerprints(first, last, landlord=landlord)
        assert list(got) == sorted(got)  # the query's order: day, then landlord
        assert {d for d, _ in got} == {d for d in DAYS if first <= d <= last}
    assert calls == [
        (DAYS[3], DAYS[5], None),
        (DAYS[0], DAYS[2], None),  # the days not held, a query a run of consecutive ones
        (DAYS[6], DAYS[8], None),
        (DAYS[9], DAYS[9], None),
        (DAYS[2], DAYS[6], "valophis"),  # another scope: its own days
        (DAYS[0], DAYS[1], "valophis"),
        (DAYS[7], DAYS[9], "valophis"),
        (DAYS[9] + timedelta(1), DAYS[9] + timedelta(3), None),  # days without rollups are held too, as none
    ]
    assert reader.rollup_marks(DAYS[9] + timedelta(1), DAYS[9] + timedelta(3)) == {}
    assert len(calls) == 8


def test_a_commit_by_another_connection_drops_what_the_reader_held(
    stores: tuple[SqliteStore, SqliteStore],
) -> None:
    """Through the store (another landlord's rollup on a day held), around it (an UPDATE a version trigger sees),
    and a day's rows moved to another landlord (its count moves)."""
    writer, reader = stores
    calls = _recorded(reader)
    before = reader.rollup_marks(DAYS[0], DAYS[9])
    writer.write_rollups([f.rollup("cp-9", DAYS[4], landlord="toit-et-joie")])
    after = reader.rollup_marks(DAYS[0], DAYS[9])
    assert after == writer.rollup_fingerprints(DAYS[0], DAYS[9]) != before
    assert (DAYS[4], "toit-et-joie") in after
    edit_rollup_around_the_store(reader, DAYS[2], "cp-1", 7)
    edited = reader.rollup_marks(DAYS[2], DAYS[2], landlord="valophis")
    assert (
        edited
        == writer.rollup_fingerprints(DAYS[2], DAYS[2], landlord="valophis")
        != {k: v for k, v in after.items() if k == (DAYS[2], "valophis")}
    )
    writer.write_rollups([f.rollup("cp-0", DAYS[6], landlord="valophis")])  # was Paris Habitat's
    moved = reader.rollup_marks(DAYS[0], DAYS[9])
    assert moved == writer.rollup_fingerprints(DAYS[0], DAYS[9])
    assert moved[(DAYS[6], "paris-habitat")] != after[(DAYS[6], "paris-habitat")]
    assert [c[:2] for c in calls] == [(DAYS[0], DAYS[9]), (DAYS[0], DAYS[9]), (DAYS[2], DAYS[2]), (DAYS[0], DAYS[9])]


def test_each_thread_holds_its_own_connections_marks(stores: tuple[SqliteStore, SqliteStore]) -> None:
    writer, reader = stores
    assert reader.rollup_marks(DAYS[0], DAYS[9]) == writer.rollup_fingerprints(DAYS[0], DAYS[9])
    writer.write_rollups([f.rollup("cp-7", DAYS[1], landlord="idf-habitat")])
    seen: list[Marks] = []
    t = threading.Thread(target=lambda: seen.append(reader.rollup_marks(DAYS[0], DAYS[9])))
    t.start()
    t.join(30)
    fresh = writer.rollup_fingerprints(DAYS[0], DAYS[9])
    assert seen == [fresh]
    assert reader.rollup_marks(DAYS[0], DAYS[9]) == fresh


def test_a_writer_reads_its_marks_every_time(stores: tuple[SqliteStore, SqliteStore]) -> None:
    """Its own commits do not move its connection's ``data_version``: it keeps nothing."""
    writer, _ = stores
    calls = _recorded(writer)
    first = writer.rollup_marks(DAYS[0], DAYS[9])
    writer.write_rollups([f.rollup("cp-8", DAYS[0], landlord="valophis")])
    assert writer.rollup_marks(DAYS[0], DAYS[9]) != first
    assert len(calls) == 2


def test_kept_marks_start_again_past_their_bound() -> None:
    kept = KeptMarks()
    reads: list[tuple[date, date]] = []

    def fetch(lo: date, hi: date) -> Marks:
        reads.append((lo, hi))
        return {(lo, "valophis"): "v1|1"}

    start = date(2000, 1, 1)
    assert kept.read(1, start, start + timedelta(days=8_000), None, fetch) == {(start, "valophis"): "v1|1"}
    assert kept.read(1, start, start, None, fetch) == {(start, "valophis"): "v1|1"}
    assert len(reads) == 2  # more than 8,000 days held: dropped before this read
    assert kept.read(1, start, start, None, fetch) == {(start, "valophis"): "v1|1"}
    assert kept.read(2, start, start, None, fetch) == {(start, "valophis"): "v1|1"}
    assert len(reads) == 3  # the version moved
