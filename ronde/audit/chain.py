"""The audit hash chain over stored visit events: one link per service day.

``link(day) = SHA-256(prev_link ‖ day ‖ sorted event digests of that day)`` from a genesis anchor
bound to the landlord and the registry (the primitives, shared with coverage and ingest, are in
``ronde.protocol.chain``). Editing, inserting or deleting any event changes its day's link and
every later one, so a report that carries the links lets anyone name the first day whose stored
events are no longer what was reported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

from ronde.protocol.chain import chain_link, day_digest, event_digest, genesis_anchor
from ronde.store.records import StoredVisit


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
    visits: Sequence[StoredVisit],
    days: Collection[date],
    *,
    landlord: str | None,
    revision: str,
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
