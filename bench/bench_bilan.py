"""Time to issue one landlord's bilan mensuel: the sample estate's month, and a city-scale estate.

Run: ``.venv/bin/python bench/bench_bilan.py [--month 2026-10] [--city 5000 | --scale city] [--runs 3] [--out DIR]``

A month of passes is written to a fresh SQLite store (each checkpoint passed its expected number of times every
service evening, a few evenings missed, a closed day), with field activity (sollicitations, technical reports with
their delays, requests) given through ``ListedFieldFacts``. Then, for the landlord with most checkpoints,
``build_bilan`` (the month's audit report, the previous month for comparison, the field figures) and
``render_bilan_files`` (PDF, CSV, JSON, three signed manifests) are timed separately, the median of ``--runs``,
with the load average when it starts. ``--city N`` also times an estate of N checkpoints (one landlord holding a
fifth of them); ``--scale city`` times the city preset's registry instead (``bench/city.py``: 50 estates, 5,000
checkpoints, the sample's six landlords, Paris Habitat holding half). ``--out`` keeps the sample estate's bilan
files there (to render the PDF with pdftoppm).

Target (issue 15): under 3 s for a month of the sample estate.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

from ronde.audit.bilan import Bilan, build_bilan, month_bounds
from ronde.audit.bilan_export import render_bilan_files
from ronde.audit.keys import load_signing_key
from ronde.audit.labels import Lang
from ronde.opdb.field_facts import ListedFieldFacts, RequestFact, SollicitationFact, TechnicalFact
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import (
    BeaconSpec,
    Building,
    Checkpoint,
    CheckpointKind,
    Estate,
    Landlord,
    Registry,
    load_default_estate,
)
from ronde.store.records import BeaconCheck, StoredVisit, Verification, WriteBatch
from ronde.store.sqlite import SqliteStore

ORIGINS = ("locataire", "locataire", "locataire", "bailleur", "commanditaire", "partenaire", "spontanee")
TYPES = ("voisinage", "occupation_hall", "incivilites", "tension_conflit", "degradation", "information")
RESPONSES = ("ecoute_mediation", "information", "accompagnement", "orientation", "signalement")
PARTNERS = ("Centre social Youri Gagarine", "CCAS de Champigny", "Point d'accès au droit", "Mission locale")
CATEGORIES = ("eclairage", "proprete", "ascenseur", "porte_acces", "tags", "degradation", "fuite")


def month_visits(reg: Registry, cal: ServiceCalendar, month: date, rng: random.Random) -> list[StoredVisit]:
    first, last = month_bounds(month)
    out: list[StoredVisit] = []
    seq = 0
    for d in cal.service_days(first, last):
        start, _ = cal.window(d)
        for cp in reg.checkpoints.values():
            if rng.random() < 0.08:  # an evening this place was missed
                continue
            for k in range(max(1, cp.expected_visits)):
                t = start + timedelta(minutes=rng.randint(5, 360))
                seq += 1
                eid = f"{cp.id}-{d}-{k}"
                out.append(
                    StoredVisit(
                        event_id=eid,
                        gateway_id=f"gw-{cp.estate}",
                        seq=seq,
                        badge=f"team-{k % 2}",
                        checkpoint_id=cp.id,
                        kind=str(cp.kind),
                        building=cp.building,
                        estate=cp.estate,
                        landlord=cp.landlord,
                        service_day=d,
                        first_seen=t,
                        last_seen=t + timedelta(seconds=rng.randint(60, 600)),
                        count=5,
                        rssi_max=-60,
                        rssi_mean=-70.0,
                        verification=Verification.SIGNED,
                        beacon_check=BeaconCheck.STATIC,
                        received_at=t,
                        payload_sha256=f"{seq:064x}",
                    )
                )
    return out


def field_facts(reg: Registry, month: date, rng: random.Random, per_checkpoint: float) -> ListedFieldFacts:
    first, last = month_bounds(month)
    cps = list(reg.checkpoints.values())
    days = (last - first).days + 1
    n = int(len(cps) * per_checkpoint)

    def at() -> datetime:
        d = first + timedelta(days=rng.randrange(days))
        return datetime.combine(d, dtime(16), tzinfo=UTC) + timedelta(minutes=rng.randint(0, 360))

    sol, tech, req = [], [], []
    for i in range(n):
        cp = rng.choice(cps)
        response = rng.choice(RESPONSES)
        partner = rng.choice(PARTNERS) if response == "orientation" else None
        sol.append(
            SollicitationFact(
                f"s{i}",
                at(),
                cp.landlord,
                cp.estate,
                cp.building,
                rng.choice(ORIGINS),
                rng.choice(TYPES),
                response,
                partner,
                "close",
            )
        )
    for i in range(n // 3):
        cp = rng.choice(cps)
        created = at()
        ack = created + timedelta(hours=rng.uniform(0.5, 48)) if rng.random() < 0.9 else None
        done = ack + timedelta(hours=rng.uniform(2, 200)) if ack and rng.random() < 0.6 else None
        tech.append(
            TechnicalFact(
                f"t{i}",
                created,
                cp.landlord,
                cp.estate,
                cp.building,
                cp.name,
                rng.choice(CATEGORIES),
                "urgent" if rng.random() < 0.1 else "normal",
                "resolu" if done else ("pris_en_compte" if ack else "nouveau"),
                ack,
                done,
            )
        )
    for i in range(n // 8):
        cp = rng.choice(cps)
        created = at()
        assigned = created + timedelta(minutes=rng.randint(5, 90))
        answered = assigned + timedelta(minutes=rng.randint(10, 240)) if rng.random() < 0.85 else None
        req.append(
            RequestFact(
                f"r{i}",
                created,
                cp.landlord,
                cp.estate,
                cp.building,
                cp.name,
                rng.random() < 0.7,
                "traitee" if answered else "assignee",
                assigned,
                answered,
            )
        )
    return ListedFieldFacts(tuple(sol), tuple(tech), tuple(req))


def city(n: int) -> Registry:
    """N checkpoints over 50 estates, 10 buildings each, five landlords (the first holds a fifth of them)."""
    landlords = {f"l{i}": Landlord(f"l{i}", f"Bailleur {i}", 1000) for i in range(5)}
    estates = {f"e{i}": Estate(f"e{i}", f"Quartier {i}", "Ville") for i in range(50)}
    buildings = {
        f"e{i}-b{j}": Building(f"e{i}-b{j}", f"{j} rue {i}", f"e{i}", f"l{(i * 10 + j) % 5}", 100)
        for i in range(50)
        for j in range(10)
    }
    kinds = list(CheckpointKind)
    cps = {}
    for k in range(n):
        b = list(buildings.values())[k % len(buildings)]
        cid = f"cp{k:05d}"
        cps[cid] = Checkpoint(
            cid,
            f"Point {k}",
            kinds[k % len(kinds)],
            b.estate,
            b.landlord,
            b.id,
            48.8,
            2.5,
            0,
            1 + k % 2,
            5.0,
            BeaconSpec("ibeacon", f"ibeacon:bench:{cid}", -59, 1000),
        )
    return Registry(
        "bench-1",
        landlords,
        estates,
        buildings,
        cps,
        by_beacon_key={c.beacon.key: c.id for c in cps.values() if c.beacon.key},
    )


def measure(label: str, reg: Registry, month: date, runs: int, workdir: Path, per_cp: float, out: Path | None) -> None:
    rng = random.Random(15)
    cal = ServiceCalendar(closed=frozenset({month.replace(day=14)}))
    prev = month_bounds(month)[0] - timedelta(days=1)
    t0 = time.perf_counter()
    visits = month_visits(reg, cal, prev, rng) + month_visits(reg, cal, month, rng)
    store = SqliteStore(workdir / f"{label}.db")
    store.open()
    store.write(WriteBatch(visits=tuple(visits)))
    facts = field_facts(reg, month, rng, per_cp)
    took = time.perf_counter() - t0
    print(f"{label}: {len(reg.checkpoints)} checkpoints, {len(visits)} visits over two months written in {took:.1f} s")
    landlord = Counter(c.landlord for c in reg.checkpoints.values()).most_common(1)[0][0]
    now = datetime.combine(month_bounds(month)[1] + timedelta(days=1), dtime(2), tzinfo=UTC)
    key = load_signing_key()
    build_s, render_s = [], []
    bilan: Bilan | None = None
    for _ in range(runs):
        t = time.perf_counter()
        bilan = build_bilan(store, reg, cal, landlord, month, field=facts, now=now)
        build_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        files = render_bilan_files(bilan, Lang.FR, key)
        render_s.append(time.perf_counter() - t)
    store.close()
    assert bilan is not None
    cps = sum(1 for c in reg.checkpoints.values() if c.landlord == landlord)
    pdf_kib = next(len(data) for name, data in files.items() if name.endswith(".pdf")) // 1024
    b, r = statistics.median(build_s), statistics.median(render_s)
    print(
        f"{label}: landlord {landlord} ({cps} checkpoints, {bilan.current.passes} passes, "
        f"{bilan.current.sollicitations} sollicitations, {bilan.current.technical} reports): build {b:.2f} s + "
        f"files {r:.2f} s = {b + r:.2f} s (median of {runs}); PDF {pdf_kib} KiB"
    )
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (out / name).write_bytes(data)
        print(f"{label}: files in {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--city", type=int, default=0, help="also an estate of N checkpoints")
    parser.add_argument("--scale", choices=("sample", "city"), default="sample", help="city: also the city preset")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    month = date.fromisoformat(args.month + "-01")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("RONDE_AUDIT_KEY", str(Path(tmp) / "audit-key.pem"))
        measure("sample", load_default_estate(), month, args.runs, Path(tmp), 3.0, args.out)
        if args.city:
            measure(f"city-{args.city}", city(args.city), month, args.runs, Path(tmp), 0.5, None)
        if args.scale == "city":
            from city import SCALES, preset_registry

            measure("city-preset", preset_registry(SCALES["city"]), month, args.runs, Path(tmp), 0.5, None)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
