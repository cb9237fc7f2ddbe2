"""Panel shapes shared by the dashboards: percentage bars, stats, tables, time series, heatmap."""

from __future__ import annotations

from collections.abc import Sequence

from ronde.dashboards import queries as q
from ronde.dashboards.model import (
    COVERAGE_STEPS,
    InfluxQLTarget,
    Override,
    Panel,
    PanelKind,
    Threshold,
    Transformation,
    ValueMapping,
)
from ronde.dashboards.queries import SERVICE_HOURS, Filter


def percent_bars(title: str, description: str, targets: Sequence[InfluxQLTarget], width: int = 12) -> Panel:
    return Panel(
        title,
        PanelKind.BAR_GAUGE,
        tuple(targets),
        description,
        width=width,
        height=8,
        unit="percent",
        min=0,
        max=100,
        decimals=0,
        thresholds=COVERAGE_STEPS,
        options={
            "orientation": "horizontal",
            "displayMode": "gradient",
            "showUnfilled": True,
            "valueMode": "color",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        },
    )


def stat(
    title: str,
    description: str,
    target: InfluxQLTarget,
    *,
    unit: str = "none",
    width: int = 4,
    thresholds: tuple[Threshold, ...] = (Threshold("blue"),),
    decimals: int | None = 0,
) -> Panel:
    return Panel(
        title,
        PanelKind.STAT,
        (target,),
        description,
        width=width,
        height=4,
        unit=unit,
        decimals=decimals,
        thresholds=thresholds,
        options={
            "colorMode": "value",
            "graphMode": "none",
            "justifyMode": "center",
            "textMode": "value",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        },
    )


def table(
    title: str,
    description: str,
    targets: Sequence[InfluxQLTarget],
    *,
    width: int = 12,
    height: int = 10,
    sort: str | None = None,
    desc: bool = False,
    overrides: tuple[Override, ...] = (),
    transformations: tuple[Transformation, ...] = (),
    time_from: str | None = None,
    mappings: tuple[ValueMapping, ...] = (),
) -> Panel:
    options: dict[str, object] = {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}}
    if sort is not None:
        options["sortBy"] = [{"displayName": sort, "desc": desc}]
    return Panel(
        title,
        PanelKind.TABLE,
        tuple(targets),
        description,
        width=width,
        height=height,
        options=options,
        overrides=overrides,
        transformations=transformations,
        time_from=time_from,
        mappings=mappings,
        custom={"align": "auto", "cellOptions": {"type": "auto"}, "filterable": True},
    )


def series(
    title: str,
    description: str,
    targets: Sequence[InfluxQLTarget],
    *,
    unit: str = "none",
    width: int = 12,
    bars: bool = False,
    percent: bool = False,
    stacked: bool = False,
    interval: str | None = None,
) -> Panel:
    custom: dict[str, object] = {
        "drawStyle": "bars" if bars else "line",
        "lineWidth": 2,
        "fillOpacity": 60 if bars else 10,
        "pointSize": 5,
        "showPoints": "auto",
        "spanNulls": False,
        "stacking": {"mode": "normal" if stacked else "none", "group": "A"},
    }
    return Panel(
        title,
        PanelKind.TIME_SERIES,
        tuple(targets),
        description,
        width=width,
        height=9,
        unit=unit,
        min=0,
        max=100 if percent else None,
        color_mode="palette-classic",
        custom=custom,
        interval=interval,
        options={
            "legend": {"displayMode": "table", "placement": "right", "calcs": ["mean", "lastNotNull"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    )


def heatmap(filters: Sequence[Filter], width: int = 24) -> Panel:
    targets = tuple(InfluxQLTarget(q.hour_row(h, filters), alias=f"{h}") for h in SERVICE_HOURS)
    return Panel(
        "Passages par heure et par jour (carte de chaleur)",
        PanelKind.HEATMAP,
        targets,
        "Chaque colonne est un jour (jour de la semaine et date), chaque ligne une heure de service, "
        "heure de Paris. Rows are local service hours (16h–22h), columns are days: an hour × weekday view "
        "of when teams are present.",
        width=width,
        height=9,
        options={
            "calculate": False,
            "cellGap": 2,
            "color": {
                "mode": "scheme",
                "scheme": "Greens",
                "scale": "exponential",
                "exponent": 0.5,
                "fill": "dark-green",
                "reverse": False,
                "steps": 64,
            },
            "rowsFrame": {"layout": "ge", "value": "Passages"},
            "yAxis": {"axisPlacement": "left", "unit": "none", "axisLabel": "heure"},
            "tooltip": {"mode": "single", "yHistogram": False, "showColorScale": True},
            "legend": {"show": True},
            "cellValues": {"unit": "none"},
            "showValue": "auto",
            "filterValues": {"le": 1e-9},
        },
    )
