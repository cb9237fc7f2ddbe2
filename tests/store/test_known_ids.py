"""The duplicate look-up over a batch of sparse visits spread over hours (issue 17): InfluxStore groups a
gateway's key times into statements with a wide gap (``KNOWN_IDS_GAP_MS``, half an hour), so one statement
spans many visits and whatever lies between them; the answer must stay exactly the stored ids of the keys, on
both engines (SQLite looks the ids up by primary key), at cluster edges and for copies re-sent hours later.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from ronde.gateway.ulid import encode_ulid
from ronde.store import influx
from ronde.store.port import Store
from ronde.store.records import StoredVisit, WriteBatch
from ronde.store.schema import to_ms, ulid_ms
from tests.store import factories as f
from tests.store.factories import BASE
from tests.support.stores import store_of_kind

GAP = timedelta(milliseconds=influx.KNOWN_IDS_GAP_MS)


@pytest.fixture(params=["sqlite", pytest.param("influx", marks=pytest.mark.influx)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with store_of_kind(request, tmp_path) as s:
        yield s


def sparse_visits() -> list[StoredVisit]:
    """Three gateways over eight hours: a visit every 7 minutes for six hours (a slow team, or one worker's
    share of a shared subscription), one three hours earlier on its own, and pairs exactly one gap and one gap
    plus a millisecond apart (the edge of a statement). Ids are time-ordered ULIDs (their visit closes 40 s
    after first_seen), except every fifth and the lone one, which are not ULIDs and are found by first_seen only."""
    out: list[StoredVisit] = []
    start = BASE - timedelta(hours=6)
    for g, gw in enumerate(("gw-1", "gw-2", "gw-3")):
        times = [start + timedelta(minutes=7 * k, seconds=11 * g) for k in range(52)]
        times.append(start - timedelta(hours=3))
        edge = BASE + timedelta(minutes=30)
        times += [edge, edge + GAP, edge + 2 * GAP + timedelta(milliseconds=1)]
        for k, t in enumerate(times):
            n = len(out)
            not_ulid = n % 5 == 0 or k == 52  # the lone visit: its statement's one time, its first_seen
            eid = f.ulid(1000 + n) if not_ulid else encode_ulid(((to_ms(t) + 40_000) << 80) | n)
            out.append(replace(f.visit(n), event_id=eid, gateway_id=gw, seq=k + 1, first_seen=t))
    return out


def test_sparse_batch_over_hours_finds_every_duplicate_and_no_false_one(store: Store) -> None:
    visits = sparse_visits()
    stored = visits[::2]
    store.write(WriteBatch(visits=tuple(stored)))
    fresh = visits[1::2]
    # other ids at exactly a stored visit's time and gateway: read by the same statement, never reported
    neighbours = [replace(v, event_id=encode_ulid(((to_ms(v.first_seen) + 40_000) << 80) | 0xFFFF)) for v in stored]
    # stored events re-sent with a first_seen hours later (a ULID id is found at its own time)
    ulids = [v for v in stored if (ulid_ms(v.event_id) or 0) > to_ms(BASE - timedelta(days=1))]
    resent = [replace(v, first_seen=v.first_seen + timedelta(hours=5)) for v in ulids]
    assert resent
    keys = [v.key for v in (*visits, *neighbours, *resent)]
    assert store.known_event_ids([v.key for v in visits]) == {v.event_id for v in stored}
    assert store.known_event_ids(keys) == {v.event_id for v in stored}
    assert store.known_event_ids([v.key for v in resent]) == {v.event_id for v in resent}
    assert store.known_event_ids([v.key for v in fresh]) == set()
    assert store.known_event_ids([v.key for v in neighbours]) == set()

    # the write's own look-up: every id stored once (a missed id of the same first_seen would only overwrite its
    # point on InfluxDB, so the look-ups above, each on its own, are what catch a missed range)
    store.write(WriteBatch(visits=(*visits, *resent)))
    window = (BASE - timedelta(hours=10), BASE + timedelta(days=1))
    back = store.visits(*window)
    assert sorted(v.event_id for v in back) == sorted(v.event_id for v in visits)
    assert store.known_event_ids(keys) == {v.event_id for v in visits}


def test_ids_and_track_read_together_equal_the_two_reads(store: Store) -> None:
    """Ingest reads a batch's known ids and its EID visits' track together (``known_event_ids_and_track``; on
    InfluxDB one statement per gateway serves both): each answer equals its own read, for tracks that cover the
    keys' clusters, lie within them, reach past them or beside them, name gateways without keys, none, or ones
    the keys do not have, over the sparse batch's stored and fresh ids, ULIDs or not, with sub-millisecond
    bounds."""
    visits = sparse_visits()
    stored = visits[::2]
    store.write(WriteBatch(visits=tuple(stored)))
    ulids = [v for v in stored if (ulid_ms(v.event_id) or 0) > to_ms(BASE - timedelta(days=1))]
    resent = [replace(v, first_seen=v.first_seen + timedelta(hours=5)) for v in ulids[:7]]
    # not ULIDs, re-sent hours later: stored where only a track reaching back there reads them, never known
    moved = [replace(v, first_seen=v.first_seen + timedelta(hours=5)) for v in stored if v not in ulids]
    assert moved
    batches = {
        "all": [v.key for v in visits],
        "fresh": [v.key for v in visits[1::2]],
        "one gateway, a few": [v.key for v in visits if v.gateway_id == "gw-2"][10:14],
        "resent": [v.key for v in resent],
        "moved": [v.key for v in moved],
        "none": [],
    }
    start = BASE - timedelta(hours=6)
    tracks = [
        (start - timedelta(hours=4), BASE + timedelta(hours=2)),  # everything
        (start + timedelta(minutes=40), start + timedelta(minutes=95, microseconds=500)),  # inside the clusters
        (BASE + timedelta(minutes=20), BASE + timedelta(hours=3, milliseconds=1)),  # across the edge pairs
        (start - timedelta(hours=3, minutes=1), start - timedelta(hours=2, minutes=59)),  # the lone visits only
        (BASE + timedelta(days=1), BASE + timedelta(days=1, hours=1)),  # beside every cluster, nothing there
        (BASE, BASE),  # empty
        (stored[3].first_seen, stored[9].first_seen),  # a visit's first_seen at each bound: the first one in
        (stored[3].first_seen + timedelta(microseconds=1), stored[9].first_seen - timedelta(microseconds=1)),
    ]
    gateway_sets = [["gw-1", "gw-2", "gw-3"], ["gw-3"], ["gw-2", "gw-9"], []]
    checked = 0
    for name, keys in batches.items():
        for lo, hi in tracks:
            for gateways in gateway_sets:
                known, track = store.known_event_ids_and_track(keys, lo, hi, gateways)
                assert known == store.known_event_ids(keys), (name, lo, hi, gateways)
                assert sorted(track) == sorted(store.visit_track(lo, hi, gateways)), (name, lo, hi, gateways)
                checked += bool(known) and bool(track)
    assert checked > 10
