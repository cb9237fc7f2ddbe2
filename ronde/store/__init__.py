"""Persistence of what ingest accepted (or rejected) and what the API reads back.

A role of its own (not part of ``ingest``): ingest writes through it, the API and audits read
through it. ``port.Store`` is the one interface; ``sqlite`` and ``influx`` implement it;
``config.open_store(url, …)`` picks and opens one. ``open_store``, ``StoreConfig`` and
``StoreConfigError`` are also importable from here, lazily, so that importing ``records`` does
not load the InfluxDB client.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "open_store": "ronde.store.config",
    "StoreConfig": "ronde.store.config",
    "StoreConfigError": "ronde.store.config",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ronde.store' has no attribute {name!r}")
