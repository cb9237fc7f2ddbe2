"""Schemathesis (v4) fuzzing of the whole OpenAPI schema against the in-process ASGI app: no 500, ever.

Every operation is called with generated parameters and bodies, as admin (who reaches the
deepest code paths) and as a landlord (the scope checks), on a SQLite store holding visits,
rejections, gaps, telemetry and gateway states; every answer must also match the documented
status codes, content types and response schemas.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.support import auth, make_app

_TMP = Path(tempfile.mkdtemp(prefix="ronde-fuzz-"))
_APP, _STORE, _ = make_app(_TMP)
atexit.register(shutil.rmtree, _TMP, True)
atexit.register(_STORE.close)

# entered once: one event loop thread for every request (a TestClient not entered starts one per request)
_CLIENT = TestClient(_APP, raise_server_exceptions=False).__enter__()
atexit.register(_CLIENT.__exit__, None, None, None)
schema = schemathesis.openapi.from_asgi("/api/openapi.json", _APP)


CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def send(case: Case[Any], token: str) -> httpx.Response:
    """Send the generated request through Starlette's TestClient (httpx).

    Schemathesis' own ``case.call`` goes through ``requests``, which breaks here on the
    ``urllib3-future`` package present in this environment; the request itself is the same.
    """
    kw: dict[str, Any] = case.as_transport_kwargs(base_url="http://testserver", headers=auth(token))
    body: dict[str, Any] = {}
    if "json" in kw:
        body["json"] = kw["json"]
    elif "data" in kw:
        data = kw["data"]
        body["content" if isinstance(data, bytes | str) else "data"] = data
    response: httpx.Response = _CLIENT.request(
        kw["method"],
        kw["url"],
        headers=kw.get("headers"),
        params=kw.get("params"),
        cookies=kw.get("cookies") or None,
        follow_redirects=False,
        **body,
    )
    return response


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_as_admin(case: Case[Any]) -> None:
    response = send(case, "tok-admin")
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
    # the answer matches the documented schema: status code, content type, body
    case.validate_response(response, checks=CONFORMANCE)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_as_landlord(case: Case[Any]) -> None:
    response = send(case, "tok-3f")
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
    case.validate_response(response, checks=CONFORMANCE)
