"""Tokens: hashed at rest, one principal each; gateways have no read access; the cookie only for safe methods."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from ronde.api.auth import (
    Principal,
    Role,
    TokenBook,
    TokenEntry,
    TokenFile,
    TokenFileError,
    hash_token,
    new_token,
    read_token_file,
)
from ronde.api.deps import SESSION_COOKIE
from tests.api.support import auth


def test_token_file_holds_only_hashes(tmp_path: Path) -> None:
    """The tokens file ``ronde registry import --tokens`` reads: hashes only, one principal each."""
    path = tmp_path / "tokens.yaml"
    secret = new_token()
    entry = TokenEntry(sha256=hash_token(secret), name="audit-ph", role=Role.LANDLORD, landlord="paris-habitat")
    path.write_text(yaml.safe_dump({"tokens": [entry.model_dump(mode="json", exclude_none=True)]}))
    text = path.read_text()
    assert secret not in text
    assert hashlib.sha256(secret.encode()).hexdigest() in text
    book = TokenBook.load(path)
    assert book.authenticate(secret) == Principal("audit-ph", Role.LANDLORD, "paris-habitat")
    assert book.authenticate(secret + "x") is None
    assert read_token_file(path).tokens == [entry]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("tokens:\n  - {sha256: abc, name: x, role: admin}\n", "tokens[0].sha256"),
        (f"tokens:\n  - {{sha256: {'a' * 64}, name: x, role: landlord}}\n", "needs 'landlord'"),
        (f"tokens:\n  - {{sha256: {'a' * 64}, name: x, role: admin, landlord: p}}\n", "only for role landlord"),
        (f"tokens:\n  - {{sha256: {'a' * 64}, name: x, role: king}}\n", "tokens[0].role"),
        ("tokens: [\n", "cannot read token file"),
    ],
)
def test_bad_token_files_name_the_field(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "tokens.yaml"
    path.write_text(content)
    with pytest.raises(TokenFileError, match=re.escape(message)):
        read_token_file(path)


def test_duplicate_tokens_are_refused(tmp_path: Path) -> None:
    h = "b" * 64
    path = tmp_path / "tokens.yaml"
    path.write_text(f"tokens:\n  - {{sha256: {h}, name: a, role: admin}}\n  - {{sha256: {h}, name: b, role: admin}}\n")
    with pytest.raises(TokenFileError, match="listed twice"):
        TokenBook.load(path)


def test_missing_or_unknown_token_is_401(client: TestClient) -> None:
    r = client.get("/api/v1/landlords")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json() == {"detail": "missing or unknown bearer token", "code": "unauthorized"}
    assert client.get("/api/v1/landlords", headers=auth("nope")).status_code == 401
    assert client.get("/api/v1/landlords", headers={"Authorization": "Basic dG9rLWFkbWlu"}).status_code == 401


def test_gateway_token_reads_nothing(client: TestClient) -> None:
    for path in (
        "/api/v1/me",
        "/api/v1/landlords",
        "/api/v1/checkpoints",
        "/api/v1/coverage/landlords",
        "/api/v1/supervision/rejections",
        "/api/v1/gateways",
    ):
        r = client.get(path, headers=auth("tok-gw"))
        assert r.status_code == 403, path
        assert "publish" in r.json()["detail"]
    assert client.get("/ui", headers=auth("tok-gw")).status_code == 403


def test_cookie_authenticates_reads_but_not_writes(client: TestClient) -> None:
    client.cookies.set(SESSION_COOKIE, "tok-admin")  # the token itself is not a session
    assert client.get("/api/v1/me").status_code == 401
    client.cookies.clear()
    r = client.post(
        "/login",
        content="token=tok-admin",
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert client.cookies[SESSION_COOKIE] != "tok-admin"
    assert client.get("/api/v1/me").json()["role"] == "admin"
    r = client.put("/api/v1/badges/EQUIPE-Z", json={"team": "Équipe Z"})
    assert r.status_code == 401  # a cross-site form could ride the cookie: writes need the bearer header
    r = client.put("/api/v1/badges/EQUIPE-Z", json={"team": "Équipe Z"}, headers=auth("tok-admin"))
    assert r.status_code == 200


def test_landlord_token_for_a_landlord_not_in_the_registry_is_refused(tmp_path: Path) -> None:
    from tests.api.support import make_app

    app, store, _ = make_app(tmp_path)
    app.state.ronde = app.state.ronde.__class__(
        **{
            **{f: getattr(app.state.ronde, f) for f in app.state.ronde.__dataclass_fields__},
            "tokens": TokenBook.from_tokens({"t": Principal("x", Role.LANDLORD, "ghost")}),
        }
    )
    with TestClient(app) as c:
        assert c.get("/api/v1/me", headers=auth("t")).status_code == 403
    store.close()


def test_token_file_example_in_the_docs_is_valid() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    block = doc.split("### Token file", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    book = TokenBook(read_token_file_text(block).tokens)
    assert book.authenticate("example-supervisor-token") == Principal("supervision", Role.SUPERVISOR)
    assert book.authenticate("example-landlord-token") == Principal(
        "audit-paris-habitat", Role.LANDLORD, "paris-habitat"
    )


def read_token_file_text(text: str) -> TokenFile:
    return TokenFile.model_validate(yaml.safe_load(text))
