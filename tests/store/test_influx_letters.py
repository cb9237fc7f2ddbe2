"""Letters on a real influxd 1.6.7: the packed layout, letters of the old layout (a field a figure, what earlier
code wrote) read beside it, and their migration (``ronde.store.influx_letters``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from ronde.store import influx_letters, schema
from ronde.store.influx import InfluxStore
from ronde.store.port import StoreAccess
from ronde.store.records import MonthlyRollup, MonthlySuffix, monthly_figures_of
from ronde.store.schema import RetentionClass, day_start_ns
from tests.store.factories import DAY, month_row
from tests.store.influx_database import open_influx

pytestmark = pytest.mark.influx

MONTH = DAY.replace(day=1)
DAY0 = DAY - timedelta(days=1)
LANDLORDS = (None, "paris-habitat", "toit-et-joie", "nobody")


_letter = month_row


_open = open_influx


def _answers(store: InfluxStore) -> list[object]:
    """Everything the letters' reads give, with ``repr`` (an int for a float would be ``==`` but not the same)."""
    out: list[object] = []
    for landlord in LANDLORDS:
        rows = store.monthly_rollups(MONTH, landlord=landlord)
        figures = store.monthly_figures(MONTH, landlord=landlord)
        assert figures == [monthly_figures_of(r) for r in rows]
        out += [rows, figures, repr(figures)]
        for d in (DAY0, DAY):
            got = store.suffix_figures(d, landlord=landlord)
            out += [got, repr(got)]
    where = [f"time >= {day_start_ns(MONTH)}", f"time < {day_start_ns(MONTH + timedelta(days=31))}"]
    return [*out, store.suffix_letters(where)]


def _measurements(store: InfluxStore) -> set[str]:
    return {str(v[0]) for s in store._ql.series("SHOW MEASUREMENTS") for v in s["values"]}


def _old_layout(store: InfluxStore) -> tuple[list[MonthlyRollup], list[MonthlySuffix]]:
    """Letters and suffix letters written as earlier code did, rewrites included; returns the newest of each."""
    a = _letter("cp-1")
    a2 = replace(a, inner_n=1, states="CCCCC")
    b = _letter("cp-2", landlord="toit-et-joie", building=None, first_seen=None, trail_s=0.0)
    c = _letter("cp-3", seen=False, visits=0, states="XXX-X", first_seen=None, last_seen=None, lead_s=3.0)
    sa = MonthlySuffix(DAY0, replace(a, states="CN-X"))
    sb = MonthlySuffix(DAY0, replace(b, states="NN-X"))
    sc = MonthlySuffix(DAY, replace(c, states="X-X"))
    lines = [
        schema.monthly_line(a2, 1000),
        schema.monthly_line(a, 2000),  # back to an older content: the newest written_at wins
        schema.monthly_line(b, 1000),
        schema.monthly_line(c, 1500),
        schema.suffix_line(replace(sa, letter=replace(sa.letter, visits=1)), 1000),
        schema.suffix_line(sa, 3000),
        schema.suffix_line(sb, 1000),
        schema.suffix_line(sc, 1000),
    ]
    store.write_lines(RetentionClass.PROOF, lines)
    return [a, b, c], [sa, sb, sc]


def test_packed_letters_read_back_equal(database: tuple[str, str]) -> None:
    store = _open(database)
    try:
        letters = [_letter("cp-1"), _letter("cp-2", building=None, first_seen=None, last_seen=None)]
        store.write_monthly_rollups(letters)
        store.write_monthly_suffixes(MONTH, [MonthlySuffix(DAY0, x) for x in letters])
        assert store.monthly_rollups(MONTH) == letters
        assert store.monthly_figures(MONTH) == [monthly_figures_of(x) for x in letters]
        assert repr(store.suffix_figures(DAY0)) == repr([monthly_figures_of(x) for x in letters])
        assert _measurements(store) == {
            "checkpoint_letter",
            "checkpoint_letter_suffix",
            "checkpoint_letter_mark",
            "letter_states",  # their states beside them (``influx_states``)
            "letter_states_mark",
        }
    finally:
        store.close()


def test_old_layout_is_read_until_migrated_then_migrated(database: tuple[str, str]) -> None:
    store = _open(database)
    try:
        letters, suffixes = _old_layout(store)
        assert store.monthly_rollups(MONTH) == letters
        assert store.suffix_letters([f"time >= {day_start_ns(MONTH)}"]) == sorted(
            suffixes, key=lambda x: (x.letter.checkpoint_id, x.from_day)
        )
        store.write_monthly_rollups(letters)  # equal to the old points: nothing written
        store.write_monthly_suffixes(MONTH, suffixes)
        assert _measurements(store) == {"checkpoint_month", "checkpoint_month_suffix"}
        newer = replace(letters[2], visits=3, inner_s2=0.1)  # a refold of one letter: packed, newer than the old
        store.write_monthly_rollups([newer])
        store.write_monthly_suffixes(MONTH, [MonthlySuffix(DAY, replace(newer, states="X-X"))])
        assert store.monthly_rollups(MONTH) == [*letters[:2], newer]
        want = _answers(store)

        # interrupted after the rewrite, before the drop: both layouts there, the same answers
        def keep(_: str) -> bool:
            return False

        write = lambda lines: store.write_lines(RetentionClass.PROOF, lines)  # noqa: E731
        assert influx_letters.migrate(store._ql, write, keep) == 6
        assert _answers(store) == want

        maintenance = _open(database, StoreAccess.MAINTAIN)  # migrates as it opens (and sweeps: influx_days)
        try:
            assert _measurements(store) == {
                "checkpoint_letter",
                "checkpoint_letter_suffix",
                "checkpoint_letter_mark",  # the refold's, written with it
                "estate_day_figures_mark",
                "letter_states",  # the refold's, and the migrated letters' copied as maintenance opened
                "letter_states_mark",
            }
            assert maintenance.migrate_letters() == 0
            assert _answers(maintenance) == want
            assert _answers(store) == want  # a store that still looks for the old layout finds it gone
            assert _answers(_open(database, StoreAccess.READ)) == want
            before = store._ql.series("SELECT count(figures) FROM checkpoint_letter", rp="proof")
            assert before[0]["values"][0][1] == 3  # migrated twice, refolded once: one point a letter
            maintenance.write_monthly_rollups([*letters[:2], newer])  # replays write nothing
            assert store._ql.series("SELECT count(figures) FROM checkpoint_letter", rp="proof") == before
        finally:
            maintenance.close()
    finally:
        store.close()


def test_migration_keeps_the_old_points_time_and_written_at(database: tuple[str, str]) -> None:
    """A migrated letter is the point a packed write of it at its ``written_at`` makes: run again, it is the same
    point (no duplicate), and its ``written_at`` still orders it against later refolds."""
    store = _open(database)
    try:
        letters, _ = _old_layout(store)
        store._old_letters = None
        assert store.migrate_letters() == 6
        rows = store._ql.series("SELECT figures FROM checkpoint_letter", rp="proof")[0]["values"]
        assert sorted(int(t) for t, _ in rows) == sorted(
            [
                schema.monthly_ns(letters[0], 2000),
                schema.monthly_ns(letters[1], 1000),
                schema.monthly_ns(letters[2], 1500),
            ]
        )
        assert {str(v).split(" ")[0] for _, v in rows} == {"2000", "1000", "1500"}
        assert store.monthly_rollups(MONTH) == letters
    finally:
        store.close()
