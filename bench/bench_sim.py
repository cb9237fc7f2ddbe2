"""Simulator and gateway pipeline speed, in simulated seconds per wall second.

    .venv/bin/python bench/bench_sim.py [--seed N]

* generation: how fast the simulator produces one team's advertisement stream (evening, crowd);
* pipeline: how fast the gateway's ScanPipeline (decode + detection) consumes that stream, materialised
  first so that only the gateway is timed. "Keeps up in real time" means pipeline speed > 1x; the
  figure also says how many adverts per second it sustains.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from ronde.firmware_sim.scenarios import build_scenario
from ronde.gateway.pipeline import ScanPipeline
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import load_default_estate


def bench(name: str, seed: int) -> None:
    registry = load_default_estate()
    sc = build_scenario(name, seed, registry, ServiceCalendar(), teams=1)
    span = sum(e.end - e.start for e in sc.evenings["t1"])
    t0 = time.perf_counter()
    ads = list(sc.advertisements("t1"))
    gen = time.perf_counter() - t0
    pipeline = ScanPipeline()
    tracemalloc.start()
    t0 = time.perf_counter()
    next_tick = 0.0
    visits = 0
    for adv in ads:
        if adv.t >= next_tick:
            visits += len(pipeline.tick(adv.t))
            next_tick = adv.t + 1.0
        visits += sum(1 for x in pipeline.feed(adv) if hasattr(x, "key"))
    visits += len(pipeline.close_all(ads[-1].t + 60))
    run = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"{name:8} seed {seed}: {span / 3600:.2f} h simulated, {len(ads):,} adverts ({len(ads) / span:.0f}/s simulated)"
    )
    print(f"  generation: {gen:.1f} s wall = {span / gen:,.0f}x real time ({len(ads) / gen:,.0f} adverts/s)")
    print(
        f"  pipeline:   {run:.2f} s wall = {span / run:,.0f}x real time ({len(ads) / run:,.0f} adverts/s), "
        f"{visits} visits, peak {peak / 1e6:.1f} MB traced"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--scenarios", nargs="*", default=["evening", "crowd"])
    args = parser.parse_args()
    for name in args.scenarios:
        bench(name, args.seed)


if __name__ == "__main__":
    main()
