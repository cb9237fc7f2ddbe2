"""A signed visit that jumps the sequence to the protocol's largest number (2^53 - 1).

Ingest accepts it (it is signed and in the contract) and its gap detector records the hole
4..2^53-2 as one range. Supervision once counted what was still missing by enumerating that range:
``/api/v1/supervision/gaps`` and ``/ui/supervision`` spun a core for ever. Now a gap is a range end
to end, and one wider than ``sequence_anomaly_after`` is shown as a sequence anomaly. Real parts:
the ingest batch processor and gap detector, SQLite and Debian's influxd, the FastAPI app.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ronde.api.app import create_app
from ronde.api.auth import Principal, Role, TokenBook
from ronde.api.settings import ApiSettings
from ronde.ingest.gaps import record_gaps
from ronde.ingest.pipeline import BatchProcessor, Incoming
from ronde.store.influx import InfluxStore
from ronde.store.port import Store
from ronde.store.sqlite import SqliteStore
from tests.ingest.helpers import ALWAYS, GW, GW2, REGISTRY, context, encode, topic, visit
from tests.support.services import Influxd

MAX_SEQ = 2**53 - 1  # 9007199254740991: the protocol's largest sequence number
SUPERVISOR = {"Authorization": "Bearer tok-super"}
HANG_GUARD_S = 10.0  # the bug made these requests never return; 1 s failed a first request at load 2-11


@pytest.fixture(params=["sqlite", pytest.param("influx", marks=pytest.mark.influx)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s: Store
    if request.param == "sqlite":
        s = SqliteStore(tmp_path / "ronde.db")
    else:
        server: Influxd = request.getfixturevalue("influxd")
        s = InfluxStore(server.url, database=f"t_{uuid.uuid4().hex[:12]}", retry_budget_s=2.0)
    s.open()
    try:
        yield s
    finally:
        s.close()


def _ingest(store: Store, gateway: str, seqs: list[int], received_at: datetime) -> None:
    """Signed visits through ingest's own validation and batch building, then the durable write."""
    first = received_at - timedelta(minutes=1)
    messages = [
        Incoming(
            topic(gateway), encode(visit(s, gateway=gateway, first_seen=first + timedelta(seconds=s % 7))), received_at
        )
        for s in seqs
    ]
    out = BatchProcessor(context(), store).process(messages)
    assert out.batch.rejections == ()
    assert len(out.batch.visits) == len(seqs)
    store.write(out.batch)


def _timed_get(client: TestClient, path: str, **params: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    r = client.get(path, headers=SUPERVISOR, params=params)
    elapsed = time.perf_counter() - t0
    assert r.status_code == 200, r.text[:500]
    return elapsed, r


@pytest.mark.timeout(120)
def test_a_jump_to_the_largest_sequence_is_a_prompt_sequence_anomaly(store: Store) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    _ingest(store, GW, [1, 2, 3, MAX_SEQ], now - timedelta(minutes=30))
    _ingest(store, GW2, [1, 2, 5], now - timedelta(minutes=30))  # an ordinary loss beside it
    recorded = record_gaps(store, now, grace=timedelta(minutes=10))
    assert sorted((g.gateway_id, g.first_missing, g.last_missing) for g in recorded) == [
        (GW2, 3, 4),
        (GW, 4, MAX_SEQ - 1),
    ]

    tokens = TokenBook.from_tokens({"tok-super": Principal("chef-equipe", Role.SUPERVISOR)})
    app = create_app(ApiSettings(access_log=None), store, REGISTRY, ALWAYS, tokens=tokens, clock=lambda: now)
    with TestClient(app) as client:
        elapsed, r = _timed_get(client, "/api/v1/supervision/gaps")
        assert elapsed < HANG_GUARD_S, f"/api/v1/supervision/gaps took {elapsed:.2f} s"
        gaps = {g["gateway_id"]: g for g in r.json()}
        assert gaps[GW] == {
            "gateway_id": GW,
            "first_missing": 4,
            "last_missing": MAX_SEQ - 1,
            "detected_at": gaps[GW]["detected_at"],
            "still_missing": MAX_SEQ - 4,
            "filled": False,
            "anomaly": True,
        }
        assert (gaps[GW2]["still_missing"], gaps[GW2]["anomaly"]) == (2, False)

        for lang, anomaly, ordinary in (
            (
                "fr",
                "anomalie de séquence : saut de 9\u202f007\u202f199\u202f254\u202f740"
                "\u202f987 numéros, pas des messages perdus",
                "2 manquant(s)",
            ),
            ("en", "sequence anomaly: a jump of 9,007,199,254,740,987 numbers, not lost messages", "2 missing"),
        ):
            elapsed, r = _timed_get(client, "/ui/supervision", lang=lang)
            assert elapsed < HANG_GUARD_S, f"/ui/supervision?lang={lang} took {elapsed:.2f} s"
            page = r.text
            assert anomaly in page, page[page.find('id="gaps"') :][:600]
            assert ordinary in page, page[page.find('id="gaps"') :][:600]
            assert f"4–{MAX_SEQ - 1}" in page
            assert "manquant(s)" not in page.split(f"4–{MAX_SEQ - 1}")[1].split("</tr>")[0]

        # the outbox delivers a few of the "missing" numbers late: counted from the range, still prompt
        _ingest(store, GW, [4, 5, 6], now - timedelta(minutes=5))
        elapsed, r = _timed_get(client, "/api/v1/supervision/gaps")
        assert elapsed < HANG_GUARD_S
        assert {g["gateway_id"]: g["still_missing"] for g in r.json()}[GW] == MAX_SEQ - 4 - 3
