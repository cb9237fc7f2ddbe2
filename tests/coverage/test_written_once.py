"""A copy of the scripted year (``written_once``) reads as the year written afresh, on SQLite and on influxd."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from ronde.coverage.query import landlord_coverage
from ronde.store.port import Store
from tests.coverage.test_monthly import CAL, FIRST, LAST, NOW, REG, _build_year
from tests.coverage.written_once import KEEP_THE_YEAR, write_once
from tests.support.stores import store_of_kind

KINDS = ["sqlite", pytest.param("influx", marks=pytest.mark.influx)]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _reads(store: Store) -> dict[str, object]:
    """Everything the year's tests read: visits, gateway states, daily and monthly rollups, coverage."""
    start = datetime.combine(FIRST - timedelta(days=11), time(), tzinfo=UTC)
    end = datetime.combine(LAST + timedelta(days=1), time(), tzinfo=UTC)
    months = sorted({d.replace(day=1) for d in CAL.service_days(FIRST, LAST)})
    out: dict[str, object] = {
        "visits": store.visits(start, end),
        "gateways": store.gateways(),
        "states": store.latest_gateway_states(),
        "rollups": store.rollups(FIRST - timedelta(days=10), LAST),
        "figures": store.rollup_figures(FIRST, LAST),
        "by_day": store.rollup_figures_by_day(FIRST, LAST),
        "heard": store.heard_days(FIRST, LAST),
        "letters": {m: store.monthly_rollups(m) for m in months},
        "letter_figures": {m: store.monthly_figures(m) for m in months},
    }
    for lid in [None, *sorted(REG.landlords)]:
        out[f"coverage {lid}"] = landlord_coverage(store, REG, CAL, FIRST, LAST, landlord=lid, now=NOW)
    return out


def test_a_copied_year_reads_as_the_year_written(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    with store_of_kind(request, tmp_path / "fresh", kind=kind, retry_budget_s=5.0, retention=KEEP_THE_YEAR) as fresh:
        _build_year(fresh)
        written = _reads(fresh)
    assert all(written[k] for k in ("visits", "rollups", "letters"))
    copies = []
    for n in range(2):  # the first may write the template (when no test of this process did), the second copies
        copy = tmp_path / f"copy{n}"
        with store_of_kind(request, copy, kind=kind, retry_budget_s=5.0, retention=KEEP_THE_YEAR) as store:
            copies.append(write_once("scripted-year", store, _build_year))
            if copies[-1]:
                assert _reads(store) == written
                break
    assert copies[-1], copies
