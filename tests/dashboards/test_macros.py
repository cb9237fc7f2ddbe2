"""Grafana-style interpolation used to run panel queries outside Grafana."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ronde.dashboards.macros import (
    ALL,
    QueryContext,
    auto_interval_ms,
    format_interval,
    interpolate,
    parse_interval,
    resolve_time,
    unresolved,
    values_of,
)

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 29, 19, 30, tzinfo=PARIS)  # the day summer time starts


def test_relative_times_in_the_dashboard_zone() -> None:
    assert resolve_time("now", NOW) == NOW
    assert resolve_time("now/d", NOW) == datetime(2026, 3, 29, 0, 0, tzinfo=PARIS)
    end = resolve_time("now/d", NOW, round_up=True)
    assert end.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S") == "2026-03-29 23:59:59"
    assert resolve_time("now/w", NOW) == datetime(2026, 3, 23, tzinfo=PARIS)  # Monday
    assert resolve_time("now-8w/w", NOW) == datetime(2026, 1, 26, tzinfo=PARIS)
    # 7 calendar days back keeps the local hour across the DST change
    assert resolve_time("now-7d", NOW).astimezone(PARIS).hour == 19
    with pytest.raises(ValueError, match="unsupported Grafana time expression"):
        resolve_time("yesterday", NOW)


def test_time_filter_and_interval() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    end = datetime(2026, 3, 8, tzinfo=UTC)
    ctx = QueryContext(start, end, max_data_points=1000)
    query = interpolate('SELECT count("x") FROM "m" WHERE $timeFilter GROUP BY time($__interval)', ctx)
    assert query == (
        'SELECT count("x") FROM "m" WHERE time >= 1772323200000ms and time <= 1772928000000ms GROUP BY time(10m)'
    )
    assert interpolate("$__interval_ms ${__from} [[interval]]", ctx) == "600000 1772323200000 10m"
    assert QueryContext(start, end, min_interval_ms=3_600_000).interval_ms == 3_600_000


@pytest.mark.parametrize(
    ("ms", "text"),
    [(10_000, "10s"), (60_000, "1m"), (43_200_000, "12h"), (86_400_000, "1d"), (604_800_000, "1w"), (1500, "1500ms")],
)
def test_interval_text(ms: int, text: str) -> None:
    assert format_interval(ms) == text
    assert parse_interval(text) == ms


def test_auto_interval_rounds_like_grafana() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert auto_interval_ms(start, datetime(2026, 1, 1, 6, tzinfo=UTC), 1000) == 20_000
    assert auto_interval_ms(start, datetime(2026, 3, 1, tzinfo=UTC), 1000) == 3_600_000


def test_variables_single_multi_and_all() -> None:
    ctx = QueryContext(
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 2, tzinfo=UTC),
        variables={
            "landlord": values_of(["paris-habitat", "toit-et-joie"], ["paris-habitat"]),
            "estate": values_of(["mordacs", "bois-labbe"], ["mordacs", "bois-labbe"], multi=True),
            "kind": values_of(["hall", "parking"], [ALL], multi=True, include_all=True, all_value=".*"),
            "gw": values_of(["a.b", "c"], [ALL], multi=True, include_all=True),
        },
    )
    q = "'$landlord' /^$estate$/ /^${kind}$/ /^[[gw]]$/"
    assert interpolate(q, ctx) == r"'paris-habitat' /^(mordacs|bois-labbe)$/ /^.*$/ /^(a\.b|c)$/"


def test_unresolved_ignores_regex_anchors_and_literals() -> None:
    assert unresolved("\"estate\" =~ /^(a|b)$/ AND x = '$notavar'") == []
    assert unresolved("WHERE $timeFilter") == ["$timeFilter"]
