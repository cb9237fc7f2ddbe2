"""Query builders take every name from the store schema and refuse names it does not have."""

from __future__ import annotations

import pytest

from ronde.dashboards import queries as q
from ronde.store.schema import CHECKPOINT_DAY, VISIT


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
    for query in (q.coverage_pct(tags=("landlord",), weekly=True), q.uncovered_days(),
                  q.buildings_with_silent_beacon(), q.hour_row(16), q.ingest_lag()):
        assert query.count("$timeFilter") == 1, query
