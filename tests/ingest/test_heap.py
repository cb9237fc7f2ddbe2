"""HeapTrim: the C heap trimmed once per ``every`` messages written, for real (glibc's ``malloc_trim``)."""

from __future__ import annotations

import threading

from ronde.ingest.heap import HeapTrim


def test_trims_once_per_every_messages_written_from_any_thread() -> None:
    heap = HeapTrim(1000)
    assert heap._trim is not None, "this machine runs on glibc: malloc_trim is there"
    heap.written(999)
    assert heap.trims == 0
    heap.written(1)
    assert heap.trims == 1

    def write_hundred_times_ten() -> None:
        for _ in range(100):
            heap.written(10)

    threads = [threading.Thread(target=write_hundred_times_ten) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert heap.trims == 5


def test_gives_free_pages_back() -> None:
    """Free chunks in the middle of the heap stay resident after ``free``; a trim gives their pages back."""
    heap = HeapTrim(1)
    blocks = [bytearray(4000) for _ in range(20_000)]  # 80 MB in the heap (below the mmap threshold), touched
    keep = blocks[-1]
    before = _rss_kib()
    del blocks  # all freed but the last: the heap cannot shrink from its top, the pages stay
    freed = _rss_kib()
    heap.written(1)
    after = _rss_kib()
    assert keep
    assert before - freed < 40_000 < freed - after, (before, freed, after)


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
