"""The C heap's free pages handed back to the system between batches (glibc's ``malloc_trim``).

Sampled every 0.1 s, the worker's resident memory crept up by ~3 MB over a 40,000-event drain on InfluxDB while
the memory Python traced stayed flat (``tracemalloc``: 5.75 MB allocated after the drain's start, 5.76 MB at its
end, docs/performance.md): what the batches freed stayed resident, spread over the heaps of the threads that take
turns with a batch (paho's reader, validation, Ed25519 verification, the writer). glibc gives a heap's pages back
only from its top on ``free``; ``malloc_trim(0)`` gives back every free page of every arena. A call walks the free
chunks: 1.8 ms of CPU in a fragmented 70 MB heap with nothing to give back, 10 ms when it gives back 70 MB (in
process), so it runs once per ``every`` messages written (about 2 µs a message at 1,000), not per message.

The worker also keeps one C heap for all its threads (``one_arena``, at its start): glibc gives each thread that
allocates while another holds the heap's lock an arena of its own, and each keeps its own free chunks and top pad.

Elsewhere than glibc (musl, macOS) there is no ``malloc_trim`` nor ``mallopt``: nothing is done.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    """The process's own symbols (``dlopen(NULL)``: the C library Python runs on), not ``find_library``, which
    runs ``ldconfig`` in a child process."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    return trim


M_ARENA_MAX = -8  # glibc's malloc.h


def one_arena() -> bool:
    """One glibc arena for the whole process (``mallopt(M_ARENA_MAX, 1)``): called before the worker starts its
    threads. The worker's threads take turns with each batch (paho's reader, validation, Ed25519 verification, the
    writer) and allocate mostly under the GIL, so they seldom wait on the heap's lock, while each thread's own arena
    kept its own free chunks resident: bench_ingest at 40,000 events on InfluxDB, peak RSS ~1 MB lower with one
    arena, CPU per event level (docs/performance.md, "Ingest's memory margin"). True when glibc took it."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(M_ARENA_MAX, 1))


class HeapTrim:
    """Counts the messages written and trims the heap once ``every`` of them have gone (any thread)."""

    def __init__(self, every: int) -> None:
        self.every = max(1, every)
        self._since = 0
        self._lock = threading.Lock()
        self._trim = _malloc_trim()
        self.trims = 0

    def written(self, n: int) -> None:
        with self._lock:
            self._since += n
            if self._since < self.every:
                return
            self._since = 0
        if self._trim is not None:
            self._trim(0)
            self.trims += 1
