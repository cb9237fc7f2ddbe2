"""The letters' states on a real influxd 1.6.7 (``ronde.store.influx_states``): written beside the letters, equal to
their checkpoint, basis and states; a day without a mark not read (None); letters of earlier code copied by
maintenance as it opens, each with its own ``written_at`` and time; on SQLite the same three columns."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from ronde.store import influx_states, schema
from ronde.store.port import Store, StoreAccess
from ronde.store.records import LetterStates, MonthlyFigures, MonthlyRollup, MonthlySpan, MonthlySuffix, RetentionPolicy
from ronde.store.retention import DEFAULT_RETENTION, RetentionError, measurement_days
from ronde.store.schema import RetentionClass
from ronde.store.sqlite import SqliteStore
from tests.store.factories import DAY, month_row
from tests.store.influx_database import open_influx

MONTH = DAY.replace(day=1)
DAY0 = DAY - timedelta(days=1)
LANDLORDS = (None, "paris-habitat", "toit-et-joie", "nobody")


def _of(figures: list[MonthlyFigures]) -> list[LetterStates]:
    return [(f[0], f[6], f[7]) for f in figures]


def _letters() -> list[MonthlyRollup]:
    """Letters of two landlords and estates, one with a checkpoint id that needs quoting, states of every kind."""
    return [
        month_row("cp-1"),
        month_row("cp 2;x%", estate="les-lilas", states="XXN-C"),
        month_row("cp-3", landlord="toit-et-joie", building=None, basis="b2", states="NNNN-"),
    ]


def _tails() -> list[MonthlyRollup]:
    return [replace(x, month=DAY0, states=x.states[:2]) for x in _letters()]


def _assert_states_equal(store: Store) -> None:
    """Every states read equals the figures' checkpoint, basis and states, for every landlord (a day without
    letters may answer None: its figures, read then, are none)."""
    for landlord in LANDLORDS:
        for got, figures in (
            (store.monthly_states(MONTH, landlord=landlord), store.monthly_figures(MONTH, landlord=landlord)),
            (store.suffix_states(DAY0, landlord=landlord), store.suffix_figures(DAY0, landlord=landlord)),
            (store.suffix_states(DAY, landlord=landlord), store.suffix_figures(DAY, landlord=landlord)),
            (store.tail_states(DAY0, landlord=landlord), store.tail_figures(DAY0, landlord=landlord)),
            (store.span_states(DAY0, MONTH, landlord=landlord), store.span_figures(DAY0, MONTH, landlord=landlord)),
        ):
            assert got == _of(figures) or (got is None and not figures)


def _write(store: Store) -> None:
    letters = _letters()
    store.write_monthly_rollups(letters)
    store.write_monthly_suffixes(MONTH, [MonthlySuffix(DAY0, x) for x in letters])
    store.write_monthly_suffixes(MONTH, [MonthlySuffix(DAY, replace(letters[0], states="C-X"))])
    store.write_tail_letters(DAY0, _tails())
    store.write_month_spans(MONTH, [MonthlySpan(DAY0, replace(x, states="CN")) for x in letters])


@pytest.mark.influx
def test_states_are_written_with_the_letters_and_read_equal(database: tuple[str, str]) -> None:
    store = open_influx(database)
    try:
        _write(store)
        assert store.suffix_states(DAY0, landlord="paris-habitat") == [
            ("cp 2;x%", "b1 with a space", "XXN-C"),
            ("cp-1", "b1 with a space", "CCN-X"),
        ]
        _assert_states_equal(store)
        # a refold of one letter: its newer states win, the others stay
        newer = replace(_letters()[0], states="NNNNN", visits=0)
        store.write_monthly_rollups([newer])
        store.write_tail_letters(DAY0, [replace(newer, month=DAY0, states="XX")])
        _assert_states_equal(store)
        assert ("cp-1", "b1 with a space", "NNNNN") in (store.monthly_states(MONTH) or [])
        assert store.monthly_states(MONTH + timedelta(days=40)) is None  # nothing written there: no mark
    finally:
        store.close()


@pytest.mark.influx
def test_letters_of_earlier_code_are_not_read_as_states_until_copied(database: tuple[str, str]) -> None:
    """Letters written without their states (as earlier code did): no mark, so None (the caller reads the
    figures); maintenance copies them as it opens, with each letter point's ``written_at`` and time (the newest per
    checkpoint still wins against later writes), and copies nothing the next time."""
    store = open_influx(database)
    try:
        letters = _letters()
        older = replace(letters[0], states="CCCCC")
        lines = [
            schema.letter_line(older, 3000),
            schema.letter_line(letters[0], 2000),  # an older written_at: the one above wins
            *(schema.letter_line(x, 1000) for x in letters[1:]),
            *(schema.suffix_letter_line(MonthlySuffix(DAY0, x), 1000) for x in letters),
            *(schema.tail_letter_line(x, 1000) for x in _tails()),
            *(schema.span_letter_line(MonthlySpan(DAY0, replace(x, states="CN")), 4000) for x in letters),
        ]
        store.write_lines(RetentionClass.PROOF, lines)
        assert store.monthly_states(MONTH) is None
        assert store.suffix_states(DAY0) is None
        assert store.tail_states(DAY0, landlord="paris-habitat") is None
        assert store.span_states(DAY0, MONTH) is None

        maintenance = open_influx(database, StoreAccess.MAINTAIN)  # copies as it opens
        try:
            _assert_states_equal(store)
            assert ("cp-1", "b1 with a space", "CCCCC") in (store.monthly_states(MONTH) or [])
            assert len(store.span_states(DAY0, MONTH) or []) == 3  # written after the letters' marks: current
            assert maintenance.copy_letter_states() == 0
            store.write_monthly_rollups([replace(letters[0], states="NNNNN", visits=0)])  # written now: newer
            assert ("cp-1", "b1 with a space", "NNNNN") in (store.monthly_states(MONTH) or [])
            _assert_states_equal(store)
        finally:
            maintenance.close()
    finally:
        store.close()


@pytest.mark.influx
def test_a_copy_interrupted_is_done_again_and_a_mark_alone_is_whole(database: tuple[str, str]) -> None:
    """The copy writes a day's states then its mark: interrupted before the mark, the day stays unread and is
    copied again (the same points: nothing twice); a day whose letters all went (retention) keeps no answer."""
    store = open_influx(database)
    try:
        letters = _letters()
        store.write_lines(RetentionClass.PROOF, [schema.letter_line(x, 1000) for x in letters])
        rows = [influx_states.row_of(x, MONTH, 1000, schema.monthly_ns(x, 1000)) for x in letters]
        states_only = [ln for ln in influx_states.lines(influx_states.MONTH, rows) if ln.startswith("letter_states,")]
        store.write_lines(RetentionClass.PROOF, states_only)  # the states, not the mark
        assert store.monthly_states(MONTH) is None
        maintenance = open_influx(database, StoreAccess.MAINTAIN)
        try:
            assert maintenance.copy_letter_states() == 0  # copied as it opened
        finally:
            maintenance.close()
        assert store.monthly_states(MONTH) == _of(store.monthly_figures(MONTH))
        points = store._ql.series("SELECT count(states) FROM letter_states", rp="proof")[0]["values"][0][1]
        assert points == 3  # one a (landlord, estate) group: written twice, the same points
    finally:
        store.close()


def test_states_lines_refuse_what_cannot_be_packed() -> None:
    x = month_row("cp-1", states="C;N")
    with pytest.raises(ValueError, match="cannot be packed"):
        influx_states.lines(influx_states.MONTH, [influx_states.row_of(x, MONTH, 1, schema.monthly_ns(x, 1))])


def test_sqlite_states_are_the_figures_columns(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    store.open()
    try:
        _write(store)
        _assert_states_equal(store)
        assert store.tail_states(DAY) == []
    finally:
        store.close()


def test_the_states_go_with_the_first_of_their_letters() -> None:
    days = measurement_days(RetentionPolicy(extra={"checkpoint_letter_suffix": 30}))
    assert days["letter_states"] == days["letter_states_mark"] == 30
    assert measurement_days(DEFAULT_RETENTION)["letter_states"] == DEFAULT_RETENTION.proof_days
    for copy in ("letter_states", "letter_states_mark"):
        with pytest.raises(RetentionError, match="go with the letters"):
            measurement_days(RetentionPolicy(extra={copy: 30}))


@pytest.mark.influx
def test_a_day_retention_began_deleting_is_not_read_from_its_states(database: tuple[str, str]) -> None:
    """Retention's cutoff within a day deletes the letters timed before it: that whole day's states and mark go, so
    its states answer None (the remaining figures are read); the days after keep theirs."""
    store = open_influx(database, StoreAccess.MAINTAIN)
    try:
        _write(store)
        now = datetime.combine(DAY0, time(12), tzinfo=UTC) + timedelta(days=DEFAULT_RETENTION.proof_days)
        store.apply_retention(DEFAULT_RETENTION, now)
        for landlord in LANDLORDS:
            assert store.suffix_states(DAY0, landlord=landlord) is None
            assert store.tail_states(DAY0, landlord=landlord) is None
            got, want = store.suffix_states(DAY, landlord=landlord), _of(store.suffix_figures(DAY, landlord=landlord))
            assert got == want or (got is None and not want)
        assert store.suffix_states(DAY) == [("cp-1", "b1 with a space", "C-X")]
    finally:
        store.close()


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("influx", marks=pytest.mark.influx)])
def test_span_states_are_unread_once_a_letter_they_reach_is_written_again(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """As the span letters: a letter of a month a span reaches written after it makes the span unread (SQLite drops
    it, influxd compares the letters' marks), its states with it; written again, read again."""
    if engine == "influx":
        store: Store = open_influx(request.getfixturevalue("database"))
    else:
        store = SqliteStore(tmp_path / "s.db")
        store.open()
    try:
        _write(store)
        assert store.span_states(DAY0, MONTH) == [
            ("cp 2;x%", "b1 with a space", "CN"),
            ("cp-1", "b1 with a space", "CN"),
            ("cp-3", "b2", "CN"),
        ]
        store.write_monthly_rollups([replace(_letters()[0], states="NNNNN", visits=0)])
        assert store.span_figures(DAY0, MONTH) == []
        assert store.span_states(DAY0, MONTH) == []
        store.write_month_spans(MONTH, [MonthlySpan(DAY0, replace(x, states="NN")) for x in _letters()])
        assert store.span_states(DAY0, MONTH) == _of(store.span_figures(DAY0, MONTH))
        assert [s for _, _, s in store.span_states(DAY0, MONTH) or []] == ["NN", "NN", "NN"]
    finally:
        store.close()
