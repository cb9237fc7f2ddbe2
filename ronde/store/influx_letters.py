"""Monthly and suffix letters on InfluxDB: the packed layout, the old one read beside it, and the migration.

Why packed: influxd 1.x reads a field of a series as its own cursor, ~2 us per series, field and point; a letter is
one point in its own series (one series per checkpoint), so its sixteen fields cost sixteen cursors a letter (at city
scale 1,290 ms of influxd CPU for a landlord year's 12 letter reads, 30,000 rows). Packed in one string field
(``schema.PACKED``: its figures, ``written_at`` and its day, floats by ``repr``), a letter costs one.

The old layout (``checkpoint_month``, ``checkpoint_month_suffix``, a field a figure) is what a deployment wrote before:
while it exists (``SHOW MEASUREMENTS``), every read also reads it and keeps the newest ``written_at`` per (checkpoint,
day) across both, so answers do not change before, during or after the migration. ``migrate`` rewrites the newest
old point of each key in the packed layout, with its own ``written_at`` (the same point whenever it is run again),
then drops the old measurements (1.x: ``DROP MEASUREMENT``; 2.x: the delete API; 3.x cannot delete: the old points
stay, read beside the packed ones, until retention ends them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ronde.store import influx_figures as figures
from ronde.store import schema
from ronde.store.errors import StoreRejected
from ronde.store.influx_http import InfluxQL, quote_ident
from ronde.store.lineprotocol import encode_line
from ronde.store.records import MonthlyFigures, MonthlyRollup, MonthlySuffix

log = logging.getLogger(__name__)

# what a read keeps per (checkpoint, day): (written_at, point time), the letter's month, its figures
Kept = tuple[tuple[int, int], str, MonthlyFigures]


@dataclass(frozen=True, slots=True)
class Layout:
    """A kind of letter in both layouts: its packed measurement, its old one, the old one's key fields."""

    packed: schema.Measurement
    old: schema.Measurement
    keys: tuple[str, ...]  # the old layout's fields read as the key: its day first, then the month

    def line(self, day: date, letter: MonthlyRollup, written_at: int) -> str:
        if self.packed is schema.CHECKPOINT_LETTER:
            return schema.letter_line(letter, written_at)
        return schema.suffix_letter_line(MonthlySuffix(day, letter), written_at)


LETTERS = Layout(schema.CHECKPOINT_LETTER, schema.CHECKPOINT_MONTH, ("month",))
SUFFIXES = Layout(schema.CHECKPOINT_LETTER_SUFFIX, schema.CHECKPOINT_MONTH_SUFFIX, ("from_day", "month"))
LAYOUTS = (LETTERS, SUFFIXES)
OLD_NAMES = frozenset(x.old.name for x in LAYOUTS)
# A point per month each time a letter or suffix letter of it is written (``upto``: that write's ``written_at``), in
# the same request, before them: a span letter (``schema.CHECKPOINT_LETTER_SPAN``) reaching that month is read only
# when it was written after every mark of its months (``current_spans``).
LETTER_MARK = "checkpoint_letter_mark"


def mark_lines(months: Collection[date], written_at_ms: int) -> list[str]:
    """The letters' marks of ``months`` (their first days), each its own point within the month's first UTC day."""
    return [
        encode_line(
            LETTER_MARK,
            {},
            {"upto": written_at_ms},
            schema.day_start_ns(m) + schema.offset(m.isoformat(), written_at_ms, modulo=schema.NS_PER_DAY),
        )
        for m in sorted({m.replace(day=1) for m in months})
    ]


def span_statements(from_day: date, through: date, landlord_where: Sequence[str]) -> list[str]:
    """The span letters starting on ``from_day`` (``landlord_where``: their time range, and landlord if any), then
    the newest letters' mark of the months ``from_day``..``through``'s end."""
    lo = schema.day_start_ns(from_day.replace(day=1))
    hi = schema.day_start_ns((through.replace(day=1) + timedelta(days=32)).replace(day=1))
    marks = (
        f"SELECT max({quote_ident('upto')}) FROM {quote_ident(LETTER_MARK)} "  # noqa: S608 - quoted name, integers
        f"WHERE time >= {lo} AND time < {hi}"
    )
    return [figures.select_letters(schema.CHECKPOINT_LETTER_SPAN, ("figures",), landlord_where), marks]


def current_spans(results: Sequence[Mapping[str, Any]], through: date) -> list[MonthlyFigures]:
    """``span_statements``' results: the newest span letter per checkpoint through ``through``'s month, by
    checkpoint; none when one of them was written before a mark of its months (a letter it was folded from
    changed since)."""
    spans, marks = results
    newest_mark = 0
    for s in marks.get("series", ()):
        for v in s["values"]:
            if v[1] is not None:
                newest_mark = max(newest_mark, int(v[1]))
    kept = _newest_packed(spans, schema.CHECKPOINT_LETTER_SPAN, 2, through.replace(day=1).isoformat())
    if any(rank[0] <= newest_mark for rank, _ in kept.values()):
        return []
    return [kept[k][1] for k in sorted(kept)]


def current_tails(result: Mapping[str, Any], from_day: date) -> list[MonthlyFigures]:
    """The newest tail letter per checkpoint of ``from_day`` (``schema.CHECKPOINT_LETTER_TAIL``'s rows, as
    ``figures.select_letters`` gives them), by checkpoint."""
    kept = _newest_packed(result, schema.CHECKPOINT_LETTER_TAIL, 1, from_day.isoformat())
    return [kept[k][1] for k in sorted(kept)]


def _newest_packed(
    result: Mapping[str, Any], measurement: schema.Measurement, at: int, wanted: str
) -> dict[str, tuple[tuple[int, int], MonthlyFigures]]:
    """Per checkpoint, the newest packed letter of ``result`` (``figures.select_letters``' rows) whose packed field
    ``at`` (``schema.PACKED``: 1 its day, 2 its month) is ``wanted``, with its rank (written_at, time)."""
    kept: dict[str, tuple[tuple[int, int], MonthlyFigures]] = {}
    for s in result.get("series", ()):
        if s["columns"] != ["time", *figures.TAGS, "figures"]:
            raise StoreRejected(f"{measurement.name}: unexpected columns {s['columns']!r}")
        for v in s["values"]:
            p = str(v[6]).split(" ", len(schema.PACKED) - 1)
            if p[at] != wanted:
                continue
            rank = (int(p[0]), int(v[0]))
            seen = kept.get(str(v[1]))
            if seen is None or rank > seen[0]:
                kept[str(v[1])] = (rank, figures.packed_letter(v, p))
    return kept


def newest(ql: InfluxQL, layout: Layout, where: Sequence[str], *, old: bool) -> dict[tuple[str, str], Kept]:
    """The newest letter per (checkpoint, day) ``where`` selects, the old layout's points included when ``old``."""
    out: dict[tuple[str, str], Kept] = {}
    for s in ql.series(figures.select_letters(layout.packed, ("figures",), where), rp=layout.packed.retention.value):
        if s["columns"] != ["time", *figures.TAGS, "figures"]:
            raise StoreRejected(f"{layout.packed.name}: unexpected columns {s['columns']!r}")
        for v in s["values"]:
            p = str(v[6]).split(" ", len(schema.PACKED) - 1)
            key = (str(v[1]), p[1])
            rank = (int(p[0]), int(v[0]))
            seen = out.get(key)
            if seen is None or rank > seen[0]:
                out[key] = (rank, p[2], figures.packed_letter(v, p))
    if old:
        at = 1 + len(figures.TAGS) + len(layout.keys) + 1
        for v in figures.newest_letters(ql, layout.old, layout.keys, where).values():
            key = (str(v[1]), str(v[6]))
            rank = (int(v[at - 1]), int(v[0]))
            seen = out.get(key)
            if seen is None or rank > seen[0]:
                out[key] = (rank, str(v[6 + len(layout.keys) - 1]), figures.letter(v, at))
    return out


def sorted_figures(kept: dict[tuple[str, str], Kept]) -> list[MonthlyFigures]:
    """The letters' figures by checkpoint, then day (the stores' order)."""
    return [kept[k][2] for k in sorted(kept)]


def letters(kept: dict[tuple[str, str], Kept]) -> list[tuple[date, int, MonthlyRollup]]:
    """The letters as objects with their day and ``written_at``, by checkpoint, then day."""
    return [(date.fromisoformat(k[1]), kept[k][0][0], letter_of(kept[k][1], kept[k][2])) for k in sorted(kept)]


def letter_of(month: str, f: MonthlyFigures) -> MonthlyRollup:
    """A letter from its month and figures (instants in microseconds, of whole milliseconds)."""
    return MonthlyRollup(
        month=date.fromisoformat(month),
        checkpoint_id=f[0],
        kind=f[1],
        building=f[2],
        estate=f[3],
        landlord=f[4],
        expected=f[5],
        basis=f[6],
        states=f[7],
        visits=f[8],
        presence_s=f[9],
        first_seen=None if f[10] is None else schema.from_ms(f[10] // 1000),
        last_seen=None if f[11] is None else schema.from_ms(f[11] // 1000),
        service_s=f[12],
        seen=bool(f[13]),
        lead_s=f[14],
        trail_s=f[15],
        inner_n=f[16],
        inner_s1=f[17],
        inner_s2=f[18],
        inner_worst=f[19],
    )


def old_names(ql: InfluxQL) -> frozenset[str]:
    """The old layout's measurements still in the database (a database not created yet has none)."""
    found: set[str] = set()
    for s in ql.series("SHOW MEASUREMENTS"):
        found.update(str(v[0]) for v in s.get("values", ()))
    return OLD_NAMES & found


def migrate(ql: InfluxQL, write: Callable[[Sequence[str]], Any], drop: Callable[[str], bool]) -> int:
    """Rewrite every old-layout letter in the packed layout (its newest point per key, same ``written_at``), day by
    day, then ``drop`` the old measurement; returns how many letters were written. Idempotent: run again after an
    interruption, it writes the same points again and drops what is left."""
    written = 0
    for layout in LAYOUTS:
        if layout.old.name not in old_names(ql):
            continue
        for day in days_with_points(ql, layout.old):
            lo = schema.day_start_ns(day)
            where = [f"time >= {lo}", f"time < {lo + schema.NS_PER_DAY}"]
            rows = letters(newest(ql, layout, where, old=True))
            write([layout.line(d, letter, w) for d, w, letter in rows])
            written += len(rows)
        if drop(layout.old.name):
            log.info("letters: %s migrated to %s and dropped", layout.old.name, layout.packed.name)
        else:
            log.warning("letters: %s migrated to %s, kept (not deletable here)", layout.old.name, layout.packed.name)
    return written


def days_with_points(ql: InfluxQL, m: schema.Measurement, field: str = "written_at") -> list[date]:
    """The UTC days holding points of ``m`` with ``field`` (a letter's point lies within its day)."""
    far = schema.day_start_ns(date.today() + timedelta(days=3660))
    statement = (
        f"SELECT count({quote_ident(field)}) FROM {quote_ident(m.name)} "  # noqa: S608 - quoted names
        f"WHERE time >= 0 AND time < {far} GROUP BY time(1d) fill(none)"
    )
    days: list[date] = []
    for s in ql.series(statement, rp=m.retention.value):
        days.extend(date(1970, 1, 1) + timedelta(days=int(v[0]) // schema.NS_PER_DAY) for v in s["values"] if v[1])
    return sorted(set(days))
