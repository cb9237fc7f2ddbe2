"""Reads started ahead (``ronde.store.read_ahead``): served once, to the thread and block that started them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date

import pytest

from ronde.store.read_ahead import ReadAhead, ReadAheads

D1, D5 = date(2026, 11, 1), date(2026, 11, 5)


@pytest.fixture
def ahead() -> Iterator[ReadAheads]:
    reads = ReadAheads(max_workers=2)
    yield reads
    reads.close()


def _rows() -> list[tuple[date, str]]:
    return [(date(2026, 11, d), cp) for d in range(1, 6) for cp in ("a", "b")]


def test_a_read_is_served_once_to_the_same_call(ahead: ReadAheads) -> None:
    made: list[str] = []

    def heard() -> dict[str, tuple[date, date]]:
        made.append(threading.current_thread().name)
        return {"a": (D1, D5)}

    with ahead.started([(ReadAhead("heard_days", D1, D5, "x"), heard)]):
        assert ahead.take("heard_days", D1, D5, "y") is None  # another landlord: not this read
        assert ahead.take("heard_days", D1, D5, "x") == {"a": (D1, D5)}
        assert ahead.take("heard_days", D1, D5, "x") is None  # taken: the caller reads
    assert len(made) == 1
    assert made[0].startswith("ronde-read-ahead")


def test_figures_are_served_to_a_range_within_theirs_cut_to_its_days(ahead: ReadAheads) -> None:
    with ahead.started([(ReadAhead("rollup_figures_by_day", D1, D5, None), _rows)]):
        got = ahead.take("rollup_figures_by_day", date(2026, 11, 2), date(2026, 11, 3), None)
    assert got == [r for r in _rows() if date(2026, 11, 2) <= r[0] <= date(2026, 11, 3)]
    with ahead.started([(ReadAhead("rollup_figures_by_day", D1, D5, None), _rows)]):
        assert ahead.take("rollup_figures_by_day", D1, date(2026, 11, 6), None) is None  # beyond: not served
        assert ahead.take("heard_days", D1, D5, None) is None  # another method: exact reads only


def test_only_the_starting_thread_inside_its_block_is_served(ahead: ReadAheads) -> None:
    read = ReadAhead("heard_days", D1, D5, None)
    other: list[object] = []
    with ahead.started([(read, dict)]):
        t = threading.Thread(target=lambda: other.append(ahead.take("heard_days", D1, D5, None)))
        t.start()
        t.join()
    assert other == [None]
    assert ahead.take("heard_days", D1, D5, None) is None  # the block ended


def test_an_error_reaches_the_call_that_takes_the_read_and_not_one_left(ahead: ReadAheads) -> None:
    def failing() -> object:
        raise RuntimeError("influxd went away")

    with ahead.started([(ReadAhead("heard_days", D1, D5, None), failing)]), pytest.raises(RuntimeError, match="away"):
        ahead.take("heard_days", D1, D5, None)
    with ahead.started([(ReadAhead("heard_days", D1, D5, None), failing)]):
        pass  # not taken: its error is the pool's, logged at debug level, never the request's


def test_a_nested_block_adds_its_reads_to_the_outer_ones_until_it_ends(ahead: ReadAheads) -> None:
    made: list[str] = []

    def week() -> dict[str, tuple[date, date]]:
        made.append("week")
        return {"a": (D1, D1)}

    with ahead.started([(ReadAhead("heard_days", D1, D5, None), dict)]):
        with ahead.started(
            [(ReadAhead("heard_days", D1, D1, None), week), (ReadAhead("heard_days", D5, D5, None), dict)]
        ):
            assert ahead.take("heard_days", D1, D1, None) == {"a": (D1, D1)}  # the inner block's, started
        assert ahead.take("heard_days", D5, D5, None) is None  # not taken within its block: dropped at its end
        assert ahead.take("heard_days", D1, D5, None) == {}  # the outer block's, still served
    assert made == ["week"]


def test_heard_days_within_a_pending_visited_read_are_derived_from_it_and_leave_it_pending(ahead: ReadAheads) -> None:
    d2, d3, d4 = (date(2026, 11, d) for d in (2, 3, 4))
    visited = {D1: ["a"], d2: ["a", "b"], d3: [], d4: ["b", "c"], D5: ["c"]}
    made: list[str] = []

    def heard() -> dict[str, tuple[date, date]]:
        made.append("heard")
        return {}

    with ahead.started([(ReadAhead("rollup_visited", D1, D5, "x"), lambda: visited)]):
        with ahead.started(
            [(ReadAhead("heard_days", d2, d4, "x"), heard), (ReadAhead("heard_days", D1, D5, "y"), heard)]
        ):
            assert ahead.take("heard_days", d2, d4, "x") == {"a": (d2, d2), "b": (d2, d4), "c": (d4, d4)}
            assert ahead.take("heard_days", D1, date(2026, 11, 6), "x") is None  # beyond its range: read
        assert ahead.take("rollup_visited", D1, D5, "x") is visited  # still served to its own call
    assert made == []  # not read: derived
    outer, inner = ReadAhead("rollup_visited", D1, D5, "x"), ReadAhead("heard_days", d2, d4, "y")
    with ahead.started([(outer, lambda: visited)]), ahead.started([(inner, heard)]):
        assert ahead.take("heard_days", d2, d4, "y") == {}  # another landlord's: read
    assert made == ["heard"]
