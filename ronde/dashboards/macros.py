"""Grafana's interpolation of InfluxQL panel queries, reproduced to run them outside Grafana.

Tests (and ``ronde dashboards query``) run each panel's query against a real InfluxDB; for that
the template macros must be replaced the way Grafana's InfluxDB data source does it:

- ``$timeFilter`` / ``$__timeFilter`` → ``time >= <from>ms and time <= <to>ms``;
- ``$__interval`` / ``$interval`` → the auto interval (range / max data points, rounded the way
  Grafana's ``roundInterval`` does, never below the panel's minimum interval); ``$__interval_ms``;
- ``$__from`` / ``$__to`` → epoch milliseconds;
- template variables ``$name``, ``${name}``, ``[[name]]``: a single value as is; several values (or a
  multi/include-all variable) regex-escaped, joined with ``|`` and parenthesised, for
  ``=~ /^$name$/``; "All" becomes the variable's ``allValue`` when it has one.

Relative time ranges (``now-7d``, ``now/d``, ``now-1w/w``) resolve against a given ``now`` in the
dashboard's time zone, weeks starting on Monday like the dashboards.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

ALL = "$__all"

_REL_RE = re.compile(r"^now(?:-(?P<n>\d+)(?P<unit>[smhdwMy]))?(?:/(?P<round>[smhdwMy]))?$")
_VAR_RE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")
_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|{}\[\]/]")

# Grafana's roundInterval(): (upper bound in ms, rounded interval in ms).
_ROUND_STEPS: tuple[tuple[int, int], ...] = (
    (15, 10),
    (35, 20),
    (75, 50),
    (150, 100),
    (350, 200),
    (750, 500),
    (1_500, 1_000),
    (3_500, 2_000),
    (7_500, 5_000),
    (12_500, 10_000),
    (17_500, 15_000),
    (25_000, 20_000),
    (45_000, 30_000),
    (90_000, 60_000),
    (210_000, 120_000),
    (450_000, 300_000),
    (750_000, 600_000),
    (1_050_000, 900_000),
    (1_500_000, 1_200_000),
    (2_700_000, 1_800_000),
    (5_400_000, 3_600_000),
    (9_000_000, 7_200_000),
    (16_200_000, 10_800_000),
    (32_400_000, 21_600_000),
    (86_400_000, 43_200_000),
    (604_800_000, 86_400_000),
    (1_814_400_000, 604_800_000),
    (3_628_800_000, 2_592_000_000),
)
_YEAR_MS = 31_536_000_000


@dataclass(frozen=True, slots=True)
class VariableValue:
    """The current value of a template variable and how Grafana formats it."""

    values: tuple[str, ...]
    multi: bool = False
    include_all: bool = False
    all_value: str | None = None
    all_options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class QueryContext:
    start: datetime
    end: datetime
    max_data_points: int = 1000
    min_interval_ms: int = 0
    variables: Mapping[str, VariableValue] = field(default_factory=dict)

    @property
    def interval_ms(self) -> int:
        return auto_interval_ms(self.start, self.end, self.max_data_points, self.min_interval_ms)


def resolve_time(expr: str, now: datetime, timezone: str = "Europe/Paris", *, round_up: bool = False) -> datetime:
    """A Grafana time expression (``now-7d/d``...) → an aware datetime."""
    match = _REL_RE.match(expr.strip())
    if match is None:
        raise ValueError(f"unsupported Grafana time expression {expr!r}")
    tz = ZoneInfo(timezone)
    t = now.astimezone(tz)
    if match["n"]:
        t = _shift(t, -int(match["n"]), match["unit"])
    if match["round"]:
        t = _round(t, match["round"], round_up)
    return t


def auto_interval_ms(start: datetime, end: datetime, max_data_points: int, min_interval_ms: int = 0) -> int:
    span = (end - start).total_seconds() * 1000
    raw = span / max(max_data_points, 1)
    return max(_round_interval(raw), min_interval_ms)


def format_interval(ms: int) -> str:
    """Milliseconds → Grafana's interval text (``10s``, ``1m``, ``12h``, ``1d``, ``1w``...)."""
    for unit, size in (
        ("y", _YEAR_MS),
        ("w", 604_800_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ):
        if ms >= size and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def parse_interval(text: str) -> int:
    """``5m`` → 300000 (the panel "min interval" syntax)."""
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d|w|y)", text.strip())
    if match is None:
        raise ValueError(f"unsupported interval {text!r}")
    size = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000, "y": _YEAR_MS}
    return int(match[1]) * size[match[2]]


def interpolate(query: str, ctx: QueryContext) -> str:
    """Replace Grafana's macros and template variables in an InfluxQL query."""
    from_ms = int(ctx.start.timestamp() * 1000)
    to_ms = int(ctx.end.timestamp() * 1000)
    interval_ms = ctx.interval_ms
    macros = {
        "timeFilter": f"time >= {from_ms}ms and time <= {to_ms}ms",
        "__timeFilter": f"time >= {from_ms}ms and time <= {to_ms}ms",
        "__interval_ms": str(interval_ms),
        "__interval": format_interval(interval_ms),
        "interval": format_interval(interval_ms),
        "__from": str(from_ms),
        "__to": str(to_ms),
    }

    def replace(match: re.Match[str]) -> str:
        name = match[1] or match[2] or match[3]
        if name in ctx.variables:
            return _format_variable(ctx.variables[name])
        if name in macros:
            return macros[name]
        return match[0]

    return _VAR_RE.sub(replace, query)


def unresolved(query: str) -> list[str]:
    """Template references left in an interpolated query (a dashboard bug if any)."""
    return [m[0] for m in _VAR_RE.finditer(_strip_literals(query))]


def _strip_literals(query: str) -> str:
    # '$' inside string literals and regexes that are not variables (e.g. /^...$/) are legitimate.
    return re.sub(r"\$/", "/", re.sub(r"'(?:[^'\\]|\\.)*'", "''", query))


def _format_variable(var: VariableValue) -> str:
    values = var.values
    if values == (ALL,):
        if var.all_value is not None:
            return var.all_value
        values = var.all_options
    if not var.multi and not var.include_all and len(values) == 1:
        return values[0]
    escaped = [_REGEX_SPECIAL.sub(lambda m: "\\" + m[0], v) for v in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def _round_interval(ms: float) -> int:
    for bound, value in _ROUND_STEPS:
        if ms < bound:
            return value
    return _YEAR_MS


def _shift(t: datetime, n: int, unit: str) -> datetime:
    if unit in "smhdw":
        seconds = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}[unit]
        if unit in "dw":  # calendar days in the dashboard's zone (DST-safe), like moment.js
            return (t.replace(tzinfo=None) + timedelta(days=n * (7 if unit == "w" else 1))).replace(tzinfo=t.tzinfo)
        return t + timedelta(seconds=n * seconds)
    months = n * (12 if unit == "y" else 1)
    year, month = divmod(t.month - 1 + months, 12)
    return t.replace(year=t.year + year, month=month + 1, day=min(t.day, 28))


def _round(t: datetime, unit: str, up: bool) -> datetime:
    if unit == "s":
        start = t.replace(microsecond=0)
    elif unit == "m":
        start = t.replace(second=0, microsecond=0)
    elif unit == "h":
        start = t.replace(minute=0, second=0, microsecond=0)
    elif unit in "dw":
        start = t.replace(hour=0, minute=0, second=0, microsecond=0)
        if unit == "w":
            start = (start.replace(tzinfo=None) - timedelta(days=start.weekday())).replace(tzinfo=t.tzinfo)
    elif unit == "M":
        start = t.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    else:
        start = t.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if not up:
        return start
    naive = start.replace(tzinfo=None)
    if unit in "smh":
        nxt = start + timedelta(seconds={"s": 1, "m": 60, "h": 3600}[unit])
    elif unit in "dw":
        nxt = (naive + timedelta(days=7 if unit == "w" else 1)).replace(tzinfo=t.tzinfo)
    else:
        nxt = _shift(start, 12 if unit == "y" else 1, "M")
    return nxt - timedelta(milliseconds=1)


def values_of(
    options: Sequence[str],
    chosen: Sequence[str] | None = None,
    *,
    multi: bool = False,
    include_all: bool = False,
    all_value: str | None = None,
) -> VariableValue:
    """Convenience: a variable set to ``chosen`` (default: All if allowed, else the first option)."""
    if chosen is None:
        chosen = [ALL] if include_all else list(options[:1])
    return VariableValue(tuple(chosen), multi, include_all, all_value, tuple(options))
