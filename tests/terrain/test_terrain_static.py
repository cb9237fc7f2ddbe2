"""The field app's files as the product serves them: CSP, worker scope, caching headers, manifest."""

from __future__ import annotations

import gzip
import http.client
import json

from fastapi import FastAPI
from fastapi.testclient import TestClient

from ronde.api.routes.terrain_pages import ASSETS
from tests.support.chromium import serve


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


def _get(port: int, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """One request over a real socket with the standard library's client (no decompression, headers as sent)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def test_gzipped_and_plain_answers_have_their_own_etag_and_both_revalidate(app: FastAPI) -> None:
    """RFC 9110 §8.8.3: two representations never share a strong ETag. The app under uvicorn (its gzip middleware
    included) sends each text file gzipped to a client that accepts it and plain to one that does not, each with
    its own validator and ``Vary: Accept-Encoding`` once; If-None-Match with either (or its weak form) gives 304."""
    with serve(app) as base:
        port = int(base.rsplit(":", 1)[1])
        for name in ("", "app.js", "sw.js", "icon.svg", "manifest.webmanifest"):
            path = f"/terrain/{name}"
            plain_status, plain, plain_body = _get(port, path, {"Accept-Encoding": "identity"})
            zip_status, zipped, zip_body = _get(port, path, {"Accept-Encoding": "gzip, deflate, br"})
            assert (plain_status, zip_status) == (200, 200), name
            assert "content-encoding" not in plain, name
            assert zipped["content-encoding"] == "gzip", name
            assert gzip.decompress(zip_body) == plain_body, name
            assert len(zip_body) < len(plain_body), name
            assert plain["etag"] != zipped["etag"], name
            assert zipped["vary"] == plain["vary"] == "Accept-Encoding", name  # not twice
            for accept, etag in (("identity", plain["etag"]), ("gzip", zipped["etag"])):
                for tag in (etag, "W/" + etag, f'"other", {etag}'):
                    status, again, body = _get(port, path, {"Accept-Encoding": accept, "If-None-Match": tag})
                    assert (status, body, again["etag"]) == (304, b"", etag), (name, accept, tag)
            # the other encoding's validator is not this answer's: the full body comes back
            status, _, body = _get(port, path, {"Accept-Encoding": "identity", "If-None-Match": zipped["etag"]})
            assert (status, body) == (200, plain_body), name
            status, _, body = _get(port, path, {"Accept-Encoding": "GZIP", "If-None-Match": plain["etag"]})
            assert (status, body) == (200, zip_body), name
        # an image is compressed already: one representation, one ETag, never gzipped
        _, png, png_body = _get(port, "/terrain/icon-192.png", {"Accept-Encoding": "gzip"})
        assert "content-encoding" not in png
        assert png_body.startswith(b"\x89PNG")
        assert _get(port, "/terrain/icon-192.png", {"If-None-Match": png["etag"]})[0] == 304
