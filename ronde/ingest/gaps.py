"""Loss detection: per-gateway sequence gaps, found in the store (any worker, any time, idempotent).

A gateway numbers its visit events 1, 2, 3… across restarts, so a missing number is an event
that never reached the server. Its outbox may still deliver it late (after a radio blackout), so
a hole counts as a gap only once the event *after* it was received more than ``grace`` ago.
Gaps already recorded (or contained in a recorded one) are not written again.

A gateway's numbers are read once a pass, and those settled (received before the grace) only when that shows a
hole not recorded yet: on InfluxDB each read scans the gateway's visits over the whole raw retention
(``received_at`` is a field, not the time), and the two reads of every gateway cost influxd ~7 s of CPU a
maintenance pass at district scale (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from ronde.store.port import Store
from ronde.store.records import SequenceGap, WriteBatch


def holes(seqs: Sequence[int]) -> list[tuple[int, int]]:
    """Missing inclusive ranges between the sorted, possibly repeated numbers of ``seqs``."""
    out: list[tuple[int, int]] = []
    prev: int | None = None
    for s in seqs:
        if prev is not None and s > prev + 1:
            out.append((prev + 1, s - 1))
        prev = s if prev is None else max(prev, s)
    return out


def settled_holes(all_seqs: Sequence[int], settled_seqs: Iterable[int]) -> list[tuple[int, int]]:
    """Holes of ``all_seqs`` whose upper neighbour is among ``settled_seqs`` (received before the grace)."""
    settled = set(settled_seqs)
    return [(lo, hi) for lo, hi in holes(sorted(all_seqs)) if hi + 1 in settled]


def _covered(gap: tuple[int, int], recorded: Iterable[SequenceGap]) -> bool:
    return any(g.first_missing <= gap[0] and gap[1] <= g.last_missing for g in recorded)


def find_new_gaps(
    store: Store,
    now: datetime,
    *,
    window: timedelta = timedelta(hours=48),
    grace: timedelta = timedelta(minutes=10),
    gateways: Iterable[str] | None = None,
) -> list[SequenceGap]:
    start = now - window
    recorded_all = store.gaps(start - window, now + timedelta(seconds=1))
    out: list[SequenceGap] = []
    for gw in sorted(gateways if gateways is not None else store.gateways()):
        all_seqs = store.sequence_numbers(gw, start, now + timedelta(seconds=1))
        recorded = [g for g in recorded_all if g.gateway_id == gw]
        if not any(not _covered(h, recorded) for h in holes(sorted(all_seqs))):
            continue  # no hole not yet recorded: the settled numbers could add nothing, so they are not read
        settled = store.sequence_numbers(gw, start, now - grace)
        for lo, hi in settled_holes(all_seqs, settled):
            if not _covered((lo, hi), recorded):
                out.append(SequenceGap(gateway_id=gw, first_missing=lo, last_missing=hi, detected_at=now))
    return out


def record_gaps(
    store: Store,
    now: datetime,
    *,
    window: timedelta = timedelta(hours=48),
    grace: timedelta = timedelta(minutes=10),
) -> list[SequenceGap]:
    """Find and durably record new gaps; returns what was written."""
    gaps = find_new_gaps(store, now, window=window, grace=grace)
    if gaps:
        store.write(WriteBatch(gaps=tuple(gaps)))
    return gaps
