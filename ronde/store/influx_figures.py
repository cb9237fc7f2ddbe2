"""Rollups and letters read from influxd as plain figures: named fields, series grouped by their tags, each row
taken by column position from the JSON influxd gives, the newest point per key kept.

Why: a cold landlord year on influxd read every letter and rollup with ``SELECT *`` (all tags and fields, every
series merged into one time-ordered stream by influxd), made a dict a row (``rows_of``), then an object, then the
figures. Grouped by the series' tags, influxd streams each series as it lies on disk (no merge of 2,500 series)
and names the tags once a series; only the fields a reader uses are read (no ``chain_digest``, no ``month``).
Each figure is converted as ``schema.*_from_row`` then ``records.*_figures_of`` would (floats by ``float``:
influxd writes 2.0 as ``2``; instants in milliseconds stored, microseconds given), so the results are equal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from ronde.store import schema
from ronde.store.errors import StoreRejected
from ronde.store.influx_http import InfluxQL, quote_ident
from ronde.store.records import DailyRollup, MonthlyFigures, RollupFigures

Series = Mapping[str, Any]
Values = Sequence[Any]

TAGS = ("checkpoint", "kind", "building", "estate", "landlord")
# the letters' fields, ``MonthlyFigures`` order after the key's (``from_day`` for suffixes) and ``written_at``
LETTER_FIELDS = (
    "expected", "basis", "states", "visits", "presence_s", "first_seen", "last_seen", "service_s", "seen",
    "lead_s", "trail_s", "inner_n", "inner_s1", "inner_s2", "inner_worst",
)  # fmt: skip
DAY_FIELDS = (
    "service_day", "written_at", "visits", "expected", "covered", "first_seen", "last_seen", "presence_s",
    "max_idle_s", "mean_idle_s",
)  # fmt: skip
ROLLUP_FIELDS = (*DAY_FIELDS, "chain_digest")


def select(measurement: schema.Measurement, fields: Sequence[str], where: Sequence[str]) -> str:
    """``fields`` of ``measurement`` where ``where`` holds, one series per tag set (``GROUP BY`` the tags)."""
    names = ", ".join(quote_ident(f) for f in fields)
    tags = ", ".join(quote_ident(t) for t in TAGS)
    # names quoted by quote_ident, ``where`` built by the store from integers and quote_str'd values
    return f"SELECT {names} FROM {quote_ident(measurement.name)} WHERE {' AND '.join(where)} GROUP BY {tags}"  # noqa: S608


def newest(
    ql: InfluxQL, measurement: schema.Measurement, fields: Sequence[str], where: Sequence[str], nkey: int
) -> dict[tuple[Any, ...], tuple[Mapping[str, str], Values]]:
    """The newest point (greatest ``written_at``, then time) per key: the checkpoint and the first ``nkey`` fields
    (``fields[nkey]`` must be ``written_at``), with its series' tags. A point ties with the one kept: the first
    stays, as the rows of ``SELECT *`` were kept."""
    assert fields[nkey] == "written_at"
    columns = ["time", *fields]
    out: dict[tuple[Any, ...], tuple[Mapping[str, str], Values]] = {}
    w = nkey + 1
    for s in ql.series(select(measurement, fields, where), rp=measurement.retention.value):
        if s["columns"] != columns:
            raise StoreRejected(f"{measurement.name}: unexpected columns {s['columns']!r}")
        tags = s["tags"]
        cid = tags["checkpoint"]
        for v in s["values"]:
            key = (*v[1:w], cid)
            seen = out.get(key)
            if seen is None or (v[w], v[0]) > (seen[1][w], seen[1][0]):
                out[key] = (tags, v)
    return out


def newest_letters(
    ql: InfluxQL, measurement: schema.Measurement, keys: Sequence[str], where: Sequence[str]
) -> dict[tuple[Any, ...], Values]:
    """``newest`` for letters, one point a series and key: not grouped (a series a row would repeat its columns and
    tags; measured at district scale, 12 months: 3.1 MB of JSON and ~350 ms of influxd CPU grouped, 1.0 MB and ~210
    ms not), the tags read as columns. Rows: time, ``TAGS``, ``keys``, ``written_at``, ``LETTER_FIELDS``."""
    fields = (*keys, "written_at", *LETTER_FIELDS)
    statement = select_letters(measurement, fields, where)
    columns = ["time", *TAGS, *fields]
    w = 1 + len(TAGS) + len(keys)
    out: dict[tuple[Any, ...], Values] = {}
    for s in ql.series(statement, rp=measurement.retention.value):
        if s["columns"] != columns:
            raise StoreRejected(f"{measurement.name}: unexpected columns {s['columns']!r}")
        for v in s["values"]:
            key = (*v[1 + len(TAGS) : w], v[1])
            seen = out.get(key)
            if seen is None or (v[w], v[0]) > (seen[w], seen[0]):
                out[key] = v
    return out


def select_letters(measurement: schema.Measurement, fields: Sequence[str], where: Sequence[str]) -> str:
    """``fields`` of ``measurement`` where ``where`` holds, ungrouped, ``TAGS`` first as columns."""
    names = ", ".join([*(f"{quote_ident(t)}::tag" for t in TAGS), *(quote_ident(f) for f in fields)])
    # names quoted by quote_ident, ``where`` built by the store from integers and quote_str'd values
    return f"SELECT {names} FROM {quote_ident(measurement.name)} WHERE {' AND '.join(where)}"  # noqa: S608


def packed_letter(v: Values, p: Sequence[str]) -> MonthlyFigures:
    """A packed letter's figures: ``TAGS`` at 1 of the row ``v``, ``p`` its ``figures`` split (``schema.PACKED``),
    converted as ``schema.letter_of_packed`` then ``records.monthly_figures_of`` would."""
    first, last = p[6], p[7]
    return (
        str(v[1]),
        str(v[2]),
        v[3] or None,
        str(v[4]),
        str(v[5]),
        int(p[3]),
        p[17],
        p[16],
        int(p[4]),
        float(p[5]),
        None if first == "-" else int(first) * 1000,
        None if last == "-" else int(last) * 1000,
        float(p[8]),
        int(p[9] == "1"),
        float(p[10]),
        float(p[11]),
        int(p[12]),
        float(p[13]),
        float(p[14]),
        float(p[15]),
    )


def letter(v: Values, at: int) -> MonthlyFigures:
    """A letter's figures from a row of ``newest_letters``: ``TAGS`` at 1, ``LETTER_FIELDS`` from column ``at``."""
    (expected, basis, states, visits, presence, first, last, service, seen, lead, trail, n, s1, s2, worst) = v[at:]
    return (
        str(v[1]),
        str(v[2]),
        v[3] or None,
        str(v[4]),
        str(v[5]),
        int(expected),
        str(basis),
        str(states),
        int(visits),
        float(presence),
        None if first is None else int(first) * 1000,
        None if last is None else int(last) * 1000,
        float(service),
        int(bool(seen)),
        float(lead),
        float(trail),
        int(n),
        float(s1),
        float(s2),
        float(worst),
    )


def day_figures(rows: Mapping[tuple[Any, ...], tuple[Mapping[str, str], Values]]) -> list[RollupFigures]:
    """``newest``'s daily rows as ``RollupFigures``, by service day then checkpoint (as ``rollups``)."""
    days: dict[str, date] = {}
    out: list[RollupFigures] = []
    for key in sorted(rows):
        tags, v = rows[key]
        day, _, visits, expected, covered, first, last, presence, max_idle, mean_idle = v[1:]
        d = days.get(day)
        if d is None:
            d = days[day] = date.fromisoformat(str(day))
        out.append(
            (
                d,
                tags["checkpoint"],
                tags["kind"],
                tags["building"] or None,
                tags["estate"],
                tags["landlord"],
                int(visits),
                int(expected),
                bool(covered),
                None if first is None else int(first) * 1000,
                None if last is None else int(last) * 1000,
                float(presence),
                float(max_idle),
                float(mean_idle),
            )
        )
    return out


def rollups(rows: Mapping[tuple[Any, ...], tuple[Mapping[str, str], Values]]) -> list[DailyRollup]:
    """``newest``'s daily rows (``ROLLUP_FIELDS``) as ``DailyRollup``, by service day then checkpoint."""
    days: dict[str, date] = {}
    out: list[DailyRollup] = []
    for key in sorted(rows):
        tags, v = rows[key]
        day, _, visits, expected, covered, first, last, presence, max_idle, mean_idle, digest = v[1:]
        d = days.get(day)
        if d is None:
            d = days[day] = date.fromisoformat(str(day))
        out.append(
            DailyRollup(
                service_day=d,
                checkpoint_id=tags["checkpoint"],
                kind=tags["kind"],
                building=tags["building"] or None,
                estate=tags["estate"],
                landlord=tags["landlord"],
                visits=int(visits),
                expected=int(expected),
                covered=bool(covered),
                first_seen=None if first is None else schema.from_ms(int(first)),
                last_seen=None if last is None else schema.from_ms(int(last)),
                presence_s=float(presence),
                max_idle_s=float(max_idle),
                mean_idle_s=float(mean_idle),
                chain_digest=str(digest),
            )
        )
    return out
