"""Named, seeded scenarios: same (name, seed, estate, calendar, day, teams) → same stream and truth, to the byte.

Each scenario plans the teams' trajectories up front (cheap) and derives the truth from them;
advertisements are generated lazily per team when asked for.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from ronde.firmware_sim.beacons import BatteryChange, SimBeacon, make_beacon
from ronde.firmware_sim.crowd import CrowdField, CrowdSpec
from ronde.firmware_sim.estate_graph import EstateGraph
from ronde.firmware_sim.patrol import PatrolPlan, RouteMode, Trajectory, plan_evening, scripted_trajectory
from ronde.firmware_sim.radio import Carry, RadioParams, rssi_at_1m
from ronde.firmware_sim.stream import Receiver, Replay, beacon_source, merge, record, replay_source
from ronde.firmware_sim.truth import TrueVisit, true_visits
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import CheckpointKind, Registry
from ronde.protocol.radio import Advertisement

DEFAULT_FIRST_DAY = date(2026, 11, 18)  # a Wednesday
CROWD_DURATION_S = 5400.0
OUTAGE_S = 600.0
SCENARIOS: Mapping[str, str] = {
    "evening": "one ordinary service evening, planned tours",
    "week": "five service evenings, staleness-driven routes (one EID beacon gets a new battery)",
    "skipped-car-park": "an evening where one landlord's underground car park(s) are never visited",
    "dead-beacon": "five evenings; a beacon's battery dies on the third evening at 19:00",
    "cloned-beacon": "two evenings; an iBeacon and an EID beacon recorded on the first, replayed on the second",
    "outage": "an evening where the first team's scanner loses its network for 10 minutes",
    "crowd": "90 minutes in a dense area: hundreds of phones and other BLE devices around the team",
}


@dataclass(frozen=True, slots=True)
class TeamSpec:
    team_id: str
    gateway_id: str
    badge: str


@dataclass(frozen=True, slots=True)
class ReplayInfo:
    """Where and when a clone replayed a recorded beacon (for scoring and the ingest tests)."""

    team_id: str
    checkpoint_id: str
    beacon_format: str
    recorded: tuple[datetime, datetime]
    replayed: tuple[datetime, datetime]


@dataclass
class Scenario:
    name: str
    seed: int
    start: datetime
    end: datetime
    teams: list[TeamSpec]
    truth: list[TrueVisit]
    outages: dict[str, list[tuple[datetime, datetime]]]
    registry: Registry
    calendar: ServiceCalendar
    days: list[date]
    skipped: list[str] = field(default_factory=list)
    dead_beacons: dict[str, datetime] = field(default_factory=dict)
    battery_changes: dict[str, list[datetime]] = field(default_factory=dict)
    replays: list[ReplayInfo] = field(default_factory=list)
    crowd: CrowdSpec | None = None
    radio: RadioParams = field(default_factory=RadioParams)
    graph: EstateGraph | None = None
    beacons: dict[str, SimBeacon] = field(default_factory=dict)
    evenings: dict[str, list[Trajectory]] = field(default_factory=dict)
    receivers: dict[str, Receiver] = field(default_factory=dict)
    replay_plans: dict[str, list[Replay]] = field(default_factory=dict)

    def team(self, team_id: str) -> TeamSpec:
        for spec in self.teams:
            if spec.team_id == team_id:
                return spec
        raise KeyError(f"no team {team_id!r} in scenario {self.name!r}")

    def _rng(self, *parts: object) -> random.Random:
        return random.Random("|".join(str(p) for p in (self.seed, self.name, *parts)))

    def crowd_field(self, team_id: str) -> CrowdField | None:
        if self.crowd is None:
            return None
        return CrowdField(
            self.crowd, self.start.timestamp(), self.end.timestamp(), f"{self.seed}|{self.name}|{team_id}", self.radio
        )

    def advertisements(self, team_id: str) -> Iterator[Advertisement]:
        """What the team's scanner reports, time-ordered, generated lazily (UTC epoch seconds)."""
        self.team(team_id)
        assert self.graph is not None
        evenings = self.evenings.get(team_id, [])
        rx = self.receivers[team_id]
        crowd = self.crowd_field(team_id)
        sources: list[Iterator[Advertisement]] = [
            beacon_source(self.beacons[cid], evenings, self.graph, rx, self._rng(team_id, "beacon", cid), crowd)
            for cid in sorted(self.beacons)
        ]
        for i, replay in enumerate(self.replay_plans.get(team_id, [])):
            sources.append(replay_source(replay, rx, self._rng(team_id, "replay", i), crowd))
        if crowd is not None:
            sources.append(crowd.stream(self._rng(team_id, "crowd"), self.radio.scan, rx.rx_offset_db))
        return merge(sources)


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _team_specs(seed: int, n: int) -> list[TeamSpec]:
    out = []
    for i in range(1, n + 1):
        digest = hashlib.sha256(f"badge|{seed}|{i}".encode()).hexdigest()[:10].upper()
        out.append(TeamSpec(team_id=f"t{i}", gateway_id=f"sim-gw-{i:02d}", badge=f"B{digest}"))
    return out


def _assign(graph: EstateGraph, n: int) -> list[tuple[str, tuple[str, ...]]]:
    """Split the estate into ``n`` sectors (by estate, then west to east) with the nearest office as base."""
    cps = sorted(graph.checkpoints.values(), key=lambda c: (c.estate, graph.pos[c.id].x, c.id))
    offices = sorted(c.id for c in cps if c.kind is CheckpointKind.RECEPTION_OFFICE)
    out: list[tuple[str, tuple[str, ...]]] = []
    size = math.ceil(len(cps) / n)
    for k in range(n):
        chunk = tuple(c.id for c in cps[k * size : (k + 1) * size]) or tuple(c.id for c in cps)
        cx = sum(graph.pos[c].x for c in chunk) / len(chunk)
        cy = sum(graph.pos[c].y for c in chunk) / len(chunk)
        pool = offices or list(chunk)
        base = min(pool, key=lambda o: (math.hypot(graph.pos[o].x - cx, graph.pos[o].y - cy), o))
        out.append((base, chunk))
    return out


def _service_days(calendar: ServiceCalendar, first: date | None, count: int) -> list[date]:
    day = first or DEFAULT_FIRST_DAY
    days: list[date] = []
    while len(days) < count:
        if calendar.is_service_day(day):
            days.append(day)
        day += timedelta(days=1)
        if (day - (first or DEFAULT_FIRST_DAY)).days > 400:  # noqa: PLR2004 - a year and a margin
            raise ValueError("the service calendar has no service day within a year")
    return days


def _base(
    name: str, seed: int, registry: Registry, calendar: ServiceCalendar, days: list[date], n_teams: int
) -> Scenario:
    if n_teams < 1:
        raise ValueError("at least one team")
    graph = EstateGraph(registry)
    w0 = calendar.window(days[0])[0]
    ref = w0.timestamp()
    beacons = {cid: make_beacon(cp, seed, ref) for cid, cp in sorted(registry.checkpoints.items())}
    teams = _team_specs(seed, n_teams)
    receivers = {}
    for spec in teams:
        rng = random.Random(f"{seed}|{name}|{spec.team_id}|receiver")
        receivers[spec.team_id] = Receiver(Carry.POCKET, rng.uniform(-3.0, 3.0), RadioParams())
    return Scenario(
        name=name,
        seed=seed,
        start=w0,
        end=calendar.window(days[-1])[1],
        teams=teams,
        truth=[],
        outages={t.team_id: [] for t in teams},
        registry=registry,
        calendar=calendar,
        days=days,
        graph=graph,
        beacons=beacons,
        receivers=receivers,
    )


def _patrol(
    sc: Scenario,
    mode: RouteMode,
    avoid: frozenset[str] = frozenset(),
    end_override: float | None = None,
    take_break: bool = True,
) -> None:
    assert sc.graph is not None
    sectors = _assign(sc.graph, len(sc.teams))
    for spec, (base, chunk) in zip(sc.teams, sectors, strict=True):
        seen: dict[str, float] = {}
        evenings = []
        for day in sc.days:
            w0, w1 = sc.calendar.window(day)
            end = w1.timestamp() if end_override is None else end_override
            rng = random.Random(f"{sc.seed}|{sc.name}|{spec.team_id}|patrol|{day.isoformat()}")
            plan = PatrolPlan(base=base, assigned=chunk, mode=mode, avoid=avoid, take_break=take_break)
            evenings.append(plan_evening(sc.graph, plan, w0.timestamp(), end, rng, seen))
        sc.evenings[spec.team_id] = evenings
    _finish_truth(sc)


def _finish_truth(sc: Scenario) -> None:
    assert sc.graph is not None
    truth: list[TrueVisit] = []
    for team_id, evenings in sc.evenings.items():
        for traj in evenings:
            truth.extend(true_visits(team_id, traj, sc.graph))
    truth.sort(key=lambda v: (v.start, v.team_id, v.checkpoint_id))
    sc.truth = truth


def _local(calendar: ServiceCalendar, day: date, hh: int, mm: int = 0) -> float:
    return datetime.combine(day, time(hh, mm), tzinfo=calendar.tz).timestamp()


def _evening(
    name: str, seed: int, registry: Registry, calendar: ServiceCalendar, day: date | None, teams: int
) -> Scenario:
    sc = _base(name, seed, registry, calendar, _service_days(calendar, day, 1), teams)
    _patrol(sc, RouteMode.TOUR)
    return sc


def _week(
    name: str, seed: int, registry: Registry, calendar: ServiceCalendar, day: date | None, teams: int
) -> Scenario:
    sc = _base(name, seed, registry, calendar, _service_days(calendar, day, 5), teams)
    eids = sorted(c.id for c in registry.eid_checkpoints())
    if eids:
        cid = random.Random(f"{seed}|{name}|battery").choice(eids)
        at = _local(calendar, sc.days[1], 14, 30)
        sc.beacons[cid].battery_changes = (BatteryChange(at=at, off_s=180.0),)
        sc.battery_changes[cid] = [_utc(at)]
    _patrol(sc, RouteMode.STALENESS)
    return sc


def _skipped_car_park(
    name: str, seed: int, registry: Registry, calendar: ServiceCalendar, day: date | None, teams: int
) -> Scenario:
    sc = _base(name, seed, registry, calendar, _service_days(calendar, day, 1), teams)
    underground = [c for c in registry.checkpoints.values() if c.kind is CheckpointKind.CAR_PARK_UNDERGROUND]
    landlords = sorted({c.landlord for c in underground})
    if not landlords:
        raise ValueError("the estate has no underground car park to skip")
    landlord = random.Random(f"{seed}|{name}|landlord").choice(landlords)
    sc.skipped = sorted(c.id for c in underground if c.landlord == landlord)
    _patrol(sc, RouteMode.TOUR, avoid=frozenset(sc.skipped))
    return sc


def _dead_beacon(
    name: str, seed: int, registry: Registry, calendar: ServiceCalendar, day: date | None, teams: int
) -> Scenario:
    sc = _base(name, seed, registry, calendar, _service_days(calendar, day, 5), teams)
    uids = sorted(c.id for c in registry.checkpoints.values() if c.beacon.format == "eddystone_uid")
    pool = uids or sorted(registry.checkpoints)
    cid = random.Random(f"{seed}|{name}|dead").choice(pool)
    dies = _local(calendar, sc.days[2], 19, 0)
    sc.beacons[cid].dies_at = dies
    sc.dead_beacons[cid] = _utc(dies)
    _patrol(sc, RouteMode.STALENESS)
    return sc


def _cloned_beacon(
    name: str, seed: int, registry: Registry, calendar: ServiceCalendar, day: date | None, teams: int
) -> Scenario:
    sc = _base(name, seed, registry, calendar, _service_days(calendar, day, 2), teams)
    _patrol(sc, RouteMode.TOUR)
    rng = random.Random(f"{seed}|{name}|clone")
    victims = []
    ibeacons = sorted(
        c.id
        for c in registry.checkpoints.values()
        if c.beacon.format == "ibeacon" and c.kind is CheckpointKind.STAIRWELL_HALL
    )
    eids = sorted(c.id for c in registry.eid_checkpoints() if c.kind is not CheckpointKind.RECEPTION_OFFICE)
    if ibeacons:
        victims.append(rng.choice(ibeacons))
    if eids:
        victims.append(rng.choice(eids))
    team = sc.teams[0].team_id
    second = sc.evenings[team][1]
    # replayed during the team's break at its office: "elsewhere" (never the office's own beacon)
    brk = next((s for s in second.stops if s.reason == "break"), None)
    at = brk.arrive + 120.0 if brk is not None else _local(calendar, sc.days[1], 19, 0)
    for k, cid in enumerate(victims):
        beacon = sc.beacons[cid]
        rec0 = _local(calendar, sc.days[0], 19, 0) + k * 900.0
        frames = record(beacon, rec0, rec0 + 600.0, random.Random(f"{seed}|{name}|record|{cid}"))
        start = at + k * 660.0
        p1m = rssi_at_1m(beacon.checkpoint.beacon.tx_power, beacon.eddystone)
        sc.replay_plans.setdefault(team, []).append(Replay(cid, start, frames, p1m, distance_m=3.0))
        sc.replays.append(
            ReplayInfo(team, cid, beacon.format, (_utc(rec0), _utc(rec0 + 600.0)), (_utc(start), _utc(start + 600.0)))
        )
    return sc


def _outage(
    name: str, seed: int, registry: Registry, calendar: ServiceCalendar, day: date | None, teams: int
) -> Scenario:
    sc = _evening(name, seed, registry, calendar, day, teams)
    w0 = sc.start.timestamp()
    offset = random.Random(f"{seed}|{name}|outage").uniform(5400, 9000)
    sc.outages[sc.teams[0].team_id] = [(_utc(w0 + offset), _utc(w0 + offset + OUTAGE_S))]
    return sc


def _crowd(
    name: str, seed: int, registry: Registry, calendar: ServiceCalendar, day: date | None, teams: int
) -> Scenario:
    sc = _base(name, seed, registry, calendar, _service_days(calendar, day, 1), teams)
    end = sc.start.timestamp() + CROWD_DURATION_S
    sc.end = _utc(end)
    sc.crowd = CrowdSpec()
    _patrol(sc, RouteMode.TOUR, end_override=end, take_break=False)
    return sc


_BUILDERS: Mapping[str, Callable[[str, int, Registry, ServiceCalendar, date | None, int], Scenario]] = {
    "evening": _evening,
    "week": _week,
    "skipped-car-park": _skipped_car_park,
    "dead-beacon": _dead_beacon,
    "cloned-beacon": _cloned_beacon,
    "outage": _outage,
    "crowd": _crowd,
}


def build_scenario(
    name: str, seed: int, registry: Registry, calendar: ServiceCalendar, day: date | None = None, teams: int = 2
) -> Scenario:
    """A named scenario (see ``SCENARIOS``); ``day`` is its first evening (default: a fixed Wednesday)."""
    try:
        builder = _BUILDERS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}") from None
    return builder(name, seed, registry, calendar, day, teams)


def scripted_scenario(
    registry: Registry,
    calendar: ServiceCalendar,
    day: date,
    routes: Mapping[str, Sequence[tuple[str, datetime, datetime]]],
    seed: int,
) -> Scenario:
    """Teams follow exactly the given stops (checkpoint, arrive, leave), walking the graph in between.

    The truth then holds those stops (from when the team crosses the radius) plus any checkpoint
    passed on the way; the scenario spans from the first arrival to the last departure.
    """
    if not routes:
        raise ValueError("no routes")
    sc = _base("scripted", seed, registry, calendar, [day], len(routes))
    assert sc.graph is not None
    ids = sorted(routes)
    sc.teams = [TeamSpec(tid, spec.gateway_id, spec.badge) for tid, spec in zip(ids, sc.teams, strict=True)]
    sc.receivers = {tid: rx for tid, rx in zip(ids, sc.receivers.values(), strict=True)}
    sc.outages = {tid: [] for tid in ids}
    for tid in ids:
        stops = [(cid, a.timestamp(), b.timestamp()) for cid, a, b in routes[tid]]
        rng = random.Random(f"{seed}|scripted|{tid}|route")
        sc.evenings[tid] = [scripted_trajectory(sc.graph, stops, rng)]
    sc.start = _utc(min(e[0].start for e in sc.evenings.values()))
    sc.end = _utc(max(e[-1].end for e in sc.evenings.values()))
    _finish_truth(sc)
    return sc
