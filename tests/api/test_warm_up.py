"""The API walks its routes once as it starts, so its first user request builds no route state.

FastAPI (0.165) builds a route's dependants, signatures and parameter models on the first request that reaches its
router: ~230 ms of CPU of the first landlord coverage request of ``ronde api serve`` went there (docs/performance.md).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ronde.api.app import WARM_UP_PATH
from tests.api.support import auth, make_app


def _signatures_read_by_first_requests(app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many signatures FastAPI reads (what building a route's state does) while serving two first requests."""
    calls: list[object] = []
    real: Callable[..., inspect.Signature] = inspect.signature

    def counted(obj: Callable[..., Any], *args: Any, **kwargs: Any) -> inspect.Signature:
        calls.append(obj)
        return real(obj, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(inspect, "signature", counted)
        r = client.get("/api/v1/coverage/landlords/paris-habitat", headers=auth("tok-ph"))
        assert r.status_code == 200, r.text
        assert client.get("/api/v1/me", headers=auth("tok-admin")).status_code == 200
    return len(calls)


def test_the_first_request_after_startup_builds_no_route_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, started in (("cold", False), ("started", True)):
        app, store, _ = make_app(tmp_path / name)
        try:
            client = TestClient(app)
            if started:  # the lifespan runs, as under uvicorn
                with client:
                    assert _signatures_read_by_first_requests(app, client, monkeypatch) == 0
                    assert client.get(WARM_UP_PATH).status_code == 404  # the warm-up path is no route
            else:  # the probe sees the lazy building when nothing warmed the routes
                assert _signatures_read_by_first_requests(app, client, monkeypatch) > 0
        finally:
            store.close()
            app.state.opdb_engine.dispose()
