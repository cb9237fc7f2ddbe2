"""An API process serves sync routes from a thread pool whose idle threads end (anyio keeps one
idle thread 10 s), and SqliteStore keeps one connection per thread: the connections of ended
threads must be closed, or a long-running process runs out of file descriptors (paho's select()
then fails on every socket numbered over 1024)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ronde.store.sqlite import SqliteStore


def _open_files(path: Path) -> int:
    fds = Path("/proc/self/fd")
    n = 0
    for fd in os.listdir(fds):
        try:
            if os.readlink(fds / fd) == str(path):
                n += 1
        except OSError:
            continue
    return n


def test_connections_of_ended_threads_are_closed(tmp_path: Path) -> None:
    path = tmp_path / "ronde.db"
    store = SqliteStore(path)
    store.open()
    try:
        for _ in range(60):
            t = threading.Thread(target=store.check)
            t.start()
            t.join()
        store.check()  # a new connection sweeps those of the ended threads
        # this thread's and the last ended thread's, plus what SQLite defers closing while another
        # connection holds a lock on the file (its unix VFS keeps such descriptors until then)
        assert _open_files(path) <= 5, "connections of ended threads still open"
        t = threading.Thread(target=store.check)
        t.start()
        t.join()
        store.check()  # this thread's connection is kept and still works
    finally:
        store.close()
    assert _open_files(path) == 0
