"""Query builders take every name from the store schema and refuse names it does not have; the
sequence-gap queries, run on a real influxd, count a seq jump as an anomaly, not as lost events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ronde.dashboards import queries as q
from ronde.dashboards.macros import QueryContext, interpolate
from ronde.store.records import DailyRollup, SequenceGap
from ronde.store.schema import CHECKPOINT_DAY, VISIT, gap_line, rollup_line
from tests.dashboards.influx_http import InfluxHttp, problems
from tests.support.services import Influxd


def test_unknown_names_are_refused() -> None:
    with pytest.raises(q.SchemaMismatch, match="badge"):
        q.tag(VISIT, "badge")  # a field, never a tag
    with pytest.raises(q.SchemaMismatch):
        q.field(CHECKPOINT_DAY, "nope")
    with pytest.raises(q.SchemaMismatch):
        q.visits_count([q.Filter("team", "x")])


def test_sources_follow_retention_classes() -> None:
    assert q.source(VISIT) == f'"{VISIT.retention.value}"."{VISIT.name}"'
    assert q.source(CHECKPOINT_DAY).startswith('"proof".')


def test_filters_and_literals() -> None:
    assert q.Filter("landlord", "l'x").render(VISIT) == "\"landlord\" = 'l\\'x'"
    assert q.Filter("landlord", "landlord", variable=True).render(VISIT) == "\"landlord\" = '$landlord'"
    assert q.Filter("estate", "estate", variable=True, multi=True).render(VISIT) == '"estate" =~ /^$estate$/'
    assert q.ident('a"b') == '"a\\"b"'


def test_only_the_innermost_query_has_the_time_filter() -> None:
    for query in (
        q.coverage_pct(tags=("landlord",), weekly=True),
        q.uncovered_days(),
        q.buildings_with_silent_beacon(),
        q.hour_row(16),
        q.ingest_lag(),
    ):
        assert query.count("$timeFilter") == 1, query


GAPS_DATABASE = "ronde_gap_queries_test"
SEQ_MAX = 2**53 - 1  # the protocol's largest seq


@pytest.mark.influx
def test_sequence_jumps_are_anomalies_not_lost_events(influxd: Influxd) -> None:
    """A signed jump to seq 2^53 - 1 counts as one anomaly, not as billions of lost events: gaps wider
    than the API's sequence_anomaly_after (100,000) leave the lost-events sum (issue 11)."""
    db = InfluxHttp(influxd.url, GAPS_DATABASE)
    assert "error" not in db.query(f'DROP DATABASE "{GAPS_DATABASE}"')
    assert "error" not in db.query(f'CREATE DATABASE "{GAPS_DATABASE}"')
    db.query(f'CREATE RETENTION POLICY "raw" ON "{GAPS_DATABASE}" DURATION INF REPLICATION 1')
    at = datetime(2026, 3, 29, 18, 0, tzinfo=UTC)
    gaps = [
        SequenceGap("gw-a", 10, 12, at),  # 3 lost
        SequenceGap("gw-a", 100, 100_099, at + timedelta(minutes=1)),  # 100,000: still a loss
        SequenceGap("gw-b", 5, 100_005, at + timedelta(minutes=2)),  # 100,001: an anomaly
        SequenceGap("gw-b", 2, SEQ_MAX - 1, at + timedelta(minutes=3)),  # the forged jump
    ]
    db.write([gap_line(g) for g in gaps], "raw")
    ctx = QueryContext(at - timedelta(hours=1), at + timedelta(hours=1))

    def values(query: str) -> list[list[object]]:
        answer = db.query(interpolate(query, ctx))
        assert problems(answer) is None, (answer, query)
        return [v for s in answer["results"][0]["series"] for v in s["values"]]

    assert values(q.lost_events_total()) == [[ANY_TIME, 3 + 100_000]]
    assert values(q.sequence_anomalies()) == [[ANY_TIME, 2]]
    rows = sorted((r[1], r[2], r[3], r[4]) for r in values(q.sequence_gaps()))
    assert rows == [(2, SEQ_MAX - 1, 0, 1), (5, 100_005, 0, 1), (10, 12, 3, 0), (100, 100_099, 100_000, 0)]
    # the cut-off is the API's, and can be set like it
    assert values(q.lost_events_total(anomaly_after=2)) == [[ANY_TIME, 0]]
    assert values(q.sequence_anomalies(anomaly_after=3)) == [[ANY_TIME, 3]]


class _AnyTime:
    __hash__ = None  # type: ignore[assignment]  # compares equal to any time: not hashable

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str | int)


ANY_TIME = _AnyTime()


@pytest.mark.influx
def test_a_day_with_more_visits_than_expected_is_covered(influxd: Influxd) -> None:
    """visits > expected is covered (1), not -1: InfluxDB 1.6.7's ABS of a negative integer is the
    integer itself, so the shortfall is computed on floats."""
    db = InfluxHttp(influxd.url, COVERAGE_DATABASE)
    assert "error" not in db.query(f'DROP DATABASE "{COVERAGE_DATABASE}"')
    assert "error" not in db.query(f'CREATE DATABASE "{COVERAGE_DATABASE}"')
    db.query(f'CREATE RETENTION POLICY "proof" ON "{COVERAGE_DATABASE}" DURATION INF REPLICATION 1')
    day = date(2026, 3, 29)

    def rollup(checkpoint: str, visits: int, expected: int) -> str:
        return rollup_line(
            DailyRollup(
                day,
                checkpoint,
                "stairwell_hall",
                "b1",
                "mordacs",
                "paris-habitat",
                visits,
                expected,
                visits >= expected,
                None,
                None,
                0.0,
                0.0,
                0.0,
                "0" * 64,
            ),
            1,
        )

    db.write([rollup("over", 5, 2), rollup("exact", 2, 2), rollup("short", 1, 2)], "proof")
    at = datetime(2026, 3, 29, 12, tzinfo=UTC)
    ctx = QueryContext(at - timedelta(days=1), at + timedelta(days=1))
    answer = db.query(interpolate(f'SELECT "covered" FROM ({q.covered_indicator()}) GROUP BY "checkpoint"', ctx))
    assert problems(answer) is None, answer
    covered = {s["tags"]["checkpoint"]: s["values"][0][1] for s in answer["results"][0]["series"]}
    assert covered == {"over": 1, "exact": 1, "short": 0}
    answer = db.query(interpolate(q.coverage_pct(), ctx))
    assert answer["results"][0]["series"][0]["values"][0][1] == pytest.approx(200 / 3)


COVERAGE_DATABASE = "ronde_coverage_queries_test"
