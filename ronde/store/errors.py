"""Store errors callers handle (ingest: neither acks on them).

``StoreUnavailable`` (port.py): the engine cannot durably accept or answer now; retry later.
``StoreRejected``: the engine refused the request itself (HTTP 4xx: a bad query, a field type
conflict…); retrying cannot help, it is a bug or a schema conflict to report loudly.
"""

from __future__ import annotations

from ronde.store.port import StoreUnavailable

__all__ = ["StoreRejected", "StoreUnavailable"]


class StoreRejected(Exception):
    """The engine refused the request itself (HTTP 4xx): retrying cannot help. Callers must not ack."""
