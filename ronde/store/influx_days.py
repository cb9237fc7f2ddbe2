"""The daily rollups' figures packed on InfluxDB (``estate_day_figures``), what coverage reads for many days.

Why: influxd 1.x reads each field of a series as its own cursor (~2 us per series, field and point) and costs
~4.4 us a point; a landlord's year reads the tail of its daily rollups (at city scale 25,000 rows of 2,500 series).
From ``checkpoint_day``, ten fields each: ~1,160 ms of influxd's CPU; packed one string a rollup (the first copy,
``checkpoint_day_figures``): ~110 ms. Packed one string per (landlord, estate, service day) and write
(``schema.ESTATE_DAY_FIGURES``, rows ``schema.PACKED_DAY_ROW``): a few hundred points.

``checkpoint_day`` stays the proof (the rollup check, audits, ``ronde store`` and the dashboards read its fields),
written as before; the packed copy is written beside it by the same write (``InfluxStore.write_rollups``): a point
per estate-day of the rollups it changes, so a partial write (a re-rolled rollup) holds only its own checkpoints,
and the reader keeps per (day, checkpoint) the newest row (its ``written_at``, then its ``checkpoint_day`` point's
time, which each row carries: ties break as they do in the proof). A day is read from the copy only while the copy
is whole and current, which a *pack mark* says: a ``DAY_MARK`` point per day whose ``upto`` is the newest
``rollup_mark`` ``written_at`` of that day the copy holds (the rollups' marks, ``ronde.store.checks``, move with
every write of a day's rollups). A day whose newest pack mark is older than its rollup mark (a write cut between its
proof and its copy) or that has no pack mark (data of earlier code, the first copy's included: its marks are
``OLD_MARK``, which vouch for nothing here) is read from ``checkpoint_day``, as before. ``pack`` makes the copy of
such days (``InfluxStore.pack_days``: the maintenance role as it opens, ``ronde store init``), each row with its
own ``written_at``, so a later rewrite of a day (late events re-roll it) wins in both measurements alike; then a
sweep point, after which a day with neither mark is known to have no rollup (a day off: not read at all); then it
drops the first copy and its marks (``drop_old``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any
from urllib.parse import unquote

from ronde.store import influx_figures as figures
from ronde.store import schema
from ronde.store.checks import ROLLUP_MARK
from ronde.store.day_states import COVERED, UNVISITED, VISITED, Coded, DayStates, of_figures
from ronde.store.errors import StoreRejected
from ronde.store.influx_http import InfluxQL, quote_ident, quote_str
from ronde.store.lineprotocol import encode_line
from ronde.store.records import DailyRollup, RollupFigures

DAY_MARK = "estate_day_figures_mark"  # one point per service day each time its packed copy is made whole
OLD_MARK = "checkpoint_day_figures_mark"  # the first copy's (``schema.CHECKPOINT_DAY_FIGURES``): dropped with it
PACKED = schema.ESTATE_DAY_FIGURES
OLD_NAMES = frozenset({schema.CHECKPOINT_DAY_FIGURES.name, OLD_MARK})
COLUMNS = ["time", "estate", "landlord", "figures"]
ROW = len(schema.PACKED_DAY_ROW)
_HEARD = 5  # what ``heard`` splits of a row: the checkpoint, written_at, time, visits and the rest
_COVERED = {"1": True, "0": False}  # a packed row's ``covered`` (anything else: not a row this code wrote)
_STATES = 7  # what ``day_states`` splits: those, expected, covered and the rest
PROOF = schema.RetentionClass.PROOF.value
SWEPT = f"SELECT count({quote_ident('swept')}) FROM {quote_ident(DAY_MARK)}"  # noqa: S608 - quoted names: sweeps made
log = logging.getLogger(__name__)
_FAR_DAYS = 3660  # how far ahead ``pack`` looks for days (a service day is never that far in the future)


def mark_line(day: date, upto_ms: int) -> str:
    """The copy of ``day`` is whole and holds every write of it up to the rollup mark ``upto_ms`` (ms)."""
    ns = schema.day_start_ns(day) + schema.offset(day, upto_ms, modulo=schema.NS_PER_DAY)
    return encode_line(DAY_MARK, {}, {"upto": upto_ms}, ns)


def where(first: date, last: date, landlord: str | None) -> list[str]:
    """The service days ``first``..``last`` (points lie within their day's UTC day), of ``landlord`` if given."""
    out = [f"time >= {schema.day_start_ns(first)}", f"time < {schema.day_start_ns(last + timedelta(days=1))}"]
    if landlord is not None:
        out.append(f"{quote_ident('landlord')} = {quote_str(landlord)}")
    return out


def per_day(measurement: str, field: str, where: Sequence[str]) -> str:
    """``max(field)`` of ``measurement`` per UTC day."""
    # names quoted by quote_ident, ``where`` built from integers and quote_str'd values
    return (
        f"SELECT max({quote_ident(field)}) FROM {quote_ident(measurement)} "  # noqa: S608
        f"WHERE {' AND '.join(where)} GROUP BY time(1d) fill(none)"
    )


def days_of(result: Mapping[str, Any]) -> dict[date, int]:
    """A ``per_day`` result: the day's maximum by day."""
    out: dict[date, int] = {}
    for s in result.get("series", ()):
        for v in s["values"]:
            if v[1] is not None:
                out[_utc_day(int(v[0]))] = int(v[1])
    return out


def whole(marks: Mapping[date, int], packs: Mapping[date, int], day: date) -> bool:
    """Whether the copy of ``day`` is whole and current: a pack mark at least as new as the day's rollup mark."""
    upto = packs.get(day)
    return upto is not None and upto >= marks.get(day, 0)


def states(ql: InfluxQL, first: date, last: date, landlord: str | None) -> tuple[dict[date, int], dict[date, int]]:
    """The rollup marks (of ``landlord``'s rollups, or all) and the pack marks of the days ``first``..``last``."""
    scope = where(first, last, landlord)
    marks = ql.results([per_day(ROLLUP_MARK, "written_at", scope)], rp=PROOF)[0]
    return days_of(marks), days_of(ql.results([per_day(DAY_MARK, "upto", scope[:2])], rp=PROOF)[0])


def read(ql: InfluxQL, first: date, last: date, landlord: str | None) -> list[RollupFigures]:
    """``Store.rollup_figures``: the packed copy of each day that is whole, ``checkpoint_day`` for the others (no
    copy, or one older than the day's last write), by service day then checkpoint."""
    kept, out = _read(ql, first, last, landlord)
    days: dict[str, date] = {}
    for (day, _), (tags, p) in kept.items():
        d = days.get(day)
        if d is None:
            d = days[day] = date.fromisoformat(day)
        out.append(packed_figures(d, tags, p))
    out.sort(key=_day_and_checkpoint)
    return out


def heard(ql: InfluxQL, first: date, last: date, landlord: str | None) -> dict[str, tuple[date, date]]:
    """``Store.heard_days`` from what ``read`` reads: each checkpoint's first and last day whose newest rollup has
    a visit (of the packed rows only the checkpoint, ``written_at``, time and ``visits`` split off; ISO days
    compared as text)."""
    kept, proof = _read(ql, first, last, landlord, split=_HEARD - 1)
    spans: dict[str, list[str]] = {}
    found = _visited(kept)
    for day, cid in found + [(f[0].isoformat(), f[1]) for f in proof if f[6] > 0]:
        span = spans.get(cid)
        if span is None:
            spans[cid] = [day, day]
        elif day < span[0]:
            span[0] = day
        elif day > span[1]:
            span[1] = day
    days: dict[str, date] = {}
    for day in {d for span in spans.values() for d in span}:
        days[day] = date.fromisoformat(day)
    return {cid: (days[a], days[b]) for cid, (a, b) in spans.items()}


def visited(ql: InfluxQL, first: date, last: date, landlord: str | None) -> dict[date, list[str]]:
    """``Store.rollup_visited`` from what ``heard`` reads: a day is rolled up when a newest row (packed or from
    ``checkpoint_day``) is found for it, visited where that row has a visit."""
    kept, proof = _read(ql, first, last, landlord, split=_HEARD - 1)
    iso: dict[str, list[str]] = {day: [] for day, _ in kept}
    for day, cid in _visited(kept):
        iso[day].append(cid)
    out = {date.fromisoformat(day): cids for day, cids in iso.items()}
    for f in proof:
        cids = out.setdefault(f[0], [])
        if f[6] > 0:
            cids.append(f[1])
    return out


def day_states(ql: InfluxQL, first: date, last: date, landlord: str | None) -> list[DayStates]:
    """``Store.rollup_day_states`` from what ``read`` reads: of a packed row only the checkpoint, ``written_at``,
    time, visits, expected and covered split off, the building the last of the rest (a city landlord's tail: its
    ~17,500 rows' figures were made whole, then coded)."""
    kept, proof = _read(ql, first, last, landlord, split=_STATES - 1)
    coded = Coded(first, last)
    places: dict[str, int] = {}
    try:
        for (day, cid), (tags, p) in kept.items():
            if len(p) != _STATES:
                raise StoreRejected(f"{PACKED.name}: a packed row of {len(p)} figures")
            k = places.get(day)
            if k is None:
                k = places[day] = (date.fromisoformat(day) - first).days
            if p[6].count(" ") != ROW - _STATES:
                raise StoreRejected(f"{PACKED.name}: a packed row of {_STATES + p[6].count(' ')} figures")
            building = _unquoted(p[6].rsplit(" ", 1)[1]) or None
            visits, covered = int(p[3]), _COVERED[p[5]]
            code = COVERED if covered else VISITED if visits > 0 else UNVISITED
            coded.add(k, (_unquoted(cid), building, tags[0] or "", tags[1] or ""), code)
    except (KeyError, ValueError) as exc:
        raise StoreRejected(f"{PACKED.name}: a malformed packed row ({exc!r})") from exc
    return of_figures(proof, first, last, coded)


def _visited(kept: Packed) -> list[tuple[str, str]]:
    """The (ISO day, checkpoint) of the rows of ``kept`` (split 4 times) with a visit."""
    out: list[tuple[str, str]] = []
    try:
        for (day, cid), (_, p) in kept.items():
            if len(p) != _HEARD:
                raise StoreRejected(f"{PACKED.name}: a packed row of {len(p)} figures")
            if int(p[3]) > 0:
                out.append((day, _unquoted(cid)))
    except ValueError as exc:
        raise StoreRejected(f"{PACKED.name}: a malformed packed row ({exc})") from exc
    return out


Tags = tuple[Any, Any]  # a packed point's estate and landlord
Packed = dict[tuple[str, str], tuple[Tags, list[str]]]  # (ISO day, quoted checkpoint) -> the newest row, split


def select(scope: Sequence[str]) -> str:
    """The packed points ``scope`` selects, ungrouped (a series an estate: grouped, each would repeat its columns),
    their estate and landlord as columns (``COLUMNS``)."""
    tags = f"{quote_ident('estate')}::tag, {quote_ident('landlord')}::tag"
    # names quoted by quote_ident, ``scope`` built from integers and quote_str'd values
    return f"SELECT {tags}, {quote_ident('figures')} FROM {quote_ident(PACKED.name)} WHERE {' AND '.join(scope)}"  # noqa: S608


def _read(
    ql: InfluxQL, first: date, last: date, landlord: str | None, *, split: int = -1
) -> tuple[Packed, list[RollupFigures]]:
    """The newest packed row per (day, checkpoint) of the days whose copy is whole (split ``split`` times, all by
    default), and the figures of the other days from ``checkpoint_day``."""
    scope = where(first, last, landlord)
    marks, packs, swept, rows = ql.results(
        [per_day(ROLLUP_MARK, "written_at", scope), per_day(DAY_MARK, "upto", scope[:2]), SWEPT, select(scope)],
        rp=PROOF,
    )
    by_day, by_pack = days_of(marks), days_of(packs)
    empty = bool(swept.get("series"))  # after a sweep a day without either mark has no rollup (a day off)
    n = (last - first).days + 1
    stale = [
        d
        for d in (first + timedelta(days=k) for k in range(n))
        if not (whole(by_day, by_pack, d) or (empty and d not in by_day and d not in by_pack))
    ]
    kept = _newest(rows, {d.isoformat() for d in stale}, split)
    proof: list[RollupFigures] = []
    for run in _runs(stale):
        rows_of = figures.newest(ql, schema.CHECKPOINT_DAY, figures.DAY_FIELDS, where(run[0], run[-1], landlord), 1)
        proof.extend(figures.day_figures(rows_of))
    return kept, proof


def _day_and_checkpoint(f: RollupFigures) -> tuple[date, str]:
    return f[0], f[1]


def _newest(result: Mapping[str, Any], skip: set[str], split: int) -> Packed:
    """The newest packed row per (day, checkpoint) of ``result`` but for the days ``skip`` (ISO), split: the newest
    ``written_at``, then its ``checkpoint_day`` point's time, compared only when a key comes again (a re-roll).
    A point or row influxd could not have been given by ``schema.estate_day_lines`` raises ``StoreRejected``."""
    try:
        return _rows(result, skip, split)
    except (AttributeError, IndexError, OverflowError, TypeError, ValueError) as exc:
        raise StoreRejected(f"{PACKED.name}: a malformed packed point ({type(exc).__name__}: {exc})") from exc


def _rows(result: Mapping[str, Any], skip: set[str], split: int) -> Packed:
    kept: Packed = {}
    days: dict[int, str] = {}
    for s in result.get("series", ()):
        if s["columns"] != COLUMNS:
            raise StoreRejected(f"{PACKED.name}: unexpected columns {s['columns']!r}")
        for v in s["values"]:
            n = int(v[0]) // schema.NS_PER_DAY
            day = days.get(n)
            if day is None:
                day = days[n] = _utc_day(n * schema.NS_PER_DAY).isoformat()
            if day in skip:
                continue
            tags = (v[1], v[2])
            for row in v[3].split(";"):
                p = row.split(" ", split)
                key = (day, p[0])
                seen = kept.get(key)
                if seen is None or (int(p[1]), int(p[2])) > (int(seen[1][1]), int(seen[1][2])):
                    kept[key] = (tags, p)
    return kept


def packed_figures(d: date, tags: Tags, p: Sequence[str]) -> RollupFigures:
    """A packed row's figures: ``tags`` its point's estate and landlord, ``p`` the row split
    (``schema.PACKED_DAY_ROW``), converted as ``influx_figures.day_figures`` converts ``checkpoint_day``'s fields
    (equal)."""
    if len(p) != ROW:
        raise StoreRejected(f"{PACKED.name}: {len(p)} packed figures, not {ROW}")
    first, last = p[6], p[7]
    try:
        return (
            d,
            _unquoted(p[0]),
            _unquoted(p[11]),
            _unquoted(p[12]) or None,
            tags[0] or "",
            tags[1] or "",
            int(p[3]),
            int(p[4]),
            _COVERED[p[5]],
            None if first == "-" else int(first) * 1000,
            None if last == "-" else int(last) * 1000,
            float(p[8]),
            float(p[9]),
            float(p[10]),
        )
    except (KeyError, ValueError) as exc:
        raise StoreRejected(f"{PACKED.name}: a malformed packed row ({exc!r})") from exc


def _unquoted(s: str) -> str:
    """A checkpoint, kind or building as written (``schema.packed_day_row`` percent-quotes them; ids need not)."""
    return unquote(s, errors="strict") if "%" in s else s


def versions(
    rows: Mapping[tuple[Any, ...], tuple[Mapping[str, str], Sequence[Any]]],
) -> list[tuple[DailyRollup, int, int]]:
    """``influx_figures.newest``'s rows (``ROLLUP_FIELDS``) as (rollup, ``written_at``, its point's time)."""
    return [
        (r, int(rows[k][1][2]), int(rows[k][1][0])) for k, r in zip(sorted(rows), figures.rollups(rows), strict=True)
    ]


def pack(
    ql: InfluxQL, write: Callable[[Sequence[str]], Any], *, now_ms: int, drop: Callable[[str], bool] | None = None
) -> int:
    """Make the packed copy of every day of ``checkpoint_day`` whose copy is not whole, day by day (its newest
    rollups, each with its own ``written_at`` and time, then the day's pack mark); returns how many rows it wrote.
    The pack mark holds the rollup mark read *before* the rows: a write of the day meanwhile leaves the day read
    from ``checkpoint_day`` until the next ``pack`` (never a copy that misses it). Idempotent. Then a sweep point
    (``sweep_line``) unless one is there and nothing was copied (a pass with nothing to do writes nothing); last,
    the first copy dropped (``drop_old``) if ``drop`` is given."""
    far = schema.from_ms(now_ms).date() + timedelta(days=_FAR_DAYS)
    scope = ["time >= 0", f"time < {schema.day_start_ns(far)}"]
    swept = bool(ql.results([SWEPT], rp=PROOF)[0].get("series"))
    # one statement a request, in this order: the days, then their rollup marks, then the pack marks. After a
    # sweep, a day of rollups has a rollup mark (those of earlier code got their pack mark from the sweep): the
    # marks are the days, without reading checkpoint_day (~4 s of influxd at city scale)
    days = (ROLLUP_MARK, "written_at") if swept else (schema.CHECKPOINT_DAY.name, "written_at")
    rolled, by_day, by_pack = (
        days_of(ql.results([per_day(m, f, scope)], rp=PROOF)[0])
        for m, f in (days, (ROLLUP_MARK, "written_at"), (DAY_MARK, "upto"))
    )
    written = 0
    for day in sorted(d for d in rolled if not whole(by_day, by_pack, d)):
        kept = figures.newest(ql, schema.CHECKPOINT_DAY, figures.ROLLUP_FIELDS, where(day, day, None), 1)
        rows = versions(kept)
        write([*schema.estate_day_lines(rows), mark_line(day, by_day.get(day, 0))])
        written += len(rows)
    if written or not swept:
        write([sweep_line(now_ms)])
    if drop is not None:
        drop_old(ql, drop)
    return written


def drop_old(ql: InfluxQL, drop: Callable[[str], bool]) -> None:
    """Drop the first copy (``checkpoint_day_figures``) and its marks, after ``pack`` made this one: nothing reads
    them. Where the server cannot (``drop`` False, 3.x), retention deletes them at ``checkpoint_day``'s cutoff."""
    try:
        found = {str(v[0]) for s in ql.series("SHOW MEASUREMENTS") for v in s.get("values", ())}
    except StoreRejected:  # a server without SHOW MEASUREMENTS: left to retention
        return
    for name in sorted(OLD_NAMES & found):
        if drop(name):
            log.info("daily figures: the first packed copy's %s dropped", name)
        else:
            log.warning("daily figures: the first packed copy's %s kept (not deletable here): retention ends it", name)


def sweep_line(now_ms: int) -> str:
    """``pack`` went through every day: since, a day without a rollup mark nor a pack mark has no rollup at all
    (rollups of earlier code had a pack mark written by that pass; this code's writes have marks). At the
    sweep's time (a point beyond the proof's retention would be refused); retention ends it after a year, and the
    next ``pack`` writes one again."""
    return encode_line(DAY_MARK, {}, {"swept": now_ms}, now_ms * schema.NS_PER_MS)


def _utc_day(ns: int) -> date:
    return date(1970, 1, 1) + timedelta(days=ns // schema.NS_PER_DAY)


def _runs(days: Sequence[date]) -> list[list[date]]:
    """Consecutive days in runs (one ``checkpoint_day`` statement a run)."""
    runs: list[list[date]] = []
    for d in days:
        if runs and d - runs[-1][-1] == timedelta(days=1):
            runs[-1].append(d)
        else:
            runs.append([d])
    return runs
