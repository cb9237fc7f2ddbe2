"""Store errors callers handle (ingest: neither acks on them).

``StoreUnavailable`` (port.py): the engine cannot durably accept or answer now; retry later.
``StoreRejected``: the engine refused the request itself (HTTP 4xx: a bad query, a field type
conflict; a value it cannot hold: an integer beyond 64 bits, a non-finite float); retrying cannot
help. Ingest isolates the refused records of a batch, records them as ``store_refused`` rejections
and writes the rest; elsewhere it is a bug or a schema conflict to report loudly.
"""

from __future__ import annotations

from ronde.store.port import StoreUnavailable

__all__ = ["StoreCorrupt", "StoreRejected", "StoreUnavailable"]


class StoreRejected(Exception):
    """The engine refused the request itself (HTTP 4xx, a value it cannot hold): retrying cannot help."""


class StoreCorrupt(StoreUnavailable):
    """The store's data cannot be read as a store (a corrupted or truncated SQLite file).

    A ``StoreUnavailable`` so that readers answer 503 and a running ingest keeps its messages
    unacked; but waiting will not repair it: commands that open such a store exit 2 with this
    message (an operator must restore the file from a backup)."""
