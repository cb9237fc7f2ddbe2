"""A damaged or forged visited set (``Store.visited_sets``: maintenance's fold of each day's visited checkpoints), on
SQLite (a row edited in the file) and on a real influxd (points written around the store): ``StoreRejected`` naming
the table or measurement, never another exception, a hang or a set made up from it; a set whose parts are not all
there is no set (the reader then reads the day's rollups).
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import date
from pathlib import Path

import pytest

from ronde.store.config import open_store
from ronde.store.errors import StoreRejected
from ronde.store.influx_visited import VISITED_SET
from ronde.store.lineprotocol import FieldValue, encode_line
from ronde.store.port import StoreAccess, VisitedSet
from ronde.store.schema import RetentionClass, day_start_ns
from ronde.store.sqlite import SqliteStore
from tests.store.influx_database import open_influx
from tests.support.services import Influxd

DAY = date(2026, 11, 25)


@pytest.mark.parametrize(
    ("day", "ids"),
    [
        ("2026-11-25", "not json"),
        ("2026-11-25", '{"a": 1}'),  # JSON, not an array
        ("2026-11-25", "[1, 2]"),  # not ids
        ("2026-11-25", "[" * 100_000),  # nested beyond the parser's depth
        ("2026-11-1x", '["a"]'),  # not a day (sorted within the range read)
    ],
)
def test_a_malformed_sqlite_row_is_rejected(tmp_path: Path, day: str, ids: str) -> None:
    store = open_store(f"sqlite://{tmp_path}/ronde.db")
    assert isinstance(store, SqliteStore)
    try:
        store.write_visited_sets([VisitedSet(DAY, "x", "m", ("a",))])
        with sqlite3.connect(store.path) as db:
            db.execute("INSERT INTO visited_sets VALUES (?, 'y', 'm', ?)", (day, ids))
        with pytest.raises(StoreRejected, match="visited_sets"):
            store.visited_sets(date(2026, 11, 1), DAY)
    finally:
        store.close()


@pytest.mark.influx
@pytest.mark.parametrize(
    "fields",
    [
        {"written_at": 1, "parts": 1, "mark": "m", "checkpoints": "not json"},
        {"written_at": 1, "parts": 1, "mark": "m", "checkpoints": "[1, 2]"},
        {"written_at": 1, "parts": 1, "mark": "m", "checkpoints": '{"a": "b"}'},
        {"written_at": 1, "parts": 1, "mark": "m", "checkpoints": "[" * 60_000},  # nested beyond the parser
        {"written_at": 1, "mark": "m", "checkpoints": '["a"]'},  # no parts
        {"parts": 1, "mark": "m", "checkpoints": '["a"]'},  # no written_at
    ],
)
def test_a_malformed_influx_point_is_rejected(influxd: Influxd, fields: dict[str, FieldValue]) -> None:
    store = open_influx((influxd.url, f"t_{uuid.uuid4().hex[:12]}"), StoreAccess.WRITE)
    try:
        point = encode_line(VISITED_SET.name, {"landlord": "x", "part": "0"}, fields, day_start_ns(DAY))
        store.write_lines(RetentionClass.PROOF, [point])
        with pytest.raises(StoreRejected, match=VISITED_SET.name):
            store.visited_sets(DAY, DAY)
    finally:
        store.close()


@pytest.mark.influx
@pytest.mark.parametrize("parts", [0, -1, 2, 10**15])
def test_an_influx_set_without_all_its_parts_is_no_set(influxd: Influxd, parts: int) -> None:
    """A part count no write makes (0, negative) or more parts than there are (a billion: no loop over them)."""
    store = open_influx((influxd.url, f"t_{uuid.uuid4().hex[:12]}"), StoreAccess.WRITE)
    try:
        fields: dict[str, FieldValue] = {"written_at": 1, "parts": parts, "mark": "m", "checkpoints": '["a"]'}
        point = encode_line(VISITED_SET.name, {"landlord": "x", "part": "0"}, fields, day_start_ns(DAY))
        store.write_lines(RetentionClass.PROOF, [point])
        assert store.visited_sets(DAY, DAY) == {}
    finally:
        store.close()
