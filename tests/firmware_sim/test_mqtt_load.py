"""Virtual gateways load a real mosquitto with signed visits the ingest's registry can verify."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ronde.firmware_sim.cli import register  # noqa: F401  (the CLI entry exists)
from ronde.firmware_sim.drivers.mqtt_load import KEYS_FILE, run_load
from ronde.protocol.gateways import load_gateways
from ronde.protocol.messages import VisitEvent
from ronde.protocol.signing import verify
from ronde.protocol.topics import parse_topic
from tests.firmware_sim.support import registry
from tests.gateway.support import Collector
from tests.support.services import Mosquitto

pytestmark = [pytest.mark.mosquitto]


def _load_visits(collector: Collector) -> list[dict[str, object]]:
    return [v for v in collector.of_kind("visit") if str(v.get("gateway_id", "")).startswith("load-gw-")]


def test_load_publishes_signed_visits_and_keys_the_server_can_load(tmp_path: Path, mosquitto: Mosquitto) -> None:
    collector = Collector(mosquitto.port, client_id="sim-load-collector")
    try:
        stats = run_load(
            registry(),
            gateways=4,
            rate=40,
            duration_s=1.5,
            host="127.0.0.1",
            port=mosquitto.port,
            keys_dir=tmp_path / "keys",
            seed=1,
        )
        assert stats.published == 60
        assert stats.acked == 60
        assert stats.failed == 0
        assert stats.summary()["puback_ms"]["p50"] is not None
        collector.wait(lambda: len(_load_visits(collector)) >= 60, 15)
        again = run_load(
            registry(),
            gateways=4,
            rate=40,
            duration_s=0.5,
            host="127.0.0.1",
            port=mosquitto.port,
            keys_dir=tmp_path / "keys",
            seed=2,
        )
        assert again.acked == 20
        collector.wait(lambda: len(_load_visits(collector)) >= 80, 15)
    finally:
        collector.close()
    gateways = load_gateways(tmp_path / "keys" / KEYS_FILE)
    assert len(gateways.entries) == 4
    seqs: dict[str, list[int]] = {}
    with collector._lock:
        messages = list(collector.messages)
    for topic, payload in messages:
        parsed = parse_topic(topic)
        assert parsed is not None
        if parsed.gateway_id not in gateways.entries:
            continue  # retained status of another test's gateway on the shared broker
        assert parsed.kind.value == "visit"
        obj = json.loads(payload)
        event = VisitEvent.model_validate(obj)
        assert event.gateway_id == parsed.gateway_id
        entry = gateways.entries[event.gateway_id]
        assert entry.public_key is not None
        assert verify(obj, entry.public_key)
        assert entry.badges is not None
        assert event.badge in entry.badges
        assert event.count >= 1
        assert event.first_seen < event.last_seen
        seqs.setdefault(event.gateway_id, []).append(event.seq)
    for gid, got in seqs.items():
        assert sorted(got) == list(range(1, len(got) + 1)), f"{gid}: sequence continues across runs, no gaps"


def test_load_refuses_nonsense(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        run_load(registry(), gateways=0, rate=1, duration_s=1, host="127.0.0.1", port=1, keys_dir=tmp_path)
