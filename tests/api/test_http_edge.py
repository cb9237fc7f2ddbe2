"""The HTTP edge: security headers on every answer, pages without inline script or style, the
static folder serving assets only, and refused reads of audit data left in the access log."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ronde.api.access_log import AccessLog
from tests.api.support import F3_CP, PH_CP, auth

PAGES = ("/ui", "/ui/landlords/paris-habitat", "/ui/plan", f"/ui/checkpoints/{PH_CP}", "/ui/audit", "/ui/supervision")
PAGE_CSP = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
}


def _csp(value: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in value.split(";"):
        name, _, rest = part.strip().partition(" ")
        out[name] = rest.strip()
    return out


def _assert_hardened(headers: object, where: str) -> None:
    h = dict(headers)  # type: ignore[call-overload]
    assert h.get("x-frame-options") == "DENY", where
    assert h.get("x-content-type-options") == "nosniff", where
    assert h.get("referrer-policy") == "no-referrer", where
    assert "frame-ancestors 'none'" in h.get("content-security-policy", ""), where


def test_pages_and_api_answers_carry_the_security_headers(client: TestClient) -> None:
    anonymous = [
        client.get("/login"),
        client.get("/ui", follow_redirects=False),
        client.get("/healthz"),
        client.get("/api/v1/me"),
        client.get("/static/ronde.css"),
        client.get("/static/nope.css"),
        client.get("/api/openapi.json"),
        client.put("/api/v1/badges/X", content=b"{}"),
    ]
    assert [r.status_code for r in anonymous] == [200, 303, 200, 401, 200, 404, 200, 401]
    for r in anonymous:
        _assert_hardened(r.headers, str(r.url))
    assert _csp(anonymous[0].headers["content-security-policy"]) == PAGE_CSP
    for path in PAGES:
        r = client.get(path, headers=auth("tok-admin"))
        assert r.status_code == 200, path
        _assert_hardened(r.headers, path)
        assert _csp(r.headers["content-security-policy"]) == PAGE_CSP
    r = client.get("/api/v1/landlords", headers=auth("tok-ph"))
    assert r.status_code == 200
    _assert_hardened(r.headers, "api")


def test_an_unexpected_error_answer_carries_them_too(app: FastAPI) -> None:
    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/v1/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/api/v1/boom")
    assert r.status_code == 500
    assert r.json() == {"detail": "internal error (logged)", "code": "error"}
    _assert_hardened(r.headers, "500")


def test_pages_have_no_inline_script_style_or_handlers(client: TestClient) -> None:
    """What the CSP forbids is not in the pages: every script is a file, no style attribute or block."""
    for path in ("/login", *PAGES):
        html = client.get(path, headers=auth("tok-admin")).text
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert re.search(r'\bsrc="/static/[a-z]+\.js"', tag), (path, tag)
        assert not re.search(r"<script\b[^>]*>[^<]+</script>", html), path
        assert "<style" not in html, path
        assert not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path
        assert "javascript:" not in html, path


def test_the_api_docs_have_their_own_policy_with_the_inline_script_hashed(client: TestClient) -> None:
    r = client.get("/api/docs")
    assert r.status_code == 200
    _assert_hardened(r.headers, "/api/docs")
    csp = _csp(r.headers["content-security-policy"])
    scripts = re.findall(r"<script>(.*?)</script>", r.text, flags=re.DOTALL)
    assert scripts
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp["script-src"]
    assert "'unsafe-inline'" not in csp["script-src"]
    assert csp["frame-ancestors"] == "'none'"


@pytest.mark.parametrize(
    "path",
    [
        "/static/__init__.py",
        "/static/__pycache__/__init__.cpython-311.pyc",
        "/static/",
        "/static/ronde.css.bak",
        "/static/..%2f__init__.py",
        "/static/../app.py",
        "/static/RONDE.PY",
    ],
)
def test_static_serves_assets_only(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404, path
    assert "Ronde" not in r.text
    assert "import" not in r.text


def test_static_assets_are_served_with_their_types(client: TestClient) -> None:
    css = client.get("/static/ronde.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    js = client.get("/static/ronde.js")
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]


def test_a_landlord_probing_foreign_audit_ids_leaves_denied_entries(app: FastAPI, client: TestClient) -> None:
    log: AccessLog = app.state.ronde.access_log
    period = {"first": "2026-11-01", "last": "2026-11-26"}
    probes = [
        ("/api/v1/audit/landlords/immobiliere-3f/report", 404),
        ("/api/v1/audit/landlords/immobiliere-3f/report.pdf", 404),
        ("/api/v1/audit/landlords/immobiliere-3f/report.csv", 404),
        ("/api/v1/audit/landlords/no-such-landlord/report.zip", 404),
        (f"/api/v1/checkpoints/{F3_CP}/visits", 404),
        ("/api/v1/audit/access-log", 403),
    ]
    for path, status in probes:
        r = client.get(path, params=period, headers=auth("tok-ph"))
        assert r.status_code == status, path
    page = client.get(f"/ui/checkpoints/{F3_CP}", headers=auth("tok-ph"))
    assert page.status_code == 404
    # not audit data: a refused registry read is not an audit-log matter
    assert client.get(f"/api/v1/checkpoints/{F3_CP}", headers=auth("tok-ph")).status_code == 404

    entries = log.entries()
    assert len(entries) == len(probes) + 1
    assert all(
        e.who == "audit-ph" and e.role == "landlord" and e.landlord == "paris-habitat" and e.denied for e in entries
    )
    assert [(e.what, e.status) for e in entries] == [
        ("GET /api/v1/audit/landlords/{landlord_id}/report", 404),
        ("GET /api/v1/audit/landlords/{landlord_id}/report.pdf", 404),
        ("GET /api/v1/audit/landlords/{landlord_id}/report.csv", 404),
        ("GET /api/v1/audit/landlords/{landlord_id}/report.zip", 404),
        ("GET /api/v1/checkpoints/{checkpoint_id}/visits", 404),
        ("GET /api/v1/audit/access-log", 403),
        ("page.timeline", 404),
    ]
    assert entries[0].target == "landlord_id=immobiliere-3f ?first=2026-11-01&last=2026-11-26"
    assert entries[4].target.startswith(f"checkpoint_id={F3_CP}")
    assert entries[6].target == f"checkpoint_id={F3_CP}"
    # who, what, when; nothing of the data (no report id, no chain digest)
    assert all("report=" not in e.target and "chain=" not in e.target for e in entries)
    assert all(e.at.isoformat() == "2026-11-26T19:00:00+00:00" for e in entries)

    # the admin sees them marked denied, next to its own (allowed) read of the log
    served = client.get("/api/v1/audit/access-log", headers=auth("tok-admin")).json()
    assert [e["denied"] for e in served] == [True] * len(entries)
    assert log.entries()[-1].what == "audit.access_log"
    assert not log.entries()[-1].denied
    # and the JSONL file on disk says so too
    assert log.path is not None
    assert log.path.read_text().count('"denied": true') == len(entries)
