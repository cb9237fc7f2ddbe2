"""The letters' states on InfluxDB (``schema.LETTER_STATES``): written beside the letters, read for shares, copied once.

Why: a landlord's shares over a period need each checkpoint's day states, not its letter's sixteen figures; on
influxd a letter is a series (a cursor each) and a string of ~230 bytes, and a landlord's suffix letters at city scale
cost influxd 49–56 ms to answer (2,500 series, 780 KB of JSON), their states grouped per estate 7 ms (50 points,
110 KB; December 8, AMD EPYC, ``docs/performance.md``). A day's states of a kind are read only while that day holds
a mark (``schema.LETTER_STATES_MARK``): every write adds one, and maintenance copies the states of letters written
by earlier code before adding one to their days (``copy``), so a reader never takes a partial copy for a whole one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, unquote

from ronde.store import influx_figures as figures
from ronde.store import schema
from ronde.store.errors import StoreRejected
from ronde.store.influx_http import InfluxQL, quote_ident, quote_str
from ronde.store.lineprotocol import encode_line
from ronde.store.records import LetterStates, MonthlyRollup

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of letter whose states are copied: its tag value and its packed measurement."""

    tag: str
    letters: schema.Measurement


MONTH = Kind("month", schema.CHECKPOINT_LETTER)
SUFFIX = Kind("suffix", schema.CHECKPOINT_LETTER_SUFFIX)
TAIL = Kind("tail", schema.CHECKPOINT_LETTER_TAIL)
SPAN = Kind("span", schema.CHECKPOINT_LETTER_SPAN)  # its month: the span's last (several spans start on a day)
KINDS = (MONTH, SUFFIX, TAIL, SPAN)


@dataclass(frozen=True, slots=True)
class Row:
    """A letter's states as written: its tags, day and month, basis, ``written_at`` and point time (ns)."""

    landlord: str
    estate: str
    checkpoint: str
    day: date
    month: date
    basis: str
    states: str
    written_at: int
    ns: int


def row_of(letter: MonthlyRollup, day: date, written_at_ms: int, ns: int) -> Row:
    """The states row of a letter written at ``ns`` (its point's time), its day ``day``."""
    return Row(
        letter.landlord, letter.estate, letter.checkpoint_id, day, letter.month, letter.basis, letter.states,
        written_at_ms, ns,
    )  # fmt: skip


def lines(kind: Kind, rows: Iterable[Row]) -> list[str]:
    """The states points of ``rows`` (one a group, more where it passes ``schema.PACKED_DAY_BYTES``), then the mark
    of each of their days for ``kind``: every row of a day is in this write or an earlier one with its mark."""
    groups: dict[tuple[str, str, date, date, str, int], list[str]] = {}
    for r in rows:
        if " " in r.states or ";" in r.states:
            raise ValueError(f"states {r.states!r}: a space or ';' cannot be packed")
        key = (r.landlord, r.estate, r.day, r.month, r.basis, r.written_at)
        at = r.ns - schema.day_start_ns(r.day)
        groups.setdefault(key, []).append(f"{quote(r.checkpoint, safe='')} {at} {r.states}")
    out: list[str] = []
    for (landlord, estate, day, month, basis, written_at), rows_ in sorted(groups.items()):
        head = f"{written_at} {day.isoformat()} {month.isoformat()} {quote(basis, safe='')}"
        for body in schema.chunked_rows(sorted(rows_), schema.PACKED_DAY_BYTES - len(head) - 1):
            text = f"{head};{body}"
            ns = schema.day_start_ns(day) + schema.offset(kind.tag, landlord, estate, text, modulo=schema.NS_PER_DAY)
            tags = {"letter": kind.tag, "estate": estate, "landlord": landlord}
            out.append(encode_line(schema.LETTER_STATES.name, tags, {"states": text}, ns))
    out += [_mark(kind, day, written_at) for day, written_at in sorted({(k[2], k[5]) for k in groups})]
    return out


def statements(kind: Kind, day: date, landlord: str | None) -> list[str]:
    """The states of ``kind`` on ``day`` (of ``landlord`` if given), then the count of that day's marks."""
    lo = schema.day_start_ns(day)
    where = [f"time >= {lo}", f"time < {lo + schema.NS_PER_DAY}", f"{quote_ident('letter')} = {quote_str(kind.tag)}"]
    marks = " AND ".join(where)
    if landlord is not None:
        where.append(f"{quote_ident('landlord')} = {quote_str(landlord)}")
    return [
        f"SELECT {quote_ident('states')} FROM {quote_ident(schema.LETTER_STATES.name)} "  # noqa: S608 - quoted
        f"WHERE {' AND '.join(where)}",
        f"SELECT count({quote_ident('whole')}) FROM {quote_ident(schema.LETTER_STATES_MARK.name)} WHERE {marks}",  # noqa: S608
    ]


def newest(results: Sequence[Mapping[str, Any]], day: date, month: date | None = None) -> list[LetterStates] | None:
    """``statements``' results: the newest row per checkpoint of ``day`` (and of ``month``, for spans) by
    (``written_at``, then its letter's time), as (checkpoint, basis, states) by checkpoint; None when the day has no
    mark (its copy may not be whole)."""
    return _of_newest(results, day, month, None)


def current_span_states(results: Sequence[Mapping[str, Any]], day: date, through: date) -> list[LetterStates] | None:
    """``statements`` of a span's day, then ``influx_letters.span_statements``' marks statement: the newest span
    states through ``through``'s month, none when one was written before a mark of its months (as
    ``influx_letters.current_spans``), None when the day has no mark."""
    newest_mark = 0
    for s in results[2].get("series", ()):
        for v in s["values"]:
            if v[1] is not None:
                newest_mark = max(newest_mark, int(v[1]))
    return _of_newest(results[:2], day, through.replace(day=1), newest_mark)


def _of_newest(
    results: Sequence[Mapping[str, Any]], day: date, month: date | None, newest_mark: int | None
) -> list[LetterStates] | None:
    states, marks = results
    if not any(v[1] for s in marks.get("series", ()) for v in s["values"]):
        return None
    try:
        kept = _newest_rows(states, day.isoformat(), None if month is None else month.isoformat())
        if newest_mark is not None and any(rank[0] <= newest_mark for rank, _, _ in kept.values()):
            return []
        out = [(unquote(cp, errors="strict"), b, st) for cp, (_, b, st) in kept.items()]
    except ValueError as exc:  # not a shape ``lines`` writes: the letters' figures still answer
        log.warning("%s: unreadable point (%s): the letters' figures are read instead", schema.LETTER_STATES.name, exc)
        return None
    out.sort()
    return out


def _newest_rows(
    states: Mapping[str, Any], wanted: str, month: str | None
) -> dict[str, tuple[tuple[int, int], str, str]]:
    """Per checkpoint (as quoted) of the day ``wanted`` (and ``month``), its newest row's rank, basis and states."""
    kept: dict[str, tuple[tuple[int, int], str, str]] = {}
    for s in states.get("series", ()):
        if s["columns"] != ["time", "states"]:
            raise ValueError(f"columns {s['columns']!r}")
        for v in s["values"]:
            head, *rows = str(v[1]).split(";")
            written_at, d, m, basis = head.split(" ", 3)
            if d != wanted or (month is not None and m != month):
                continue
            w, b = int(written_at), unquote(basis, errors="strict")
            for row in rows:
                cp, at, st = row.split(" ", 2)
                rank = (w, int(at))
                seen = kept.get(cp)
                if seen is None or rank > seen[0]:
                    kept[cp] = (rank, b, st)
    return kept


COPIED = "copied"  # the ``letter`` tag of the mark ``copy`` leaves when done (no kind of letter is called so)


def copy(
    ql: InfluxQL,
    write: Callable[[Sequence[str]], Any],
    days_of: Callable[[schema.Measurement], list[date]],
    *,
    now_ms: int,
) -> int:
    """The states of every letter of a day without a mark (written by earlier code), each letter point's own
    ``written_at`` and time, then the day's mark; returns how many rows it wrote. Idempotent: run again after an
    interruption, it writes the same points again for the days still without a mark. Done, it leaves a mark of its
    own (at ``now_ms``): later runs stop there (finding the days of every letter costs influxd seconds at city scale,
    the suffix letters' points counted; letters written since carry their states), until retention takes it."""
    if _copied(ql):
        return 0
    written = 0
    for kind in KINDS:
        marked = set(_marked_days(ql, kind))
        for day in days_of(kind.letters):
            if day in marked:
                continue
            lo = schema.day_start_ns(day)
            where = [f"time >= {lo}", f"time < {lo + schema.NS_PER_DAY}"]
            rows = _letter_rows(ql, kind, where)
            write(lines(kind, rows) if rows else [_mark(kind, day, 0)])
            written += len(rows)
    write([encode_line(schema.LETTER_STATES_MARK.name, {"letter": COPIED}, {"whole": 1}, now_ms * schema.NS_PER_MS)])
    return written


def _copied(ql: InfluxQL) -> bool:
    """A run of ``copy`` went through (its mark is still there)."""
    statement = (
        f"SELECT count({quote_ident('whole')}) FROM {quote_ident(schema.LETTER_STATES_MARK.name)} "  # noqa: S608
        f"WHERE {quote_ident('letter')} = {quote_str(COPIED)}"
    )
    return any(v[1] for s in ql.series(statement, rp=schema.LETTER_STATES_MARK.retention.value) for v in s["values"])


def _letter_rows(ql: InfluxQL, kind: Kind, where: list[str]) -> list[Row]:
    """Every packed letter point ``where`` selects as a states row."""
    out: list[Row] = []
    for s in ql.series(figures.select_letters(kind.letters, ("figures",), where), rp=kind.letters.retention.value):
        if s["columns"] != ["time", *figures.TAGS, "figures"]:
            raise StoreRejected(f"{kind.letters.name}: unexpected columns {s['columns']!r}")
        for v in s["values"]:
            p = str(v[6]).split(" ", len(schema.PACKED) - 1)
            day, month = date.fromisoformat(p[1]), date.fromisoformat(p[2])
            out.append(Row(str(v[5]), str(v[4]), str(v[1]), day, month, p[17], p[16], int(p[0]), int(v[0])))
    return out


def _mark(kind: Kind, day: date, written_at: int) -> str:
    ns = schema.day_start_ns(day) + schema.offset(kind.tag, written_at, modulo=schema.NS_PER_DAY)
    return encode_line(schema.LETTER_STATES_MARK.name, {"letter": kind.tag}, {"whole": 1}, ns)


def _marked_days(ql: InfluxQL, kind: Kind) -> list[date]:
    """The days holding a mark of ``kind``."""
    far = schema.day_start_ns(date.today() + timedelta(days=3660))
    statement = (
        f"SELECT count({quote_ident('whole')}) FROM {quote_ident(schema.LETTER_STATES_MARK.name)} "  # noqa: S608
        f"WHERE time >= 0 AND time < {far} AND {quote_ident('letter')} = {quote_str(kind.tag)} "
        "GROUP BY time(1d) fill(none)"
    )
    return [
        schema.from_ns(int(v[0])).date()
        for s in ql.series(statement, rp=schema.LETTER_STATES_MARK.retention.value)
        for v in s["values"]
        if v[1]
    ]
