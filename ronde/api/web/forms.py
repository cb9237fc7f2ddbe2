"""Pages that change something (a status, a request, an enrolment): HTML forms posted with the session cookie.

The API refuses the session cookie on writes (``deps.caller``: a forged cross-site POST carries no bearer
header), so the few page forms are authenticated here, on their own routes, by three checks: the session
cookie (HttpOnly, SameSite=Strict), a form token derived from that session id (a page on another site can
read neither), and the browser's ``Sec-Fetch-Site`` and ``Origin`` headers when they say something. Fields
are read from a size-bounded ``application/x-www-form-urlencoded`` body (the request guard bounds it too).
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs

from fastapi import Request

from ronde.api.auth import Principal
from ronde.api.context import ApiContext
from ronde.api.deps import SESSION_COOKIE
from ronde.api.web.html import Html, el

MAX_FORM_BYTES = 16_000
MAX_FIELDS = 20
CSRF_FIELD = "csrf"


class FormRefused(Exception):
    """Not a form of ours: no session, a wrong form token or another origin (answered 403)."""


class BadForm(ValueError):
    """A form of ours that cannot be read: bytes that are not UTF-8 (answered 400)."""


def form_token(session_id: str) -> str:
    """The form token of a session: binds a form to the session that loaded it."""
    return hashlib.sha256(b"ronde-page-form\0" + session_id.encode("utf-8")).hexdigest()[:40]


def csrf_input(request: Request) -> Html:
    """The hidden form-token field of the forms of a page (empty when there is no session)."""
    session_id = request.cookies.get(SESSION_COOKIE, "")
    return el("input", type="hidden", name=CSRF_FIELD, value=form_token(session_id) if session_id else "")


def _same_origin(request: Request) -> bool:
    """No sign of another site: ``Sec-Fetch-Site`` (sent by current browsers whatever the referrer policy)
    says same-origin or a typed address, and an ``Origin`` other than ``null`` is ours. The pages'
    ``Referrer-Policy: no-referrer`` makes browsers send ``Origin: null`` on their own forms, so ``null``
    proves nothing either way: the form token does."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


async def read_form(request: Request, ctx: ApiContext) -> tuple[Principal, dict[str, str]]:
    """The signed-in principal and the form's fields (first value of each), or ``FormRefused``."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id or not _same_origin(request):
        raise FormRefused("no session, or a form from another origin")
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise FormRefused("form too large")
    try:
        text = raw.decode("ascii")  # a urlencoded body is ASCII; its %-escapes must be UTF-8
    except UnicodeDecodeError:
        raise BadForm("not an urlencoded form") from None
    try:
        parsed = parse_qs(text, max_num_fields=MAX_FIELDS, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise BadForm("a field is not UTF-8") from None
    except ValueError:
        raise FormRefused("too many fields") from None
    fields = {k: v[0] for k, v in parsed.items()}
    if not hmac.compare_digest(fields.get(CSRF_FIELD, ""), form_token(session_id)):
        raise FormRefused("wrong form token")
    principal = ctx.sessions.resolve(session_id, ctx.tokens)
    if principal is None:
        raise FormRefused("session ended")
    return principal, fields
