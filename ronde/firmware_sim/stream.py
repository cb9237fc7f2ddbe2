"""The advertisement stream one team's scanner reports: beacons (+ crowd, + replays) through the radio model.

Every source is a lazy, time-ordered generator with its own seeded RNG; ``heapq.merge`` interleaves
them (ties broken by source order), so the same seed gives the same stream, byte for byte.
Beacons far out of range are skipped in bulk (the number of skipped events is drawn, so TLM
counters and advDelay stay statistically right) to keep a whole evening cheap.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ronde.firmware_sim.beacons import Frame, SimBeacon
from ronde.firmware_sim.crowd import CrowdField
from ronde.firmware_sim.estate_graph import EstateGraph
from ronde.firmware_sim.patrol import FLOOR_HEIGHT_M, Trajectory
from ronde.firmware_sim.radio import (
    ENCLOSED_KINDS,
    ENVIRONMENTS,
    KIND_ENVIRONMENT,
    Carry,
    Environment,
    RadioParams,
    Shadowing,
    body_loss_db,
    collision_survival,
    max_range_m,
    mean_path_loss_db,
    reception_probability,
    rician_fading_db,
    rssi_at_1m,
)
from ronde.protocol.radio import Advertisement

MAX_SPEED_MPS = 5.0  # bound used to skip out-of-range events safely (scripted routes may hurry)


@dataclass(frozen=True, slots=True)
class Receiver:
    """The team's scanner as the radio sees it."""

    carry: Carry
    rx_offset_db: float  # chipset/antenna RSSI calibration offset
    radio: RadioParams


@dataclass(frozen=True, slots=True)
class Replay:
    """A recording of ``frames`` (offset s, frame) played back from ``start`` by a device ``distance_m`` away."""

    checkpoint_id: str
    start: float
    frames: tuple[tuple[float, Frame], ...]
    p1m_dbm: float
    distance_m: float = 3.0


def record(beacon: SimBeacon, start: float, end: float, rng: random.Random) -> tuple[tuple[float, Frame], ...]:
    """What a sniffer next to the beacon captures between ``start`` and ``end`` (every event, exact bytes)."""
    out: list[tuple[float, Frame]] = []
    t = start + rng.uniform(0.0, beacon.interval_s)
    event = 0
    while t < end:
        if beacon.alive(t):
            out.append((t - start, beacon.frame(t, event)))
        t = beacon.next_event(t, rng)
        event += 1
    return tuple(out)


def _interference(crowd: CrowdField | None, t: float, rssi: float) -> float:
    return 0.0 if crowd is None else crowd.interference_rate(t, rssi)


def beacon_source(  # noqa: PLR0912,PLR0915 - one beacon's timeline, step by step
    beacon: SimBeacon,
    evenings: Sequence[Trajectory],
    graph: EstateGraph,
    rx: Receiver,
    rng: random.Random,
    crowd: CrowdField | None = None,
) -> Iterator[Advertisement]:
    cp = beacon.checkpoint
    centre = graph.pos[cp.id]
    cx, cy = centre.x, centre.y
    radio = rx.radio
    own = ENVIRONMENTS[KIND_ENVIRONMENT[cp.kind]]
    outdoor = ENVIRONMENTS[Environment.OUTDOOR]
    own_entry = own.entry_loss_db if cp.kind in ENCLOSED_KINDS else 0.0
    p1m = rssi_at_1m(cp.beacon.tx_power, beacon.eddystone)
    rmax = max(max_range_m(p1m, radio, outdoor), max_range_m(p1m, radio, own))
    floor_dbm = radio.sensitivity_dbm - 6 * radio.sensitivity_width_db
    kinds = {cid: c.kind for cid, c in graph.checkpoints.items()}
    interval = beacon.interval_s
    if not evenings:
        return
    t = evenings[0].start + rng.uniform(0.0, interval)
    event = rng.randrange(1 << 16)
    for traj in evenings:
        if t < traj.start:
            n = int((traj.start - t) / interval)
            if n > 0:
                t = beacon.skip_events(t, n, rng)
                event += n
        shadow_in = Shadowing(own.shadowing_sigma_db, own.decorrelation_m, radio.temporal_coherence_s)
        shadow_out = Shadowing(outdoor.shadowing_sigma_db, outdoor.decorrelation_m, radio.temporal_coherence_s)
        hint = 0
        end = traj.end
        segs = traj.segments
        while t < end:
            i = traj.index_at(t, hint)
            if i < 0:
                t = beacon.next_event(t, rng)
                event += 1
                continue
            hint = i
            seg = segs[i]
            x, y, walked = seg.at(t)
            dx, dy = cx - x, cy - y
            dz = FLOOR_HEIGHT_M * (seg.level - cp.level)
            d = math.sqrt(dx * dx + dy * dy + dz * dz)
            if d > rmax:
                n = int((d - rmax) / MAX_SPEED_MPS / interval) + 1
                t = beacon.skip_events(t, n, rng)
                event += n
                continue
            if not beacon.alive(t) or not radio.scan.listening(t):
                t = beacon.next_event(t, rng)
                event += 1
                continue
            same = seg.space == cp.id
            if same:
                params, loss = own, 0.0
            else:
                params = outdoor
                loss = own_entry
                if seg.space is not None:
                    loss += ENVIRONMENTS[KIND_ENVIRONMENT[kinds[seg.space]]].entry_loss_db
            mean = p1m - mean_path_loss_db(d, params) - loss + rx.rx_offset_db
            if mean + 4 * params.shadowing_sigma_db + 6 < floor_dbm:
                t = beacon.next_event(t, rng)
                event += 1
                continue
            mean -= body_loss_db(rx.carry, seg.heading, math.atan2(dy, dx), radio)
            shadow = (shadow_in if same else shadow_out).sample(rng, t, walked)
            rssi = mean + shadow + rician_fading_db(rng, params.rician_k_db)
            p = reception_probability(rssi, radio) * collision_survival(_interference(crowd, t, rssi))
            if rng.random() < p:
                frame = beacon.frame(t, event)
                yield Advertisement(
                    t=t,
                    address=frame.address,
                    rssi=max(-127, min(20, round(rssi))),
                    manufacturer_data=frame.manufacturer_data,
                    service_data=frame.service_data,
                )
            t = beacon.next_event(t, rng)
            event += 1


def replay_source(
    replay: Replay, rx: Receiver, rng: random.Random, crowd: CrowdField | None = None
) -> Iterator[Advertisement]:
    """A clone playing a recording next to the team (same bytes, same address, same cadence)."""
    radio = rx.radio
    outdoor = ENVIRONMENTS[Environment.OUTDOOR]
    shadow = Shadowing(outdoor.shadowing_sigma_db, outdoor.decorrelation_m, radio.temporal_coherence_s)
    for offset, frame in replay.frames:
        t = replay.start + offset
        if not radio.scan.listening(t):
            continue
        rssi = (
            replay.p1m_dbm
            - mean_path_loss_db(replay.distance_m, outdoor)
            + rx.rx_offset_db
            - body_loss_db(rx.carry, 0.0, rng.uniform(-math.pi, math.pi), radio)
            + shadow.sample(rng, t, 0.0)
            + rician_fading_db(rng, outdoor.rician_k_db)
        )
        if rng.random() < reception_probability(rssi, radio) * collision_survival(_interference(crowd, t, rssi)):
            yield Advertisement(
                t=t,
                address=frame.address,
                rssi=max(-127, min(20, round(rssi))),
                manufacturer_data=frame.manufacturer_data,
                service_data=frame.service_data,
            )


def merge(sources: Sequence[Iterator[Advertisement]]) -> Iterator[Advertisement]:
    return heapq.merge(*sources, key=_time)


def _time(adv: Advertisement) -> float:
    return adv.t
