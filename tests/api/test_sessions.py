"""Page sessions: the cookie is a server-side session id (never the token), with idle and absolute
expiry, revoked by sign-out; a token revoked in the operational database stops working at once, with its
sessions, without a restart."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ronde.api.app import create_app
from ronde.api.auth import TokenBook
from ronde.api.deps import SESSION_COOKIE
from ronde.api.sessions import MemorySessionStore, SessionManager
from ronde.api.settings import ApiSettings
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import load_default_estate
from ronde.store.sqlite import SqliteStore
from tests.api.support import NOW, TOKENS, auth, fill

FORM = {"content-type": "application/x-www-form-urlencoded"}
IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=2)


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, by: timedelta) -> None:
        self.at += by


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "ronde.db")
    s.open()
    fill(s, load_default_estate())
    yield s
    s.close()


def _app(
    tmp_path: Path,
    store: SqliteStore,
    *,
    sessions: SessionManager | None = None,
    cookie_secure: bool = False,
) -> FastAPI:
    settings = ApiSettings(access_log=tmp_path / "access.jsonl", cookie_secure=cookie_secure)
    tokens = TokenBook.from_tokens(TOKENS)
    return create_app(
        settings, store, load_default_estate(), ServiceCalendar(), clock=lambda: NOW, tokens=tokens, sessions=sessions
    )


def _login(client: TestClient, token: str) -> str:
    r = client.post("/login", content=f"token={token}&next=/ui", headers=FORM, follow_redirects=False)
    assert r.status_code == 303, r.text
    return str(r.headers["set-cookie"])


def _signed_in(client: TestClient) -> bool:
    r = client.get("/ui", follow_redirects=False)
    assert r.status_code in (200, 303)
    return bool(r.status_code == 200)


def test_the_cookie_is_a_random_session_id_not_the_token(client: TestClient, app: FastAPI) -> None:
    header = _login(client, "tok-super")
    session_id = client.cookies[SESSION_COOKIE]
    assert "tok-super" not in header
    assert session_id != "tok-super"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", session_id)  # 32 random bytes, base64url
    assert "HttpOnly" in header
    assert "SameSite=strict" in header
    assert "Secure" not in header
    assert f"Max-Age={12 * 3600}" in header  # session_absolute_h default
    # the server keeps only a hash of the id: a copy of the table is no cookie
    sessions: SessionManager = app.state.ronde.sessions
    assert sessions.store.get(session_id) is None
    # a second sign-in is another session
    other = TestClient(app)
    _login(other, "tok-super")
    assert other.cookies[SESSION_COOKIE] != session_id
    assert _signed_in(client)
    assert _signed_in(other)


def test_the_cookie_is_secure_over_https_or_when_configured(app: FastAPI, tmp_path: Path, store: SqliteStore) -> None:
    with TestClient(app, base_url="https://testserver") as https:
        assert "Secure" in _login(https, "tok-ph")
    with TestClient(_app(tmp_path, store, cookie_secure=True)) as c:  # plain http behind a TLS proxy
        assert "Secure" in _login(c, "tok-super")


def test_idle_and_absolute_expiry(tmp_path: Path, store: SqliteStore) -> None:
    secret = "tok-super"
    clock = Clock(datetime(2026, 11, 26, 17, 0, tzinfo=UTC))
    table = MemorySessionStore()
    sessions = SessionManager(table, idle=IDLE, absolute=ABSOLUTE, clock=clock)
    with TestClient(_app(tmp_path, store, sessions=sessions)) as client:
        _login(client, secret)
        clock.advance(IDLE - timedelta(seconds=1))
        assert _signed_in(client)  # used just in time: idle time starts again
        clock.advance(IDLE - timedelta(seconds=1))
        assert _signed_in(client)
        clock.advance(IDLE)
        assert not _signed_in(client)  # idle too long
        assert client.get("/api/v1/me").status_code == 401

        _login(client, secret)
        for _ in range(5):  # active every 20 minutes, yet over after 2 hours
            clock.advance(timedelta(minutes=20))
            assert _signed_in(client)
        clock.advance(timedelta(minutes=20))
        assert not _signed_in(client)  # 2 h after sign-in: absolute lifetime
        assert len(table) == 0  # expired sessions are dropped, not kept


def test_logout_revokes_the_session_server_side(client: TestClient) -> None:
    _login(client, "tok-admin")
    session_id = client.cookies[SESSION_COOKIE]
    assert client.get("/api/v1/me").json()["name"] == "root"
    out = client.post("/logout", follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"].startswith("/login")
    # an attacker who copied the cookie before sign-out gets nothing with it
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, session_id)
    r = client.get("/ui/plan", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")
    assert client.get("/api/v1/me").status_code == 401


def test_a_revoked_token_stops_working_at_once_with_its_sessions(client: TestClient) -> None:
    """Revoking a token (``DELETE /api/v1/tokens/{name}``, or ``ronde registry import`` of a tokens file without
    it) ends its bearer requests and the page sessions it opened at once; the other tokens go on."""
    _login(client, "tok-ph")
    assert _signed_in(client)
    assert client.get("/api/v1/me", headers=auth("tok-ph")).status_code == 200
    assert client.delete("/api/v1/tokens/audit-ph", headers=auth("tok-admin")).status_code == 204
    assert client.get("/api/v1/me", headers=auth("tok-ph")).status_code == 401
    assert not _signed_in(client)  # its session ended with it
    assert client.get("/api/v1/me", headers=auth("tok-super")).json()["name"] == "chef-equipe"
    r = client.post("/login", content="token=tok-ph", headers=FORM, follow_redirects=False)
    assert r.status_code == 401
