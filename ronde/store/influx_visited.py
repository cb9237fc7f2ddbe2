"""``Store.visited_sets`` on InfluxDB: each (day, landlord)'s visited checkpoints as a few string points.

InfluxDB 1.x keeps a string field up to 64 KB, and a city landlord's day is up to 5,000 ids: the sorted ids are
written as JSON arrays of at most ``_CHUNK`` characters, one point a part (tags ``landlord``, ``part``), all at the
day's 00:00 UTC, so writing a (day, landlord) again overwrites its own points (same series, same time). Each part
carries the write's ``written_at`` and how many parts it made: a reader takes a set only when every part of the
newest write is there (a write of fewer parts leaves older ones beside it, which then do not match).
(The measurement is defined here rather than in ``schema``: that module is part of the benchmark data set's key,
``bench/city.py``; docs/schema.md lists it with the others.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from ronde.store.errors import StoreRejected
from ronde.store.influx_http import quote_ident, quote_str
from ronde.store.lineprotocol import FieldValue, encode_line
from ronde.store.port import VisitedSet
from ronde.store.schema import FieldType, Measurement, RetentionClass, day_start_ns, from_ns

VISITED_SET = Measurement(
    "visited_set",
    RetentionClass.PROOF,
    ("landlord", "part"),
    {
        "written_at": FieldType.INTEGER,
        "parts": FieldType.INTEGER,
        "mark": FieldType.STRING,
        "checkpoints": FieldType.STRING,
    },
    "the service day 00:00 UTC; a (day, landlord) written again overwrites its parts",
)
_CHUNK = 30_000  # characters of JSON a part: escaped quotes included, well under InfluxDB's 64 KB a string
_COLUMNS = ("landlord", "part", "written_at", "parts", "mark", "checkpoints")


def lines(sets: Sequence[VisitedSet], written_at_ms: int) -> list[str]:
    """The points of ``sets``: each set's sorted ids cut into JSON arrays of at most ``_CHUNK`` characters."""
    out: list[str] = []
    for v in sets:
        parts = _parts(sorted(v.checkpoints))
        for i, part in enumerate(parts):
            fields: dict[str, FieldValue | None] = {
                "written_at": written_at_ms,
                "parts": len(parts),
                "mark": v.mark,
                "checkpoints": part,
            }
            out.append(
                encode_line(VISITED_SET.name, {"landlord": v.landlord, "part": str(i)}, fields, day_start_ns(v.day))
            )
    return out


def _parts(ids: list[str]) -> list[str]:
    parts: list[str] = []
    chunk: list[str] = []
    size = 2
    for cid in ids:
        n = len(json.dumps(cid)) + 1
        if chunk and size + n > _CHUNK:
            parts.append(json.dumps(chunk))
            chunk, size = [], 2
        chunk.append(cid)
        size += n
    parts.append(json.dumps(chunk))
    return parts


def select(first: date, last: date, landlord: str | None, *, marks_only: bool = False) -> str:
    """The points of the days ``first..last`` (of ``landlord``); with ``marks_only`` the first parts without ids."""
    where = [f"time >= {day_start_ns(first)}", f"time <= {day_start_ns(last)}"]
    if landlord is not None:
        where.append(f"{quote_ident('landlord')} = {quote_str(landlord)}")
    columns = _COLUMNS[:-1] if marks_only else _COLUMNS
    if marks_only:
        where.append(f"{quote_ident('part')} = '0'")
    names = ", ".join(map(quote_ident, columns))
    # identifiers quoted by quote_ident, values by quote_str or integers
    return f"SELECT {names} FROM {quote_ident(VISITED_SET.name)} WHERE {' AND '.join(where)}"  # noqa: S608


def sets_of(result: Mapping[str, Any]) -> dict[tuple[date, str], VisitedSet]:
    """The complete sets of ``select``'s result: every part of the newest write of each (day, landlord)."""
    found: dict[tuple[date, str], dict[int, tuple[int, int, str, str]]] = {}
    for day, landlord, part, written_at, parts, mark, ids in _rows(result, _COLUMNS):
        found.setdefault((day, landlord), {})[part] = (written_at, parts, mark, ids)
    out: dict[tuple[date, str], VisitedSet] = {}
    for (day, landlord), by_part in found.items():
        head = by_part.get(0)
        if head is None:
            continue
        written_at, parts, mark, _ = head
        if not 0 < parts <= len(by_part):  # parts missing (or a count no write makes)
            continue
        pieces = [by_part.get(i) for i in range(parts)]
        if all(p is not None and p[0] == written_at for p in pieces):
            ids = [cid for p in pieces if p is not None for cid in _ids(p[3])]
            out[(day, landlord)] = VisitedSet(day, landlord, mark, tuple(ids))
    return out


def marks_of(result: Mapping[str, Any]) -> dict[tuple[date, str], str]:
    """Per (day, landlord), the mark of its newest write (``select(..., marks_only=True)``'s result)."""
    return {(day, landlord): mark for day, landlord, _, _, _, mark in _rows(result, _COLUMNS[:-1])}


def _rows(result: Mapping[str, Any], columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """Each row as (day, landlord, part, written_at, parts, mark[, ids]), its types checked."""
    out: list[tuple[Any, ...]] = []
    for s in result.get("series", ()):
        if s["columns"] != ["time", *columns]:
            raise StoreRejected(f"{VISITED_SET.name}: unexpected columns {s['columns']!r}")
        for v in s["values"]:
            try:
                day = from_ns(int(v[0])).date()
                landlord, part, written_at, parts, mark = str(v[1]), int(v[2]), int(v[3]), int(v[4]), str(v[5])
            except (TypeError, ValueError) as exc:
                raise StoreRejected(f"{VISITED_SET.name}: a malformed point ({exc})") from exc
            out.append((day, landlord, part, written_at, parts, mark, *v[6:]))
    return out


def _ids(text: object) -> list[str]:
    try:
        ids = json.loads(str(text))
    except (ValueError, RecursionError) as exc:
        raise StoreRejected(f"{VISITED_SET.name}: checkpoints not a JSON array ({exc})") from exc
    if not isinstance(ids, list) or not all(isinstance(c, str) for c in ids):
        raise StoreRejected(f"{VISITED_SET.name}: checkpoints not a JSON array of ids")
    return ids
