"""``EidTable`` against a dict of lists: the same answers after any mix of additions and removals, collisions and
growth included, with the table's probe sequences kept intact by the backward shift of removals."""

from __future__ import annotations

import random

from ronde.ingest.eid_table import EidTable


def _model_get(model: dict[bytes, list[int]], eid: bytes) -> list[int]:
    return sorted(model.get(eid, []))


def test_random_additions_and_removals_answer_as_a_dict_of_lists() -> None:
    rng = random.Random(17)
    pool = [rng.randbytes(8) for _ in range(3000)]  # few enough that the same EID comes back with other values
    table, model = EidTable(), dict[bytes, list[int]]()
    live: list[tuple[bytes, int]] = []
    for step in range(40_000):
        if live and rng.random() < 0.45:
            eid, value = live.pop(rng.randrange(len(live)))
            assert table.remove(eid, value)
            model[eid].remove(value)
        else:
            eid, value = rng.choice(pool), rng.randrange(1 << 48)
            table.add(eid, value)
            model.setdefault(eid, []).append(value)
            live.append((eid, value))
        if step % 997 == 0:
            assert all(sorted(table.get(e)) == _model_get(model, e) for e in pool)
    assert len(table) == len(live)
    assert all(sorted(table.get(e)) == _model_get(model, e) for e in pool)
    assert sorted(table.items()) == sorted((e, v) for e, vs in model.items() for v in vs)
    assert table.get(rng.randbytes(8)) == []
    assert not table.remove(pool[0], 1 << 60), "an entry never added"


def test_growth_and_reserve_keep_every_entry_and_the_load_below_the_bound() -> None:
    eids = [i.to_bytes(8, "big") for i in range(5000)]  # consecutive keys: the hash must still spread them
    table = EidTable()
    for i, eid in enumerate(eids):
        table.add(eid, i)
    assert len(table) == 5000
    assert table.capacity == 8192
    assert all(table.get(eid) == [i] for i, eid in enumerate(eids))
    reserved = EidTable()
    reserved.reserve(600_000)
    assert reserved.capacity == 1 << 20, "a city's 600,000 EIDs in 2**20 slots: 16 MB"
    for i, eid in enumerate(eids):
        reserved.add(eid, i)
    assert reserved.capacity == 1 << 20
    for i, eid in enumerate(eids[::2]):
        assert reserved.remove(eid, 2 * i)
    assert all(reserved.get(eid) == ([] if i % 2 == 0 else [i]) for i, eid in enumerate(eids))


def test_a_value_of_zero_and_an_eid_of_zeros_are_entries_like_any_other() -> None:
    table = EidTable()
    table.add(bytes(8), 0)
    table.add(bytes(8), 5)
    assert sorted(table.get(bytes(8))) == [0, 5]
    assert table.remove(bytes(8), 0)
    assert table.get(bytes(8)) == [5]
