"""Page sessions: the cookie is a server-side session id (never the token), with idle and absolute
expiry, revoked by sign-out; the tokens file is re-read when it changes, and a removed token stops
working, with its sessions, without a restart."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ronde.api.app import create_app
from ronde.api.auth import Role, TokenFileWatcher, Tokens, add_token, hash_token
from ronde.api.deps import SESSION_COOKIE
from ronde.api.sessions import MemorySessionStore, SessionManager
from ronde.api.settings import ApiSettings
from ronde.protocol.calendar import ServiceCalendar
from ronde.protocol.estate import load_default_estate
from ronde.store.sqlite import SqliteStore
from tests.api.support import NOW, auth, fill

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


class Ticks:
    """A monotonic clock (seconds) the test moves by hand, for the tokens file watcher."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


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
    tokens_file: Path,
    *,
    tokens: Tokens | None = None,
    sessions: SessionManager | None = None,
    cookie_secure: bool = False,
) -> FastAPI:
    settings = ApiSettings(access_log=tmp_path / "access.jsonl", cookie_secure=cookie_secure)
    return create_app(
        settings,
        store,
        load_default_estate(),
        ServiceCalendar(),
        clock=lambda: NOW,
        tokens=tokens if tokens is not None else TokenFileWatcher(tokens_file),
        sessions=sessions,
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
    tokens = tmp_path / "tokens.yaml"
    secret = add_token(tokens, "chef", Role.SUPERVISOR)
    with TestClient(_app(tmp_path, store, tokens, cookie_secure=True)) as c:  # plain http behind a TLS proxy
        assert "Secure" in _login(c, secret)


def test_idle_and_absolute_expiry(tmp_path: Path, store: SqliteStore) -> None:
    tokens = tmp_path / "tokens.yaml"
    secret = add_token(tokens, "chef", Role.SUPERVISOR)
    clock = Clock(datetime(2026, 11, 26, 17, 0, tzinfo=UTC))
    table = MemorySessionStore()
    sessions = SessionManager(table, idle=IDLE, absolute=ABSOLUTE, clock=clock)
    with TestClient(_app(tmp_path, store, tokens, sessions=sessions)) as client:
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


def test_a_token_removed_from_the_file_stops_working_with_its_sessions(tmp_path: Path, store: SqliteStore) -> None:
    tokens = tmp_path / "tokens.yaml"
    leaving = add_token(tokens, "audit-ph", Role.LANDLORD, "paris-habitat")
    staying = add_token(tokens, "chef", Role.SUPERVISOR)
    ticks = Ticks()
    watcher = TokenFileWatcher(tokens, interval_s=5.0, clock=ticks)
    with TestClient(_app(tmp_path, store, tokens, tokens=watcher)) as client:
        _login(client, leaving)
        assert _signed_in(client)
        assert client.get("/api/v1/me", headers=auth(leaving)).status_code == 200

        # the operator removes the token: the file is rewritten without it
        doc = yaml.safe_load(tokens.read_text())
        doc["tokens"] = [e for e in doc["tokens"] if e["sha256"] != hash_token(leaving)]
        tokens.write_text(yaml.safe_dump(doc))
        assert hash_token(leaving) not in tokens.read_text()
        assert hash_token(staying) in tokens.read_text()

        ticks.t += 5.0  # the reload interval has passed
        assert client.get("/api/v1/me", headers=auth(leaving)).status_code == 401
        assert not _signed_in(client)  # its session ended with it
        assert client.get("/api/v1/me", headers=auth(staying)).json()["name"] == "chef"
        r = client.post("/login", content=f"token={leaving}", headers=FORM, follow_redirects=False)
        assert r.status_code == 401


def test_a_broken_tokens_file_is_refused_and_the_tokens_in_force_stay(
    tmp_path: Path, store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    tokens = tmp_path / "tokens.yaml"
    secret = add_token(tokens, "chef", Role.SUPERVISOR)
    ticks = Ticks()
    watcher = TokenFileWatcher(tokens, interval_s=2.0, clock=ticks)
    with TestClient(_app(tmp_path, store, tokens, tokens=watcher)) as client:
        for broken in ("tokens: [\n", "tokens:\n  - {sha256: nope, name: x, role: admin}\n"):
            tokens.write_text(broken)
            ticks.t += 2.0
            with caplog.at_level(logging.ERROR, logger="ronde.api.auth"):
                assert client.get("/api/v1/me", headers=auth(secret)).status_code == 200
            assert any("refused" in r.message and "1 tokens in force stay" in r.message for r in caplog.records)
            caplog.clear()
        tokens.unlink()  # a missing file is refused too, not read as "no tokens"
        ticks.t += 2.0
        assert client.get("/api/v1/me", headers=auth(secret)).status_code == 200
        # a good file again is taken
        other = add_token(tokens, "root", Role.ADMIN)
        ticks.t += 2.0
        assert client.get("/api/v1/me", headers=auth(other)).json()["role"] == "admin"
        assert client.get("/api/v1/me", headers=auth(secret)).status_code == 401


def test_the_watcher_follows_the_tokens_file_within_the_interval(tmp_path: Path, store: SqliteStore) -> None:
    """A ``TokenFileWatcher`` handed to ``create_app`` (the API itself reads no tokens file), on the real
    monotonic clock."""
    tokens = tmp_path / "tokens.yaml"
    secret = add_token(tokens, "chef", Role.SUPERVISOR)
    watcher = TokenFileWatcher(tokens, interval_s=0.5)
    app = create_app(ApiSettings(), store, load_default_estate(), ServiceCalendar(), clock=lambda: NOW, tokens=watcher)
    with TestClient(app) as client:
        assert client.get("/api/v1/me", headers=auth(secret)).status_code == 200
        tokens.write_text("tokens: []\n")
        deadline = time.monotonic() + 0.5 + 0.3
        while client.get("/api/v1/me", headers=auth(secret)).status_code == 200:
            assert time.monotonic() < deadline, "the removed token still worked after the reload interval"
            time.sleep(0.05)
