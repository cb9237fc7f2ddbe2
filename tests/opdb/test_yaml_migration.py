"""Migration from today's YAML files (issue 13): the held evening of ``tests/e2e`` read through the API on the
operational database gives the same numbers as through the API on the files.

One scripted evening is played through real parts (gateway apps, Mosquitto, ingest, SQLite store), as
``tests/e2e/test_evening.py`` does. Then the site's files (the e2e estate, the scanners' gateways file, a badges
file, a tokens file) are migrated with ``ronde db upgrade`` and ``ronde registry import``, and an API built on
that database answers the registry and coverage routes exactly as the API on the files did, and as the route's
hand-written expectations say.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from ronde.api.app import create_app_on_database
from ronde.api.settings import ApiSettings
from ronde.cli import main
from ronde.firmware_sim.scenarios import scripted_scenario
from ronde.opdb.engine import make_engine
from ronde.opdb.sealing import SecretBox
from ronde.protocol.access import Principal, Role, token_entries
from ronde.protocol.gateways import dump_gateways
from ronde.store.config import open_store
from tests.e2e.harness import ADMIN, CAL, estate_for, play_evening, registry
from tests.e2e.test_evening import DAY, KEEP, _assert_coverage, route
from tests.opdb.conftest import SECRET_KEY
from tests.support.services import run_mosquitto

pytestmark = [pytest.mark.slow, pytest.mark.mosquitto]


def _normalised(body: Any) -> Any:
    """A list answer in a fixed order (the files keep their own order, the database orders rows by id), without
    ``current_idle_s``, which is measured up to the instant of each request (both APIs run on the wall clock)."""
    if isinstance(body, list):
        body = [{k: v for k, v in x.items() if k != "current_idle_s"} if isinstance(x, dict) else x for x in body]
        return sorted(body, key=lambda x: json.dumps(x, sort_keys=True))
    return body


def test_the_held_evening_reads_the_same_after_registry_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RONDE_OPDB_SECRET_KEY", SECRET_KEY)
    estate = estate_for(DAY, tmp_path)
    scenario = scripted_scenario(registry(estate), CAL, DAY, {"t1": route(DAY)}, seed=7)
    store = open_store(f"sqlite://{tmp_path / 'e2e.sqlite'}", retention=KEEP)
    try:
        with (
            run_mosquitto() as broker,
            play_evening(scenario, store, broker.port, tmp_path / "gw", estate=estate) as evening,
        ):
            # today's files of this site
            gateways = tmp_path / "gateways.yaml"
            gateways.write_text(dump_gateways(evening.scanners.gateway_registry()))
            badges = tmp_path / "badges.yaml"
            badges.write_text(
                yaml.safe_dump(
                    {
                        "format": "ronde-badges",
                        "version": 1,
                        "badges": [{"badge": t.badge, "team": f"Équipe {i + 1}"} for i, t in enumerate(scenario.teams)],
                    },
                    allow_unicode=True,
                )
            )
            tokens = tmp_path / "tokens.yaml"
            tokens.write_text(
                yaml.safe_dump(
                    {
                        "tokens": [
                            e.model_dump(mode="json", exclude_none=True)
                            for e in token_entries({ADMIN: Principal("e2e", Role.ADMIN)})
                        ]
                    }
                )
            )
            url = f"sqlite:///{tmp_path / 'opdb.db'}"
            assert main(["db", "upgrade", "--url", url]) == 0
            assert (
                main(
                    [
                        "registry",
                        "import",
                        "--url",
                        url,
                        "--estate",
                        str(estate),
                        "--gateways",
                        str(gateways),
                        "--badges",
                        str(badges),
                        "--tokens",
                        str(tokens),
                    ]
                )
                == 0
            )

            engine = make_engine(url)
            app = create_app_on_database(
                ApiSettings(), store, engine, box=SecretBox.from_env(), clock=lambda: datetime.now(UTC)
            )
            with TestClient(app) as on_db:
                header = {"Authorization": f"Bearer {ADMIN}"}
                day = {"day": str(DAY)}
                period = {"first": str(DAY), "last": str(DAY)}
                for path, params in (
                    ("/api/v1/landlords", {}),
                    ("/api/v1/estates", {}),
                    ("/api/v1/buildings", {}),
                    ("/api/v1/checkpoints", {}),
                    ("/api/v1/coverage/checkpoints", day),
                    ("/api/v1/coverage/landlords", period),
                    ("/api/v1/coverage/estates", period),
                    ("/api/v1/coverage/buildings", period),
                    ("/api/v1/coverage/fair-share", period),
                    ("/api/v1/coverage/idleness", period),
                    *((f"/api/v1/coverage/checkpoints/{c}", period) for c in scenario.registry.checkpoints),
                ):
                    was = evening.api.get(path, params=params, headers=header)
                    now = on_db.get(path, params=params, headers=header)
                    assert was.status_code == now.status_code == 200, (path, was.text, now.text)
                    assert _normalised(now.json()) == _normalised(was.json()), path
                # the numbers written by hand from the route hold on the database's API too
                _assert_coverage(dataclasses.replace(evening, api=on_db), DAY)
                # what the files held besides the estate: the scanners' keys and the teams' pseudonyms
                enrolled = {g["gateway_id"]: g for g in on_db.get("/api/v1/gateways", headers=header).json()}
                for team in scenario.teams:
                    assert enrolled[team.gateway_id]["enrolled"] is True
                    assert enrolled[team.gateway_id]["badges"] == [team.badge]
                assert {b["badge"] for b in on_db.get("/api/v1/badges", headers=header).json()} == {
                    t.badge for t in scenario.teams
                }
            engine.dispose()
    finally:
        store.close()
