"""The duplicate look-up and the replay check's track read together (``Store.known_event_ids_and_track``): a batch's
outcome is the one the two reads give, each on its own (``known_event_ids``, then ``visit_track`` over the new EID
visits' own window), on both engines: the same visits kept, the same duplicates dropped, the same replays refused."""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ronde.gateway.ulid import encode_ulid
from ronde.ingest.pipeline import BatchOutcome, BatchProcessor, Validated
from ronde.ingest.replay import Track, WalkCheck
from ronde.ingest.validate import Accepted
from ronde.store.port import Store
from ronde.store.records import BeaconCheck, EventKey, Rejection, StoredVisit, TrackPoint, Verification, WriteBatch
from ronde.store.schema import to_ms
from tests.ingest.helpers import REGISTRY, context
from tests.support.stores import store_of_kind

CPS = sorted(REGISTRY.checkpoints)
T0 = datetime.fromtimestamp(to_ms(datetime.now(UTC) - timedelta(hours=6)) // 1000, UTC)


@pytest.fixture(params=["sqlite", pytest.param("influx", marks=pytest.mark.influx)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with store_of_kind(request, tmp_path) as s:
        yield s


class TwoReads:
    """``store`` with the look-up and the track read each on its own, as ingest read them before."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def known_event_ids_and_track(
        self, keys: Collection[EventKey], start: datetime, end: datetime, gateway_ids: Collection[str]
    ) -> tuple[set[str], list[TrackPoint]]:
        del start, end, gateway_ids  # the replay check reads its own window (SeparateTrack below)
        return self.store.known_event_ids(keys), []

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


class SeparateTrack(BatchProcessor):
    """The replay check reading ``visit_track`` over the new EID visits' own window and gateways."""

    def _flag_replays(self, visits: list[Accepted], read: list[TrackPoint]) -> tuple[list[Accepted], list[Rejection]]:
        assert read == []
        window = self._track_window([a for a in visits if a.eid is not None])
        own = self.store.visit_track(*window) if window is not None else []
        return super()._flag_replays(visits, own)


def walk(rng: random.Random, gateway: str, n: int, start: datetime, step_s: int) -> list[StoredVisit]:
    """A gateway's visits ``step_s`` apart at random checkpoints (so some steps are walks no team could make), a
    third of them EID, ids ULIDs of their close but every seventh."""
    out = []
    for k in range(n):
        first = start + timedelta(seconds=step_s * k + rng.randrange(0, 20), milliseconds=rng.randrange(1000))
        cp = REGISTRY.checkpoints[rng.choice(CPS)]
        ms = to_ms(first) + 30_000
        event_id = encode_ulid((ms << 80) | rng.getrandbits(80)) if k % 7 else f"not-a-ulid-{gateway}-{k}"
        out.append(
            StoredVisit(
                event_id=event_id,
                gateway_id=gateway,
                seq=k + 1,
                badge="EQUIPE-A1",
                checkpoint_id=cp.id,
                kind=cp.kind.value,
                building=cp.building,
                estate=cp.estate,
                landlord=cp.landlord,
                service_day=date(first.year, first.month, first.day),
                first_seen=first,
                last_seen=first + timedelta(seconds=rng.randrange(5, 90)),
                count=3,
                rssi_max=-60,
                rssi_mean=-70.0,
                verification=Verification.SIGNED,
                beacon_check=BeaconCheck.EID_RESOLVED if rng.random() < 0.35 else BeaconCheck.STATIC,
                received_at=first,
                payload_sha256=f"{k:064x}",
            )
        )
    return out


def validated(visits: list[StoredVisit]) -> Validated:
    out = Validated()
    for v in visits:
        eid = "0011223344556677" if v.beacon_check is BeaconCheck.EID_RESOLVED else None
        a = Accepted(v, f"ronde/v1/gw/{v.gateway_id}/visit", v.payload_sha256, eid)
        out.visits.append(a)
        out.origins[id(v)] = a
    return out


def test_a_batch_outcome_is_the_two_reads_outcome(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """And the walk check is given the same stored points (not only the same verdicts: the points the combined
    read adds beyond the new visits' window are further in time than any walk it judges)."""
    given: list[list[TrackPoint]] = []
    track = WalkCheck.track

    def spy(self: WalkCheck, visits: Iterable[StoredVisit], stored: Iterable[TrackPoint] = ()) -> Track:
        given.append(sorted(stored))
        return track(self, visits, stored)

    monkeypatch.setattr(WalkCheck, "track", spy)
    rng = random.Random(17)
    tracks = {g: walk(rng, g, 60, T0 + timedelta(minutes=3 * i), 110 + 40 * i) for i, g in enumerate("abcd")}
    stored = [v for g in "abc" for v in tracks[g][:35]]  # gateway d: nothing stored yet
    store.write(WriteBatch(visits=tuple(stored)))
    together = BatchProcessor(context(), store)
    separate = SeparateTrack(context(), TwoReads(store))  # type: ignore[arg-type]
    batches = [
        [v for g in "abcd" for v in tracks[g][30:45]],  # some already stored, some new, every gateway
        tracks["b"][10:50],  # stored ones long before the new: the combined read reaches further back
        [v for g in "ab" for v in tracks[g][35:60]] + tracks["a"][35:40],  # copies within the batch
        [v for v in tracks["c"][35:60] if v.beacon_check is BeaconCheck.STATIC],  # no EID visit: no track read
        [tracks["d"][0], tracks["a"][5]],  # an EID-less stored one beside a new gateway
        [v for v in tracks["b"][:35] if v.beacon_check is BeaconCheck.EID_RESOLVED],  # all stored: nothing to check
    ]
    refused = dropped = 0
    for batch in batches:
        given.clear()
        got: BatchOutcome = together.finish(validated(batch))
        points = list(given)
        given.clear()
        assert got == separate.finish(validated(batch))
        assert points == given
        refused += len(got.batch.rejections)
        dropped += got.duplicates
        store.write(got.batch)
    assert refused > 3
    assert dropped > 20
