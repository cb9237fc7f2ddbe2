"""The schema module: names valid for InfluxDB 3, deterministic idempotent timestamps."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from ronde.store import influx_figures as figures
from ronde.store import schema
from ronde.store.records import MonthlyRollup, MonthlySuffix, monthly_figures_of
from ronde.store.schema import MEASUREMENTS, NS_PER_MS, RetentionClass, ceil_ms, from_ns, to_ms
from tests.store import factories as f


def test_no_name_is_both_a_tag_and_a_field_and_none_is_reserved() -> None:
    for m in MEASUREMENTS:
        assert not set(m.tags) & set(m.fields), m.name
        assert "time" not in m.tags
        assert "time" not in m.fields
        assert not any(name.startswith("_") for name in (*m.tags, *m.fields, m.name))


def test_badge_is_never_a_tag() -> None:
    assert "badge" not in schema.VISIT.tags
    assert "badge" in schema.VISIT.fields
    line = schema.visit_line(f.visit(1))
    assert ",badge=" not in line.split(" ")[0]
    assert 'badge="team-1"' in line


def test_each_record_kind_lands_in_its_retention_class() -> None:
    assert {m.name: m.retention for m in MEASUREMENTS} == {
        "visit": RetentionClass.RAW,
        "beacon_telemetry": RetentionClass.RAW,
        "gateway_state": RetentionClass.RAW,
        "sequence_gap": RetentionClass.RAW,
        "rejection": RetentionClass.REJECTIONS,
        "checkpoint_day": RetentionClass.PROOF,
        "estate_day_figures": RetentionClass.PROOF,
        "checkpoint_day_figures": RetentionClass.PROOF,
        "checkpoint_month": RetentionClass.PROOF,
        "checkpoint_month_suffix": RetentionClass.PROOF,
        "checkpoint_letter": RetentionClass.PROOF,
        "checkpoint_letter_suffix": RetentionClass.PROOF,
        "checkpoint_letter_span": RetentionClass.PROOF,
        "checkpoint_letter_tail": RetentionClass.PROOF,
        "letter_states": RetentionClass.PROOF,
        "letter_states_mark": RetentionClass.PROOF,
        "visit_id": RetentionClass.RAW,
    }


def test_same_event_same_point_and_different_events_different_points() -> None:
    v = f.visit(1)
    assert schema.visit_line(v) == schema.visit_line(replace(v))
    twin = f.visit(2, at=v.first_seen, checkpoint_id=v.checkpoint_id, building=v.building, landlord=v.landlord)
    assert schema.visit_ns(twin) != schema.visit_ns(v)
    for x in (v, twin):  # the offset stays inside the millisecond: order and bounds are kept
        assert to_ms(x.first_seen) * NS_PER_MS <= schema.visit_ns(x) < (to_ms(x.first_seen) + 1) * NS_PER_MS
        assert from_ns(schema.visit_ns(x)) == x.first_seen


def test_example_visit_line() -> None:
    line = schema.visit_line(f.visit(1))
    tags, fields, ts = line.split(" ")
    assert tags == (
        "visit,beacon_check=static,building=bat-a,checkpoint=cp-1,estate=mordacs,gateway=gw-1,"
        "kind=stairwell_hall,landlord=paris-habitat,verification=signed"
    )
    assert 'event_id="' in fields
    assert "seq=2i" in fields
    assert "dwell_s=40.25" in fields
    assert int(ts) // NS_PER_MS == to_ms(f.visit(1).first_seen)


def test_rollup_points_stay_inside_their_day_and_versions_differ() -> None:
    r = f.rollup("cp-1")
    start = schema.day_start_ns(r.service_day)
    a, b = schema.rollup_ns(r, 1000), schema.rollup_ns(r, 1001)
    assert a != b
    assert start <= a < start + schema.NS_PER_DAY
    assert start <= b < start + schema.NS_PER_DAY


def test_rows_decode_back_to_records() -> None:
    v = f.visit(3)
    row = {
        "time": schema.visit_ns(v),
        "checkpoint": v.checkpoint_id,
        "kind": v.kind,
        "building": v.building,
        "estate": v.estate,
        "landlord": v.landlord,
        "gateway": v.gateway_id,
        "verification": "signed",
        "beacon_check": "static",
        "event_id": v.event_id,
        "seq": v.seq,
        "badge": v.badge,
        "last_seen": to_ms(v.last_seen),
        "dwell_s": v.dwell_s,
        "count": v.count,
        "rssi_max": v.rssi_max,
        "rssi_mean": v.rssi_mean,
        "service_day": v.service_day.isoformat(),
        "payload_sha256": v.payload_sha256,
        "received_at": to_ms(v.received_at),
    }
    assert schema.visit_from_row(row) == v


def test_millisecond_helpers() -> None:
    t = datetime(2026, 3, 29, 19, 30, tzinfo=UTC)
    assert ceil_ms(t) == to_ms(t)
    assert ceil_ms(t + timedelta(microseconds=1)) == to_ms(t) + 1
    assert to_ms(t - timedelta(microseconds=1)) == to_ms(t) - 1
    assert schema.from_ms(to_ms(t)) == t


def test_fast_visit_line_equals_the_generic_encoding() -> None:
    awkward = 'a b,c=d "q" \\x ü'
    for v in (
        f.visit(1),
        f.visit(2),
        f.visit(3, building=awkward, landlord=awkward, badge=awkward + "\\", checkpoint_id=awkward, rssi_mean=-70.0),
    ):
        assert schema.visit_line(v) == schema.visit_line_generic(v)
        ns = schema.visit_id_ns(v.event_id)
        assert ns is not None
        assert schema.visit_id_line(v, ns) == schema.visit_id_line_generic(v, ns)
        assert schema.visit_id_line(replace(v, gateway_id=""), ns) == schema.visit_id_line_generic(
            replace(v, gateway_id=""), ns
        )
        made_ms = schema.ulid_ms(v.event_id)
        assert made_ms is not None
        assert ns == made_ms * schema.NS_PER_MS + schema.offset(v.event_id)  # the kept offsets are the offsets


def test_docs_example_lines_are_what_the_code_writes() -> None:
    from datetime import date
    from pathlib import Path

    from ronde.store.records import (
        BeaconCheck,
        BeaconTelemetryRecord,
        DailyRollup,
        GatewayStateRecord,
        Rejection,
        RejectReason,
        SequenceGap,
        StoredVisit,
        Verification,
    )

    t = datetime(2026, 3, 29, 19, 30, 12, 345000, tzinfo=UTC)
    gw = "gw-mordacs-1"
    day = DailyRollup(
        date(2026, 3, 29),
        "mor-b12-hall",
        "stairwell_hall",
        "mor-b12",
        "mordacs",
        "paris-habitat",
        2,
        1,
        True,
        t,
        t + timedelta(hours=1),
        97.0,
        9000.0,
        5400.0,
        "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
    )
    lines = [
        schema.visit_line(
            StoredVisit(
                "01JQ6Z8K9V3W4X5Y6Z7A8B9C0D",
                gw,
                1042,
                "badge-7f3a",
                "mor-b12-hall",
                "stairwell_hall",
                "mor-b12",
                "mordacs",
                "paris-habitat",
                date(2026, 3, 29),
                t,
                t + timedelta(seconds=48, milliseconds=500),
                31,
                -58,
                -66.4,
                Verification.SIGNED,
                BeaconCheck.STATIC,
                t + timedelta(seconds=50, milliseconds=2),
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            )
        ),
        schema.rejection_line(
            Rejection(
                t,
                RejectReason.SIGNATURE_INVALID,
                "Ed25519 signature does not match the enrolled key",
                f"ronde/v1/gw/{gw}/visit",
                gw,
                "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
                "01JQ6Z8K9V3W4X5Y6Z7A8B9C0E",
            )
        ),
        schema.gap_line(SequenceGap(gw, 1043, 1045, t)),
        schema.telemetry_line(BeaconTelemetryRecord(t, "mor-b12-hall", gw, 2870, 17.25, 123456, 86400.5)),
        schema.gateway_state_line(GatewayStateRecord(t, gw, True, True, True, 0, 6.5, 82)),
        schema.rollup_line(day, 1774900000000),
        *schema.estate_day_lines([(day, 1774900000000, schema.rollup_ns(day, 1774900000000))]),
        schema.letter_line(EXAMPLE_LETTER, 1775400000000),
        schema.suffix_letter_line(
            MonthlySuffix(
                date(2026, 3, 28), replace(EXAMPLE_LETTER, states="CC", visits=3, presence_s=190.25, **SUFFIX)
            ),
            1775400000000,
        ),
    ]
    doc = (Path(__file__).resolve().parents[2] / "docs" / "schema.md").read_text().splitlines()
    for line in lines:
        assert line in doc


EXAMPLE_LETTER = MonthlyRollup(
    month=date(2026, 3, 1), checkpoint_id="mor-b12-hall", kind="stairwell_hall", building="mor-b12",
    estate="mordacs", landlord="paris-habitat", expected=1, basis="3f1c2a7e0d4b4e6a9c3b8d2f6a1e4b70",
    states="CCCNCCCCCCCXXCCCCC-CC", visits=44, presence_s=2811.5,
    first_seen=datetime(2026, 3, 2, 17, 4, 11, 250000, tzinfo=UTC),
    last_seen=datetime(2026, 3, 31, 19, 58, 2, 125000, tzinfo=UTC), service_s=1702800.0, seen=True, lead_s=3600.0,
    trail_s=7200.0, inner_n=43, inner_s1=1680000.0, inner_s2=7.21e10, inner_worst=259200.0,
)  # fmt: skip


SUFFIX: dict[str, Any] = {
    "first_seen": datetime(2026, 3, 28, 17, 10, 3, 500000, tzinfo=UTC), "service_s": 115200.0, "lead_s": 4203.5,
    "inner_n": 2, "inner_s1": 97000.0, "inner_s2": 4.9e9, "inner_worst": 68400.0,
}  # fmt: skip


def test_partly_visible_visit_rows_are_not_stored_yet() -> None:
    """InfluxDB 1.x was seen answering a point with some fields still null during a concurrent write."""
    from ronde.store import schema

    assert not schema.visit_row_complete({"event_id": "x", "seq": None})
    assert not schema.visit_row_complete({})


def test_packed_letters_read_back_to_the_bit() -> None:
    """A packed letter's ``figures`` (``schema.PACKED``) read back to the letter: floats that print long or whole,
    no instants, no building, a basis with spaces, empty strings."""
    base = datetime(2026, 3, 29, 19, 30, 12, 345000, tzinfo=UTC)
    letter = MonthlyRollup(
        month=date(2026, 3, 1), checkpoint_id="cp 1", kind="hall", building="bat,a", estate="e", landlord="l",
        expected=1, basis="b1 ~through=2026-03-17 x", states="CCN-X", visits=7, presence_s=1234.5, first_seen=base,
        last_seen=base + timedelta(days=3), service_s=0.1 + 0.2, seen=True, lead_s=1 / 3, trail_s=2.0, inner_n=6,
        inner_s1=12345.678901234567, inner_s2=1e10 / 7, inner_worst=-0.0,
    )  # fmt: skip
    bare = replace(letter, building=None, first_seen=None, last_seen=None, basis="", states="", seen=False)
    for x in (letter, bare):
        tags = {"checkpoint": x.checkpoint_id, "kind": x.kind, "building": x.building, "estate": x.estate}
        for day in (x.month, date(2026, 3, 17)):
            packed = schema.packed_letter(x, day, 1234)
            written_at, back_day, back = schema.letter_of_packed({**tags, "landlord": x.landlord}, packed)
            assert (written_at, back_day, back, repr(back)) == (1234, day, x, repr(x))
            p = packed.split(" ", len(schema.PACKED) - 1)
            row = (0, x.checkpoint_id, x.kind, x.building, x.estate, x.landlord, packed)
            assert repr(figures.packed_letter(row, p)) == repr(monthly_figures_of(x))
    with pytest.raises(ValueError, match="space"):
        schema.packed_letter(replace(letter, states="C C"), letter.month, 1)


def test_packed_daily_figures_read_back_to_the_bit() -> None:
    """Rollups' packed rows (``schema.PACKED_DAY_ROW``) read back as their ``RollupFigures``: floats that print long
    or whole, no instants, no building, not covered, a checkpoint and building with spaces, ``;`` and ``%``; one
    point per (landlord, estate, day), the row carrying its ``checkpoint_day`` point's time within the day."""
    from ronde.store import influx_days
    from ronde.store.records import rollup_figures_of

    r = replace(f.rollup("cp 1;%"), presence_s=0.1 + 0.2, max_idle_s=1e10 / 7, mean_idle_s=-0.0, building="bat,a b")
    bare = replace(f.rollup("cp-2"), building=None, first_seen=None, last_seen=None, covered=False, visits=0)
    other = replace(f.rollup("cp-3"), estate="les tilleuls")
    rows = [(x, 1234, schema.rollup_ns(x, 1234)) for x in (r, bare, other)]
    lines = schema.estate_day_lines(rows)
    assert len(lines) == 2  # two estates
    assert lines == schema.estate_day_lines(reversed(rows))  # the same points whatever the order
    for x in (r, bare):
        packed = schema.packed_day_row(x, 1234, schema.rollup_ns(x, 1234) - schema.day_start_ns(x.service_day))
        p = packed.split(" ")
        assert p[1:3] == ["1234", str(schema.rollup_ns(x, 1234) - schema.day_start_ns(x.service_day))]
        assert f'figures="{packed}' in "".join(lines) or f";{packed}" in "".join(lines)
        back = influx_days.packed_figures(x.service_day, (x.estate, x.landlord), p)
        assert repr(back) == repr(rollup_figures_of(x))


def test_a_long_estate_day_is_chunked_under_the_string_limit() -> None:
    """An estate-day whose rows pass ``PACKED_DAY_BYTES`` is several points, each under it, every row in one."""
    rows = [(f.rollup(f"checkpoint-{k:04d}"), 1234, schema.day_start_ns(f.DAY) + k) for k in range(1500)]
    lines = schema.estate_day_lines(rows)
    strings = [line.split(' figures="', 1)[1].rsplit('" ', 1)[0] for line in lines]
    assert len(lines) > 2
    assert all(len(s) <= schema.PACKED_DAY_BYTES for s in strings)
    assert sorted(row for s in strings for row in s.split(";")) == sorted(
        schema.packed_day_row(r, w, ns - schema.day_start_ns(f.DAY)) for r, w, ns in rows
    )
    assert len({line.rsplit(" ", 1)[1] for line in lines}) == len(lines)  # each at its own time
