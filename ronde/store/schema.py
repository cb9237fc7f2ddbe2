"""The InfluxDB schema of Ronde: the one place that says which measurement, tags, fields and
timestamp every record kind gets (documented with example lines in ``docs/schema.md``).

Principles:

- Tags are low-cardinality dimensions that dashboards group by (checkpoint, landlord, gateway…).
  The team ``badge`` is a *field*, never a tag: a tag would be indexed (cardinality) and listed
  by ``SHOW TAG VALUES`` to anyone who can read the database (privacy).
- Every instant is stored at millisecond precision (the wire's precision). The point timestamp
  is that millisecond plus a sub-millisecond offset derived from a hash of the record, so two
  different records never share a point, and writing the same record twice writes the *same*
  point (idempotent). InfluxDB 3 accepts identical replays only, and no name is both a tag and a
  field of the same measurement.
- Each measurement belongs to one retention class (``raw``, ``rejections``, ``proof``) which is an
  InfluxDB 1.x retention policy ``{database}.{class}``, a 2.x bucket ``{database}/{class}``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from ronde.store.lineprotocol import FieldValue, encode_line, escape_tag, format_float, format_str
from ronde.store.records import (
    BeaconCheck,
    BeaconTelemetryRecord,
    DailyRollup,
    GatewayStateRecord,
    MonthlyRollup,
    MonthlySpan,
    MonthlySuffix,
    Rejection,
    RejectReason,
    SequenceGap,
    StoredVisit,
    Verification,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NS_PER_MS = 1_000_000
NS_PER_DAY = 86_400 * 1_000_000_000


class RetentionClass(StrEnum):
    RAW = "raw"  # presence data: visits, beacon telemetry, gateway states, sequence gaps
    REJECTIONS = "rejections"  # refused messages (hash of payload, reason)
    PROOF = "proof"  # daily rollups per checkpoint: the proof of service


class FieldType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"


@dataclass(frozen=True, slots=True)
class Measurement:
    name: str
    retention: RetentionClass
    tags: tuple[str, ...]
    fields: Mapping[str, FieldType]
    timestamp: str  # what the point's time is, in words (for docs/schema.md)


S, INT, F, B = FieldType.STRING, FieldType.INTEGER, FieldType.FLOAT, FieldType.BOOLEAN

VISIT = Measurement(
    "visit",
    RetentionClass.RAW,
    ("checkpoint", "kind", "building", "estate", "landlord", "gateway", "verification", "beacon_check"),
    {
        "event_id": S,
        "seq": INT,
        "badge": S,
        "last_seen": INT,
        "dwell_s": F,
        "count": INT,
        "rssi_max": INT,
        "rssi_mean": F,
        "service_day": S,
        "payload_sha256": S,
        "received_at": INT,
    },
    "first_seen (ms) + hash(event_id) mod 1 ms",
)
REJECTION = Measurement(
    "rejection",
    RetentionClass.REJECTIONS,
    ("reason", "gateway"),
    {"detail": S, "topic": S, "payload_sha256": S, "event_id": S},
    "at (ms) + hash(record) mod 1 ms",
)
SEQUENCE_GAP = Measurement(
    "sequence_gap",
    RetentionClass.RAW,
    ("gateway",),
    {"first_missing": INT, "last_missing": INT},
    "detected_at (ms) + hash(record) mod 1 ms",
)
BEACON_TELEMETRY = Measurement(
    "beacon_telemetry",
    RetentionClass.RAW,
    ("checkpoint", "gateway"),
    {"battery_mv": INT, "temperature_c": F, "adv_count": INT, "uptime_s": F},
    "at (ms) + hash(record) mod 1 ms",
)
GATEWAY_STATE = Measurement(
    "gateway_state",
    RetentionClass.RAW,
    ("gateway",),
    {"online": B, "scanning": B, "in_service": B, "outbox_depth": INT, "adverts_per_s": F, "battery_pct": INT},
    "at (ms) + hash(record) mod 1 ms",
)
CHECKPOINT_DAY = Measurement(
    "checkpoint_day",
    RetentionClass.PROOF,
    ("checkpoint", "kind", "building", "estate", "landlord"),
    {
        "service_day": S,
        "visits": INT,
        "expected": INT,
        "covered": B,
        "first_seen": INT,
        "last_seen": INT,
        "presence_s": F,
        "max_idle_s": F,
        "mean_idle_s": F,
        "chain_digest": S,
        "written_at": INT,
    },
    "service_day 00:00 UTC + hash(record, written_at) mod 1 day; the newest written_at wins",
)
CHECKPOINT_MONTH = Measurement(
    "checkpoint_month",
    RetentionClass.PROOF,
    ("checkpoint", "kind", "building", "estate", "landlord"),
    {
        "month": S,
        "expected": INT,
        "basis": S,
        "states": S,
        "visits": INT,
        "presence_s": F,
        "first_seen": INT,
        "last_seen": INT,
        "service_s": F,
        "seen": B,
        "lead_s": F,
        "trail_s": F,
        "inner_n": INT,
        "inner_s1": F,
        "inner_s2": F,
        "inner_worst": F,
        "written_at": INT,
    },
    "month's first day 00:00 UTC + hash(record, written_at) mod 1 day; the newest written_at wins",
)
CHECKPOINT_MONTH_SUFFIX = Measurement(
    "checkpoint_month_suffix",
    RetentionClass.PROOF,
    ("checkpoint", "kind", "building", "estate", "landlord"),
    {"from_day": S, **{k: v for k, v in CHECKPOINT_MONTH.fields.items() if k != "written_at"}, "written_at": INT},
    "from_day 00:00 UTC + hash(record, written_at) mod 1 day; the newest written_at wins",
)
# The letters' layout since December 2026: one string field a point (``PACKED``), which influxd reads as one
# cursor a series where the sixteen fields above cost sixteen (~2 us per series, field and point: at city scale
# 1,290 of influxd's 1,840 ms for a landlord year went to the letters). ``checkpoint_month`` and
# ``checkpoint_month_suffix`` are the old layout: read beside these until ``InfluxStore.migrate_letters`` has
# rewritten them here and dropped them (``ronde.store.influx_letters``).
CHECKPOINT_LETTER = Measurement(
    "checkpoint_letter",
    RetentionClass.PROOF,
    ("checkpoint", "kind", "building", "estate", "landlord"),
    {"figures": S},
    "month's first day 00:00 UTC + hash(record, written_at) mod 1 day; the newest written_at (in figures) wins",
)
CHECKPOINT_LETTER_SUFFIX = Measurement(
    "checkpoint_letter_suffix",
    RetentionClass.PROOF,
    ("checkpoint", "kind", "building", "estate", "landlord"),
    {"figures": S},
    "from_day 00:00 UTC + hash(record, written_at) mod 1 day; the newest written_at (in figures) wins",
)
# A span letter (``MonthlySpan``, since December 2026): a checkpoint's fold of a service day ``from_day``..the end of a
# later settled month, written by maintenance when that month settles (``ronde.coverage.spans``), as a suffix letter
# whose ``month`` is the span's last month. Read only while no letter of its months was written after it (the letters'
# marks, ``ronde.store.influx_letters``).
CHECKPOINT_LETTER_SPAN = Measurement(
    "checkpoint_letter_span",
    RetentionClass.PROOF,
    ("checkpoint", "kind", "building", "estate", "landlord"),
    {"figures": S},
    "from_day 00:00 UTC + hash(record, written_at) mod 1 day; the newest written_at (in figures) wins",
)
# A tail letter (since December 7, 2026): a checkpoint's fold of the open tail's closed evenings (the last
# ``horizon_days`` before today, ``ronde.coverage.tail_letters``), written by maintenance once every begun evening is
# rolled up, as a suffix letter whose day and month are the tail's first day and whose basis names the evidence it
# was judged on. The newest written_at wins per (from_day, checkpoint); a reader whose evidence differs folds the days.
CHECKPOINT_LETTER_TAIL = Measurement(
    "checkpoint_letter_tail",
    RetentionClass.PROOF,
    ("checkpoint", "kind", "building", "estate", "landlord"),
    {"figures": S},
    "from_day 00:00 UTC + hash(record, written_at) mod 1 day; the newest written_at (in figures) wins",
)
# The letters' states (since December 8, 2026): beside each monthly, suffix, tail and span letter, by the same
# write, its checkpoint's day states, one point per (kind of letter, landlord, estate, day, month, basis, write)
# holding every row of the group (``LETTER_STATES_ROW``; more points past ``PACKED_DAY_BYTES``). What a landlord's
# shares read (``Store.suffix_states`` and the like): influxd costs a cursor a series and ~12 us a 100 bytes of string
# it answers, a landlord's letters at city scale are 2,500 series and 780 KB, their states 50 points and 110 KB. A
# day's copy is read only when it is whole: ``LETTER_STATES_MARK`` (a write adds its day's; maintenance copies what
# earlier code wrote, ``influx_states.copy``, then adds it).
LETTER_STATES = Measurement(
    "letter_states",
    RetentionClass.PROOF,
    ("letter", "estate", "landlord"),
    {"states": S},
    "the letters' day 00:00 UTC + hash(kind, landlord, estate, states) mod 1 day; per checkpoint the newest row "
    "(written_at, then its letter's time) wins",
)
# ``states``: a header, space-separated (the rows' ``written_at``, their day and month, their basis percent-quoted),
# then ``;`` and the rows, separated by ``;``, each space-separated: the checkpoint (percent-quoted), its letter
# point's time within the day (ns), its states
LETTER_STATES_ROW = ("checkpoint", "at", "states")
LETTER_STATES_MARK = Measurement(
    "letter_states_mark",
    RetentionClass.PROOF,
    ("letter",),
    {"whole": INT},
    "the letters' day 00:00 UTC + hash(kind, written_at) mod 1 day: that day's states of that kind are all written",
)
# what ``figures`` holds, space-separated in this order: integers in decimal, floats by ``repr`` (they read back
# to the bit), instants in ms since the epoch or ``-`` for none, ``seen`` 1 or 0; ``day`` the month's first day
# for a letter, ``from_day`` for a suffix letter; ``basis`` last (the only one that may hold a space)
PACKED = (
    "written_at", "day", "month", "expected", "visits", "presence_s", "first_seen", "last_seen", "service_s",
    "seen", "lead_s", "trail_s", "inner_n", "inner_s1", "inner_s2", "inner_worst", "states", "basis",
)  # fmt: skip
# The daily rollups' figures packed, the layout of December 6, 2026 (earlier that day: ``CHECKPOINT_DAY_FIGURES``
# below, one point a rollup): written beside ``checkpoint_day`` by the same write, one point per (landlord, estate,
# service day) and write, its one string field holding every row of the group (``PACKED_DAY_ROW``; a group longer
# than ``PACKED_DAY_BYTES`` in several points). What coverage reads for many days (``Store.rollup_figures``): influxd
# costs ~4.4 us a point, and a landlord's tail at city scale is 25,000 rollups but ~250 such points.
# ``checkpoint_day`` stays the proof (rollup check, audits, dashboards); a day is read here only while its mark
# (``ronde.store.influx_days``) says this copy is whole and current.
ESTATE_DAY_FIGURES = Measurement(
    "estate_day_figures",
    RetentionClass.PROOF,
    ("estate", "landlord"),
    {"figures": S},
    "service day 00:00 UTC + hash(landlord, estate, figures) mod 1 day; per (service day, checkpoint) the newest "
    "row (written_at, then its checkpoint_day point's time) wins",
)
# what a row of its ``figures`` holds, space-separated (rows separated by ``;``): the checkpoint (percent-quoted, as
# kind and building), the ``written_at`` and the time within its day (ns) of the ``checkpoint_day`` point it copies
# (which break ties as they do there), integers in decimal, ``covered`` 1 or 0, instants in ms since the epoch or
# ``-`` for none, floats by ``repr`` (they read back to the bit), the kind, the building (empty for none); no chain
# digest (the proof stays in ``checkpoint_day``). The service day is the point's UTC day.
PACKED_DAY_ROW = (
    "checkpoint", "written_at", "at", "visits", "expected", "covered", "first_seen", "last_seen", "presence_s",
    "max_idle_s", "mean_idle_s", "kind", "building",
)  # fmt: skip
PACKED_DAY_BYTES = 60_000  # a ``figures`` string at most: influxd 1.x refuses a string field over 64 KiB
# The first packed copy (December 6, 2026, before ``ESTATE_DAY_FIGURES``): one point a rollup. No longer written nor
# read; ``InfluxStore.pack_days`` drops it with its marks once the new copy is made (InfluxDB 1.x and 2.x), and
# retention deletes what a server that cannot drop it (3.x) keeps, at ``checkpoint_day``'s cutoff.
CHECKPOINT_DAY_FIGURES = Measurement(
    "checkpoint_day_figures",
    RetentionClass.PROOF,
    ("checkpoint", "kind", "building", "estate", "landlord"),
    {"figures": S},
    "the checkpoint_day point's own time (the old copy, dropped by pack_days)",
)
VISIT_ID = Measurement(
    "visit_id",
    RetentionClass.RAW,
    ("gateway",),
    {"event_id": S},
    "the event id's ULID time (ms) + hash(event_id) mod 1 ms: found by the id alone, whatever its first_seen",
)
MEASUREMENTS: tuple[Measurement, ...] = (
    VISIT,
    REJECTION,
    SEQUENCE_GAP,
    BEACON_TELEMETRY,
    GATEWAY_STATE,
    CHECKPOINT_DAY,
    ESTATE_DAY_FIGURES,
    CHECKPOINT_DAY_FIGURES,
    CHECKPOINT_MONTH,
    CHECKPOINT_MONTH_SUFFIX,
    CHECKPOINT_LETTER,
    CHECKPOINT_LETTER_SUFFIX,
    CHECKPOINT_LETTER_SPAN,
    CHECKPOINT_LETTER_TAIL,
    LETTER_STATES,
    LETTER_STATES_MARK,
    VISIT_ID,
)


# ---- time -----------------------------------------------------------------------------------


_MS = timedelta(milliseconds=1)


def to_ms(t: datetime) -> int:
    """Milliseconds since the epoch (floor), exact integer arithmetic. Refuses naive datetimes."""
    if t.tzinfo is None:
        raise ValueError("naive datetime: the store only handles aware UTC instants")
    return (t - EPOCH) // _MS


def ceil_ms(t: datetime) -> int:
    """Smallest millisecond not before ``t``: a record at ms m is >= t iff m >= ceil_ms(t)."""
    if t.tzinfo is None:
        raise ValueError("naive datetime: the store only handles aware UTC instants")
    return -((EPOCH - t) // timedelta(milliseconds=1))


def from_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def from_ns(ns: int) -> datetime:
    """A point's time back to the record's millisecond (drops the uniqueness offset)."""
    return from_ms(ns // NS_PER_MS)


def day_start_ns(day: date) -> int:
    return to_ms(datetime.combine(day, time(0), tzinfo=UTC)) * NS_PER_MS


def offset(*parts: object, modulo: int = NS_PER_MS) -> int:
    """A deterministic offset in [0, modulo) from the record's content."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % modulo


# ---- timestamps (shared with SQLite, whose unique keys follow the same identity) -------------


# Ingest asks for an event's offset and ``visit_id`` time while it handles the event's batch (its duplicate look-up,
# then its write), so these caches need about one batch (1,000 by default). 16,384 held ~4 MB in a worker once 16,384
# events had gone through, kept for nothing (issue 17, item 1); a batch larger than this pays its BLAKE2b
# again (1.6 us an id).
EVENT_CACHE_SIZE = 2_048


@lru_cache(maxsize=EVENT_CACHE_SIZE)
def event_offset(event_id: str) -> int:
    """``offset(event_id)``, kept for the last ids: ingest asks for each event's three times in a row (the duplicate
    look-up's ``visit_id`` time, the visit point, the ``visit_id`` point), a BLAKE2b each time otherwise."""
    return offset(event_id)


def visit_ns(v: StoredVisit) -> int:
    return to_ms(v.first_seen) * NS_PER_MS + event_offset(v.event_id)


_CROCKFORD = {c: i for i, c in enumerate("0123456789ABCDEFGHJKMNPQRSTVWXYZ")}


def ulid_ms(event_id: str) -> int | None:
    """The millisecond a ULID event id was made at (its first 48 bits; the gateway makes it when the
    visit closes), or None for an id that is not a ULID."""
    if len(event_id) != 26:  # noqa: PLR2004 - a ULID is 26 characters
        return None
    n = 0
    for c in event_id[:10]:
        digit = _CROCKFORD.get(c)
        if digit is None:
            return None
        n = n * 32 + digit
    return n if n < 1 << 48 else None


@lru_cache(maxsize=EVENT_CACHE_SIZE)  # asked twice per event by ingest (its duplicate look-up, then its write)
def visit_id_ns(event_id: str) -> int | None:
    """Where the ``visit_id`` point of an event id lies: a function of the id alone, so a copy of the
    event re-sent with another first_seen finds it (the visit point's time is its first_seen)."""
    ms = ulid_ms(event_id)
    return None if ms is None else ms * NS_PER_MS + event_offset(event_id)


def rejection_ns(r: Rejection) -> int:
    return to_ms(r.at) * NS_PER_MS + offset(
        r.reason.value, r.gateway_id, r.topic, r.detail, r.payload_sha256, r.event_id
    )


def gap_ns(g: SequenceGap) -> int:
    return to_ms(g.detected_at) * NS_PER_MS + offset(g.gateway_id, g.first_missing, g.last_missing)


def telemetry_ns(t: BeaconTelemetryRecord) -> int:
    return to_ms(t.at) * NS_PER_MS + offset(
        t.checkpoint_id, t.gateway_id, t.battery_mv, t.temperature_c, t.adv_count, t.uptime_s
    )


def gateway_state_ns(s: GatewayStateRecord) -> int:
    return to_ms(s.at) * NS_PER_MS + offset(
        s.gateway_id, s.online, s.scanning, s.in_service, s.outbox_depth, s.adverts_per_s, s.battery_pct
    )


def rollup_content(r: DailyRollup) -> tuple[object, ...]:
    """Everything a rollup says: two versions with equal content are the same proof."""
    return (
        r.service_day.isoformat(),
        r.checkpoint_id,
        r.kind,
        r.building,
        r.estate,
        r.landlord,
        r.visits,
        r.expected,
        r.covered,
        _ms_or_none(r.first_seen),
        _ms_or_none(r.last_seen),
        float(r.presence_s),
        float(r.max_idle_s),
        float(r.mean_idle_s),
        r.chain_digest,
    )


def rollup_ns(r: DailyRollup, written_at_ms: int) -> int:
    return day_start_ns(r.service_day) + offset(*rollup_content(r), written_at_ms, modulo=NS_PER_DAY)


def monthly_content(r: MonthlyRollup) -> tuple[object, ...]:
    """Everything a monthly rollup says (floats by ``repr``: the fold must read back exactly)."""
    return (
        r.month.isoformat(),
        r.checkpoint_id,
        r.kind,
        r.building,
        r.estate,
        r.landlord,
        r.expected,
        r.basis,
        r.states,
        r.visits,
        float(r.presence_s),
        _ms_or_none(r.first_seen),
        _ms_or_none(r.last_seen),
        float(r.service_s),
        r.seen,
        float(r.lead_s),
        float(r.trail_s),
        r.inner_n,
        float(r.inner_s1),
        float(r.inner_s2),
        float(r.inner_worst),
    )


def monthly_ns(r: MonthlyRollup, written_at_ms: int) -> int:
    return day_start_ns(r.month) + offset(*monthly_content(r), written_at_ms, modulo=NS_PER_DAY)


def suffix_content(s: MonthlySuffix) -> tuple[object, ...]:
    """Everything a suffix letter says."""
    return (s.from_day.isoformat(), *monthly_content(s.letter))


def suffix_ns(s: MonthlySuffix, written_at_ms: int) -> int:
    return day_start_ns(s.from_day) + offset(*suffix_content(s), written_at_ms, modulo=NS_PER_DAY)


def span_ns(s: MonthlySpan, written_at_ms: int) -> int:
    content = (s.from_day.isoformat(), *monthly_content(s.letter))
    return day_start_ns(s.from_day) + offset(*content, written_at_ms, modulo=NS_PER_DAY)


# ---- encoding: record → line ------------------------------------------------------------------


def visit_line(v: StoredVisit) -> str:
    """The hot path of ingest (thousands per second): written out by hand, tags in sorted key order.
    ``tests/store/test_schema.py`` checks it equals the generic ``encode_line`` of the same point."""
    first_ms, last_ms = to_ms(v.first_seen), to_ms(v.last_seen)
    building = f",building={escape_tag(v.building)}" if v.building else ""
    return (
        f"visit,beacon_check={escape_tag(v.beacon_check.value)}{building},checkpoint={escape_tag(v.checkpoint_id)}"
        f",estate={escape_tag(v.estate)},gateway={escape_tag(v.gateway_id)},kind={escape_tag(v.kind)}"
        f",landlord={escape_tag(v.landlord)},verification={escape_tag(v.verification.value)}"
        f" event_id={format_str(v.event_id)},seq={int(v.seq)}i,badge={format_str(v.badge)},last_seen={last_ms}i"
        f",dwell_s={format_float((last_ms - first_ms) / 1000)},count={int(v.count)}i,rssi_max={int(v.rssi_max)}i"
        f',rssi_mean={format_float(v.rssi_mean)},service_day="{v.service_day.isoformat()}"'
        f",payload_sha256={format_str(v.payload_sha256)},received_at={to_ms(v.received_at)}i"
        f" {first_ms * NS_PER_MS + event_offset(v.event_id)}"
    )


def visit_line_generic(v: StoredVisit) -> str:
    """The same point through the generic encoder (the reference for ``visit_line``)."""
    return encode_line(
        VISIT.name,
        {
            "checkpoint": v.checkpoint_id,
            "kind": v.kind,
            "building": v.building,
            "estate": v.estate,
            "landlord": v.landlord,
            "gateway": v.gateway_id,
            "verification": v.verification.value,
            "beacon_check": v.beacon_check.value,
        },
        {
            "event_id": v.event_id,
            "seq": v.seq,
            "badge": v.badge,
            "last_seen": to_ms(v.last_seen),
            "dwell_s": (to_ms(v.last_seen) - to_ms(v.first_seen)) / 1000,
            "count": v.count,
            "rssi_max": v.rssi_max,
            "rssi_mean": float(v.rssi_mean),
            "service_day": v.service_day.isoformat(),
            "payload_sha256": v.payload_sha256,
            "received_at": to_ms(v.received_at),
        },
        visit_ns(v),
    )


def rejection_line(r: Rejection) -> str:
    return encode_line(
        REJECTION.name,
        {"reason": r.reason.value, "gateway": r.gateway_id},
        {"detail": r.detail, "topic": r.topic, "payload_sha256": r.payload_sha256, "event_id": r.event_id},
        rejection_ns(r),
    )


def visit_id_line(v: StoredVisit, ns: int) -> str:
    """Written out by hand as ``visit_line`` (one per visit); ``tests/store/test_schema.py`` checks it equals the
    generic ``encode_line`` of the same point."""
    gateway = f",gateway={escape_tag(v.gateway_id)}" if v.gateway_id else ""
    return f"visit_id{gateway} event_id={format_str(v.event_id)} {int(ns)}"


def visit_id_line_generic(v: StoredVisit, ns: int) -> str:
    return encode_line(VISIT_ID.name, {"gateway": v.gateway_id}, {"event_id": v.event_id}, ns)


def gap_line(g: SequenceGap) -> str:
    return encode_line(
        SEQUENCE_GAP.name,
        {"gateway": g.gateway_id},
        {"first_missing": g.first_missing, "last_missing": g.last_missing},
        gap_ns(g),
    )


def telemetry_line(t: BeaconTelemetryRecord) -> str:
    return encode_line(
        BEACON_TELEMETRY.name,
        {"checkpoint": t.checkpoint_id, "gateway": t.gateway_id},
        {
            "battery_mv": t.battery_mv,
            "temperature_c": _float_or_none(t.temperature_c),
            "adv_count": t.adv_count,
            "uptime_s": float(t.uptime_s),
        },
        telemetry_ns(t),
    )


def gateway_state_line(s: GatewayStateRecord) -> str:
    return encode_line(
        GATEWAY_STATE.name,
        {"gateway": s.gateway_id},
        {
            "online": s.online,
            "scanning": s.scanning,
            "in_service": s.in_service,
            "outbox_depth": s.outbox_depth,
            "adverts_per_s": _float_or_none(s.adverts_per_s),
            "battery_pct": s.battery_pct,
        },
        gateway_state_ns(s),
    )


def rollup_line(r: DailyRollup, written_at_ms: int) -> str:
    fields: dict[str, FieldValue | None] = {
        "service_day": r.service_day.isoformat(),
        "visits": r.visits,
        "expected": r.expected,
        "covered": r.covered,
        "first_seen": _ms_or_none(r.first_seen),
        "last_seen": _ms_or_none(r.last_seen),
        "presence_s": float(r.presence_s),
        "max_idle_s": float(r.max_idle_s),
        "mean_idle_s": float(r.mean_idle_s),
        "chain_digest": r.chain_digest,
        "written_at": written_at_ms,
    }
    return encode_line(
        CHECKPOINT_DAY.name,
        {
            "checkpoint": r.checkpoint_id,
            "kind": r.kind,
            "building": r.building,
            "estate": r.estate,
            "landlord": r.landlord,
        },
        fields,
        rollup_ns(r, written_at_ms),
    )


def packed_day_row(r: DailyRollup, written_at_ms: int, at_ns: int) -> str:
    """A rollup's row in ``ESTATE_DAY_FIGURES`` (``PACKED_DAY_ROW``): that of its ``checkpoint_day`` point written at
    ``written_at_ms``, at ``at_ns`` into its day."""
    first, last = _ms_or_none(r.first_seen), _ms_or_none(r.last_seen)
    return " ".join(
        (
            quote(r.checkpoint_id, safe=""),
            str(written_at_ms),
            str(at_ns),
            str(int(r.visits)),
            str(int(r.expected)),
            "1" if r.covered else "0",
            "-" if first is None else str(first),
            "-" if last is None else str(last),
            format_float(r.presence_s),
            format_float(r.max_idle_s),
            format_float(r.mean_idle_s),
            quote(r.kind, safe=""),
            quote(r.building or "", safe=""),
        )
    )


def estate_day_lines(rows: Iterable[tuple[DailyRollup, int, int]]) -> list[str]:
    """``ESTATE_DAY_FIGURES`` points of ``rows`` (rollup, ``written_at`` ms, its ``checkpoint_day`` point's time in
    ns): one a (landlord, estate, service day), more where its rows pass ``PACKED_DAY_BYTES`` (quoted, the rows are
    ASCII: a character a byte)."""
    groups: dict[tuple[str, str, date], list[str]] = {}
    for r, written_at, ns in rows:
        day_ns = day_start_ns(r.service_day)
        groups.setdefault((r.landlord, r.estate, r.service_day), []).append(packed_day_row(r, written_at, ns - day_ns))
    out: list[str] = []
    for (landlord, estate, day), packed in sorted(groups.items()):
        for figures in chunked_rows(sorted(packed), PACKED_DAY_BYTES):  # sorted: the same rows, the same points
            ns = day_start_ns(day) + offset(landlord, estate, figures, modulo=NS_PER_DAY)
            out.append(
                encode_line(ESTATE_DAY_FIGURES.name, {"estate": estate, "landlord": landlord}, {"figures": figures}, ns)
            )
    return out


def chunked_rows(rows: Sequence[str], limit: int) -> list[str]:
    """``rows`` joined by ``;`` in strings of at most ``limit`` characters (a row is far shorter than ``limit``)."""
    out: list[str] = []
    run: list[str] = []
    size = -1
    for row in rows:
        if run and size + 1 + len(row) > limit:
            out.append(";".join(run))
            run, size = [], -1
        run.append(row)
        size += 1 + len(row)
    if run:
        out.append(";".join(run))
    return out


def letter_line(r: MonthlyRollup, written_at_ms: int) -> str:
    """A monthly letter in the packed layout (``CHECKPOINT_LETTER``)."""
    figures = packed_letter(r, r.month, written_at_ms)
    return _letter_line(CHECKPOINT_LETTER.name, r, figures, monthly_ns(r, written_at_ms))


def suffix_letter_line(s: MonthlySuffix, written_at_ms: int) -> str:
    """A suffix letter in the packed layout (``CHECKPOINT_LETTER_SUFFIX``)."""
    figures = packed_letter(s.letter, s.from_day, written_at_ms)
    return _letter_line(CHECKPOINT_LETTER_SUFFIX.name, s.letter, figures, suffix_ns(s, written_at_ms))


def span_letter_line(s: MonthlySpan, written_at_ms: int) -> str:
    """A span letter (``CHECKPOINT_LETTER_SPAN``), packed as a suffix letter: its day ``from_day``, its month the
    span's last."""
    figures = packed_letter(s.letter, s.from_day, written_at_ms)
    return _letter_line(CHECKPOINT_LETTER_SPAN.name, s.letter, figures, span_ns(s, written_at_ms))


def tail_letter_line(r: MonthlyRollup, written_at_ms: int) -> str:
    """A tail letter (``CHECKPOINT_LETTER_TAIL``), packed as a suffix letter: its day and month the tail's first."""
    figures = packed_letter(r, r.month, written_at_ms)
    return _letter_line(CHECKPOINT_LETTER_TAIL.name, r, figures, tail_ns(r, written_at_ms))


def tail_ns(r: MonthlyRollup, written_at_ms: int) -> int:
    """A tail letter's time: within its first day (``r.month``)."""
    return day_start_ns(r.month) + offset(r.month.isoformat(), *monthly_content(r), written_at_ms, modulo=NS_PER_DAY)


def packed_letter(r: MonthlyRollup, day: date, written_at_ms: int) -> str:
    """The ``figures`` field of a packed letter (``PACKED``): what ``letter_of_packed`` reads back, equal."""
    if " " in r.states:
        raise ValueError(f"states {r.states!r}: a space cannot be packed")
    first, last = _ms_or_none(r.first_seen), _ms_or_none(r.last_seen)
    return " ".join(
        (
            str(written_at_ms),
            day.isoformat(),
            r.month.isoformat(),
            str(int(r.expected)),
            str(int(r.visits)),
            format_float(r.presence_s),
            "-" if first is None else str(first),
            "-" if last is None else str(last),
            format_float(r.service_s),
            "1" if r.seen else "0",
            format_float(r.lead_s),
            format_float(r.trail_s),
            str(int(r.inner_n)),
            format_float(r.inner_s1),
            format_float(r.inner_s2),
            format_float(r.inner_worst),
            r.states,
            r.basis,
        )
    )


def _letter_line(name: str, r: MonthlyRollup, figures: str, ns: int) -> str:
    tags = {"checkpoint": r.checkpoint_id, "kind": r.kind, "building": r.building, "estate": r.estate}
    return encode_line(name, {**tags, "landlord": r.landlord}, {"figures": figures}, ns)


def monthly_line(r: MonthlyRollup, written_at_ms: int) -> str:
    """A monthly letter in the old layout (``CHECKPOINT_MONTH``): what earlier code wrote (tests of the migration)."""
    return _month_line(CHECKPOINT_MONTH.name, r, {}, written_at_ms, monthly_ns(r, written_at_ms))


def suffix_line(s: MonthlySuffix, written_at_ms: int) -> str:
    """A suffix letter in the old layout (``CHECKPOINT_MONTH_SUFFIX``), as ``monthly_line``."""
    first: dict[str, FieldValue | None] = {"from_day": s.from_day.isoformat()}
    return _month_line(CHECKPOINT_MONTH_SUFFIX.name, s.letter, first, written_at_ms, suffix_ns(s, written_at_ms))


def _month_line(name: str, r: MonthlyRollup, first: dict[str, FieldValue | None], written_at_ms: int, ns: int) -> str:
    fields: dict[str, FieldValue | None] = {
        **first,
        "month": r.month.isoformat(),
        "expected": r.expected,
        "basis": r.basis,
        "states": r.states,
        "visits": r.visits,
        "presence_s": float(r.presence_s),
        "first_seen": _ms_or_none(r.first_seen),
        "last_seen": _ms_or_none(r.last_seen),
        "service_s": float(r.service_s),
        "seen": r.seen,
        "lead_s": float(r.lead_s),
        "trail_s": float(r.trail_s),
        "inner_n": r.inner_n,
        "inner_s1": float(r.inner_s1),
        "inner_s2": float(r.inner_s2),
        "inner_worst": float(r.inner_worst),
        "written_at": written_at_ms,
    }
    tags = {"checkpoint": r.checkpoint_id, "kind": r.kind, "building": r.building, "estate": r.estate}
    return encode_line(name, {**tags, "landlord": r.landlord}, fields, ns)


# ---- decoding: InfluxQL row (column → value, "time" in ns) → record ---------------------------

Row = Mapping[str, Any]


_VISIT_REQUIRED = (
    "event_id",
    "gateway",
    "seq",
    "badge",
    "checkpoint",
    "kind",
    "estate",
    "landlord",
    "service_day",
    "time",
    "last_seen",
    "count",
    "rssi_max",
    "rssi_mean",
    "verification",
    "beacon_check",
    "received_at",
    "payload_sha256",
)


def visit_row_complete(row: Row) -> bool:
    """False for a point read while another request is still writing it (InfluxDB 1.x can show some of
    its fields before the others): such a row is "not stored yet", never a crash."""
    return all(row.get(name) is not None for name in _VISIT_REQUIRED)


def visit_from_row(row: Row) -> StoredVisit:
    return StoredVisit(
        event_id=str(row["event_id"]),
        gateway_id=str(row["gateway"]),
        seq=int(row["seq"]),
        badge=str(row["badge"]),
        checkpoint_id=str(row["checkpoint"]),
        kind=str(row["kind"]),
        building=row.get("building") or None,
        estate=str(row["estate"]),
        landlord=str(row["landlord"]),
        service_day=date.fromisoformat(str(row["service_day"])),
        first_seen=from_ns(int(row["time"])),
        last_seen=from_ms(int(row["last_seen"])),
        count=int(row["count"]),
        rssi_max=int(row["rssi_max"]),
        rssi_mean=float(row["rssi_mean"]),
        verification=Verification(row["verification"]),
        beacon_check=BeaconCheck(row["beacon_check"]),
        received_at=from_ms(int(row["received_at"])),
        payload_sha256=str(row["payload_sha256"]),
    )


def rejection_from_row(row: Row) -> Rejection:
    return Rejection(
        at=from_ns(int(row["time"])),
        reason=RejectReason(row["reason"]),
        detail=str(row["detail"]),
        topic=str(row["topic"]),
        gateway_id=row.get("gateway") or None,
        payload_sha256=str(row["payload_sha256"]),
        event_id=row.get("event_id"),
    )


def gap_from_row(row: Row) -> SequenceGap:
    return SequenceGap(
        gateway_id=str(row["gateway"]),
        first_missing=int(row["first_missing"]),
        last_missing=int(row["last_missing"]),
        detected_at=from_ns(int(row["time"])),
    )


def telemetry_from_row(row: Row) -> BeaconTelemetryRecord:
    return BeaconTelemetryRecord(
        at=from_ns(int(row["time"])),
        checkpoint_id=str(row["checkpoint"]),
        gateway_id=str(row["gateway"]),
        battery_mv=_int_or_none(row.get("battery_mv")),
        temperature_c=_float_or_none(row.get("temperature_c")),
        adv_count=int(row["adv_count"]),
        uptime_s=float(row["uptime_s"]),
    )


def gateway_state_from_row(row: Row) -> GatewayStateRecord:
    return GatewayStateRecord(
        at=from_ns(int(row["time"])),
        gateway_id=str(row["gateway"]),
        online=bool(row["online"]),
        scanning=bool(row["scanning"]),
        in_service=row.get("in_service"),
        outbox_depth=_int_or_none(row.get("outbox_depth")),
        adverts_per_s=_float_or_none(row.get("adverts_per_s")),
        battery_pct=_int_or_none(row.get("battery_pct")),
    )


def rollup_from_row(row: Row) -> DailyRollup:
    first, last = row.get("first_seen"), row.get("last_seen")
    return DailyRollup(
        service_day=date.fromisoformat(str(row["service_day"])),
        checkpoint_id=str(row["checkpoint"]),
        kind=str(row["kind"]),
        building=row.get("building") or None,
        estate=str(row["estate"]),
        landlord=str(row["landlord"]),
        visits=int(row["visits"]),
        expected=int(row["expected"]),
        covered=bool(row["covered"]),
        first_seen=None if first is None else from_ms(int(first)),
        last_seen=None if last is None else from_ms(int(last)),
        presence_s=float(row["presence_s"]),
        max_idle_s=float(row["max_idle_s"]),
        mean_idle_s=float(row["mean_idle_s"]),
        chain_digest=str(row["chain_digest"]),
    )


def monthly_from_row(row: Row) -> MonthlyRollup:
    first, last = row.get("first_seen"), row.get("last_seen")
    return MonthlyRollup(
        month=date.fromisoformat(str(row["month"])),
        checkpoint_id=str(row["checkpoint"]),
        kind=str(row["kind"]),
        building=row.get("building") or None,
        estate=str(row["estate"]),
        landlord=str(row["landlord"]),
        expected=int(row["expected"]),
        basis=str(row["basis"]),
        states=str(row["states"]),
        visits=int(row["visits"]),
        presence_s=float(row["presence_s"]),
        first_seen=None if first is None else from_ms(int(first)),
        last_seen=None if last is None else from_ms(int(last)),
        service_s=float(row["service_s"]),
        seen=bool(row["seen"]),
        lead_s=float(row["lead_s"]),
        trail_s=float(row["trail_s"]),
        inner_n=int(row["inner_n"]),
        inner_s1=float(row["inner_s1"]),
        inner_s2=float(row["inner_s2"]),
        inner_worst=float(row["inner_worst"]),
    )


def letter_of_packed(tags: Row, figures: str) -> tuple[int, date, MonthlyRollup]:
    """A packed letter's ``written_at``, day (``PACKED``) and letter, from its series' tags and ``figures``."""
    p = figures.split(" ", len(PACKED) - 1)
    if len(p) != len(PACKED):
        raise ValueError(f"packed letter: {len(p)} figures, not {len(PACKED)}")
    return (
        int(p[0]),
        date.fromisoformat(p[1]),
        MonthlyRollup(
            month=date.fromisoformat(p[2]),
            checkpoint_id=str(tags["checkpoint"]),
            kind=str(tags["kind"]),
            building=tags.get("building") or None,
            estate=str(tags["estate"]),
            landlord=str(tags["landlord"]),
            expected=int(p[3]),
            basis=p[17],
            states=p[16],
            visits=int(p[4]),
            presence_s=float(p[5]),
            first_seen=None if p[6] == "-" else from_ms(int(p[6])),
            last_seen=None if p[7] == "-" else from_ms(int(p[7])),
            service_s=float(p[8]),
            seen=p[9] == "1",
            lead_s=float(p[10]),
            trail_s=float(p[11]),
            inner_n=int(p[12]),
            inner_s1=float(p[13]),
            inner_s2=float(p[14]),
            inner_worst=float(p[15]),
        ),
    )


def _ms_or_none(t: datetime | None) -> int | None:
    return None if t is None else to_ms(t)


def _int_or_none(x: Any) -> int | None:
    return None if x is None else int(x)


def _float_or_none(x: Any) -> float | None:
    return None if x is None else float(x)
