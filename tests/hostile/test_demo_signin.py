"""The demo's one-click sign-in link (issue 16, point 1) against what could abuse it: guessed, replayed,
raced or overlong codes, clients off loopback, forwarded-for headers, and the API run without the demo."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ronde.api.deps import SESSION_COOKIE
from ronde.demo.signin import PATH, OneTimeCode, is_loopback, signin_router
from tests.api.support import make_app

ADMIN = "tok-admin"  # an admin token of the tests' database


@pytest.fixture
def demo_app(tmp_path: Path) -> Iterator[tuple[FastAPI, OneTimeCode]]:
    app, store, _ = make_app(tmp_path)
    code = OneTimeCode()
    app.include_router(signin_router(code, ADMIN))
    yield app, code
    store.close()
    app.state.opdb_engine.dispose()


def _loopback(app: FastAPI, host: str = "127.0.0.1") -> TestClient:
    return TestClient(app, client=(host, 50000), follow_redirects=False)


def test_the_link_signs_in_once_from_loopback(demo_app: tuple[FastAPI, OneTimeCode]) -> None:
    app, code = demo_app
    browser = _loopback(app)
    r = browser.get(PATH, params={"code": code.value})
    assert r.status_code == 303
    assert r.headers["location"] == "/ui"
    cookie = r.cookies.get(SESSION_COOKIE)
    assert cookie
    assert "httponly" in r.headers["set-cookie"].lower()
    assert browser.get("/ui").status_code == 200  # the session it opened is an ordinary page session
    again = _loopback(app).get(PATH, params={"code": code.value})
    assert again.status_code == 403
    assert SESSION_COOKIE not in again.cookies
    assert "déjà servi" in again.text


def test_off_loopback_it_is_refused_and_the_code_stays_unspent(demo_app: tuple[FastAPI, OneTimeCode]) -> None:
    app, code = demo_app
    for host in ("192.0.2.7", "10.0.0.1", "testclient", "::ffff:192.0.2.7", "0.0.0.0"):  # noqa: S104 - a client address under test
        r = TestClient(app, client=(host, 1234), follow_redirects=False).get(PATH, params={"code": code.value})
        assert r.status_code == 403, host
        assert "que sur la machine" in r.text
    # a proxy header claiming loopback changes nothing: the socket's address is what counts
    r = TestClient(app, client=("192.0.2.7", 1), follow_redirects=False).get(
        PATH, params={"code": code.value}, headers={"X-Forwarded-For": "127.0.0.1", "Forwarded": "for=127.0.0.1"}
    )
    assert r.status_code == 403
    assert not code.spent
    assert _loopback(app, "::1").get(PATH, params={"code": code.value}).status_code == 303


@pytest.mark.parametrize(
    "guess",
    ["", "x", "A" * 22, "%00", "' OR 1=1 --", "é" * 22, "../../ui", "A" * 64],
)
def test_a_wrong_code_is_refused_and_does_not_spend_the_right_one(
    demo_app: tuple[FastAPI, OneTimeCode], guess: str
) -> None:
    app, code = demo_app
    r = _loopback(app).get(PATH, params={"code": guess})
    assert r.status_code == 403
    assert not code.spent
    assert _loopback(app).get(PATH, params={"code": code.value}).status_code == 303


def test_an_overlong_or_missing_code_is_a_422(demo_app: tuple[FastAPI, OneTimeCode]) -> None:
    app, code = demo_app
    assert _loopback(app).get(PATH, params={"code": "A" * 5000}).status_code in (414, 422)
    assert _loopback(app).get(PATH).status_code == 422
    assert not code.spent


def test_racing_clicks_sign_in_exactly_once() -> None:
    code = OneTimeCode()
    wins: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(16)

    def click() -> None:
        barrier.wait()
        won = code.spend(code.value)
        with lock:
            wins.append(won)

    threads = [threading.Thread(target=click) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(wins) == [False] * 15 + [True]


def test_the_api_alone_has_no_such_route(tmp_path: Path) -> None:
    """``ronde api serve`` builds its app with ``create_app_on_database`` (as ``make_app``): no sign-in link,
    whatever the code; only ``run_demo`` mounts it."""
    app, store, _ = make_app(tmp_path)
    try:
        r = _loopback(app).get(PATH, params={"code": "anything"})
        assert r.status_code == 404
        assert not any(getattr(route, "path", "") == PATH for route in app.routes)
    finally:
        store.close()
        app.state.opdb_engine.dispose()
    api_sources = "".join(p.read_text() for p in Path("ronde/api").rglob("*.py"))
    assert "ronde.demo" not in api_sources
    assert "demo/signin" not in api_sources


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("127.8.9.10")
    assert is_loopback("::1")
    assert not is_loopback(None)
    assert not is_loopback("localhost")  # a name is no socket address
    assert not is_loopback("192.0.2.1")
