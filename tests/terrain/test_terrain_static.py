"""The field app's files as the product serves them: CSP, worker scope, caching headers, manifest."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from ronde.api.routes.terrain_pages import ASSETS


def test_every_file_is_served_with_the_app_csp_and_no_cache(client: TestClient) -> None:
    for name, (_, media_type) in ASSETS.items():
        r = client.get(f"/terrain/{name}")
        assert r.status_code == 200, name
        assert r.headers["content-type"].split(";")[0] == media_type.split(";")[0]
        assert r.headers["cache-control"] == "no-cache"
        csp = r.headers["content-security-policy"]
        assert "manifest-src 'self'" in csp
        assert "worker-src 'self'" in csp
        assert "script-src 'self';" in csp  # no inline script, no CDN
        assert r.headers["x-frame-options"] == "DENY"


def test_the_worker_is_scoped_to_the_app_and_versioned_by_the_shell(client: TestClient) -> None:
    r = client.get("/terrain/sw.js")
    assert r.headers["service-worker-allowed"] == "/terrain/"
    assert "ronde-terrain-v1" not in r.text  # replaced by the shell's digest
    assert 'var VERSION = "ronde-terrain-' in r.text
    again = client.get("/terrain/sw.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


def test_manifest_is_installable_and_its_icons_exist(client: TestClient) -> None:
    manifest = json.loads(client.get("/terrain/manifest.webmanifest").text)
    assert manifest["start_url"] == "/terrain/"
    assert manifest["scope"] == "/terrain/"
    assert manifest["display"] == "standalone"
    assert manifest["lang"] == "fr"
    sizes = set()
    for icon in manifest["icons"]:
        r = client.get(icon["src"])
        assert r.status_code == 200, icon["src"]
        assert r.headers["content-type"] == icon["type"]
        sizes.add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes


def test_unknown_or_traversing_names_answer_404(client: TestClient) -> None:
    for name in ("nope.js", "..%2Fapp.py", "index.html", "manifest.json", "__init__.py"):
        r = client.get(f"/terrain/{name}")
        assert r.status_code == 404, name
        assert r.json()["code"] == "not_found"
    assert client.get("/terrain", follow_redirects=False).headers["location"] == "/terrain/"
