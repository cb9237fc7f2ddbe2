"""HeapTrim: the C heap trimmed once per ``every`` messages written, for real (glibc's ``malloc_trim``); one_arena:
one heap for all the threads (glibc's ``mallopt``)."""

from __future__ import annotations

import subprocess
import sys
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


def test_one_arena_keeps_every_thread_in_one_heap() -> None:
    """Threads allocating at once get arenas of their own (glibc's ``malloc_stats`` lists them); after
    ``one_arena`` they all share the main one. In a child process: the setting holds for a whole process."""
    assert _arenas_after(limit=False) > 1
    assert _arenas_after(limit=True) == 1


def _arenas_after(*, limit: bool) -> int:
    script = f"""
import ctypes, threading
from ronde.ingest.heap import one_arena
if {limit}:
    assert one_arena()
start = threading.Barrier(4)
def allocate():
    start.wait()
    blocks = [bytearray(2000) for _ in range(20_000)]  # in the thread's own arena unless there is one arena
    start.wait()
threads = [threading.Thread(target=allocate) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
ctypes.CDLL(None).malloc_stats()  # one "Arena N:" paragraph an arena, on stderr
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    return sum(1 for line in done.stderr.splitlines() if line.startswith("Arena "))
