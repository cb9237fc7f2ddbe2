"""The audit hash chain over stored visit events: one link per service day.

``link(day) = SHA-256(prev_link ‖ day ‖ sorted event digests of that day)``, where an event
digest is the SHA-256 of the RFC 8785 canonical JSON of every field of the event *as stored*
(including ``payload_sha256``, the digest of the exact MQTT payload). The first link starts from
a genesis anchor derived from the landlord and the registry revision. Editing, inserting or
deleting any event changes its day's link and every later one, so a report that carries the
links lets anyone name the first day whose stored events are no longer what was reported.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from json.encoder import py_encode_basestring
from typing import Any

import rfc8785

from ronde.store.records import StoredVisit

CHAIN_VERSION = "ronde-audit-chain-v1"

try:  # the C escaper of the json module when available
    from json.encoder import c_encode_basestring as _c_quote  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    _c_quote = None

_quote: Callable[[str], str] = _c_quote or py_encode_basestring
ALL_LANDLORDS = "*"


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def event_fields(visit: StoredVisit) -> dict[str, Any]:
    """Every stored field of the event, in a canonical, engine-independent form."""
    return {
        "event_id": visit.event_id,
        "gateway_id": visit.gateway_id,
        "seq": visit.seq,
        "badge": visit.badge,
        "checkpoint_id": visit.checkpoint_id,
        "kind": visit.kind,
        "building": visit.building,
        "estate": visit.estate,
        "landlord": visit.landlord,
        "service_day": visit.service_day.isoformat(),
        "first_seen": _iso(visit.first_seen),
        "last_seen": _iso(visit.last_seen),
        "count": visit.count,
        "rssi_max": visit.rssi_max,
        "rssi_mean": float(visit.rssi_mean),
        "verification": str(visit.verification),
        "beacon_check": str(visit.beacon_check),
        "received_at": _iso(visit.received_at),
        "payload_sha256": visit.payload_sha256,
    }


def canonical_event(visit: StoredVisit) -> bytes:
    """RFC 8785 (JCS) bytes of :func:`event_fields`.

    Equal to ``rfc8785.dumps`` (the tests check it on generated events) but several times
    faster: the keys are ASCII, written in sorted (JCS) order; strings are escaped as JCS does
    (``"``, ``\\`` and control characters only, like JSON's ``ensure_ascii=False``); the one float
    is written in ECMAScript's shortest form (integral values without ``.0``).
    """
    x = float(visit.rssi_mean)
    if x.is_integer() and abs(x) < 2**53:
        rssi = str(int(x))
    elif 1e-4 <= abs(x) < 1e15:  # where Python and ECMAScript write floats alike
        rssi = repr(x)
    else:
        return bytes(rfc8785.dumps(event_fields(visit)))
    q = _quote
    building = "null" if visit.building is None else q(visit.building)
    return (
        f'{{"badge":{q(visit.badge)},"beacon_check":{q(str(visit.beacon_check))},"building":{building},'
        f'"checkpoint_id":{q(visit.checkpoint_id)},"count":{int(visit.count)},"estate":{q(visit.estate)},'
        f'"event_id":{q(visit.event_id)},"first_seen":"{_iso(visit.first_seen)}",'
        f'"gateway_id":{q(visit.gateway_id)},"kind":{q(visit.kind)},"landlord":{q(visit.landlord)},'
        f'"last_seen":"{_iso(visit.last_seen)}","payload_sha256":{q(visit.payload_sha256)},'
        f'"received_at":"{_iso(visit.received_at)}","rssi_max":{int(visit.rssi_max)},"rssi_mean":{rssi},'
        f'"seq":{int(visit.seq)},"service_day":"{visit.service_day.isoformat()}",'
        f'"verification":{q(str(visit.verification))}}}'
    ).encode()


def event_digest(visit: StoredVisit) -> str:
    return hashlib.sha256(canonical_event(visit)).hexdigest()


def genesis_anchor(landlord: str | None, revision: str, registry_digest: str | None = None) -> str:
    """Where a chain starts: bound to whose events (``None``: all landlords) and which registry.

    Audit reports pass ``registry_digest`` (``ronde.protocol.estate_digest``): a revision is only a
    label, the digest names the registry's exact content, so a report cannot be re-presented as
    computed with other checkpoint names under the same label. Ingest's store-wide chain has none.
    """
    who = ALL_LANDLORDS if landlord is None else landlord
    text = f"{CHAIN_VERSION}\x00{who}\x00{revision}"
    if registry_digest is not None:
        text += f"\x00{registry_digest}"
    return hashlib.sha256(text.encode()).hexdigest()


def day_digest(digests: Iterable[str]) -> str:
    """Digest of a day's set of events (order-free), to tell which days changed."""
    h = hashlib.sha256()
    for d in sorted(digests):
        h.update(bytes.fromhex(d))
    return h.hexdigest()


def chain_link(prev_link: str, day: date, digests: Iterable[str]) -> str:
    h = hashlib.sha256()
    h.update(bytes.fromhex(prev_link))
    h.update(day.isoformat().encode())
    for d in sorted(digests):
        h.update(bytes.fromhex(d))
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class DayLink:
    day: date
    events: int
    day_digest: str
    link: str


@dataclass(frozen=True, slots=True)
class AuditChain:
    landlord: str | None
    revision: str
    anchor: str
    links: tuple[DayLink, ...]
    registry_digest: str | None = None

    @property
    def final(self) -> str:
        return self.links[-1].link if self.links else self.anchor


def compute_chain(
    visits: Sequence[StoredVisit], days: Collection[date], *, landlord: str | None, revision: str,
    registry_digest: str | None = None,
) -> AuditChain:
    """The chain over ``days`` (plus any other day an event claims), from the genesis anchor.

    Only events of ``landlord`` (all if None) count; a day without events still gets a link, so
    deleting all of a day's events is detected too.
    """
    by_day: dict[date, list[str]] = defaultdict(list)
    for v in visits:
        if landlord is None or v.landlord == landlord:
            by_day[v.service_day].append(event_digest(v))
    anchor = genesis_anchor(landlord, revision, registry_digest)
    prev = anchor
    links: list[DayLink] = []
    for day in sorted(set(days) | set(by_day)):
        digests = by_day.get(day, [])
        prev = chain_link(prev, day, digests)
        links.append(DayLink(day, len(digests), day_digest(digests), prev))
    return AuditChain(landlord, revision, anchor, tuple(links), registry_digest)


@dataclass(frozen=True, slots=True)
class ChainDifference:
    """First day whose link differs, and every day whose own events changed."""

    first_day: date | None
    changed_days: tuple[date, ...]
    anchor_differs: bool
    expected: DayLink | None
    found: DayLink | None

    @property
    def ok(self) -> bool:
        return self.first_day is None and not self.anchor_differs


def compare_chains(expected: AuditChain, found: AuditChain) -> ChainDifference:
    exp = {x.day: x for x in expected.links}
    got = {x.day: x for x in found.links}
    anchor_differs = expected.anchor != found.anchor
    first: date | None = None
    changed: list[date] = []
    for day in sorted(set(exp) | set(got)):
        e, f = exp.get(day), got.get(day)
        if e is None or f is None or e.day_digest != f.day_digest:
            changed.append(day)
        if first is None and (e is None or f is None or e.link != f.link):
            first = day
    e0 = exp.get(first) if first is not None else None
    f0 = got.get(first) if first is not None else None
    return ChainDifference(first, tuple(changed), anchor_differs, e0, f0)
