"""The Store contract, run against both engines: SQLite in tmp_path and a real InfluxDB
(Debian's influxd 1.6.7 from the session fixture: the ``/write`` path; one database per test).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ronde.store import day_states
from ronde.store.config import open_store
from ronde.store.influx import InfluxStore
from ronde.store.influx_http import WritePath
from ronde.store.port import StampedSpans, Store, StoreUnavailable
from ronde.store.records import (
    EventKey,
    MonthlyRollup,
    MonthlySuffix,
    RejectReason,
    RetentionPolicy,
    StoredVisit,
    WriteBatch,
    monthly_figures_of,
    rollup_figures_of,
)
from ronde.store.schema import VISIT, day_start_ns, to_ms, visit_line
from ronde.store.sqlite import SqliteStore
from ronde.store.sqlite import _monthly as sqlite_monthly
from tests.store import factories as f
from tests.store.factories import BASE, DAY
from tests.support.services import Influxd, run_influxd

WINDOW = (BASE - timedelta(hours=1), BASE + timedelta(days=1))


@pytest.fixture(params=["sqlite", pytest.param("influx", marks=pytest.mark.influx)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s: Store = open_store(f"sqlite://{tmp_path}/ronde.db")
        assert isinstance(s, SqliteStore)
    else:
        server: Influxd = request.getfixturevalue("influxd")
        s = open_store(server.url, database=f"t_{uuid.uuid4().hex[:12]}", retry_budget_s=2.0)
        assert isinstance(s, InfluxStore)
        assert s.path is WritePath.V1  # 1.6.7 has no /api/v2/write
    try:
        yield s
    finally:
        s.close()


def test_visits_round_trip_every_field(store: Store) -> None:
    visits = tuple(f.visit(i) for i in range(6))
    store.write(WriteBatch(visits=visits))
    assert store.visits(*WINDOW) == list(visits)
    back = store.visits(*WINDOW)[1]
    assert back.first_seen.tzinfo is not None
    assert back.first_seen.utcoffset() == timedelta(0)
    assert back.building == "bat-a"
    assert store.visits(*WINDOW)[0].building is None


def test_same_event_twice_is_stored_once(store: Store) -> None:
    v = f.visit(1)
    store.write(WriteBatch(visits=(v,)))
    store.write(WriteBatch(visits=(v, f.visit(2))))
    store.write(WriteBatch(visits=(v,)))
    assert [x.event_id for x in store.visits(*WINDOW)] == [v.event_id, f.visit(2).event_id]
    assert store.visits_of_days([DAY]) == [v, f.visit(2)]


def test_replayed_records_of_every_kind_are_stored_once(store: Store) -> None:
    batch = WriteBatch(
        rejections=(f.rejection(1), f.rejection(2)),
        telemetry=(f.telemetry(1),),
        gateway_states=(f.state(1),),
        gaps=(f.gap(1),),
    )
    store.write(batch)
    store.write(batch)
    assert store.rejections(*WINDOW) == [f.rejection(1), f.rejection(2)]
    assert store.gaps(*WINDOW) == [f.gap(1)]
    assert store.latest_telemetry() == {"cp-1": f.telemetry(1)}
    assert store.latest_gateway_states() == {"gw-2": f.state(1)}


def test_known_event_ids(store: Store) -> None:
    stored = [f.visit(i) for i in range(3)]
    late = f.visit(9, at=BASE - timedelta(days=1, hours=3))  # far from the others: its own time cluster
    store.write(WriteBatch(visits=(*stored, late)))
    keys = {v.key for v in (*stored, late)} | {EventKey(f.ulid(50), "gw-1", BASE), EventKey(f.ulid(51), "gw-1", BASE)}
    assert store.known_event_ids(keys) == {v.event_id for v in (*stored, late)}
    assert store.known_event_ids([]) == set()
    assert store.known_event_ids([EventKey(f.ulid(52), "gw-1", BASE)]) == set()


def test_known_rejections_by_topic_and_digest_within_lookback(store: Store) -> None:
    stored = [f.rejection(1), f.rejection(2, gateway_id=None, topic="garbage/topic")]
    store.write(WriteBatch(rejections=tuple(stored)))
    later = timedelta(hours=3)
    redelivered = [replace(r, at=r.at + later) for r in stored]  # same bytes, received again later
    other_topic = replace(f.rejection(1), at=BASE + later, topic="ronde/v1/gw/gw-1/telemetry")
    new = replace(f.rejection(3), at=BASE + later)
    found = store.known_rejections([*redelivered, other_topic, new], timedelta(days=1))
    assert found == {(r.topic, r.payload_sha256) for r in stored}
    assert store.known_rejections(redelivered, timedelta(hours=1)) == set()  # older than the lookback
    assert store.known_rejections([], timedelta(days=1)) == set()


def test_known_event_ids_many(store: Store) -> None:
    visits = tuple(f.visit(i, at=BASE + timedelta(seconds=i)) for i in range(1200))
    store.write(WriteBatch(visits=visits[:700]))
    keys = [v.key for v in visits]
    assert store.known_event_ids(keys) == {v.event_id for v in visits[:700]}


def test_ordering_by_first_seen_then_event_id(store: Store) -> None:
    same_ms = BASE + timedelta(minutes=5, milliseconds=123)
    a = f.visit(30, at=same_ms, checkpoint_id="cp-x")
    b = f.visit(31, at=same_ms, checkpoint_id="cp-x")  # same checkpoint, same millisecond
    c = f.visit(32, at=same_ms - timedelta(milliseconds=1))
    store.write(WriteBatch(visits=(b, c, a)))
    assert store.visits(*WINDOW) == sorted([a, b, c], key=lambda v: (v.first_seen, v.event_id))
    assert [v.event_id for v in store.visits(*WINDOW)] == [c.event_id, a.event_id, b.event_id]


def test_time_range_is_half_open(store: Store) -> None:
    t = BASE + timedelta(minutes=10)
    v = f.visit(1, at=t)
    store.write(WriteBatch(visits=(v,)))
    assert store.visits(t, t + timedelta(milliseconds=1)) == [v]
    assert store.visits(t - timedelta(minutes=1), t) == []
    assert store.visits(t + timedelta(microseconds=1), t + timedelta(minutes=1)) == []
    assert store.visits(t - timedelta(microseconds=1), t + timedelta(microseconds=1)) == [v]


def test_landlord_and_checkpoint_filters(store: Store) -> None:
    visits = [f.visit(i) for i in range(9)]
    store.write(WriteBatch(visits=tuple(visits)))
    assert store.visits(*WINDOW, landlord="i3f") == [v for v in visits if v.landlord == "i3f"]
    assert store.visits(*WINDOW, landlord="nobody") == []
    assert store.visits(*WINDOW, checkpoint_ids={"cp-1", "cp-2"}) == [v for v in visits if v.checkpoint_id != "cp-0"]
    assert store.visits(*WINDOW, checkpoint_ids=[]) == []
    assert store.visits(*WINDOW, landlord="paris-habitat", checkpoint_ids=["cp-1"]) == [
        v for v in visits if v.landlord == "paris-habitat" and v.checkpoint_id == "cp-1"
    ]
    assert store.visits_of_days([DAY], landlord="i3f") == [v for v in visits if v.landlord == "i3f"]


def test_gateway_filter(store: Store) -> None:
    """Ingest's replay check reads only the gateways it judges (the engine filters, one series per gateway)."""
    visits = [f.visit(i, gateway_id=f"gw-{i % 3}", seq=i + 1) for i in range(9)]
    store.write(WriteBatch(visits=tuple(visits)))
    assert store.visits(*WINDOW, gateway_ids=["gw-1"]) == [v for v in visits if v.gateway_id == "gw-1"]
    assert store.visits(*WINDOW, gateway_ids={"gw-0", "gw-2"}) == [v for v in visits if v.gateway_id != "gw-1"]
    assert store.visits(*WINDOW, gateway_ids=[]) == []
    assert store.visits(*WINDOW, gateway_ids=["gw-9"]) == []
    many = [f"gw-{i}" for i in range(600)]  # past what one statement names: filtered after reading, same answer
    assert store.visits(*WINDOW, gateway_ids=many) == sorted(visits, key=lambda v: (v.first_seen, v.event_id))


def test_visit_track_is_the_visits_reduced_to_five_values(store: Store) -> None:
    """Ingest's replay check reads ``visit_track``: for any gateways and window, the same visits as ``visits``
    (first and last seen to the store's millisecond), only five values of each."""
    from ronde.store.records import TrackPoint
    from ronde.store.schema import to_ms

    visits = [
        f.visit(i, gateway_id=f"gw-{i % 3}", seq=i + 1, at=BASE + timedelta(minutes=i, microseconds=1500 * i))
        for i in range(12)
    ]
    store.write(WriteBatch(visits=tuple(visits)))

    def reduced(vs: list[StoredVisit]) -> set[TrackPoint]:
        return {
            TrackPoint(v.gateway_id, to_ms(v.first_seen), to_ms(v.last_seen), v.event_id, v.checkpoint_id) for v in vs
        }

    many = [f"gw-{i}" for i in range(600)]  # past what one statement names: filtered after reading, same answer
    windows = [WINDOW, (BASE + timedelta(minutes=3), BASE + timedelta(minutes=7, microseconds=1))]
    for gateways in (["gw-1"], {"gw-0", "gw-2"}, ["gw-9"], many):
        for start, end in windows:
            track = store.visit_track(start, end, gateways)
            assert len(track) == len(set(track))
            assert set(track) == reduced(store.visits(start, end, gateway_ids=gateways))
    assert len(store.visit_track(*WINDOW, ["gw-1"])) == 4
    assert store.visit_track(*WINDOW, []) == []


def test_visit_spans_are_the_visits_reduced_to_what_a_day_figures(store: Store) -> None:
    """The evening in progress reads ``visit_spans``: for any window and landlord, the same visits as ``visits``
    (first and last seen to the store's millisecond, the service day, the checkpoint's tags), nine values of each."""
    from ronde.store.port import VisitSpan
    from ronde.store.schema import to_ms

    visits = [
        f.visit(i, at=BASE + timedelta(minutes=i, microseconds=1500 * i), service_day=DAY + timedelta(days=i // 8))
        for i in range(12)
    ]
    store.write(WriteBatch(visits=tuple(visits)))

    def reduced(vs: list[StoredVisit]) -> list[VisitSpan]:
        return sorted(
            VisitSpan(
                v.checkpoint_id,
                v.badge,
                to_ms(v.first_seen),
                to_ms(v.last_seen),
                v.service_day,
                v.kind,
                v.building,
                v.estate,
                v.landlord,
            )
            for v in vs
        )

    windows = [WINDOW, (BASE + timedelta(minutes=3), BASE + timedelta(minutes=7, microseconds=1))]
    for landlord in (None, "paris-habitat", "i3f", "nobody"):
        for start, end in windows:
            spans = store.visit_spans(start, end, landlord=landlord)
            assert sorted(spans) == reduced(store.visits(start, end, landlord=landlord)), (landlord, start)
    assert len(store.visit_spans(*WINDOW)) == 12
    assert {s.service_day for s in store.visit_spans(*WINDOW)} == {DAY, DAY + timedelta(days=1)}
    assert {s.building for s in store.visit_spans(*WINDOW)} == {None, "bat-a"}


def _kept_read(store: Store, kept: StampedSpans | None, landlord: str | None = None) -> StampedSpans:
    return store.visit_spans_kept(*WINDOW, landlord=landlord, day=DAY, kept=kept)


def test_kept_visit_spans_come_back_while_nothing_of_their_day_moved(store: Store) -> None:
    """``visit_spans_kept`` lets the evening in progress keep its visits between requests: the very pair comes
    back while nothing moved (a duplicate changes nothing); a visit written makes a fresh read, equal to
    ``visit_spans``."""
    kept = _kept_read(store, None)
    assert kept[0] is not None
    assert kept[1] == []
    assert _kept_read(store, kept) is kept
    for i in range(3):
        store.write(WriteBatch(visits=(f.visit(i, at=BASE + timedelta(minutes=i)),)))
        again = _kept_read(store, kept)
        assert again is not kept
        assert again[0] is not None
        assert again[0] != kept[0]
        assert sorted(again[1]) == sorted(store.visit_spans(*WINDOW))
        assert len(again[1]) == i + 1
        assert _kept_read(store, again) is again
        kept = again
    store.write(WriteBatch(visits=(f.visit(0, at=BASE),)))  # a duplicate of the first
    assert _kept_read(store, kept) is kept


def test_kept_visit_spans_of_a_landlord_follow_its_visits(store: Store) -> None:
    """A landlord's kept visits: another landlord's visit may make a fresh read (SQLite's stamp is the whole
    day's), never a wrong one; the landlord's own visit always does."""
    store.write(WriteBatch(visits=(f.visit(1, at=BASE, landlord="ph"),)))
    kept = _kept_read(store, None, "ph")
    assert [s.landlord for s in kept[1]] == ["ph"]
    store.write(WriteBatch(visits=(f.visit(2, at=BASE + timedelta(minutes=1), landlord="i3f"),)))
    after = _kept_read(store, kept, "ph")
    assert after[1] == kept[1]
    store.write(WriteBatch(visits=(f.visit(3, at=BASE + timedelta(minutes=2), landlord="ph"),)))
    moved = _kept_read(store, after, "ph")
    assert moved is not after
    assert sorted(moved[1]) == sorted(store.visit_spans(*WINDOW, landlord="ph"))
    assert len(moved[1]) == 2


@pytest.mark.influx
def test_an_influx_read_with_a_point_not_all_seen_is_not_kept(influxd: Influxd) -> None:
    """influxd shows a point's fields one at a time while it is written: a read that met one lacking fields gets
    no stamp (a later count would include the point, its missing fields never read), and the next read is
    fresh, then keepable once the point is whole."""
    s = open_store(influxd.url, database=f"t_{uuid.uuid4().hex[:12]}", retry_budget_s=2.0)
    assert isinstance(s, InfluxStore)
    s.open()
    try:
        whole = f.visit(1, at=BASE)
        s.write(WriteBatch(visits=(whole,)))
        part = f.visit(2, at=BASE + timedelta(minutes=1))
        line = visit_line(part)
        s.write_lines(
            VISIT.retention, [f"{line.split(' ')[0]} last_seen={to_ms(part.last_seen)}i {line.split(' ')[-1]}"]
        )
        first = _kept_read(s, None)
        assert first[0] is None
        assert len(first[1]) == 1
        s.write(WriteBatch(visits=(part,)))  # its other fields seen now
        second = _kept_read(s, first)
        assert second[0] == "2"
        assert len(second[1]) == 2
        assert _kept_read(s, second) is second
    finally:
        s.close()


def test_visits_of_days_follow_the_service_day_not_the_date(store: Store) -> None:
    evening = f.visit(1)
    after_midnight = f.visit(2, at=BASE + timedelta(hours=6, minutes=30))  # next UTC date, same service day
    next_day = f.visit(3, at=BASE + timedelta(days=1), service_day=DAY + timedelta(days=1))
    store.write(WriteBatch(visits=(evening, after_midnight, next_day)))
    assert store.visits_of_days([DAY]) == [evening, after_midnight]
    assert store.visits_of_days([DAY + timedelta(days=1)]) == [next_day]
    assert store.visits_of_days([DAY, DAY + timedelta(days=1), DAY - timedelta(days=30)]) == [
        evening,
        after_midnight,
        next_day,
    ]
    assert store.visits_of_days([]) == []


def test_sequence_numbers_and_gateways(store: Store) -> None:
    visits = [f.visit(i) for i in (0, 1, 2, 5)] + [f.visit(7, gateway_id="gw-2", seq=1)]
    store.write(WriteBatch(visits=tuple(visits), gateway_states=(f.state(0, gateway_id="gw-3"),)))
    assert store.sequence_numbers("gw-1", *WINDOW) == [1, 2, 3, 6]
    received = visits[1].received_at
    assert store.sequence_numbers("gw-1", received, received + timedelta(milliseconds=1)) == [2]
    assert store.sequence_numbers("gw-1", received + timedelta(milliseconds=1), WINDOW[1]) == [3, 6]
    assert store.sequence_numbers("gw-9", *WINDOW) == []
    assert store.gateways() == ["gw-1", "gw-2", "gw-3"]


def test_rejections_and_gaps_by_time(store: Store) -> None:
    rejections = (
        f.rejection(1),
        f.rejection(2, reason=RejectReason.GATEWAY_MISMATCH, gateway_id=None),
        f.rejection(3, event_id=f.ulid(3)),
    )
    store.write(WriteBatch(rejections=rejections, gaps=(f.gap(1), f.gap(2))))
    assert store.rejections(*WINDOW) == list(rejections)
    assert store.rejections(rejections[1].at, rejections[2].at) == [rejections[1]]
    assert store.gaps(f.gap(2).detected_at, WINDOW[1]) == [f.gap(2)]
    assert store.gaps(*WINDOW) == [f.gap(1), f.gap(2)]


def test_rejections_limited_newest_first_and_counted_by_reason_over_50000(store: Store) -> None:
    """Supervision asks for the newest few of a flood: the engine's query takes exactly those (over
    every (reason, gateway) series), and the counts per reason come from an aggregate."""
    reasons = [
        RejectReason.SCHEMA,
        RejectReason.SIGNATURE_INVALID,
        RejectReason.UNKNOWN_BEACON,
        RejectReason.CLOCK_FUTURE,
        RejectReason.TOPIC,
    ]
    flood = [
        replace(
            f.rejection(0),
            at=BASE + timedelta(seconds=i),
            reason=reasons[i % 5],
            gateway_id=f"gw-{i % 7}" if i % 11 else None,
            payload_sha256=f"{i:064x}",
        )
        for i in range(50_000)
    ]
    store.write(WriteBatch(rejections=tuple(flood)))
    newest = store.rejections(*WINDOW, limit=40, newest_first=True)
    assert newest == flood[::-1][:40]
    assert store.rejections(*WINDOW, limit=3) == flood[:3]
    assert store.rejections(*WINDOW, limit=0) == []
    middle = (flood[1000].at, flood[2000].at)  # the limit counts within the time range, from its end
    assert store.rejections(*middle, limit=5, newest_first=True) == flood[1995:2000][::-1]
    assert store.rejection_counts(*WINDOW) == {r: 10_000 for r in reasons}
    assert store.rejection_counts(*middle) == {r: 200 for r in reasons}
    assert store.rejection_counts(BASE - timedelta(days=3), BASE - timedelta(days=2)) == {}


def test_latest_telemetry_and_gateway_state(store: Store) -> None:
    telemetry = tuple(f.telemetry(i) for i in range(5))
    states = (
        *(f.state(i) for i in range(4)),
        f.state(9, gateway_id="gw-2", in_service=None, outbox_depth=None, adverts_per_s=None, battery_pct=None),
    )
    store.write(WriteBatch(telemetry=telemetry, gateway_states=states))
    store.write(
        WriteBatch(telemetry=(f.telemetry(3, at=BASE - timedelta(hours=1), battery_mv=None, temperature_c=None),))
    )
    assert store.latest_telemetry() == {"cp-0": telemetry[4], "cp-1": telemetry[3]}
    assert store.latest_gateway_states() == {"gw-1": states[2], "gw-2": states[4]}


def test_rollups_replace_and_filter(store: Store) -> None:
    first = [f.rollup("cp-1"), f.rollup("cp-2", landlord="toit-et-joie"), f.rollup("cp-1", DAY - timedelta(days=1))]
    store.write_rollups(first)
    store.write_rollups(first)  # identical replay
    assert store.rollups(DAY - timedelta(days=1), DAY) == sorted(first, key=lambda r: (r.service_day, r.checkpoint_id))
    uncovered = f.rollup("cp-1", visits=0, covered=False, first_seen=None, last_seen=None, presence_s=0.0)
    store.write_rollups([uncovered])
    assert store.rollups(DAY, DAY) == [uncovered, first[1]]
    assert store.rollups(DAY, DAY, landlord="toit-et-joie") == [first[1]]
    store.write_rollups([first[0]])  # back to the first version: the newest write wins
    assert store.rollups(DAY, DAY) == [first[0], first[1]]
    assert store.rollups(DAY + timedelta(days=1), DAY + timedelta(days=9)) == []


_month_row = f.month_row


def test_monthly_rollups_replace_and_filter(store: Store) -> None:
    month = DAY.replace(day=1)
    rows = [_month_row("cp-1"), _month_row("cp-2", landlord="toit-et-joie", building=None, first_seen=None)]
    store.write_monthly_rollups(rows)
    store.write_monthly_rollups(rows)  # identical replay
    assert store.monthly_rollups(month) == rows
    assert store.monthly_rollups(month, landlord="toit-et-joie") == [rows[1]]
    unseen = _month_row("cp-1", seen=False, visits=0, states="XXX-X", first_seen=None, last_seen=None)
    store.write_monthly_rollups([unseen])
    assert store.monthly_rollups(month) == [unseen, rows[1]]
    store.write_monthly_rollups([rows[0]])  # back to the first version: the newest write wins
    assert store.monthly_rollups(month) == rows
    assert store.monthly_rollups((month + timedelta(days=32)).replace(day=1)) == []


def test_figures_equal_the_objects_figures(store: Store) -> None:
    """``rollup_figures``, ``monthly_figures`` and ``suffix_figures`` (read without objects on InfluxDB) equal the
    figures of the objects: rewrites (the newest wins, also back to an older content), unseen rows (no instants), no
    building, floats that print long or whole (influxd writes 2.0 as 2), per landlord and for all, in the objects'
    order. ``repr`` too: an int where a float was would be ``==`` but not the same answer."""
    day0 = DAY - timedelta(days=1)
    rollups = [
        f.rollup("cp-2"),
        f.rollup("cp-1", landlord="toit-et-joie", building="bat-b", presence_s=0.1 + 0.2, max_idle_s=2.0),
        f.rollup("cp-1", day0, visits=0, covered=False, first_seen=None, last_seen=None, presence_s=0.0),
        f.rollup("cp-3", day0, mean_idle_s=1e10 / 7),
    ]
    store.write_rollups(rollups)
    store.write_rollups([replace(rollups[0], visits=9)])
    store.write_rollups([rollups[0]])  # back to the first content: the newest write wins
    month = DAY.replace(day=1)
    letters = [
        _month_row("cp-2"),
        _month_row("cp-1", landlord="toit-et-joie", building=None, first_seen=None, trail_s=0.0),
        _month_row("cp-3", seen=False, visits=0, states="XXX-X", first_seen=None, last_seen=None, lead_s=3.0),
    ]
    store.write_monthly_rollups(letters)
    store.write_monthly_rollups([replace(letters[0], inner_n=1)])
    store.write_monthly_rollups([letters[0]])
    suffixes = [MonthlySuffix(day0, replace(x, states=x.states[1:])) for x in letters]
    store.write_monthly_suffixes(month, suffixes)
    store.write_monthly_suffixes(month, [MonthlySuffix(DAY, letters[1]), MonthlySuffix(day0, letters[2])])
    for landlord in (None, "valophis", "toit-et-joie", "paris-habitat", "nobody"):
        got = store.rollup_figures(day0, DAY, landlord=landlord)
        want = [rollup_figures_of(r) for r in store.rollups(day0, DAY, landlord=landlord)]
        assert (got, repr(got)) == (want, repr(want))
        assert store.rollup_figures_by_day(day0, DAY, landlord=landlord) == want
        got_m = store.monthly_figures(month, landlord=landlord)
        want_m = [monthly_figures_of(r) for r in store.monthly_rollups(month, landlord=landlord)]
        assert (got_m, repr(got_m)) == (want_m, repr(want_m))
        for d in (day0, DAY):
            got_s = store.suffix_figures(d, landlord=landlord)
            want_s = [monthly_figures_of(x) for x in _suffix_letters(store, d, landlord)]
            assert (got_s, repr(got_s)) == (want_s, repr(want_s)), (landlord, d)
    written = sorted(rollups, key=lambda r: (r.service_day, r.checkpoint_id))
    assert (store.rollups(day0, DAY), repr(store.rollups(day0, DAY))) == (written, repr(written))
    assert rollup_figures_of(rollups[1]) in store.rollup_figures(DAY, DAY)
    assert store.monthly_figures(month)[2][12:] == (0.1 + 0.2, 0, 3.0, 2.0, 6, 12345.678901234567, 1e10 / 7, 999.0)


def test_heard_days_are_the_first_and_last_day_of_a_rollup_with_visits(store: Store) -> None:
    """``heard_days`` per checkpoint: the first and last day in the range whose rollup (the newest write) has a
    visit, per landlord and for all; a rollup rewritten to no visit no longer counts, nor one out of the range."""
    days = [DAY - timedelta(days=k) for k in (6, 4, 3, 1, 0)]
    rows = [f.rollup("cp-1", d) for d in days[1:4]]
    rows += [f.rollup("cp-2", d, landlord="toit-et-joie", visits=0, covered=False) for d in days]
    rows += [f.rollup("cp-3", days[0]), f.rollup("cp-3", days[2], visits=1), f.rollup("cp-3", days[4])]
    store.write_rollups(rows)
    store.write_rollups([replace(rows[-1], visits=0, covered=False)])  # the newest write wins
    want = {"cp-1": (days[1], days[3]), "cp-3": (days[0], days[2])}
    assert store.heard_days(days[0], DAY) == want
    assert store.heard_days(days[0], DAY, landlord="valophis") == want
    assert store.heard_days(days[0], DAY, landlord="toit-et-joie") == {}
    assert store.heard_days(days[1], days[2]) == {"cp-1": (days[1], days[2]), "cp-3": (days[2], days[2])}
    assert store.heard_days(DAY + timedelta(days=1), DAY + timedelta(days=7)) == {}
    for lo, hi in ((days[0], DAY), (days[1], days[3])):  # what the rollups' figures say
        figures = [x for x in store.rollup_figures(lo, hi) if x[6] > 0]
        assert store.heard_days(lo, hi) == {
            cid: (min(x[0] for x in figures if x[1] == cid), max(x[0] for x in figures if x[1] == cid))
            for cid in {x[1] for x in figures}
        }


def test_rollup_day_states_are_the_figures_coded_a_day_each(store: Store) -> None:
    """``rollup_day_states``: per checkpoint and tags, one code a calendar day of the range (covered, visited,
    neither, no rollup), the newest write's; a checkpoint moved to other tags a row each; per landlord and for all;
    equal to ``day_states.of_figures`` of the figures (what InfluxDB answers) and to codes written out by hand."""
    days = [DAY - timedelta(days=k) for k in (6, 4, 3, 1, 0)]
    odd = 'cp "x",y=z'
    rows = [f.rollup("cp-1", d) for d in days[1:4]]
    rows += [f.rollup("cp-2", d, landlord="toit-et-joie", visits=0, covered=False) for d in days]
    rows += [f.rollup(odd, days[0]), f.rollup(odd, days[2], visits=1, covered=False), f.rollup(odd, days[4])]
    rows += [f.rollup("cp-1", days[4], building="bat-m", estate="mordacs")]  # moved: a row of its own
    store.write_rollups(rows)
    store.write_rollups([replace(rows[-2], visits=0, covered=False)])  # the newest write wins
    want = [  # by checkpoint (" " before "-"), no building first
        (odd, None, "bois-labbe", "valophis", "C--V--0"),
        ("cp-1", None, "bois-labbe", "valophis", "--CC-C-"),
        ("cp-1", "bat-m", "mordacs", "valophis", "------C"),
        ("cp-2", None, "bois-labbe", "toit-et-joie", "0-00-00"),
    ]
    assert store.rollup_day_states(days[0], DAY) == want
    assert store.rollup_day_states(days[0], DAY, landlord="toit-et-joie") == [want[3]]
    assert store.rollup_day_states(days[0], DAY, landlord="nobody") == []
    assert store.rollup_day_states(days[1], days[2]) == [
        (odd, None, "bois-labbe", "valophis", "-V"),
        ("cp-1", None, "bois-labbe", "valophis", "CC"),
        ("cp-2", None, "bois-labbe", "toit-et-joie", "00"),
    ]
    assert store.rollup_day_states(DAY, days[0]) == []
    for lo, hi in ((days[0], DAY), (days[1], days[3]), (days[0] - timedelta(days=3), days[0])):
        for landlord in (None, "valophis", "toit-et-joie"):
            figures = store.rollup_figures(lo, hi, landlord=landlord)
            assert store.rollup_day_states(lo, hi, landlord=landlord) == day_states.of_figures(figures, lo, hi)


def test_rollup_visited_is_each_rolled_day_with_its_checkpoints_visited(store: Store) -> None:
    """``rollup_visited``: every day of the range with a rollup (of the landlord if given), a day without a visit
    included with none, each with the checkpoints whose newest rollup has a visit; an id of any characters."""
    days = [DAY - timedelta(days=k) for k in (6, 4, 3, 1, 0)]
    odd = 'cp "x",y=z'  # quotes, a comma, an equals sign: through the JSON array and the packed row alike
    rows = [f.rollup("cp-1", d) for d in days[1:4]]
    rows += [f.rollup("cp-2", d, landlord="toit-et-joie", visits=0, covered=False) for d in days]
    rows += [f.rollup(odd, days[0]), f.rollup(odd, days[2], visits=1), f.rollup(odd, days[4])]
    store.write_rollups(rows)
    store.write_rollups([replace(rows[-1], visits=0, covered=False)])  # the newest write wins

    def got(lo: date, hi: date, landlord: str | None = None) -> dict[date, list[str]]:
        return {d: sorted(c) for d, c in store.rollup_visited(lo, hi, landlord=landlord).items()}

    assert got(days[0], DAY) == {
        days[0]: [odd],
        days[1]: ["cp-1"],
        days[2]: sorted(["cp-1", odd]),
        days[3]: ["cp-1"],
        days[4]: [],
    }
    assert got(days[0], DAY, "valophis") == {
        days[0]: [odd],
        days[1]: ["cp-1"],
        days[2]: sorted(["cp-1", odd]),
        days[3]: ["cp-1"],
        days[4]: [],
    }
    assert got(days[0], DAY, "toit-et-joie") == {d: [] for d in days}
    assert got(days[1], days[2]) == {days[1]: ["cp-1"], days[2]: sorted(["cp-1", odd])}
    assert got(DAY + timedelta(days=1), DAY + timedelta(days=7)) == {}
    for lo, hi in ((days[0], DAY), (days[1], days[3])):  # what the rollups' figures say
        figures = store.rollup_figures(lo, hi)
        assert got(lo, hi) == {
            d: sorted(x[1] for x in figures if x[0] == d and x[6] > 0) for d in {x[0] for x in figures}
        }


def _suffix_letters(store: Store, day: date, landlord: str | None) -> list[MonthlyRollup]:
    """The suffix letters of ``day`` as objects: InfluxDB's rows as ``write_monthly_suffixes`` compares them,
    SQLite's table through its ``_monthly`` decoder."""
    if isinstance(store, InfluxStore):
        where = [f"time >= {day_start_ns(day)}", f"time < {day_start_ns(day + timedelta(days=1))}"]
        rows = [x.letter for x in store.suffix_letters(where)]
    else:
        assert isinstance(store, SqliteStore)
        rows = [
            sqlite_monthly(tuple(r))
            for r in store._query(
                "SELECT month, checkpoint_id, kind, building, estate, landlord, expected, basis, states, visits, "
                "presence_s, first_seen, last_seen, service_s, seen, lead_s, trail_s, inner_n, inner_s1, inner_s2, "
                "inner_worst FROM monthly_suffixes WHERE from_day = ? ORDER BY checkpoint_id",
                (day.isoformat(),),
            )
        ]
    return [r for r in rows if landlord in (None, r.landlord)]


def test_retention_deletes_what_is_older_than_the_policy(store: Store) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    old = f.visit(1, at=now - timedelta(days=20))
    recent = f.visit(2, at=now - timedelta(days=2))
    old_rejection = f.rejection(1, at=now - timedelta(days=20))
    old_roll = f.rollup("cp-1", (now - timedelta(days=40)).date())
    kept_roll = f.rollup("cp-1", (now - timedelta(days=20)).date())
    store.write(
        WriteBatch(
            visits=(old, recent), rejections=(old_rejection,), telemetry=(f.telemetry(1, at=now - timedelta(days=8)),)
        )
    )
    store.write_rollups([old_roll, kept_roll])
    store.apply_retention(
        RetentionPolicy(raw_days=10, proof_days=30, rejections_days=30, extra={"beacon_telemetry": 7}), now
    )
    assert store.visits(now - timedelta(days=60), now) == [recent]
    assert store.rejections(now - timedelta(days=60), now) == [old_rejection]
    assert store.latest_telemetry() == {}
    assert store.rollups(old_roll.service_day, kept_roll.service_day) == [kept_roll]
    store.apply_retention(RetentionPolicy(raw_days=10, proof_days=30, rejections_days=30), now)  # idempotent
    assert store.visits(now - timedelta(days=60), now) == [recent]


AWKWARD = [
    "a b",
    "a,b",
    "a=b",
    'say "hi"',
    "it's",
    "back\\slash",
    "tab\there",
    "ünïcødé ☃",
    "x,=\" '\\y",
]


@pytest.mark.parametrize("text", AWKWARD)
def test_awkward_strings_survive(store: Store, text: str) -> None:
    v = f.visit(1, landlord=text, building=text, checkpoint_id=text, badge=text + "\nline2\\")
    r = f.rejection(1, detail=text + "\nsecond line \\", topic=text, gateway_id=text)
    store.write(WriteBatch(visits=(v,), rejections=(r,)))
    assert store.visits(*WINDOW, landlord=text, checkpoint_ids=[text]) == [v]
    assert store.visits_of_days([DAY], landlord=text) == [v]
    assert store.rejections(*WINDOW) == [r]
    assert store.known_event_ids([v.key]) == {v.event_id}


@pytest.mark.influx
def test_influx_stopped_raises_store_unavailable_then_recovers() -> None:
    with run_influxd() as server:
        store = open_store(server.url, database="outage", retry_budget_s=1.0, timeout_s=2.0)
        try:
            store.write(WriteBatch(visits=(f.visit(1),)))
            server.stop()
            with pytest.raises(StoreUnavailable):
                store.write(WriteBatch(visits=(f.visit(2),)))
            with pytest.raises(StoreUnavailable):
                store.visits(*WINDOW)
            server.start()
            store.write(WriteBatch(visits=(f.visit(2),)))
            assert [v.event_id for v in store.visits(*WINDOW)] == [f.ulid(1), f.ulid(2)]
            store.close()
            store.open()  # a closed store can be opened again
            assert store.known_event_ids([f.visit(2).key]) == {f.ulid(2)}
        finally:
            store.close()


def test_sqlite_is_durable_and_thread_safe(tmp_path: Path) -> None:
    import threading

    path = tmp_path / "ronde.db"
    store = SqliteStore(path)
    store.open()
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for j in range(20):
                store.write(WriteBatch(visits=(f.visit(k * 100 + j),)))
                store.visits(*WINDOW)
        except BaseException as exc:  # noqa: BLE001  # pragma: no cover - a worker thread hands it to the test
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store.close()
    reopened = SqliteStore(path)
    reopened.open()
    assert len(reopened.visits(BASE - timedelta(days=1), BASE + timedelta(days=30))) == 80
    import sqlite3

    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reopened.close()


def test_sqlite_locked_raises_store_unavailable_then_recovers(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "ronde.db"
    store = SqliteStore(path, busy_timeout_s=0.2)
    store.open()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(StoreUnavailable, match="locked"):
            store.write(WriteBatch(visits=(f.visit(1),)))
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.write(WriteBatch(visits=(f.visit(1),)))
    assert [v.event_id for v in store.visits(*WINDOW)] == [f.ulid(1)]
    store.close()


def test_same_event_id_with_another_first_seen_is_stored_once(store: Store) -> None:
    """Issue 11, item 6: a copy of an event re-sent with another first_seen (a gateway bug or a
    forgery signed by it) is the same event: one stored visit per id, on every engine, and the
    duplicate look-up finds it whatever first_seen the copy carries."""
    from tests.ingest.helpers import ulid

    made = BASE + timedelta(minutes=50)  # the gateway makes the id when it closes the visit
    v = replace(f.visit(1, at=BASE + timedelta(minutes=45)), event_id=ulid(made))
    earlier = replace(
        v,
        first_seen=v.first_seen - timedelta(hours=5),
        last_seen=v.last_seen - timedelta(hours=5),
        payload_sha256=f.sha("re-sent earlier"),
    )
    later = replace(
        v,
        first_seen=v.first_seen + timedelta(hours=3),
        last_seen=v.last_seen + timedelta(hours=3),
        payload_sha256=f.sha("re-sent later"),
    )
    store.write(WriteBatch(visits=(v,)))
    assert store.known_event_ids([earlier.key]) == {v.event_id} == store.known_event_ids([later.key])
    store.write(WriteBatch(visits=(earlier,)))
    store.write(WriteBatch(visits=(later, f.visit(2))))
    wide = (BASE - timedelta(days=1), BASE + timedelta(days=2))
    assert [x for x in store.visits(*wide) if x.event_id == v.event_id] == [v]
    assert f.visit(2) in store.visits(*wide)
    # two copies in one batch: the first is kept, as SQLite's primary key keeps it
    w = replace(f.visit(3, at=BASE + timedelta(hours=2)), event_id=ulid(BASE + timedelta(hours=2, minutes=1)))
    w_copy = replace(w, first_seen=w.first_seen + timedelta(minutes=30), last_seen=w.last_seen + timedelta(minutes=30))
    store.write(WriteBatch(visits=(w, w_copy)))
    assert [x for x in store.visits(*wide) if x.event_id == w.event_id] == [w]
