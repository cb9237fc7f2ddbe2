"""The teams' simulated radio streams, computed in child processes before the evening is replayed.

One team's evening is some 16,000 advertisements drawn from 1.5 million beacon events: about 5 s of
CPU each. Computed in the demo's own process they held its event loop (and the GIL) while the evening
played, so the demo had to play it slowly, after printing its URL. Here each team's stream is computed
by a child process of its own (in parallel on a machine with several cores), handed back whole, and
the gateways then play it as fast as they can: the evening is stored before the URL is printed.

A child rebuilds the scenario from what names it (seed, estate file, day, number of teams): the same
stream as the parent's, byte for byte (``tests/demo/test_streams.py``). It runs in a session of its
own, so a Ctrl-C typed in the terminal reaches the demo only, which kills its children.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from types import MappingProxyType

from ronde.firmware_sim.scenarios import build_scenario
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import load_estate
from ronde.protocol.radio import Advertisement

# (t, address, rssi, manufacturer_data, service_data, tx_power, local_name): what pickle carries
Row = tuple[float, str, int, dict[int, bytes], dict[str, bytes], int | None, str | None]


def team_stream(seed: int, estate: Path, day: date, teams: int, index: int) -> list[Advertisement]:
    """The evening of the scenario's team ``index`` (from 0), computed here (what a child process runs)."""
    scenario = build_scenario("evening", seed, load_estate(estate), ServiceCalendar(), day=day, teams=teams)
    return list(scenario.advertisements(scenario.teams[index].team_id))


def to_rows(adverts: Sequence[Advertisement]) -> list[Row]:
    return [
        (a.t, a.address, a.rssi, dict(a.manufacturer_data), dict(a.service_data), a.tx_power, a.local_name)
        for a in adverts
    ]


def from_rows(rows: Sequence[Row]) -> list[Advertisement]:
    return [
        Advertisement(t, address, rssi, MappingProxyType(m), MappingProxyType(s), tx, name)
        for t, address, rssi, m, s, tx, name in rows
    ]


class StreamJobs:
    """One child process per team, started at once (``start`` needs no event loop: ``ronde demo`` calls it
    before it loads the server's modules); ``result`` waits for them, ``kill`` ends them (at any time)."""

    def __init__(self, procs: Sequence[subprocess.Popen[bytes]]) -> None:
        self.procs = tuple(procs)

    @classmethod
    def start(cls, seed: int, estate: Path, day: date, teams: int) -> StreamJobs:
        procs: list[subprocess.Popen[bytes]] = []
        try:
            with _ctrl_c_held():
                for index in range(teams):
                    args = ("-m", "ronde.demo.streams", str(seed), str(estate), day.isoformat(), str(teams), str(index))
                    procs.append(
                        subprocess.Popen(  # noqa: S603 - this interpreter, this module, our own arguments
                            [sys.executable, *args],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            start_new_session=True,  # out of the terminal's process group: Ctrl-C is the parent's
                        )
                    )
        except BaseException:
            cls(procs).kill()
            raise
        return cls(procs)

    async def result(self) -> list[list[Advertisement]]:
        """Each team's stream, in the scenario's team order."""
        outputs = await asyncio.gather(*(asyncio.to_thread(p.communicate) for p in self.procs))
        streams = []
        for index, (p, (out, err)) in enumerate(zip(self.procs, outputs, strict=True)):
            if p.returncode != 0:
                raise RuntimeError(f"the stream of team {index + 1} failed: {err.decode(errors='replace')[-2000:]}")
            streams.append(from_rows(pickle.loads(out)))  # noqa: S301 - our own child's output, on a pipe
        return streams

    def kill(self) -> None:
        """Ends every child still computing (their pipes close, so a thread in ``result`` returns at once)."""
        for p in self.procs:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    p.kill()
        for p in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(5)


@contextlib.contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """A Ctrl-C while the children are spawned takes effect once each is recorded: a KeyboardInterrupt raised
    inside ``subprocess.Popen`` (between its fork and its return) left a child computing that ``kill`` did not
    know of. The held signal is raised again on the way out, as a KeyboardInterrupt. Only that handler raises
    (the event loop's records the signal for later), and only the main thread has signal handlers."""
    in_main = threading.current_thread() is threading.main_thread()
    if not in_main or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    held: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, _frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if held:
            signal.raise_signal(signal.SIGINT)


async def compute_streams(seed: int, estate: Path, day: date, teams: int) -> list[list[Advertisement]]:
    """Every team's stream, one child process each; cancelled (Ctrl-C), the children are killed at once."""
    jobs = StreamJobs.start(seed, estate, day, teams)
    try:
        return await jobs.result()
    finally:
        jobs.kill()


def _main(argv: Sequence[str]) -> None:
    seed, estate, day, teams, index = argv
    adverts = team_stream(int(seed), Path(estate), date.fromisoformat(day), int(teams), int(index))
    sys.stdout.buffer.write(pickle.dumps(to_rows(adverts), protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    _main(sys.argv[1:])
