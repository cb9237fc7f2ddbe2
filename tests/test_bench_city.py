"""The benchmarks' city preset (``bench/city.py``, issue 17 item 6) is what it says: 50 estates, 5,000 checkpoints,
the sample's six landlords, every beacon its own, a valid estate document; its evenings are the same whatever the
history length (a shorter history is the tail of a longer one); the rollups it writes are ``build_daily_rollups``'s.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType

from ronde.ingest.rollup import build_daily_rollups
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import load_default_estate


def _city() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "bench" / "city.py"
    spec = importlib.util.spec_from_file_location("bench_city_preset", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_city_registry_has_the_preset_shape() -> None:
    city = _city()
    reg = city.city_registry(50, 5000)
    assert (len(reg.estates), len(reg.checkpoints)) == (50, 5000)
    assert set(reg.landlords) == set(load_default_estate().landlords)
    assert {len([c for c in reg.checkpoints.values() if c.estate == e]) for e in reg.estates} == {100}
    keys = [c.beacon.key for c in reg.checkpoints.values() if c.beacon.key is not None]
    eid = [c.beacon.identity_key for c in reg.checkpoints.values() if c.beacon.format == "eddystone_eid"]
    assert len(keys) + len(eid) == 5000
    assert len(set(keys)) == len(keys)
    assert len(set(eid)) == len(eid)
    assert all(reg.checkpoint_for_beacon(k) is not None for k in keys)


def test_evenings_do_not_depend_on_the_history_length() -> None:
    city = _city()
    cal = ServiceCalendar()
    reg = load_default_estate()
    last = date(2026, 12, 4)
    long_days = list(cal.service_days(last - timedelta(days=729), last))
    short_days = [d for d in long_days if d > last - timedelta(days=365)]
    long_sim = city.Simulation(reg, cal, 2, long_days, 17)
    short_sim = city.Simulation(reg, cal, 2, short_days, 17)
    for day in short_days[::40]:
        assert long_sim.evening(day) == short_sim.evening(day)


def test_shared_rollups_are_build_daily_rollups() -> None:
    city = _city()
    cal = ServiceCalendar()
    reg = load_default_estate()
    day = date(2026, 12, 2)
    visits = city.Simulation(reg, cal, 2, [day], 17).evening(day)
    assert visits
    ds = city.Dataset(city.Params("sample", 1, 60, day), city.SCALES["sample"], reg, cal, Path("/nonexistent"), {})
    digests, plain = city._day_rows(ds, day, visits)
    prev = "00" * 32
    expected = build_daily_rollups(reg, cal, day, visits, prev)
    link = city.chain_link(prev, day, digests)
    assert [r.chain_digest for r in expected] == [link] * len(expected)
    assert [(r.checkpoint_id, r.visits, r.covered, r.max_idle_s) for r in plain] == [
        (r.checkpoint_id, r.visits, r.covered, r.max_idle_s) for r in expected
    ]


def test_a_second_process_waits_for_the_builder_of_the_same_set(tmp_path: Path) -> None:
    """``building`` holds a key's lock across the whole build: a benchmark asking for that set meanwhile waits
    (it used to find the set half-built and delete it under its builder), another key's does not."""
    import fcntl
    import threading

    city = _city()
    holder = (tmp_path / "city-key.lock").open("a")
    fcntl.flock(holder, fcntl.LOCK_EX)  # the builder (another open file: flock locks conflict as between processes)
    entered: list[str] = []

    def bench(key: str) -> None:
        with city.building(tmp_path, [key]):
            entered.append(key)

    same = threading.Thread(target=bench, args=("city-key",))
    other = threading.Thread(target=bench, args=("district-key",))
    same.start()
    other.start()
    other.join(timeout=10)
    same.join(timeout=0.5)
    assert entered == ["district-key"]
    assert same.is_alive()
    fcntl.flock(holder, fcntl.LOCK_UN)
    holder.close()
    same.join(timeout=10)
    assert entered == ["district-key", "city-key"]
