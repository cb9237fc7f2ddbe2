"""Who read which audit data, and when: an append-only JSON Lines log.

Each line is written and fsync'ed before the data is returned, so a read that left no trace
cannot have happened. Refused reads of audit data (403/404: a landlord probing another landlord's
ids) are written too, marked ``denied``, with who, what and when but none of the data.
Without a file (tests, demo) entries are kept in memory.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

from ronde.protocol.access import AccessEntry
from ronde.protocol.messages import format_time, parse_time

__all__ = ["AccessEntry", "AccessLog", "AccessLogUnavailable", "AccessLogWriter"]


class AccessLogWriter(Protocol):
    """Where audit-data reads are written: the JSONL ``AccessLog`` or ``ronde.opdb.access_repo.DbAccessLog``."""

    def append(self, entry: AccessEntry) -> None: ...

    def entries(self, *, limit: int = 1000) -> list[AccessEntry]: ...


class AccessLogUnavailable(OSError):
    """The log cannot be written: the audit data must not be served (answered 503)."""


class AccessLog:
    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._memory: list[AccessEntry] = []

    @property
    def path(self) -> Path | None:
        return self._path

    def append(self, entry: AccessEntry) -> None:
        line = json.dumps({**asdict(entry), "at": format_time(entry.at)}, ensure_ascii=False, sort_keys=True)
        with self._lock:
            if self._path is None:
                self._memory.append(entry)
                return
            try:
                fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
                try:
                    os.write(fd, (line + "\n").encode("utf-8"))
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise AccessLogUnavailable(f"cannot write the audit access log {self._path}: {exc}") from exc

    def entries(self, *, limit: int = 1000) -> list[AccessEntry]:
        """The newest ``limit`` entries, oldest first. Unreadable lines are skipped, not fatal."""
        with self._lock:
            if self._path is None:
                return self._memory[-limit:]
            if not self._path.exists():
                return []
            lines = self._path.read_text(encoding="utf-8").splitlines()
        out: list[AccessEntry] = []
        for line in lines[-limit:]:
            try:
                d = json.loads(line)
                out.append(
                    AccessEntry(
                        at=parse_time(d["at"]),
                        who=str(d["who"]),
                        role=str(d["role"]),
                        landlord=d.get("landlord"),
                        what=str(d["what"]),
                        target=str(d["target"]),
                        status=int(d["status"]),
                        denied=bool(d.get("denied", False)),
                    )
                )
            except (ValueError, KeyError, TypeError):
                continue
        return out
