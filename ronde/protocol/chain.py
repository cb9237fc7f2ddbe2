"""Hash-chain primitives over stored visit events: event digests, day digests, links, anchors.

``link(day) = SHA-256(prev_link ‖ day ‖ sorted event digests of that day)``, where an event
digest is the SHA-256 of the RFC 8785 canonical JSON (``ronde.protocol.canonical``) of every field
of the event *as stored* (including ``payload_sha256``, the digest of the exact MQTT payload). The
first link starts from a genesis anchor derived from the landlord and the registry revision.

These are pure functions shared by the stages that chain events: coverage (the store-wide link a
daily rollup carries), ingest (which writes rollups) and audit (reports, ``ronde audit verify``,
rollup checks). They live here, below all of them, so none imports another for them; the chains
themselves (``AuditChain``, comparison) are ``ronde.audit.chain``'s. An event is anything with the
fields of ``ronde.store.records.StoredVisit`` (:class:`ChainEvent`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, Protocol

from ronde.protocol.canonical import canonical

CHAIN_VERSION = "ronde-audit-chain-v1"
ALL_LANDLORDS = "*"


class ChainEvent(Protocol):
    """The stored fields of a visit event that its digest covers (``StoredVisit`` has them)."""

    @property
    def event_id(self) -> str: ...
    @property
    def gateway_id(self) -> str: ...
    @property
    def seq(self) -> int: ...
    @property
    def badge(self) -> str: ...
    @property
    def checkpoint_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def building(self) -> str | None: ...
    @property
    def estate(self) -> str: ...
    @property
    def landlord(self) -> str: ...
    @property
    def service_day(self) -> date: ...
    @property
    def first_seen(self) -> datetime: ...
    @property
    def last_seen(self) -> datetime: ...
    @property
    def count(self) -> int: ...
    @property
    def rssi_max(self) -> int: ...
    @property
    def rssi_mean(self) -> float: ...
    @property
    def verification(self) -> object: ...  # a StrEnum: written as its value
    @property
    def beacon_check(self) -> object: ...
    @property
    def received_at(self) -> datetime: ...
    @property
    def payload_sha256(self) -> str: ...


def _iso(instant: datetime) -> str:
    """UTC, microseconds, ``Z``: ``2026-11-04T17:00:00.000000Z``."""
    if instant.tzinfo is not UTC:
        instant = instant.astimezone(UTC)
    return instant.isoformat(timespec="microseconds")[:-6] + "Z"  # without its "+00:00"


def event_fields(visit: ChainEvent) -> dict[str, Any]:
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


def canonical_event(visit: ChainEvent) -> bytes:
    """RFC 8785 (JCS) bytes of :func:`event_fields` (``ronde.protocol.canonical``)."""
    return canonical(event_fields(visit))


def event_digest(visit: ChainEvent) -> str:
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
