"""The daily rollups' packed copy on a real influxd 1.6.7 (``ronde.store.influx_days``, one point per landlord,
estate and day): what coverage reads equals what ``checkpoint_day`` says, for days written by this code, by earlier
code (no copy, or the first copy of one point a rollup: read from ``checkpoint_day``, then packed by ``pack_days``,
which drops the first copy), cut writes, re-rolls and partial writes of an estate-day, groups longer than a string
holds, for every landlord scope."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from ronde.store import day_states, influx_days, schema
from ronde.store import influx_figures as figures
from ronde.store.checks import mark_line
from ronde.store.influx import InfluxStore
from ronde.store.lineprotocol import encode_line, format_float
from ronde.store.port import StoreAccess
from ronde.store.records import DailyRollup, RollupFigures
from ronde.store.schema import RetentionClass
from tests.store.factories import DAY, rollup
from tests.store.influx_database import open_influx

pytestmark = pytest.mark.influx

D1, D2, D3 = DAY - timedelta(days=2), DAY - timedelta(days=1), DAY
LANDLORDS = (None, "valophis", "paris-habitat", "nobody")

_open = open_influx


def _day(day: date) -> list[DailyRollup]:
    """A day of two landlords' rollups with the figures that test a packing: odd floats, none seen, no building."""
    return [
        rollup("cp-1", day, presence_s=0.1 + 0.2, mean_idle_s=1e10 / 7),
        rollup("cp-2", day, covered=False, visits=0, first_seen=None, last_seen=None, max_idle_s=86400.0),
        rollup("cp-3", day, landlord="paris-habitat", building="bat a=1,b", estate="les tilleuls", max_idle_s=1 / 3),
        rollup("cp-4", day, landlord="paris-habitat", kind="stairwell_hall", presence_s=2.0, expected=0),
    ]


def _proof(store: InfluxStore, first: date, last: date, landlord: str | None) -> list[RollupFigures]:
    """What ``rollup_figures`` read before the copy: ``checkpoint_day``'s fields."""
    where = influx_days.where(first, last, landlord)
    return figures.day_figures(figures.newest(store._ql, schema.CHECKPOINT_DAY, figures.DAY_FIELDS, where, 1))


def _answers(store: InfluxStore) -> list[object]:
    """Every scope and range's figures, each asserted equal (``repr`` too: an int for a float is ``==``) to the
    proof's, the open day after the last included (and the day states, heard and visited days made of them)."""
    out: list[object] = []
    for landlord in LANDLORDS:
        for first, last in ((D1, D3 + timedelta(days=1)), (D2, D2), (D1, D2), (D3, D3)):
            got = store.rollup_figures(first, last, landlord=landlord)
            want = _proof(store, first, last, landlord)
            assert got == want
            assert repr(got) == repr(want)
            assert store.rollup_figures_by_day(first, last, landlord=landlord) == got
            assert store.heard_days(first, last, landlord=landlord) == _heard(want)
            assert _sorted(store.rollup_visited(first, last, landlord=landlord)) == _visited(want)
            assert store.rollup_day_states(first, last, landlord=landlord) == day_states.of_figures(want, first, last)
            out.append(got)
    return out


def _heard(figures: list[RollupFigures]) -> dict[str, tuple[date, date]]:
    """Each checkpoint's first and last day with a visit, from the proof's figures."""
    days: dict[str, list[date]] = {}
    for f in figures:
        if f[6] > 0:
            days.setdefault(f[1], []).append(f[0])
    return {cid: (min(d), max(d)) for cid, d in days.items()}


def _visited(figures: list[RollupFigures]) -> dict[date, list[str]]:
    """Each day with a rollup, with its checkpoints that had a visit, from the proof's figures."""
    out: dict[date, list[str]] = {}
    for f in figures:
        out.setdefault(f[0], [])
        if f[6] > 0:
            out[f[0]].append(f[1])
    return _sorted(out)


def _sorted(days: dict[date, list[str]]) -> dict[date, list[str]]:
    return {d: sorted(cids) for d, cids in days.items()}


def _whole(store: InfluxStore) -> set[date]:
    marks, packs = influx_days.states(store._ql, D1, D3, None)
    return {d for d in (D1, D2, D3) if influx_days.whole(marks, packs, d)}


def _old_write(store: InfluxStore, rollups: list[DailyRollup], written_at: int, *, marks: bool = True) -> None:
    """What earlier code wrote: the proof and its rollup marks, no copy (``marks=False``: before marks existed)."""
    lines = [schema.rollup_line(r, written_at) for r in rollups]
    if marks:
        days = sorted({(r.service_day, r.landlord) for r in rollups})
        lines += [mark_line(d, lid, written_at, 1) for d, lid in days]
    store.write_lines(RetentionClass.PROOF, lines)


def _first_copy_write(store: InfluxStore, rollups: list[DailyRollup], written_at: int) -> None:
    """What the code of the first copy wrote: the proof, its rollup marks, a ``checkpoint_day_figures`` point a
    rollup (its figures as that code packed them) and a ``checkpoint_day_figures_mark`` per day."""
    _old_write(store, rollups, written_at)
    lines = []
    for r in rollups:
        first = "-" if r.first_seen is None else str(schema.to_ms(r.first_seen))
        last = "-" if r.last_seen is None else str(schema.to_ms(r.last_seen))
        head = (str(written_at), r.service_day.isoformat(), str(r.visits), str(r.expected), "1" if r.covered else "0")
        floats = (format_float(r.presence_s), format_float(r.max_idle_s), format_float(r.mean_idle_s))
        packed = " ".join((*head, first, last, *floats))
        tags = {"checkpoint": r.checkpoint_id, "kind": r.kind, "building": r.building, "estate": r.estate}
        ns = schema.rollup_ns(r, written_at)
        lines.append(encode_line("checkpoint_day_figures", {**tags, "landlord": r.landlord}, {"figures": packed}, ns))
    days = sorted({r.service_day for r in rollups})
    lines += [encode_line(influx_days.OLD_MARK, {}, {"upto": written_at}, schema.day_start_ns(d) + 1) for d in days]
    store.write_lines(RetentionClass.PROOF, lines)


def _packed(store: InfluxStore) -> tuple[int, int]:
    """How many points the copy holds, and how many rows in them."""
    series = store._ql.series(f"SELECT figures FROM {schema.ESTATE_DAY_FIGURES.name}", rp="proof")
    values = [v[1] for s in series for v in s["values"]]
    return len(values), sum(len(v.split(";")) for v in values)


def _measurements(store: InfluxStore) -> set[str]:
    return {str(v[0]) for s in store._ql.series("SHOW MEASUREMENTS") for v in s["values"]}


def test_written_days_are_read_from_the_copy_equal(database: tuple[str, str]) -> None:
    store = _open(database)
    try:
        for day in (D1, D2, D3):
            store.write_rollups(_day(day))
        assert _whole(store) == {D1, D2, D3}
        assert _packed(store) == (9, 12)  # a point per landlord, estate and day: (valophis, paris-habitat x 2) x 3
        before = _answers(store)
        assert len(before[0]) == 12  # type: ignore[arg-type]
        # a late event re-rolls one checkpoint of D2: the newer write wins in both measurements
        rerolled = replace(_day(D2)[0], visits=4, presence_s=300.5, last_seen=None)
        store.write_rollups([rerolled, *_day(D2)[1:]])
        assert _whole(store) == {D1, D2, D3}
        assert _packed(store) == (10, 13)  # the re-roll alone: its estate-day's other checkpoint stays
        after = _answers(store)
        assert after != before
        assert store.rollups(D2, D2)[0] == rerolled
        assert store.rollup_figures(D2, D2)[0][6:8] == (4, 1)
        store.write_rollups(_day(D2))  # and back: a third version, the newest again
        assert _answers(store) == before
    finally:
        store.close()


def test_days_of_earlier_code_read_from_checkpoint_day_until_packed(database: tuple[str, str]) -> None:
    store = _open(database)
    try:
        _old_write(store, _day(D1), 1000, marks=False)  # before rollup marks
        _old_write(store, [replace(r, visits=9) for r in _day(D2)], 1000)
        _old_write(store, _day(D2)[:3], 2000)  # a rewrite of three of four
        _old_write(store, _day(D3), 1500)
        assert _whole(store) == set()
        want = _answers(store)
        # a re-roll by this code of one rollup of a day without a copy: the copy is not whole, still the proof's
        rerolled = replace(_day(D3)[3], visits=5)
        store.write_rollups([rerolled])
        assert _whole(store) == set()
        want_rerolled = _answers(store)
        assert want_rerolled != want
        assert any(f[1] == "cp-4" and f[6] == 5 for f in store.rollup_figures(D3, D3))

        maintenance = _open(database, StoreAccess.MAINTAIN)  # packs as it opens
        try:
            assert _whole(store) == {D1, D2, D3}
            assert _answers(store) == want_rerolled
            assert maintenance.pack_days() == 0  # done: nothing to copy again
            # a point per landlord, estate and day: pack's of cp-4's estate-day (cp-4 alone) is the re-roll's own
            # point (the same rows, the same time)
            assert _packed(store) == (9, 12)
            assert _answers(_open(database, StoreAccess.READ)) == want_rerolled
        finally:
            maintenance.close()
    finally:
        store.close()


def test_a_later_write_without_its_copy_is_read_from_checkpoint_day(database: tuple[str, str]) -> None:
    """A day rewritten by earlier code after it was packed (or a write cut between its proof and its copy): its
    rollup mark moves past its pack mark, so the day is read from the proof, and ``pack_days`` copies it again."""
    store = _open(database)
    try:
        for day in (D1, D2, D3):
            store.write_rollups(_day(day))
        newer = store._written_at() + 10
        _old_write(store, [replace(_day(D2)[2], visits=7, covered=False)], newer)
        assert _whole(store) == {D1, D3}
        want = _answers(store)
        assert [f[6] for f in store.rollup_figures(D2, D2, landlord="paris-habitat")] == [7, 3]
        store.write_rollups([replace(_day(D2)[0], visits=8)])  # this code's write of a day not whole: no pack mark
        assert _whole(store) == {D1, D3}
        want = _answers(store)
        assert store.pack_days() == 4
        assert _whole(store) == {D1, D2, D3}
        assert _answers(store) == want
        assert [f[6] for f in store.rollup_figures(D2, D2)] == [8, 0, 7, 3]
        # after that sweep, pack finds the days by their rollup marks: a later rewrite by earlier code too
        _old_write(store, [replace(_day(D3)[3], visits=2)], store._written_at() + 10)
        assert _whole(store) == {D1, D2}
        assert store.pack_days() == 4
        assert _whole(store) == {D1, D2, D3}
        assert [f[6] for f in store.rollup_figures(D3, D3)] == [3, 0, 3, 2]
        _answers(store)
    finally:
        store.close()


def test_pack_mark_holds_the_rollup_mark_read_before_the_rows(database: tuple[str, str]) -> None:
    """``pack``'s mark is the day's rollup mark as it read it before the rows: a write meanwhile (its mark newer)
    leaves the day on the proof, never on a copy that could miss it."""
    store = _open(database)
    try:
        _old_write(store, _day(D1), 1000)
        newer = store._written_at() + 10

        def write_then_race(lines: object) -> None:
            store.write_lines(RetentionClass.PROOF, lines)  # type: ignore[arg-type]
            _old_write(store, [replace(_day(D1)[1], visits=6)], newer)

        assert influx_days.pack(store._ql, write_then_race, now_ms=store._written_at()) == 4
        assert _whole(store) == set()
        _answers(store)
        assert [f[6] for f in store.rollup_figures(D1, D1)][1] == 6
    finally:
        store.close()


def test_retention_deletes_the_copy_with_the_proof(database: tuple[str, str]) -> None:
    from datetime import UTC, datetime, time

    from ronde.store.records import RetentionPolicy

    store = _open(database, StoreAccess.MAINTAIN)
    try:
        for day in (D1, D2, D3):
            store.write_rollups(_day(day))
        now = datetime.combine(D2, time(12), tzinfo=UTC) + timedelta(days=RetentionPolicy().proof_days)
        store.apply_retention(RetentionPolicy(), now)
        assert {f[0] for f in store.rollup_figures(D1, D3)} == {D2, D3}
        assert _answers(store)
        assert _packed(store) == (6, 8)
        marks = store._ql.series(f"SELECT count(upto) FROM {influx_days.DAY_MARK}", rp="proof")
        assert marks[0]["values"][0][1] == 2
    finally:
        store.close()


def test_the_copy_keeps_what_checkpoint_day_keeps() -> None:
    from ronde.store.records import RetentionPolicy
    from ronde.store.retention import RetentionError, measurement_days

    days = measurement_days(RetentionPolicy(extra={"checkpoint_day": 30}))
    assert days["estate_day_figures"] == days["checkpoint_day_figures"] == days["checkpoint_day"] == 30
    for copy in ("estate_day_figures", "checkpoint_day_figures"):
        with pytest.raises(RetentionError, match="goes with it"):
            measurement_days(RetentionPolicy(extra={copy: 30}))


def test_days_without_rollups_read_nothing_after_a_sweep(
    database: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A day off (no rollup) has neither mark: before ``pack_days`` went through the store it may be a day of
    earlier code without marks, read from ``checkpoint_day``; after, it is known empty and not read at all."""
    store = _open(database)
    try:
        store.write_rollups(_day(D1))
        store.write_rollups(_day(D3))
        proof_reads: list[object] = []
        newest = figures.newest

        def counted(*args: object, **kwargs: object) -> object:
            proof_reads.append(args)
            return newest(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(figures, "newest", counted)
        want = store.rollup_figures(D1, D3 + timedelta(days=1))
        assert len(proof_reads) == 2  # D2, and the day after D3
        assert store.pack_days() == 0
        proof_reads.clear()
        assert store.rollup_figures(D1, D3 + timedelta(days=1)) == want
        assert proof_reads == []
        monkeypatch.undo()
        _answers(store)
    finally:
        store.close()


def test_a_partial_write_of_an_estate_day_overrides_only_its_checkpoints(database: tuple[str, str]) -> None:
    """An estate-day written whole, then twice in part (a re-roll of one checkpoint, then of another, a third
    version of the first): per checkpoint the newest row wins, whichever point holds it."""
    store = _open(database)
    try:
        estate = [rollup(f"cp-{k}", D1, estate="les tilleuls", visits=k) for k in range(1, 6)]
        store.write_rollups(estate)
        store.write_rollups([replace(estate[1], visits=20)])
        store.write_rollups([replace(estate[3], visits=40), replace(estate[1], visits=21, covered=False)])
        assert _packed(store) == (3, 8)
        assert [f[6] for f in store.rollup_figures(D1, D1)] == [1, 21, 3, 40, 5]
        assert [f[8] for f in store.rollup_figures(D1, D1)] == [True, False, True, True, True]
        store.write_rollups([estate[1]])  # back to the first version: a fourth point, the newest
        assert [f[6] for f in store.rollup_figures(D1, D1)] == [1, 2, 3, 40, 5]
        _answers(store)
    finally:
        store.close()


def test_ties_of_written_at_break_as_in_the_proof(database: tuple[str, str]) -> None:
    """Two versions of a rollup with the same ``written_at`` (two writers in one millisecond): the proof keeps the
    one at the later time within the day, and so does the copy (each row carries that time)."""
    store = _open(database)
    try:
        store.write_rollups(_day(D1))
        at = store._written_at() + 10
        a, b = replace(_day(D1)[0], visits=7), replace(_day(D1)[0], visits=8)
        for r in (a, b):  # each write as this code does it: the proof, its mark, its copy, a pack mark
            store.write_lines(
                RetentionClass.PROOF,
                [
                    schema.rollup_line(r, at),
                    mark_line(D1, r.landlord, at, 1),
                    *schema.estate_day_lines([(r, at, schema.rollup_ns(r, at))]),
                    influx_days.mark_line(D1, at),
                ],
            )
        assert _whole(store) == {D1}
        want = max((a, b), key=lambda r: schema.rollup_ns(r, at)).visits
        assert store.rollup_figures(D1, D1)[0][6] == want
        _answers(store)
    finally:
        store.close()


def test_a_long_estate_day_is_several_points_read_whole(database: tuple[str, str]) -> None:
    """An estate-day of 1,200 checkpoints (~110 kB of rows) is written in points under influxd's 64 KiB string
    limit and read back whole, equal; re-rolled in part, its newest rows win."""
    store = _open(database)
    try:
        many = [rollup(f"checkpoint-{k:04d}", D2, visits=k % 4, presence_s=k / 7) for k in range(1200)]
        store.write_rollups(many)
        points, rows = _packed(store)
        assert rows == 1200
        assert points >= 2  # the rows pass a string's limit
        got = _answers(store)
        assert len(got[0]) == 1200  # type: ignore[arg-type]
        store.write_rollups([replace(r, visits=9) for r in many[::100]])
        assert [f[6] for f in store.rollup_figures(D2, D2)][::100] == [9] * 12
        _answers(store)
    finally:
        store.close()


def test_the_first_copy_is_not_read_then_replaced_and_dropped(database: tuple[str, str]) -> None:
    """A store written by the first copy's code (a point a rollup, its own marks): read from ``checkpoint_day``
    (its marks vouch for nothing here), equal; ``pack_days`` (maintenance's open) makes the new copy and drops the
    first and its marks; a worker of that code still running afterwards is read from the proof."""
    store = _open(database)
    try:
        _first_copy_write(store, _day(D1), 1000)
        _first_copy_write(store, [replace(r, visits=9) for r in _day(D2)], 1000)
        _first_copy_write(store, _day(D2)[:3], 2000)
        assert _whole(store) == set()
        want = _answers(store)
        maintenance = _open(database, StoreAccess.MAINTAIN)  # packs as it opens
        try:
            assert _whole(store) == {D1, D2}  # D3 has no rollup
            assert _answers(store) == want
            assert _packed(store) == (6, 8)
            assert not {"checkpoint_day_figures", influx_days.OLD_MARK} & _measurements(store)
            assert maintenance.pack_days() == 0
            _first_copy_write(store, [replace(_day(D1)[0], visits=6)], store._written_at() + 10)
            assert _whole(store) == {D2}
            assert store.rollup_figures(D1, D1)[0][6] == 6
            assert maintenance.pack_days() == 4
            assert not {"checkpoint_day_figures", influx_days.OLD_MARK} & _measurements(store)
            _answers(store)
        finally:
            maintenance.close()
    finally:
        store.close()
