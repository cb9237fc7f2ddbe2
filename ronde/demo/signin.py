"""The demo's one-click sign-in: a one-time code in the printed link, accepted once, from loopback only.

A newcomer should not have to paste a token into a form to see the demo's evening. The link
``/demo/signin?code=…`` opens an ordinary page session for the demo's admin token and redirects to
the overview. Its limits are what keep it a demo convenience and not a way in:

- it exists only in the demo: this router lives in ``ronde.demo`` (a later stage than the API, which
  may not import it, ``tests/test_layers.py``), and only ``run_demo`` mounts it; ``ronde api serve``
  has no route, setting or flag that could;
- the code is 128 random bits, compared in constant time, and spent on first use (a second click,
  or anyone replaying the link from the terminal's scroll-back, gets the sign-in form);
- only a client on a loopback address may use it (the demo listens on 127.0.0.1 by default; with
  ``--host 0.0.0.0`` another machine reaching it is refused and the code stays unspent). uvicorn runs
  without proxy headers in the demo, so the address is the socket's, not a header's.

Every refusal is logged with its reason.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
import threading
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ronde.api.auth import hash_token
from ronde.api.deps import SESSION_COOKIE, get_ctx
from ronde.api.web.html import el, join

log = logging.getLogger("ronde.demo.signin")
PATH = "/demo/signin"
CODE_CHARS = 64  # a code is 22 URL-safe characters; anything much longer is not one


class OneTimeCode:
    """A secret spent once: ``spend`` is true for the first matching call only (thread-safe: the
    API's sync handlers run in a thread pool)."""

    def __init__(self) -> None:
        self.value = secrets.token_urlsafe(16)
        self._spent = False
        self._lock = threading.Lock()

    def spend(self, candidate: str) -> bool:
        with self._lock:
            if self._spent or not hmac.compare_digest(candidate.encode(), self.value.encode()):
                return False
            self._spent = True
            return True

    @property
    def spent(self) -> bool:
        return self._spent


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:  # a name (the test client's "testclient"): not a socket address of ours
        return False


def _refused(reason: str) -> HTMLResponse:
    body = join(
        [
            el("h1", "Ronde – démonstration"),
            el("p", reason, id="signin-refused"),
            el("p", el("a", "Se connecter avec le jeton imprimé au démarrage", href="/login")),
        ]
    )
    html = "<!DOCTYPE html>\n" + el("html", el("head", el("title", "Ronde")), el("body", body), lang="fr")
    return HTMLResponse(html, status_code=403)


def signin_router(code: OneTimeCode, admin_token: str) -> APIRouter:
    """The route the demo mounts on its app (see the module's docstring for what bounds it)."""
    router = APIRouter(include_in_schema=False)

    @router.get(PATH)
    def demo_signin(
        request: Request, code_param: Annotated[str, Query(alias="code", max_length=CODE_CHARS)]
    ) -> Response:
        client = request.client.host if request.client else None
        if not is_loopback(client):
            log.warning("demo sign-in refused: client %s is not on loopback", client)
            return _refused("Ce lien ne fonctionne que sur la machine de la démonstration (127.0.0.1).")
        if not code.spend(code_param):
            reason = "already used" if code.spent else "wrong code"
            log.warning("demo sign-in refused: %s", reason)
            return _refused("Ce lien a déjà servi, ou n'est pas le bon : il n'est valable qu'une fois.")
        ctx = get_ctx(request)
        resp = RedirectResponse("/ui", status_code=303)
        resp.set_cookie(
            SESSION_COOKIE,
            ctx.sessions.open(hash_token(admin_token)),
            max_age=int(ctx.sessions.absolute.total_seconds()),
            httponly=True,
            samesite="strict",
            path="/",
        )
        return resp

    return router
