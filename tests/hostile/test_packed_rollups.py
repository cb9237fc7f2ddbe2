"""A damaged or forged packed copy of the daily rollups on a real influxd (``ronde.store.influx_days``): a string of
``estate_day_figures`` that ``schema.estate_day_lines`` could not have written, read back by coverage
(``rollup_figures``, ``heard_days``, ``rollup_visited``, ``rollup_day_states``), is ``StoreRejected`` naming the
measurement: never another exception, never figures made up from it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from ronde.store import schema
from ronde.store.errors import StoreRejected
from ronde.store.lineprotocol import encode_line
from ronde.store.port import StoreAccess
from ronde.store.schema import RetentionClass
from tests.store.factories import DAY, rollup
from tests.store.influx_database import open_influx
from tests.support.services import Influxd

pytestmark = pytest.mark.influx

D1 = DAY - timedelta(days=2)


@pytest.mark.parametrize(
    ("figures", "in_heard", "in_states"),
    [
        ("cp-1 9999999999999 34", True, True),  # a row cut short
        ("cp-1 x 34 3 1 1 - - 1.0 2.0 3.0 playground ", True, True),  # written_at not a number
        ("cp-1 9999999999999 34 3 1 1 - - 1.0 2.0 3.0 playground  extra", False, True),  # a figure too many
        ("cp-1 9999999999999 34 3 1 1 - - nope 2.0 3.0 playground ", False, False),  # a float that is not one
        ("cp-1 9999999999999 34 three 1 1 - - 1.0 2.0 3.0 playground ", True, True),  # visits not a number
        ("cp-1 9999999999999 34 3 1 yes - - 1.0 2.0 3.0 playground ", False, True),  # covered neither 1 nor 0
        ("cp%ZZ%ff 12 34 3 1 1 - - 1.0 2.0 3.0 playground ", True, True),  # a quoted id that is no UTF-8
        (";", True, True),  # empty rows
    ],
)
def test_a_malformed_packed_point_is_rejected_clearly(
    influxd: Influxd, figures: str, in_heard: bool, in_states: bool
) -> None:
    """A packed string that ``schema.estate_day_lines`` could not have written (a damaged or forged store), newer
    than the day's rows: ``StoreRejected`` naming the measurement, never another exception; from ``heard_days``
    and ``rollup_visited`` too where the part they read (checkpoint, written_at, time, visits) is the malformed one,
    from ``rollup_day_states`` where it is one of those, expected, covered, the building or the count of figures."""
    store = open_influx((influxd.url, f"t_{uuid.uuid4().hex[:12]}"), StoreAccess.WRITE)
    try:
        store.write_rollups([rollup("cp-1", D1), rollup("cp-2", D1, visits=0, first_seen=None, last_seen=None)])
        point = encode_line(
            schema.ESTATE_DAY_FIGURES.name,
            {"estate": "bois-labbe", "landlord": "valophis"},
            {"figures": figures},
            schema.day_start_ns(D1) + 5,
        )
        store.write_lines(RetentionClass.PROOF, [point])  # moves no rollup mark: the day's copy is still whole
        with pytest.raises(StoreRejected, match=schema.ESTATE_DAY_FIGURES.name):
            store.rollup_figures(D1, D1)
        if in_heard:
            with pytest.raises(StoreRejected, match=schema.ESTATE_DAY_FIGURES.name):
                store.heard_days(D1, D1)
            with pytest.raises(StoreRejected, match=schema.ESTATE_DAY_FIGURES.name):
                store.rollup_visited(D1, D1)
        else:
            assert store.heard_days(D1, D1)["cp-1"] == (D1, D1)
            assert store.rollup_visited(D1, D1) == {D1: ["cp-1"]}
        if in_states:
            with pytest.raises(StoreRejected, match=schema.ESTATE_DAY_FIGURES.name):
                store.rollup_day_states(D1, D1)
        else:
            assert store.rollup_day_states(D1, D1)[0] == ("cp-1", None, "bois-labbe", "valophis", "C")
    finally:
        store.close()
