"""What the rollup check found, stored: one verdict per service day and landlord, and the cheap
fingerprints it is keyed on.

Why: recomputing two months of raw visits (738,066 at city scale) to check the daily rollups cost a
landlord's request seconds of CPU and the API process a gigabyte. Maintenance now recomputes each
checkable day once (again only when that day's stored events or rollups changed, and every few hours
anyway) and stores what it found here; the API reads the verdicts of the period plus one aggregate
query over the rollups now (``rollup_marks``, below), so a rollup rewritten after its check still shows
at once ("changed since checked") and a day without a verdict shows as not checked, never as OK.

A fingerprint is engine-specific text (counts and integer sums; InfluxDB adds the newest
``written_at``, which every rewrite through the store moves): compared only with itself, never across
engines. It is a change detector, not a proof: the chain link and figures are recomputed from the
raw events by maintenance, and the verdicts live in the same store as the rollups (docs/audit.md).

A fingerprint may start with a *mark* ending at the first ``#`` (``mark_of``): the part every write through
the store moves, which an engine reads far cheaper than the rollups (``Store.rollup_marks``). On InfluxDB the
mark is the day's ``rollup_mark`` points, one per landlord and write (influxd 1.6.7 opens a cursor per rollup
series and field: the full fingerprint of a landlord's 42 checkable days cost it ~1.1 s of CPU at 500
checkpoints, its marks 1-6 ms, docs/performance.md). The API compares marks; maintenance compares marks each
pass and a day's whole fingerprints in turn (``moved``), so an edit made around the store (a raw point overwritten
or deleted in influxd) is re-checked when its day's turn comes and shown from then on. SQLite's fingerprint is
its mark (triggers version every row change, however made).

Raw visits have marks too (``visit_mark_line``, ``Store.event_marks``): each write of visits through the store adds
one point per service day it touched, in one series. The events fingerprint of 60 days of raw visits cost influxd
11 s of CPU each maintenance pass at district scale (40-90 s at city scale, longer than the 60 s interval); the
marks 10-20 ms (``ronde.ingest.rollup_check`` compares them each pass, whole fingerprints one day a pass).

Kept apart from ``records``/``schema`` on purpose: those two are keys of the benchmark data sets.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass
from datetime import date, datetime

from ronde.store.lineprotocol import FieldValue, encode_line
from ronde.store.schema import NS_PER_DAY, RetentionClass, day_start_ns, from_ms, offset, to_ms

ROLLUP_CHECK = "rollup_check"  # the InfluxDB measurement (retention class ``proof``, like the rollups)
ROLLUP_CHECK_RP = RetentionClass.PROOF
ROLLUP_MARK = "rollup_mark"  # InfluxDB: one point per (service day, landlord) each time its rollups are written
VISIT_MARK = "visit_mark"  # InfluxDB: one point per service day each time visits of it are written (one series)
MAX_MISMATCH_BYTES = 8 << 20  # a stored list inflating beyond this is refused as unreadable (a zip bomb)


class UnreadableVerdict(ValueError):
    """A stored verdict's mismatch list cannot be decoded (corrupted or forged): treated as no verdict."""


@dataclass(frozen=True, slots=True)
class RollupVerdict:
    """The check of one landlord's rollups of one service day, as maintenance found them.

    ``rollups`` is the fingerprint of those rollups when they were checked (the API compares it with
    the fingerprint now); ``events`` the fingerprint of the day's stored events, ``prev_link`` the
    previous rolled-up day's chain link used, ``link`` the day's link as its rollups carried it
    (maintenance re-checks a day when any of them moved)."""

    service_day: date
    landlord: str
    checked_at: datetime
    rollups: str
    events: str
    prev_link: str
    link: str
    mismatches: tuple[tuple[str, str], ...]  # (checkpoint id, reason), sorted

    def same_result(self, other: RollupVerdict) -> bool:
        """Everything but ``checked_at`` equal: rewriting it would only add a point."""
        return (self.rollups, self.events, self.prev_link, self.link, self.mismatches) == (
            other.rollups,
            other.events,
            other.prev_link,
            other.link,
            other.mismatches,
        )


def encode_mismatches(mismatches: tuple[tuple[str, str], ...]) -> str:
    """Compact text: a day whose raw event was edited flags every rollup of it (2,500 for one city
    landlord, one repeated reason): JSON, deflated, base64 (an InfluxDB string field stays small)."""
    if not mismatches:
        return ""
    raw = json.dumps([list(m) for m in mismatches]).encode()  # deflated next: spacing costs nothing
    return base64.b64encode(zlib.compress(raw, 6)).decode("ascii")


def decode_mismatches(text: str) -> tuple[tuple[str, str], ...]:
    """The inverse of ``encode_mismatches``; ``UnreadableVerdict`` for anything it did not write
    (bad base64 or deflate, inflating past ``MAX_MISMATCH_BYTES``, not a list of string pairs)."""
    if not text:
        return ()
    try:
        packed = base64.b64decode(text.encode("ascii"), validate=True)
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, MAX_MISMATCH_BYTES)
        if inflater.unconsumed_tail or not inflater.eof:
            raise UnreadableVerdict("mismatch list too large or truncated")
        items = json.loads(raw)
    except (ValueError, UnicodeError, zlib.error) as exc:
        raise UnreadableVerdict(f"mismatch list unreadable: {exc}") from exc
    if not isinstance(items, list) or not all(
        isinstance(i, list) and len(i) == 2 and all(isinstance(s, str) for s in i)  # noqa: PLR2004 - a pair
        for i in items
    ):
        raise UnreadableVerdict("mismatch list is not a list of (checkpoint, reason)")
    return tuple((c, r) for c, r in items)


def verdict_line(v: RollupVerdict) -> str:
    """One InfluxDB point per check result; the newest ``checked_at`` wins on read (InfluxDB 3
    accepts identical replays only, so a new result is a new point, as for rollups)."""
    checked = to_ms(v.checked_at)
    fields: dict[str, FieldValue | None] = {
        "service_day": v.service_day.isoformat(),
        "checked_at": checked,
        "rollups": v.rollups,
        "events": v.events,
        "prev_link": v.prev_link,
        "link": v.link,
        "found": len(v.mismatches),
        "mismatches": encode_mismatches(v.mismatches),
    }
    ns = day_start_ns(v.service_day) + offset(v.landlord, v.service_day, checked, modulo=NS_PER_DAY)
    return encode_line(ROLLUP_CHECK, {"landlord": v.landlord}, fields, ns)


def verdict_from_fields(
    service_day: str, landlord: str, checked_at_ms: int, rollups: str, events: str, prev_link: str, link: str, blob: str
) -> RollupVerdict:
    """A stored verdict (either engine's columns); ``UnreadableVerdict`` when it cannot be read."""
    try:
        day = date.fromisoformat(service_day)
    except ValueError as exc:
        raise UnreadableVerdict(f"service day {service_day!r}") from exc
    return RollupVerdict(
        day, landlord, from_ms(int(checked_at_ms)), rollups, events, prev_link, link, decode_mismatches(blob)
    )


def mark_of(fingerprint: str) -> str:
    """The part of a rollup fingerprint that ``Store.rollup_marks`` returns (all of it without a ``#``)."""
    return fingerprint.partition("#")[0]


def mark_line(service_day: date, landlord: str, written_at_ms: int, rows: int) -> str:
    """A write of ``rows`` rollups of ``landlord``'s ``service_day``: a new point each write (its time within
    the UTC day, as the rollups'), so the day's count and newest ``written_at`` move."""
    fields: dict[str, FieldValue | None] = {"written_at": written_at_ms, "rows": rows}
    ns = day_start_ns(service_day) + offset(landlord, service_day, written_at_ms, modulo=NS_PER_DAY)
    return encode_line(ROLLUP_MARK, {"landlord": landlord}, fields, ns)


def visit_mark_line(service_day: date, written_at_ms: int, visits: int, writer: str) -> str:
    """A write of ``visits`` visits of ``service_day`` (``Store.write``): a new point each write, its time within
    the service day's UTC day. ``writer`` (random per store object) keeps two workers writing in the same
    millisecond from overwriting each other's point, which would leave the day's mark as one write."""
    fields: dict[str, FieldValue | None] = {"written_at": written_at_ms, "visits": visits}
    ns = day_start_ns(service_day) + offset(writer, service_day, written_at_ms, modulo=NS_PER_DAY)
    return encode_line(VISIT_MARK, {}, fields, ns)


def moved(now: str, stored: str) -> bool:
    """Whether a fingerprint or mark read ``now`` differs from the whole fingerprint ``stored`` with a verdict:
    a mark (no ``#``) is compared with the stored one's mark, a whole fingerprint with all of it."""
    return now != (stored if "#" in now else mark_of(stored))
