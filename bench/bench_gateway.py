"""Gateway hot path benchmark: decode + smoothing + detection over >= 1,000,000 advertisements.

Run: ``.venv/bin/python bench/bench_gateway.py [--adverts N] [--beacons N] [--seed N]``

A deterministic stream from 300 beacons (iBeacon, AltBeacon, Eddystone-UID with interleaved TLM,
Eddystone-EID), each advertising about once a second, heard by a scanner walking a loop past them:
RSSI from a log-distance model with shadowing noise and packet loss. Advertisements are built in
chunks (fresh dicts and bytes objects, as bleak delivers them) outside the timed section; the timed
section is ``ScanPipeline.feed`` plus one ``tick`` per simulated second, measured in CPU time of
this single-threaded process (and by wall clock). Prints advertisements/s on one core, peak RSS, and
the speed ratio against TheengsDecoder on the same iBeacon frames.

Targets (issue 3): >= 100,000 advertisements/s per core, peak RSS < 60 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import platform
import random
import resource
import sys
import time
from dataclasses import dataclass
from typing import Any

from ronde.gateway.detection import DetectedVisit, DetectionConfig
from ronde.gateway.frames import decode_manufacturer
from ronde.gateway.pipeline import ScanPipeline, TelemetryReading
from ronde.protocol.radio import APPLE_COMPANY_ID, EDDYSTONE_SERVICE_UUID, Advertisement

T0 = 1_774_800_000.0
CHUNK = 5_000
DBUS_BURST = 64  # advertisements bleak's callback gets per D-Bus read before the loop runs anything else
LOOP_M = 1500.0  # the scanner walks a 1.5 km loop at 1.2 m/s past all beacons
WALK_MPS = 1.2


@dataclass(slots=True)
class SimBeacon:
    address: str
    company_id: int | None  # manufacturer data, or None for Eddystone service data
    frames: tuple[bytes, ...]  # rotated through (Eddystone: identity frames with a TLM every 10th)
    power_1m: int
    position_m: float
    interval_s: float
    next_t: float
    sent: int = 0


def make_beacons(n: int, rng: random.Random) -> list[SimBeacon]:
    beacons: list[SimBeacon] = []
    for i in range(n):
        pos = LOOP_M * i / n
        interval = rng.choice((0.5, 1.0, 1.0, 1.0, 2.0))
        start = rng.uniform(0, interval)
        addr = f"c0:de:{i >> 8:02x}:{i & 0xFF:02x}:00:01"
        kind = i % 10
        if kind < 6:  # iBeacon
            payload = (
                bytes.fromhex("0215")
                + rng.randbytes(16)
                + i.to_bytes(2, "big")
                + (7).to_bytes(2, "big")
                + bytes([0xC5])
            )
            beacons.append(SimBeacon(addr, APPLE_COMPANY_ID, (payload,), -59, pos, interval, start))
        elif kind == 6:  # AltBeacon
            payload = bytes.fromhex("beac") + rng.randbytes(20) + bytes([0xC5, 0x00])
            beacons.append(SimBeacon(addr, 0x0118, (payload,), -59, pos, interval, start))
        elif kind in (7, 8):  # Eddystone-UID, TLM every 10th frame
            uid = bytes([0x00, 0xEE]) + rng.randbytes(16) + bytes(2)
            tlm = bytes([0x20, 0x00, 0x0B, 0xB8, 0x15, 0x80]) + (1234).to_bytes(4, "big") + (99).to_bytes(4, "big")
            beacons.append(SimBeacon(addr, None, (uid,) * 9 + (tlm,), -59, pos, interval, start))
        else:  # Eddystone-EID (a fixed EID: rotation is every 1024 s, irrelevant for throughput)
            eid = bytes([0x30, 0xEE]) + rng.randbytes(8)
            beacons.append(SimBeacon(addr, None, (eid,), -59, pos, interval, start))
    return beacons


class Stream:
    """Generates advertisements in time order, chunk by chunk."""

    def __init__(self, beacons: list[SimBeacon], rng: random.Random) -> None:
        self.beacons = beacons
        self.rng = rng
        self.t = 0.0

    def rssi(self, b: SimBeacon, t: float) -> int | None:
        scanner = (t * WALK_MPS) % LOOP_M
        dx = abs(scanner - b.position_m)
        dx = min(dx, LOOP_M - dx)
        d = math.hypot(dx, 2.0)
        value = b.power_1m - 25.0 * math.log10(d) + self.rng.gauss(0.0, 4.0)  # n = 2.5, 4 dB shadowing
        if self.rng.random() < 0.1:  # packet loss
            return None
        return max(-105, min(-30, round(value)))

    def chunk(self, size: int) -> list[Advertisement]:
        out: list[Advertisement] = []
        beacons = self.beacons
        while len(out) < size:
            self.t += 0.1
            horizon = self.t
            for b in beacons:
                while b.next_t <= horizon:
                    t = b.next_t
                    b.next_t += b.interval_s * (1.0 + self.rng.uniform(-0.05, 0.05))
                    frame = b.frames[b.sent % len(b.frames)]
                    b.sent += 1
                    rssi = self.rssi(b, t)
                    if rssi is None:
                        continue
                    data = memoryview(frame).tobytes()  # a fresh bytes object, as from D-Bus
                    if b.company_id is None:
                        adv = Advertisement(T0 + t, b.address, rssi, service_data={EDDYSTONE_SERVICE_UUID: data})
                    else:
                        adv = Advertisement(T0 + t, b.address, rssi, manufacturer_data={b.company_id: data})
                    out.append(adv)
        out.sort(key=lambda a: a.t)
        return out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def machine() -> str:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cpu = model or platform.processor()
    return f"{platform.machine()} {cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def bench_pipeline(n_adverts: int, n_beacons: int, seed: int) -> tuple[list[bytes], dict[str, float]]:
    rng = random.Random(seed)
    stream = Stream(make_beacons(n_beacons, rng), rng)
    pipe = ScanPipeline(DetectionConfig(), telemetry_period_s=600)
    visits = telemetry = 0
    fed = 0
    timed = cpu = 0.0
    next_tick = T0 + 1.0
    ibeacon_sample: list[bytes] = []
    wall0 = time.perf_counter()
    rss_before = peak_rss_mb()
    gc.collect()
    while fed < n_adverts:
        batch = stream.chunk(min(CHUNK, n_adverts - fed))
        if len(ibeacon_sample) < 2000:
            ibeacon_sample += [p for a in batch for c, p in a.manufacturer_data.items() if c == APPLE_COMPANY_ID][:200]
        feed, tick = pipe.feed, pipe.tick
        start, cpu_start = time.perf_counter(), time.process_time()
        for adv in batch:
            if adv.t >= next_tick:
                for _ in tick(adv.t):
                    visits += 1
                next_tick = adv.t + 1.0
            for item in feed(adv):
                if isinstance(item, DetectedVisit):
                    visits += 1
                elif isinstance(item, TelemetryReading):
                    telemetry += 1
        timed += time.perf_counter() - start
        cpu += time.process_time() - cpu_start
        fed += len(batch)
    visits += len(pipe.close_all(stream.t + T0))
    wall = time.perf_counter() - wall0
    return ibeacon_sample[:2000], {
        "adverts": fed,
        "timed_s": timed,
        "cpu_s": cpu,
        "wall_s": wall,
        "visits": visits,
        "telemetry": telemetry,
        "sim_s": stream.t,
        "rss_before_mb": rss_before,
        "frames": pipe.frames_decoded,
    }


class _SimClock:
    """The radio's clock: the time of the advertisement being delivered."""

    t = T0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)


def bench_real_path(n_adverts: int, n_beacons: int, seed: int, *, batches: bool = True) -> dict[str, float]:
    """bleak's callback → ``BleakSource`` → ``ScanPipeline``, as ``GatewayApp._scan_loop`` runs it.

    A scanner stand-in (the ``ScannerLike`` BleakSource drives) calls the detection callback with bleak's own
    ``BLEDevice`` and ``AdvertisementData``, made fresh per advertisement as bleak's BlueZ backend makes them (built
    outside the timed CPU), a D-Bus read's worth at a time (``DBUS_BURST``), then yields to the loop as dbus-fast
    does between reads. Timed: the callback, ``to_advertisement``, the hand-off to the consumer, the pipeline and one
    ``tick`` per simulated second; in CPU time of this one thread."""
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData

    from ronde.gateway.scanner import BleakSource

    rng = random.Random(seed)
    stream = Stream(make_beacons(n_beacons, rng), rng)
    clock = _SimClock()
    pipe = ScanPipeline(DetectionConfig(), telemetry_period_s=600)
    excluded = [0.0]
    done = asyncio.Event()

    class Radio:
        def __init__(self, callback: Any, active: bool, adapter: str | None) -> None:
            self.callback = callback
            self.task: asyncio.Task[None] | None = None

        async def start(self) -> None:
            self.task = asyncio.get_running_loop().create_task(self.run())

        async def run(self) -> None:
            fed = 0
            while fed < n_adverts:
                c0 = time.process_time()
                chunk = [
                    (
                        a.t,
                        BLEDevice(a.address, None, {}),
                        AdvertisementData(
                            local_name=None,
                            manufacturer_data=dict(a.manufacturer_data),
                            service_data=dict(a.service_data),
                            service_uuids=list(a.service_data),
                            tx_power=None,
                            rssi=a.rssi,
                            platform_data=(),
                        ),
                    )
                    for a in stream.chunk(min(CHUNK, n_adverts - fed))
                ]
                excluded[0] += time.process_time() - c0
                callback = self.callback
                fed += len(chunk)
                for k in range(0, len(chunk), DBUS_BURST):
                    for t, device, data in chunk[k : k + DBUS_BURST]:
                        clock.t = t
                        callback(device, data)
                    if fed >= n_adverts and k + DBUS_BURST >= len(chunk):
                        done.set()
                    await asyncio.sleep(0)

        async def stop(self) -> None:
            if self.task is not None:
                self.task.cancel()

    source = BleakSource(None, False, clock=clock, watchdog_s=60, queue_size=4096, scanner_factory=Radio)
    counts = {"adverts": 0, "visits": 0, "batches": 0}

    async def consume() -> None:
        next_tick = T0 + 1.0
        feed, tick = pipe.feed, pipe.tick
        it: Any = source.batches() if batches else _as_batches(source.stream())
        async for batch in it:
            counts["batches"] += 1
            for adv in batch:
                if adv.t >= next_tick:
                    counts["visits"] += len(tick(adv.t))
                    next_tick = adv.t + 1.0
                counts["visits"] += len(feed(adv))
            counts["adverts"] += len(batch)
            if done.is_set() and counts["adverts"] >= n_adverts - source.stats.dropped:
                break
        await it.aclose()

    gc.collect()
    cpu0 = time.process_time()
    asyncio.run(consume())
    cpu = time.process_time() - cpu0 - excluded[0]
    return {**counts, "cpu_s": cpu, "dropped": source.stats.dropped}


async def _as_batches(stream: Any) -> Any:
    async for adv in stream:
        yield [adv]


def bench_gateway_process(seconds: float) -> dict[str, float]:
    """The real ``ronde gateway run`` process, as systemd runs it (config file, device key, BlueZ on the system
    bus, SIGTERM): BlueZ emulated by bluezoo on a private bus, a virtual Eddystone beacon advertising, a real
    Mosquitto. Its peak RSS (VmHWM) is read from /proc on the process itself just before it is stopped."""
    import signal
    import subprocess
    import tempfile
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test support modules: bluezoo, Mosquitto
    from tests.gateway.bluez_support import (
        BEACON,
        SCANNER,
        VirtualBeacon,
        advertising,
        private_system_bus,
        run_bluezoo,
    )
    from tests.gateway.support import config_text, make_config
    from tests.support.services import run_mosquitto

    with (
        tempfile.TemporaryDirectory(prefix="ronde-bench-gw-") as tmpdir,
        private_system_bus() as bus,
        run_bluezoo(bus, [SCANNER, BEACON]),
        run_mosquitto() as broker,
    ):
        tmp = Path(tmpdir)
        make_config(tmp, broker.port, gateway_id="gw-bench-1")  # creates the device key
        cfg = tmp / "gateway.toml"
        cfg.write_text(
            config_text(tmp, broker.port, gateway_id="gw-bench-1", extra='[scanner]\nadapter = "hci0"\nactive = true\n')
        )
        until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        log = tmp / "gw.log"
        cmd = [sys.executable, "-m", "ronde.cli", "gateway", "run", "--config", str(cfg), "--override-until", until]
        proc = subprocess.Popen(
            [*cmd, "--override-reason", "benchmark"],
            env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": bus.address},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        samples = []

        async def run() -> None:
            async with advertising(VirtualBeacon(bus.address, "hci1", "e2c56db5dffb48d2b060", "d0f5a71096e0")):
                end = time.monotonic() + seconds
                while time.monotonic() < end and proc.poll() is None:
                    samples.append(_status_kb(proc.pid, "VmRSS:"))
                    await asyncio.sleep(0.5)

        try:
            asyncio.run(run())
            if proc.poll() is not None:
                raise RuntimeError("ronde gateway run stopped: " + log.read_text()[-1000:])
            peak = _status_kb(proc.pid, "VmHWM:")
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        text = log.read_text(errors="replace")
        return {
            "peak_rss_mb": peak / 1024,
            "last_rss_mb": samples[-1] / 1024 if samples else float("nan"),
            "exit_code": code,
            "scanning": float("SCANNING" in text),
        }


def _status_kb(pid: int, field: str) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field):
                return float(line.split()[1])
    return float("nan")


def bench_theengs(payloads: list[bytes]) -> dict[str, float] | None:
    try:
        import TheengsDecoder  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    inputs = [
        json.dumps(
            {
                "id": "c0:de:00:00:00:01",
                "rssi": -70,
                "manufacturerdata": APPLE_COMPANY_ID.to_bytes(2, "little").hex() + p.hex(),
            }
        )
        for p in payloads
    ]
    start = time.perf_counter()
    decoded = [TheengsDecoder.decodeBLE(s) for s in inputs]
    theengs_s = time.perf_counter() - start
    ok = sum(1 for d in decoded if d and json.loads(d).get("model_id") == "IBEACON")

    repeat = 50
    fresh = [[memoryview(p).tobytes() for p in payloads] for _ in range(repeat)]
    start = time.perf_counter()
    for batch in fresh:
        for p in batch:
            decode_manufacturer(APPLE_COMPANY_ID, p)
    ours_s = (time.perf_counter() - start) / repeat
    ours_ok = sum(1 for p in payloads if decode_manufacturer(APPLE_COMPANY_ID, p) is not None)
    return {
        "n": len(payloads),
        "theengs_us": theengs_s / len(payloads) * 1e6,
        "ours_us": ours_s / len(payloads) * 1e6,
        "theengs_ok": ok,
        "ours_ok": ours_ok,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--adverts", type=int, default=1_000_000)
    parser.add_argument("--beacons", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20260329)
    parser.add_argument("--real-adverts", type=int, default=300_000, help="advertisements through the real path")
    parser.add_argument("--process-seconds", type=float, default=20.0, help="the real process's run (0: skip it)")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    print(f"baseline peak RSS after imports: {peak_rss_mb():.1f} MB")
    sample, r = bench_pipeline(args.adverts, args.beacons, args.seed)
    rate = r["adverts"] / r["cpu_s"]
    print(
        f"stream: {r['adverts']:,} advertisements from {args.beacons} beacons, {r['sim_s'] / 3600:.2f} h simulated, "
        f"{r['frames']:,.0f} frames decoded"
    )
    print(
        f"pipeline (decode + smoothing + detection): {r['cpu_s']:.2f} s CPU -> {rate:,.0f} advertisements/s "
        "on one core (target >= 100,000)"
    )
    print(
        f"  same section by wall clock: {r['timed_s']:.2f} s -> {r['adverts'] / r['timed_s']:,.0f} advertisements/s "
        f"(lower when other processes share the core; load average {os.getloadavg()[0]:.1f})"
    )
    print(f"end to end incl. generating the stream: {r['adverts'] / r['wall_s']:,.0f} advertisements/s")
    print(f"visits: {r['visits']:,.0f}, telemetry relayed: {r['telemetry']:,.0f}")
    for batched in (True, False):
        real = bench_real_path(args.real_adverts, args.beacons, args.seed, batches=batched)
        how = "BleakSource.batches" if batched else "BleakSource.stream, one at a time"
        print(
            f"real path (bleak callback with BLEDevice/AdvertisementData -> {how} -> pipeline): "
            f"{real['adverts']:,.0f} advertisements in {real['batches']:,.0f} batches, {real['cpu_s']:.2f} s CPU -> "
            f"{real['adverts'] / real['cpu_s']:,.0f} advertisements/s on one core "
            f"({real['cpu_s'] / real['adverts'] * 1e6:.2f} us each; dropped {real['dropped']:,.0f}; target >= 200,000)"
        )
    print(f"peak RSS: {peak_rss_mb():.1f} MB (target < 60 MB)")

    theengs = bench_theengs(sample)
    if theengs is None:
        print("TheengsDecoder not installed: no comparison")
    else:
        print(
            f"iBeacon decode, {theengs['n']:,.0f} frames from the stream: TheengsDecoder.decodeBLE "
            f"{theengs['theengs_us']:.1f} us/frame ({theengs['theengs_ok']:,.0f} decoded), Ronde decode_manufacturer "
            f"{theengs['ours_us']:.2f} us/frame ({theengs['ours_ok']:,.0f} decoded): "
            f"Ronde is {theengs['theengs_us'] / theengs['ours_us']:,.0f}x faster"
        )
        print(
            f"  (whole Ronde pipeline per advertisement: {1e6 / rate:.2f} us, "
            f"{theengs['theengs_us'] * rate / 1e6:,.0f}x faster than Theengs' decode alone)"
        )
    print(f"final peak RSS: {peak_rss_mb():.1f} MB")
    if args.process_seconds > 0:
        proc = bench_gateway_process(args.process_seconds)
        print(
            f"ronde gateway run (bluezoo BlueZ, a virtual beacon, Mosquitto; {args.process_seconds:g} s scanning): "
            f"peak RSS {proc['peak_rss_mb']:.1f} MB on the process itself (target <= 50 MB), exit code "
            f"{proc['exit_code']:.0f}, load average {os.getloadavg()[0]:.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
