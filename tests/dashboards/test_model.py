"""The typed builders render the Grafana JSON model deterministically and refuse bad input."""

from __future__ import annotations

import pytest

from ronde.dashboards.model import Dashboard, InfluxQLTarget, Panel, PanelKind, Row, ValueMapping


def _panel(title: str, width: int) -> Panel:
    return Panel(
        title, PanelKind.STAT, (InfluxQLTarget('SELECT count("x") FROM "m" WHERE $timeFilter'),), width=width, height=4
    )


def test_layout_wraps_rows_and_numbers_panels() -> None:
    board = Dashboard(
        "ronde-test",
        "Test",
        "",
        (Row("A", (_panel("a", 12), _panel("b", 12), _panel("c", 8))), Row("B", (_panel("d", 24),))),
    )
    panels = board.to_json()["panels"]
    assert [p["id"] for p in panels] == [1, 2, 3, 4, 5, 6]
    pos = {p["title"]: (p["gridPos"]["x"], p["gridPos"]["y"]) for p in panels}
    assert pos == {"A": (0, 0), "a": (0, 1), "b": (12, 1), "c": (0, 5), "B": (0, 9), "d": (0, 10)}
    assert board.to_json() == board.to_json()


def test_targets_are_raw_influxql_with_letters() -> None:
    p = Panel("p", PanelKind.TIME_SERIES, (InfluxQLTarget("SELECT 1"), InfluxQLTarget("SELECT 2", alias="$tag_x")))
    out = p.to_json(7, 0, 0, "ds")
    assert [t["refId"] for t in out["targets"]] == ["A", "B"]
    assert out["targets"][1] == {
        "datasource": {"type": "influxdb", "uid": "ds"},
        "query": "SELECT 2",
        "rawQuery": True,
        "refId": "B",
        "resultFormat": "time_series",
        "alias": "$tag_x",
    }


def test_value_mappings() -> None:
    p = Panel("p", PanelKind.TABLE, (InfluxQLTarget("SELECT 1"),), mappings=(ValueMapping("true", "oui", "green"),))
    mappings = p.to_json(1, 0, 0, "ds")["fieldConfig"]["defaults"]["mappings"]
    assert mappings == [{"type": "value", "options": {"true": {"index": 0, "text": "oui", "color": "green"}}}]


def test_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="40"):
        Dashboard("x" * 41, "t", "", ())
    with pytest.raises(ValueError, match="no query"):
        Panel("empty", PanelKind.STAT)
    with pytest.raises(ValueError, match="width"):
        _panel("wide", 25)
