"""One store of the kind a test is parametrised with ("sqlite" or "influx"): the embedded SQLite file in the
test's folder, or a database of its own on the session's influxd (Debian's 1.6.7), opened by ``open_store`` as
the roles open theirs."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest

from ronde.store.config import open_store
from ronde.store.influx import InfluxStore
from ronde.store.lineprotocol import encode_line
from ronde.store.port import Store
from ronde.store.records import RetentionPolicy
from ronde.store.schema import CHECKPOINT_DAY, RetentionClass, day_start_ns
from ronde.store.sqlite import SqliteStore
from tests.support.services import Influxd


@contextmanager
def store_of_kind(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    *,
    kind: str | None = None,
    retry_budget_s: float = 2.0,
    retention: RetentionPolicy | None = None,
) -> Iterator[Store]:
    """``kind``, or else ``request.param``, names the kind; the store is closed after the test, and its influxd
    database dropped (the session's influxd would otherwise keep every test's shards: 110 for a scripted year).
    ``retention``: the policy influxd's retention policies are created with (a scripted year older than the default
    proof retention of the real clock is otherwise dropped as it is written)."""
    if (kind or request.param) == "sqlite":
        with closing(open_store(f"sqlite://{tmp_path}/ronde.db", retention=retention)) as store:
            yield store
        return
    server: Influxd = request.getfixturevalue("influxd")
    database = f"t_{uuid.uuid4().hex[:12]}"
    try:
        store = open_store(server.url, database=database, retry_budget_s=retry_budget_s, retention=retention)
        with closing(store) as s:
            yield s
    finally:
        server.drop_database(database)


def edit_rollup_around_the_store(store: Store, day: date, checkpoint: str, visits: int) -> None:
    """As an intruder with write access to the engine, not through the store: on SQLite an UPDATE (the
    version triggers see it), on influxd the rollup's point overwritten in place (same series and time; tags
    the point has not, such as a static checkpoint's building, stay absent)."""
    if isinstance(store, SqliteStore):
        with sqlite3.connect(store.path) as db:
            sql = "UPDATE rollups SET visits = ? WHERE checkpoint_id = ? AND service_day = ?"
            assert db.execute(sql, (visits, checkpoint, day.isoformat())).rowcount == 1
        return
    assert isinstance(store, InfluxStore)
    ns = day_start_ns(day)
    where = [f"time >= {ns}", f"time < {day_start_ns(day + timedelta(days=1))}", f"checkpoint = '{checkpoint}'"]
    [row] = store._select(CHECKPOINT_DAY, where)
    tags = {t: str(row[t]) for t in CHECKPOINT_DAY.tags if row.get(t) is not None}
    line = encode_line(CHECKPOINT_DAY.name, tags, {"visits": visits}, int(row["time"]))
    store.write_lines(RetentionClass.PROOF, [line])
