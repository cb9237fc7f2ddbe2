"""InfluxQL for the dashboards, built from the store's schema (``ronde.store.schema``).

Every measurement, tag and field name comes from the schema module and is checked against it, so
a schema change breaks ``ronde dashboards generate`` (and its test) instead of silently emptying a
panel. Only InfluxQL that InfluxDB 1.x, 2.x (DBRP) and 3.x share is used: raw queries, subqueries,
``GROUP BY time(..) tz(..)``, selectors, ``ABS``/``CEIL`` maths; no Flux, no SQL.

Conventions worth knowing when reading the queries:

- a measurement lives in the retention policy of its retention class: ``"raw"."visit"`` (on 2.x
  the DBRP mapping ``ronde/raw`` makes the same text work);
- a daily rollup may be rewritten (late events): the newest ``written_at`` of a checkpoint-day
  wins, so rollup queries first keep ``max(written_at)`` per UTC day and checkpoint;
- InfluxQL has no CASE and cannot average booleans, so "covered" (visits >= expected, as in
  ``ronde.coverage.daily``) is computed as ``1 - CEIL(s / (s + 1))`` with
  ``s = max(0, expected - visits) = (d + ABS(d)) / 2``: 1 when covered, 0 otherwise, no division by 0;
  ``d`` is made a float first (``- 0.0``): Debian's InfluxDB 1.6.7 returns ``ABS(d) = d`` for a
  negative *integer*, which made an over-covered day (visits > expected) count -1;
- only the innermost query of a nested one carries ``$timeFilter`` and no query filters on a field:
  Debian's InfluxDB 1.6.7 silently drops series when an outer layer repeats the time condition with
  ``GROUP BY <tag>``, and ignores field conditions on nested subqueries (both found by the tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ronde.store.records import DEFAULT_SEQUENCE_ANOMALY_AFTER
from ronde.store.schema import (
    BEACON_TELEMETRY,
    CHECKPOINT_DAY,
    GATEWAY_STATE,
    REJECTION,
    SEQUENCE_GAP,
    VISIT,
    Measurement,
)

TZ = "Europe/Paris"
TIME_FILTER = "$timeFilter"
# A week bucket starts on Monday: the epoch (1970-01-01) was a Thursday, +4 days.
WEEK = "time(1w, 4d)"
SERVICE_HOURS = (16, 17, 18, 19, 20, 21, 22)  # local hours that hold service (16:00–22:15)


class SchemaMismatch(LookupError):
    """A dashboard names a measurement, tag or field the store schema does not have."""


def source(m: Measurement) -> str:
    return f'"{m.retention.value}"."{m.name}"'


def tag(m: Measurement, name: str) -> str:
    if name not in m.tags:
        raise SchemaMismatch(f"{m.name} has no tag {name!r} (tags: {', '.join(m.tags)})")
    return f'"{name}"'


def field(m: Measurement, name: str) -> str:
    if name not in m.fields:
        raise SchemaMismatch(f"{m.name} has no field {name!r} (fields: {', '.join(m.fields)})")
    return f'"{name}"'


def ident(name: str) -> str:
    """A double-quoted identifier (column alias), e.g. a landlord's display name."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def tz() -> str:
    return f"tz({literal(TZ)})"


@dataclass(frozen=True, slots=True)
class Filter:
    """A tag condition: fixed (``= 'paris-habitat'``) or a Grafana variable (``=~ /^$landlord$/``)."""

    tag_name: str
    value: str
    variable: bool = False
    multi: bool = False
    negate: bool = False

    def render(self, m: Measurement) -> str:
        t = tag(m, self.tag_name)
        if self.negate:
            return f"{t} != {literal(self.value)}"
        if not self.variable:
            return f"{t} = {literal(self.value)}"
        if self.multi:
            return f"{t} =~ /^${self.value}$/"
        return f"{t} = '${self.value}'"


_HAS_BUILDING = Filter("building", "", negate=True)


def where(m: Measurement, filters: Sequence[Filter] = (), *extra: str) -> str:
    parts = [TIME_FILTER, *(f.render(m) for f in filters), *extra]
    return " AND ".join(parts)


def group_by(*items: str) -> str:
    return " GROUP BY " + ", ".join(items) if items else ""


# ---- daily rollups (proof of service) ------------------------------------------------------------


def newest_rollups(fields: Sequence[str], filters: Sequence[Filter] = (), tags: Sequence[str] = ()) -> str:
    """One row per UTC day (= service day) and checkpoint: the newest version of its rollup."""
    m = CHECKPOINT_DAY
    keep = ", ".join(field(m, f) for f in fields)
    keys = ["checkpoint", *(t for t in tags if t != "checkpoint")]
    return (
        f'SELECT max({field(m, "written_at")}) AS "written_at", {keep} FROM {source(m)} '
        f"WHERE {where(m, filters)}{group_by('time(1d)', *(tag(m, t) for t in keys))} fill(none)"
    )


def covered_indicator(filters: Sequence[Filter] = (), tags: Sequence[str] = ()) -> str:
    """Per checkpoint-day: ``covered`` = 1 if visits >= expected else 0 (see module docstring)."""
    m = CHECKPOINT_DAY
    e, v = field(m, "expected"), field(m, "visits")
    d = f"({e} - {v} - 0.0)"  # a float: ABS of a negative integer is wrong on 1.6.7 (module docstring)
    shortfall = f"({d} + ABS({d})) / 2"
    inner = newest_rollups(("visits", "expected"), filters, tags)
    return f'SELECT 1 - CEIL({shortfall} / ({shortfall} + 1)) AS "covered" FROM ({inner})'


def coverage_pct(
    filters: Sequence[Filter] = (), tags: Sequence[str] = (), *, weekly: bool = False, alias: str = "couverture"
) -> str:
    """Share (%) of checkpoint-days covered, optionally per week and per tag."""
    keys = [WEEK] if weekly else []
    keys += [tag(CHECKPOINT_DAY, t) for t in tags]
    return (
        f'SELECT mean("covered") * 100 AS "{alias}" FROM ({covered_indicator(filters, tags)})'
        f"{group_by(*keys)} fill(none){' ' + tz() if weekly else ''}"
    )


def rollup_stat(
    function: str,
    field_name: str,
    alias: str,
    filters: Sequence[Filter] = (),
    tags: Sequence[str] = (),
    *,
    weekly: bool = False,
    scale: str = "",
) -> str:
    """``function`` (mean, sum, max...) of a rollup field over newest checkpoint-days."""
    keys = [WEEK] if weekly else []
    keys += [tag(CHECKPOINT_DAY, t) for t in tags]
    inner = newest_rollups((field_name,), filters, tags)
    return (
        f'SELECT {function}("{field_name}"){scale} AS "{alias}" FROM ({inner})'
        f"{group_by(*keys)} fill(none){' ' + tz() if weekly else ''}"
    )


VISITS = '"visits"'


def _positive(expr: str) -> str:
    """1 if the non-negative integer ``expr`` is > 0, else 0 (InfluxQL has no CASE)."""
    return f"CEIL({expr} / ({expr} + 1))"


def uncovered_days(filters: Sequence[Filter] = (), tags: Sequence[str] = ("checkpoint",)) -> str:
    """Number of service days each checkpoint went without any detection.

    Counted with maths rather than ``WHERE "visits" = 0``: InfluxDB 1.6 drops field conditions on
    nested subqueries (checked on Debian's 1.6.7), so no dashboard query filters on a field.
    """
    inner = newest_rollups(("visits",), filters, tags)
    keys = [tag(CHECKPOINT_DAY, t) for t in tags]
    return (
        f'SELECT sum("silent") AS "jours sans détection" FROM '
        f'(SELECT 1 - {_positive(VISITS)} AS "silent" FROM ({inner}))'
        f"{group_by(*keys)}"
    )


def buildings_with_silent_beacon(filters: Sequence[Filter] = ()) -> str:
    """Days a building was visited (some checkpoint seen) while one of its beacons was not."""
    m = CHECKPOINT_DAY
    with_building = [*filters, _HAS_BUILDING]
    inner = newest_rollups(("visits",), with_building, ("building", "estate"))
    per_building = (
        f'SELECT max("visits") AS "max_visits", min("visits") AS "min_visits" FROM ({inner})'
        f"{group_by('time(1d)', tag(m, 'building'), tag(m, 'estate'))} fill(none)"
    )
    flag = _positive('"max_visits"') + " * (1 - " + _positive('"min_visits"') + ")"
    return (
        f'SELECT sum("silent") AS "jours" FROM (SELECT {flag} AS "silent" FROM ({per_building}))'
        f"{group_by(tag(m, 'building'), tag(m, 'estate'))}"
    )


# ---- visits (raw presence) ----------------------------------------------------------------------


def visits_count(
    filters: Sequence[Filter] = (), tags: Sequence[str] = (), interval: str | None = None, alias: str = "passages"
) -> str:
    m = VISIT
    keys = [f"time({interval})"] if interval else []
    keys += [tag(m, t) for t in tags]
    suffix = f" fill(0) {tz()}" if interval else ""
    return (
        f'SELECT count({field(m, "event_id")}) AS "{alias}" FROM {source(m)} '
        f"WHERE {where(m, filters)}{group_by(*keys)}{suffix}"
    )


def checkpoints_visited(filters: Sequence[Filter] = (), formula: str = 'count("n")', alias: str = "visités") -> str:
    """Distinct checkpoints with at least one visit in the range (count of per-checkpoint series).

    ``formula`` may scale the count, e.g. ``count("n") * 100 / 38`` for a share of 38 checkpoints.
    """
    m = VISIT
    inner = (
        f'SELECT count({field(m, "event_id")}) AS "n" FROM {source(m)} '
        f"WHERE {where(m, filters)}{group_by(tag(m, 'checkpoint'))}"
    )
    return f"SELECT {formula} AS {ident(alias)} FROM ({inner})"


def last_visit_per(tags: Sequence[str], extra: Sequence[str] = (), filters: Sequence[Filter] = ()) -> str:
    """The newest visit per tag set; ``extra`` fields or tags are returned from the same point."""
    m = VISIT
    cols = "".join(f", {_name(m, x)}" for x in extra)
    return (
        f'SELECT last({field(m, "dwell_s")}) AS "durée (s)"{cols} FROM {source(m)} '
        f"WHERE {where(m, filters)}{group_by(*(tag(m, t) for t in tags))}"
    )


def hour_row(hour: int, filters: Sequence[Filter] = ()) -> str:
    """Visits in the local hour ``hour`` of each day: one heatmap row (Grafana "time series buckets").

    Innermost: visits per local hour (zeros filled). Middle: in local days starting at ``hour``:00,
    the first of those counts, i.e. the one of ``hour``:00. Outer: the same value stamped at local
    midnight, so that the rows of every hour share one time field and line up as heatmap columns.
    """
    inner = visits_count(filters, interval="1h", alias="n")
    middle = f'SELECT first("n") AS "n" FROM ({inner}) GROUP BY time(1d, {hour}h) fill(none) {tz()}'
    return f'SELECT sum("n") AS "{hour}" FROM ({middle}) GROUP BY time(1d) fill(none) {tz()}'


def ingest_lag(interval: str = "$__interval") -> str:
    """Seconds from the end of a visit (gateway clock) to its reception by ingest."""
    m = VISIT
    inner = (
        f'SELECT ({field(m, "received_at")} - {field(m, "last_seen")}) / 1000 AS "lag" '
        f"FROM {source(m)} WHERE {TIME_FILTER}"
    )
    return (
        f'SELECT median("lag") AS "médiane", percentile("lag", 95) AS "95e centile", max("lag") AS "max" '
        f"FROM ({inner}) GROUP BY time({interval}) fill(none)"
    )


# ---- technical measurements -----------------------------------------------------------------------


def beacon_battery_last() -> str:
    m = BEACON_TELEMETRY
    return (
        f'SELECT last({field(m, "battery_mv")}) AS "pile (mV)", {field(m, "temperature_c")} AS "température (°C)" '
        f"FROM {source(m)} WHERE {TIME_FILTER}{group_by(tag(m, 'checkpoint'))}"
    )


def beacon_battery_series() -> str:
    m = BEACON_TELEMETRY
    return (
        f'SELECT min({field(m, "battery_mv")}) AS "pile (mV)" FROM {source(m)} '
        f"WHERE {TIME_FILTER}{group_by('time($__interval)', tag(m, 'checkpoint'))} fill(none)"
    )


def beacon_heard_last() -> str:
    """Last time each beacon was heard at all: its newest telemetry frame."""
    m = BEACON_TELEMETRY
    return (
        f'SELECT last({field(m, "adv_count")}) AS "annonces" FROM {source(m)} '
        f"WHERE {TIME_FILTER}{group_by(tag(m, 'checkpoint'))}"
    )


def rejections_by_reason(interval: str | None = "$__interval") -> str:
    m = REJECTION
    keys = [f"time({interval})"] if interval else []
    return (
        f'SELECT count({field(m, "payload_sha256")}) AS "refus" FROM {source(m)} '
        f"WHERE {TIME_FILTER}{group_by(*keys, tag(m, 'reason'))}{' fill(none)' if interval else ''}"
    )


def _gap_columns(anomaly_after: int) -> str:
    """Each gap's lost events and whether it is a sequence anomaly, as the API counts them.

    A gap wider than ``anomaly_after`` (``DEFAULT_SEQUENCE_ANOMALY_AFTER``, 100,000) is no loss a
    gateway can have had but a corrupted, reset or forged ``seq``: it counts 0 lost events and 1
    anomaly, so a jump of 2^53 never reads as quadrillions of lost events. With ``w`` the width
    and ``s = max(0, w - anomaly_after)``: ``anomalie = CEIL(s / (s + 1))`` and
    ``perdus = w * (1 - anomalie)`` (no CASE in InfluxQL, and no filter on a field, see above).
    """
    if anomaly_after < 1:
        raise ValueError("anomaly_after must be at least 1")
    m = SEQUENCE_GAP
    first, last = field(m, "first_missing"), field(m, "last_missing")
    width = f"({last} - {first} + 1)"
    # w - anomaly_after, as a float: ABS of a negative integer is wrong on 1.6.7 (module docstring)
    over = f"({last} - {first} - {anomaly_after - 1}.0)"
    anomaly = _positive(f"(({over} + ABS({over})) / 2)")
    return f'{width} * (1 - {anomaly}) AS "perdus", {anomaly} AS "anomalie"'


def sequence_gaps(anomaly_after: int = DEFAULT_SEQUENCE_ANOMALY_AFTER) -> str:
    """Every gap: its range, its lost events (0 for an anomaly) and whether it is an anomaly."""
    m = SEQUENCE_GAP
    first, last = field(m, "first_missing"), field(m, "last_missing")
    return (
        f'SELECT {first} AS "premier manquant", {last} AS "dernier manquant", {_gap_columns(anomaly_after)} '
        f"FROM {source(m)} WHERE {TIME_FILTER}{group_by(tag(m, 'gateway'))}"
    )


def lost_events_total(anomaly_after: int = DEFAULT_SEQUENCE_ANOMALY_AFTER) -> str:
    """Events lost in gaps up to ``anomaly_after`` wide; wider gaps are counted by ``sequence_anomalies``."""
    inner = f"SELECT {_gap_columns(anomaly_after)} FROM {source(SEQUENCE_GAP)} WHERE {TIME_FILTER}"
    return f'SELECT sum("perdus") AS "perdus" FROM ({inner})'


def sequence_anomalies(anomaly_after: int = DEFAULT_SEQUENCE_ANOMALY_AFTER) -> str:
    """How many gaps are wider than ``anomaly_after``: sequence anomalies, not lost events."""
    inner = f"SELECT {_gap_columns(anomaly_after)} FROM {source(SEQUENCE_GAP)} WHERE {TIME_FILTER}"
    return f'SELECT sum("anomalie") AS "anomalies" FROM ({inner})'


def gateway_last(field_name: str, alias: str, extra: Sequence[str] = ()) -> str:
    m = GATEWAY_STATE
    cols = "".join(f", {field(m, x)}" for x in extra)
    return (
        f'SELECT last({field(m, field_name)}) AS "{alias}"{cols} FROM {source(m)} '
        f"WHERE {TIME_FILTER}{group_by(tag(m, 'gateway'))}"
    )


def gateway_series(field_name: str, function: str = "max") -> str:
    m = GATEWAY_STATE
    return (
        f'SELECT {function}({field(m, field_name)}) AS "{field_name}" FROM {source(m)} '
        f"WHERE {TIME_FILTER}{group_by('time($__interval)', tag(m, 'gateway'))} fill(none)"
    )


def _name(m: Measurement, name: str) -> str:
    if name in m.tags:
        return tag(m, name)
    return field(m, name)
