"""Every panel query of every dashboard runs on a real InfluxDB (Debian's 1.6.7) loaded with a
simulated fortnight, after Grafana-style interpolation of its macros and variables, and returns data.

A query that errors, returns no series or only nulls fails with the dashboard and panel title.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from ronde.dashboards.boards import all_dashboards, landlord_audit, landlord_copies
from ronde.dashboards.macros import (
    ALL,
    QueryContext,
    VariableValue,
    interpolate,
    parse_interval,
    resolve_time,
    unresolved,
)
from ronde.dashboards.model import Dashboard, Panel, QueryVariable
from ronde.protocol.estate import load_default_estate
from ronde.store.schema import RetentionClass
from tests.dashboards.influx_http import InfluxHttp, problems, tag_values
from tests.dashboards.week import NOW, SILENT, simulate
from tests.support.services import Influxd

REGISTRY = load_default_estate()
DASHBOARDS: list[Dashboard] = [*all_dashboards(REGISTRY), *(d for _, d in landlord_copies(REGISTRY))]
DATABASE = "ronde_dashboards_test"


def _cases() -> Iterator[object]:
    for d in DASHBOARDS:
        for p in d.panels():
            for i, _ in enumerate(p.targets):
                yield pytest.param(d, p, i, id=f"{d.uid}/{p.title}/{chr(65 + i)}")


@pytest.fixture(scope="module")
def influx(influxd: Influxd) -> InfluxHttp:
    db = InfluxHttp(influxd.url, DATABASE)
    assert "error" not in db.query(f'DROP DATABASE "{DATABASE}"')
    assert "error" not in db.query(f'CREATE DATABASE "{DATABASE}"')
    for rc in RetentionClass:
        db.query(f'CREATE RETENTION POLICY "{rc.value}" ON "{DATABASE}" DURATION INF REPLICATION 1')
    week = simulate(REGISTRY)
    for rp, lines in week.lines.items():
        db.write(lines, rp)
    return db


def panel_range(dashboard: Dashboard, panel: Panel) -> tuple[datetime, datetime]:
    if panel.time_from is not None:
        return NOW - timedelta(milliseconds=parse_interval(panel.time_from)), NOW
    start = resolve_time(dashboard.time_from, NOW, dashboard.timezone)
    end = resolve_time(dashboard.time_to, NOW, dashboard.timezone, round_up=True)
    return start, end


def variable_values(db: InfluxHttp, dashboard: Dashboard, start: datetime, end: datetime) -> dict[str, VariableValue]:
    """Fill each variable from its own query (which must list values), as Grafana does on load."""
    values: dict[str, VariableValue] = {}
    for var in dashboard.variables:
        assert isinstance(var, QueryVariable)
        ctx = QueryContext(start, end, variables=values)
        options = tag_values(db.query(interpolate(var.query, ctx)))
        assert options, f"{dashboard.uid}: variable {var.name!r} lists no value: {var.query}"
        chosen = [ALL] if var.include_all else [options[0]]
        values[var.name] = VariableValue(tuple(chosen), var.multi, var.include_all, var.all_value, tuple(options))
    return values


@pytest.mark.influx
@pytest.mark.parametrize(("dashboard", "panel", "index"), list(_cases()))
def test_panel_query_returns_data(influx: InfluxHttp, dashboard: Dashboard, panel: Panel, index: int) -> None:
    start, end = panel_range(dashboard, panel)
    ctx = QueryContext(
        start,
        end,
        max_data_points=panel.max_data_points or 1000,
        min_interval_ms=parse_interval(panel.interval) if panel.interval else 0,
        variables=variable_values(influx, dashboard, start, end),
    )
    query = interpolate(panel.targets[index].query, ctx)
    assert not unresolved(query), f"{dashboard.title} / {panel.title}: unresolved {unresolved(query)} in {query}"
    problem = problems(influx.query(query))
    assert problem is None, f"{dashboard.title} / {panel.title}: {problem}\n{query}"


@pytest.mark.influx
def test_coverage_matches_the_rollups(influx: InfluxHttp) -> None:
    """The InfluxQL coverage share equals the share computed in Python from the simulated rollups,
    with superseded rollup versions ignored (newest written_at wins)."""
    dashboard = landlord_audit("paris-habitat", "Paris Habitat")
    panel = next(p for p in dashboard.panels() if p.title == "Couverture sur la période")
    start, end = panel_range(dashboard, panel)
    ctx = QueryContext(start, end, variables=variable_values(influx, dashboard, start, end))
    answer = influx.query(interpolate(panel.targets[0].query, ctx))
    got = answer["results"][0]["series"][0]["values"][0][1]
    rollups = [
        r
        for r in simulate(REGISTRY).rollups
        if r.landlord == "paris-habitat" and start.date() <= r.service_day <= end.date()
    ]
    expected = 100 * sum(r.covered for r in rollups) / len(rollups)
    assert got == pytest.approx(expected)


@pytest.mark.influx
def test_silent_beacon_is_listed(influx: InfluxHttp) -> None:
    dashboard = next(d for d in DASHBOARDS if d.uid == "ronde-maintenance-balises")
    panel = next(p for p in dashboard.panels() if p.title == "Balises sans détection (jours de service)")
    start, end = panel_range(dashboard, panel)
    answer = influx.query(interpolate(panel.targets[0].query, QueryContext(start, end)))
    days = {s["tags"]["checkpoint"]: s["values"][0][1] for s in answer["results"][0]["series"]}
    assert days[SILENT] == max(days.values())


@pytest.mark.influx
def test_heatmap_rows_are_local_hours(influx: InfluxHttp) -> None:
    """Row "16" counts the visits whose first_seen is between 16:00 and 17:00 Paris time."""
    dashboard = next(d for d in DASHBOARDS if d.uid == "ronde-couverture-historique")
    panel = next(p for p in dashboard.panels() if p.kind.value == "heatmap")
    start, end = panel_range(dashboard, panel)
    ctx = QueryContext(start, end, variables=variable_values(influx, dashboard, start, end))
    answer = influx.query(interpolate(panel.targets[0].query, ctx))
    got = sum(v[1] for v in answer["results"][0]["series"][0]["values"] if v[1])
    expected = sum(1 for v in simulate(REGISTRY).visits if v.first_seen.astimezone(NOW_TZ).hour == 16)
    assert got == expected
    # every row is stamped at local midnight, so the rows line up as the heatmap's columns
    stamps = []
    for target in panel.targets:
        answer = influx.query(interpolate(target.query, ctx))
        stamps.append({v[0] for v in answer["results"][0]["series"][0]["values"] if v[1] is not None})
    assert all(s <= stamps[0] for s in stamps[1:])  # 22h of tonight is not there yet
    for ms in stamps[0]:
        local = datetime.fromtimestamp(ms / 1000, NOW_TZ)
        assert (local.hour, local.minute) == (0, 0)


NOW_TZ = resolve_time("now", NOW).tzinfo


def test_landlord_dashboards_show_places_only() -> None:
    """No badge, no gateway (a team's device), no team anywhere in an audit dashboard's JSON."""
    for dashboard in [landlord_audit(), *(d for _, d in landlord_copies(REGISTRY))]:
        text = str(dashboard.to_json()).lower()
        for word in ("badge", "gateway", "équipe", "boîtier"):
            assert word not in text, f"{dashboard.uid} mentions {word!r}"


def test_locked_copies_have_no_landlord_variable() -> None:
    for landlord_id, dashboard in landlord_copies(REGISTRY):
        assert all(v.name != "landlord" for v in dashboard.variables)
        for _, query in ((p.title, t.query) for p in dashboard.panels() for t in p.targets):
            assert "$landlord" not in query
            assert re.search(rf"\"landlord\" = '{re.escape(landlord_id)}'", query), query
