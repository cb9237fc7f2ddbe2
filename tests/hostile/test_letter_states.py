"""A damaged or forged copy of the letters' states on a real influxd (``ronde.store.influx_states``): a
``letter_states`` string that ``influx_states.lines`` could not have written is not read: the read answers None with
a warning naming the measurement, and the caller reads the letters' figures (``ronde.coverage.letter_states``), so
the answer is the letters' own; never an exception, never states made up from it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from ronde.store import schema
from ronde.store.records import MonthlyFigures, MonthlySuffix
from ronde.store.schema import RetentionClass
from tests.store.factories import DAY, month_row
from tests.store.influx_database import open_influx
from tests.support.services import Influxd

pytestmark = pytest.mark.influx

MONTH = DAY.replace(day=1)
DAY0 = DAY - timedelta(days=1)


def _of(figures: list[MonthlyFigures]) -> list[tuple[str, str, str]]:
    return [(f[0], f[6], f[7]) for f in figures]


@pytest.mark.parametrize(
    "field",
    [
        "garbage",  # no header
        f"1 {MONTH} {MONTH} b;cp-1 notanumber CCN-X",  # a letter's time that is not a number
        f"x {MONTH} {MONTH} b;cp-1 1 CCN-X",  # written_at not a number
        f"1 {MONTH} {MONTH} b;cp-1",  # a row cut short
        f"1 {MONTH} {MONTH} b;",  # an empty row
        f"1 {MONTH} {MONTH} b;cp%ZZ%ff 1 CCN-X",  # a quoted id that is no UTF-8
        f"1 {MONTH} {MONTH} b%ff;cp-1 1 CCN-X",  # a quoted basis that is no UTF-8
    ],
)
def test_a_malformed_states_point_is_not_read(influxd: Influxd, field: str, caplog: pytest.LogCaptureFixture) -> None:
    store = open_influx((influxd.url, f"t_{uuid.uuid4().hex[:12]}"))
    try:
        letters = [month_row("cp-1"), month_row("cp-2", landlord="toit-et-joie")]
        store.write_monthly_rollups(letters)
        store.write_monthly_suffixes(MONTH, [MonthlySuffix(DAY0, x) for x in letters])
        ns = schema.day_start_ns(MONTH) + 7
        field_text = field.replace("\\", "\\\\").replace('"', '\\"')
        line = f'letter_states,letter=month,estate=e,landlord=paris-habitat states="{field_text}" {ns}'
        store.write_lines(RetentionClass.PROOF, [line])
        with caplog.at_level("WARNING", logger="ronde.store.influx_states"):
            assert store.monthly_states(MONTH, landlord="paris-habitat") is None
            assert store.monthly_states(MONTH) is None  # every landlord's read holds the point too
        assert "letter_states: unreadable point" in caplog.text
        # another landlord's, another kind's states are not that point's: read as written
        assert store.monthly_states(MONTH, landlord="toit-et-joie") == _of(
            store.monthly_figures(MONTH, landlord="toit-et-joie")
        )
        assert store.suffix_states(DAY0) == _of(store.suffix_figures(DAY0))
    finally:
        store.close()
