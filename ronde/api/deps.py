"""Request dependencies: who is calling (bearer header, or the pages' HttpOnly cookie) and their scope."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import Depends, Query, Request

from ronde.api.auth import Principal, Role
from ronde.api.context import ApiContext
from ronde.api.scope import Forbidden, Scope
from ronde.coverage.suffix import DEFAULT_PERIOD_DAYS

SESSION_COOKIE = "ronde_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MIN_DAY = date(2000, 1, 1)
MAX_DAY = date(2199, 12, 31)


class Unauthorized(Exception):
    """A missing or unknown bearer token: answered 401."""


class BadPeriod(ValueError):
    """A period the API refuses (first after last, or longer than max_period_days): answered 422."""


def get_ctx(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ronde
    return ctx


Ctx = Annotated[ApiContext, Depends(get_ctx)]


def bearer_token(request: Request) -> str | None:
    """The token of the ``Authorization: Bearer`` header (never the cookie: it holds a session id)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def caller(request: Request, ctx: ApiContext) -> Principal | None:
    """Who calls: the bearer token, else (safe methods only) the page session of the cookie.

    The cookie only authenticates safe methods: a forged cross-site POST carries no bearer header.
    Both are checked against the tokens in force now, so a token removed from the file stops
    working, and so do the sessions it opened.
    """
    token = bearer_token(request)
    if token is not None:
        return ctx.tokens.authenticate(token)
    if request.method in SAFE_METHODS:
        session_id = request.cookies.get(SESSION_COOKIE)
        if session_id:
            return ctx.sessions.resolve(session_id, ctx.tokens)
    return None


def get_principal(request: Request, ctx: Ctx) -> Principal:
    principal = caller(request, ctx)
    if principal is None:
        raise Unauthorized("missing or unknown bearer token")
    if principal.role is Role.GATEWAY:
        raise Forbidden("gateway tokens may only publish over MQTT: no read access to the API")
    if principal.role in (Role.DEVICE, Role.PARTNER):  # no landlord scope: they would see everything here
        raise Forbidden(f"{principal.role.value} tokens reach only /api/v1/terrain and /api/v1/field")
    if principal.role is Role.LANDLORD and principal.landlord not in ctx.registry.registry.landlords:
        raise Forbidden(f"landlord {principal.landlord!r} of this token is not in the registry")
    request.state.principal = principal
    return principal


def get_scope(ctx: Ctx, principal: Annotated[Principal, Depends(get_principal)]) -> Scope:
    return Scope(principal, ctx.registry.registry)


ScopeDep = Annotated[Scope, Depends(get_scope)]


def require_staff(scope: ScopeDep) -> Scope:
    scope.require(Role.ADMIN, Role.SUPERVISOR)
    return scope


def require_admin(scope: ScopeDep) -> Scope:
    scope.require(Role.ADMIN)
    return scope


StaffScope = Annotated[Scope, Depends(require_staff)]
AdminScope = Annotated[Scope, Depends(require_admin)]


def period(
    ctx: Ctx,
    first: Annotated[date | None, Query(description="first service day (default: 29 days before last)")] = None,
    last: Annotated[date | None, Query(description="last service day, inclusive (default: last service day)")] = None,
) -> tuple[date, date]:
    end = _in_range(last or ctx.last_service_day() or ctx.today())
    start = _in_range(first) if first is not None else end - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if start > end:
        raise BadPeriod("first is after last")
    if (end - start).days + 1 > ctx.settings.max_period_days:
        raise BadPeriod(f"period longer than {ctx.settings.max_period_days} days")
    return start, end


Period = Annotated[tuple[date, date], Depends(period)]


def one_day(
    ctx: Ctx, day: Annotated[date | None, Query(description="service day (default: the last service day)")] = None
) -> date:
    return _in_range(day or ctx.last_service_day() or ctx.today())


def _in_range(day: date) -> date:
    if not MIN_DAY <= day <= MAX_DAY:
        raise BadPeriod(f"dates must be between {MIN_DAY} and {MAX_DAY}")
    return day


Day = Annotated[date, Depends(one_day)]
