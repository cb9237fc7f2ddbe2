"""A store on the ``database`` fixture's influxd database (``tests/store/conftest.py``)."""

from __future__ import annotations

from ronde.store.config import open_store
from ronde.store.influx import InfluxStore
from ronde.store.port import StoreAccess


def open_influx(database: tuple[str, str], access: StoreAccess = StoreAccess.WRITE) -> InfluxStore:
    store = open_store(database[0], database=database[1], retry_budget_s=2.0, access=access)
    assert isinstance(store, InfluxStore)
    return store
