"""A SQLite store holding a week of visits for the test registry (real engine, temporary file)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from ronde.store.records import BeaconCheck, StoredVisit, Verification, WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.coverage.factory import local, registry, visit

# Wednesday 4 to Sunday 8 November 2026, then Wednesday 11
DAYS = [date(2026, 11, d) for d in (4, 5, 6, 7, 8, 11)]


def week_visits() -> list[StoredVisit]:
    reg = registry()
    out: list[StoredVisit] = []
    for i, d in enumerate(DAYS):
        out.append(visit(reg, "a", d, local(d, 17), local(d, 17, 5), badge="badge-secret-1"))
        if i % 2 == 0:
            out.append(
                visit(
                    reg,
                    "b",
                    d,
                    local(d, 18),
                    local(d, 18, 4),
                    badge="badge-secret-2",
                    verification=Verification.UNSIGNED,
                )
            )
        out.append(visit(reg, "c", d, local(d, 19), local(d, 19, 3), badge="badge-secret-1"))
    out.append(
        visit(reg, "p", DAYS[0], local(DAYS[0], 20), local(DAYS[0], 20, 2), beacon_check=BeaconCheck.EID_RESOLVED)
    )
    return out


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "ronde.db"
    store = SqliteStore(path)
    store.open()
    store.write(WriteBatch(visits=tuple(week_visits())))
    store.close()
    return path


@pytest.fixture
def store(store_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(store_path)
    s.open()
    yield s
    s.close()
