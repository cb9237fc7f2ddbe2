"""Typed builders for the Grafana dashboard JSON model (schemaVersion 39: Grafana 10.4 to 12).

Plain frozen dataclasses rendered to the JSON Grafana stores, rather than grafana-foundation-sdk:
the SDK has no InfluxDB query type and its default PyPI build targets the Grafana 10.1 schema
(docs/dashboards.md explains the choice). Only what Ronde's dashboards use is modelled; every
object renders deterministically so the committed JSON can be compared byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias

Json: TypeAlias = Any
JsonObject: TypeAlias = dict[str, Any]

SCHEMA_VERSION = 39
GRID_WIDTH = 24
DATASOURCE_TYPE = "influxdb"
DATASOURCE_UID = "ronde-influxdb"
UID_MAX_LEN = 40  # Grafana uids are 1 to 40 characters


def datasource_ref(uid: str = DATASOURCE_UID) -> JsonObject:
    return {"type": DATASOURCE_TYPE, "uid": uid}


class ResultFormat(StrEnum):
    TIME_SERIES = "time_series"
    TABLE = "table"


class PanelKind(StrEnum):
    STAT = "stat"
    BAR_GAUGE = "bargauge"
    TABLE = "table"
    TIME_SERIES = "timeseries"
    HEATMAP = "heatmap"
    BAR_CHART = "barchart"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class InfluxQLTarget:
    """A raw InfluxQL query: runs unchanged on InfluxDB 1.8+, 2.x (through a DBRP mapping) and 3.x."""

    query: str
    result_format: ResultFormat = ResultFormat.TIME_SERIES
    alias: str | None = None

    def to_json(self, ref_id: str, datasource_uid: str) -> JsonObject:
        out: JsonObject = {
            "datasource": datasource_ref(datasource_uid),
            "query": self.query,
            "rawQuery": True,
            "refId": ref_id,
            "resultFormat": self.result_format.value,
        }
        if self.alias is not None:
            out["alias"] = self.alias
        return out


@dataclass(frozen=True, slots=True)
class Threshold:
    color: str
    value: float | None = None  # None: the base step

    def to_json(self) -> JsonObject:
        return {"color": self.color, "value": self.value}


# Red below the target, amber near it, green at or above it (coverage percentages).
COVERAGE_STEPS = (Threshold("red"), Threshold("orange", 80), Threshold("green", 95))
NEUTRAL_STEPS = (Threshold("green"),)


@dataclass(frozen=True, slots=True)
class ValueMapping:
    """Maps a raw value (e.g. 1/0) to a French label and colour."""

    value: str
    text: str
    color: str | None = None

    def to_json(self, index: int) -> JsonObject:
        result: JsonObject = {"index": index, "text": self.text}
        if self.color is not None:
            result["color"] = self.color
        return result


@dataclass(frozen=True, slots=True)
class Override:
    """Field override by name: display name, unit, or cell display mode for tables."""

    field_name: str
    display_name: str | None = None
    unit: str | None = None
    cell_type: str | None = None  # table only: "color-background", "gauge", ...
    decimals: int | None = None
    hidden: bool = False

    def to_json(self) -> JsonObject:
        props: list[JsonObject] = []
        if self.display_name is not None:
            props.append({"id": "displayName", "value": self.display_name})
        if self.unit is not None:
            props.append({"id": "unit", "value": self.unit})
        if self.decimals is not None:
            props.append({"id": "decimals", "value": self.decimals})
        if self.cell_type is not None:
            props.append({"id": "custom.cellOptions", "value": {"type": self.cell_type}})
        if self.hidden:
            props.append({"id": "custom.hidden", "value": True})
        return {"matcher": {"id": "byName", "options": self.field_name}, "properties": props}


@dataclass(frozen=True, slots=True)
class Transformation:
    """A Grafana data transformation (id + options), e.g. ``merge`` or ``groupingToMatrix``."""

    id: str
    options: Mapping[str, Json] = field(default_factory=dict)

    def to_json(self) -> JsonObject:
        return {"id": self.id, "options": _plain(self.options)}


@dataclass(frozen=True, slots=True)
class Panel:
    """One visualisation. ``width``/``height`` are grid units (24 columns wide, 30 px rows)."""

    title: str
    kind: PanelKind
    targets: tuple[InfluxQLTarget, ...] = ()
    description: str = ""
    width: int = 12
    height: int = 8
    unit: str | None = None
    decimals: int | None = None
    min: float | None = None
    max: float | None = None
    thresholds: tuple[Threshold, ...] = NEUTRAL_STEPS
    color_mode: str = "thresholds"  # fieldConfig color mode: thresholds, palette-classic, fixed
    mappings: tuple[ValueMapping, ...] = ()
    overrides: tuple[Override, ...] = ()
    transformations: tuple[Transformation, ...] = ()
    options: Mapping[str, Json] = field(default_factory=dict)
    custom: Mapping[str, Json] = field(default_factory=dict)
    interval: str | None = None  # minimum GROUP BY interval for $__interval
    max_data_points: int | None = None
    text: str | None = None  # text panels: markdown content
    time_from: str | None = None  # relative range overriding the dashboard's, e.g. "7d"

    def __post_init__(self) -> None:
        if not 1 <= self.width <= GRID_WIDTH:
            raise ValueError(f"panel {self.title!r}: width {self.width} outside 1..{GRID_WIDTH}")
        if self.kind is not PanelKind.TEXT and not self.targets:
            raise ValueError(f"panel {self.title!r} has no query")

    def to_json(self, panel_id: int, x: int, y: int, datasource_uid: str) -> JsonObject:
        out: JsonObject = {
            "id": panel_id,
            "type": self.kind.value,
            "title": self.title,
            "description": self.description,
            "gridPos": {"h": self.height, "w": self.width, "x": x, "y": y},
        }
        if self.kind is PanelKind.TEXT:
            out["options"] = {"mode": "markdown", "content": self.text or ""}
            return out
        defaults: JsonObject = {
            "color": {"mode": self.color_mode},
            "thresholds": {"mode": "absolute", "steps": [t.to_json() for t in self.thresholds]},
            "mappings": [],
        }
        if self.mappings:
            defaults["mappings"] = [
                {"type": "value", "options": {m.value: m.to_json(i) for i, m in enumerate(self.mappings)}}
            ]
        for key, value in (("unit", self.unit), ("decimals", self.decimals), ("min", self.min), ("max", self.max)):
            if value is not None:
                defaults[key] = value
        if self.custom:
            defaults["custom"] = _plain(self.custom)
        out["datasource"] = datasource_ref(datasource_uid)
        out["fieldConfig"] = {"defaults": defaults, "overrides": [o.to_json() for o in self.overrides]}
        out["options"] = _plain(self.options)
        out["targets"] = [t.to_json(_ref_id(i), datasource_uid) for i, t in enumerate(self.targets)]
        if self.transformations:
            out["transformations"] = [t.to_json() for t in self.transformations]
        if self.interval is not None:
            out["interval"] = self.interval
        if self.max_data_points is not None:
            out["maxDataPoints"] = self.max_data_points
        if self.time_from is not None:
            out["timeFrom"] = self.time_from
        return out


@dataclass(frozen=True, slots=True)
class Row:
    """A titled band of panels, laid out left to right and wrapped at 24 columns."""

    title: str
    panels: tuple[Panel, ...]
    collapsed: bool = False


class VariableHide(StrEnum):
    SHOWN = "shown"
    LABEL_HIDDEN = "label_hidden"
    HIDDEN = "hidden"

    @property
    def code(self) -> int:
        return {"shown": 0, "label_hidden": 1, "hidden": 2}[self.value]


@dataclass(frozen=True, slots=True)
class QueryVariable:
    """A drop-down filled by an InfluxQL query (``SHOW TAG VALUES ...``)."""

    name: str
    label: str
    query: str
    multi: bool = False
    include_all: bool = False
    all_value: str | None = None  # e.g. ".*" so "All" becomes a regex matching every value
    description: str = ""
    hide: VariableHide = VariableHide.SHOWN

    def to_json(self, datasource_uid: str) -> JsonObject:
        out: JsonObject = {
            "type": "query",
            "name": self.name,
            "label": self.label,
            "description": self.description,
            "datasource": datasource_ref(datasource_uid),
            "query": self.query,
            "definition": self.query,
            "refresh": 1,  # on dashboard load
            "regex": "",
            "sort": 1,  # alphabetical
            "multi": self.multi,
            "includeAll": self.include_all,
            "hide": self.hide.code,
            "current": {},
            "options": [],
        }
        if self.all_value is not None:
            out["allValue"] = self.all_value
        return out


@dataclass(frozen=True, slots=True)
class CustomVariable:
    """A drop-down of fixed values; with a single value and ``hide=HIDDEN`` it locks a filter."""

    name: str
    label: str
    values: tuple[tuple[str, str], ...]  # (value, text)
    description: str = ""
    hide: VariableHide = VariableHide.SHOWN

    def to_json(self, datasource_uid: str) -> JsonObject:
        del datasource_uid
        value, text = self.values[0]
        return {
            "type": "custom",
            "name": self.name,
            "label": self.label,
            "description": self.description,
            "query": ",".join(f"{t} : {v}" for v, t in self.values),
            "multi": False,
            "includeAll": False,
            "hide": self.hide.code,
            "current": {"selected": True, "text": text, "value": value},
            "options": [{"selected": i == 0, "text": t, "value": v} for i, (v, t) in enumerate(self.values)],
        }


Variable: TypeAlias = QueryVariable | CustomVariable


@dataclass(frozen=True, slots=True)
class DashboardLink:
    """Links to the other Ronde dashboards (by tag), shown in the dashboard's header."""

    title: str
    tags: tuple[str, ...]

    def to_json(self) -> JsonObject:
        return {
            "title": self.title,
            "type": "dashboards",
            "tags": list(self.tags),
            "asDropdown": True,
            "includeVars": False,
            "keepTime": True,
            "targetBlank": False,
        }


@dataclass(frozen=True, slots=True)
class Dashboard:
    uid: str
    title: str
    description: str
    rows: tuple[Row, ...]
    tags: tuple[str, ...] = ()
    variables: tuple[Variable, ...] = ()
    time_from: str = "now-7d"
    time_to: str = "now"
    refresh: str = ""
    timezone: str = "Europe/Paris"
    editable: bool = False
    links: tuple[DashboardLink, ...] = ()
    datasource_uid: str = DATASOURCE_UID

    def __post_init__(self) -> None:
        if not 1 <= len(self.uid) <= UID_MAX_LEN:
            raise ValueError(f"dashboard uid {self.uid!r}: Grafana uids are 1 to 40 characters")

    def panels(self) -> list[Panel]:
        return [p for row in self.rows for p in row.panels]

    def to_json(self) -> JsonObject:
        panels: list[JsonObject] = []
        next_id = 1
        y = 0
        for row in self.rows:
            panels.append(
                {
                    "id": next_id,
                    "type": "row",
                    "title": row.title,
                    "collapsed": row.collapsed,
                    "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y},
                    "panels": [],
                }
            )
            next_id += 1
            y += 1
            x = 0
            line_height = 0
            for panel in row.panels:
                if x + panel.width > GRID_WIDTH:
                    x, y, line_height = 0, y + line_height, 0
                panels.append(panel.to_json(next_id, x, y, self.datasource_uid))
                next_id += 1
                x += panel.width
                line_height = max(line_height, panel.height)
            y += line_height
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "timezone": self.timezone,
            "weekStart": "monday",
            "editable": self.editable,
            "graphTooltip": 1,
            "fiscalYearStartMonth": 0,
            "liveNow": False,
            "refresh": self.refresh,
            "schemaVersion": SCHEMA_VERSION,
            "time": {"from": self.time_from, "to": self.time_to},
            "timepicker": {},
            "annotations": {"list": []},
            "links": [link.to_json() for link in self.links],
            "templating": {"list": [v.to_json(self.datasource_uid) for v in self.variables]},
            "panels": panels,
        }


def _ref_id(index: int) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return letters[index] if index < len(letters) else f"Q{index}"


def _plain(value: Json) -> Json:
    """Deep-copy mappings/sequences into plain dicts/lists (JSON-ready, no shared state)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain(v) for v in value]
    return value
