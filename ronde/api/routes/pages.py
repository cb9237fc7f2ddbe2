"""Web pages (French first, ``?lang=en``), authenticated by the same token through an HttpOnly cookie."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ronde.api.auth import Principal, Role, hash_token
from ronde.api.coverage_data import idleness_now, rollup_mismatches, scoped_coverage
from ronde.api.deps import MAX_DAY, MIN_DAY, SESSION_COOKIE, Ctx, caller
from ronde.api.scope import Forbidden, NotFound, Scope
from ronde.api.web.bilan_links import bilan_section
from ronde.api.web.html import Html, el, join, table
from ronde.api.web.i18n import PageLang, check_label, day_label, duration, kind_label, number, percent, t
from ronde.api.web.layout import page
from ronde.api.web.plan import IdleMark, scoped_plan
from ronde.audit.keys import fingerprint, public_key_text
from ronde.audit.rollups import Finding
from ronde.coverage.shares import GroupCoverage, Level
from ronde.protocol.formats import date_short, parse_date, time_hm
from ronde.protocol.labels import checkpoint_labels

# JSON even on HTML routes (FastAPI would label a model response with the route's text/html)
INVALID = {  # the 422 body of every page route (the API's ValidationErrorBody)
    "description": "invalid parameters",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ValidationErrorBody"}}},
}
router = APIRouter(tags=["pages"], responses={422: INVALID})
log = logging.getLogger("ronde.api.pages")
LANG_COOKIE = "ronde_lang"
_HTML = {"text/html": {"schema": {"type": "string"}}}
HTML_OK: dict[int | str, dict[str, Any]] = {
    200: {"content": _HTML, "description": "an HTML page"},
    303: {"description": "not signed in: redirected to /login"},
    403: {"content": _HTML, "description": "this role may not see the page"},
    404: {"content": _HTML, "description": "not found, or outside the caller's patrimony"},
}
LangParam = Annotated[Literal["fr", "en"] | None, Query(description="page language (fr by default)")]


def page_lang(request: Request, ctx: Ctx, lang: LangParam = None) -> PageLang:
    if lang is not None:
        return lang
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in ("fr", "en"):
        return "en" if cookie == "en" else "fr"
    return ctx.settings.default_lang


Lang = Annotated[PageLang, Depends(page_lang)]


class _Page:
    """Renders a page for the caller, or the login redirect / a 403 / a 404 page."""

    def __init__(self, request: Request, ctx: Ctx, lang: Lang) -> None:
        self.request, self.ctx, self.lang = request, ctx, lang
        self.principal: Principal | None = caller(request, ctx)

    def respond(self, build: Callable[[Scope], tuple[str, Html]], *, audit: str | None = None) -> Response:
        """``audit`` names a page showing audit data: a refused view of it is written to the access log."""
        lang, url = self.lang, self.request.url
        if self.principal is None:
            target = quote(url.path + (f"?{url.query}" if url.query else ""), safe="")
            return RedirectResponse(f"/login?lang={lang}&next={target}", status_code=303)
        if self.principal.role is Role.GATEWAY or (
            self.principal.role is Role.LANDLORD and self.principal.landlord not in self.ctx.registry.registry.landlords
        ):
            return self._html(t(lang, "forbidden"), el("p", t(lang, "forbidden"), class_="error"), 403)
        try:
            title, body = build(Scope(self.principal, self.ctx.registry.registry))
        except NotFound:
            self._log_denied(audit, 404)
            return self._html(t(lang, "not_found"), el("p", t(lang, "not_found"), class_="error"), 404)
        except Forbidden:
            self._log_denied(audit, 403)
            return self._html(t(lang, "forbidden"), el("p", t(lang, "forbidden"), class_="error"), 403)
        return self._html(title, body, 200)

    def _log_denied(self, what: str | None, status: int) -> None:
        if what is not None and self.principal is not None:
            target = " ".join(f"{k}={v}" for k, v in sorted(self.request.path_params.items()))[:500]
            self.ctx.log_access(self.principal, what, target, status, denied=True)

    def _html(self, title: str, body: Html, status: int) -> HTMLResponse:
        resp = HTMLResponse(
            page(title, body, self.lang, url=self.request.url, principal=self.principal), status_code=status
        )
        if "lang" in self.request.query_params:
            resp.set_cookie(LANG_COOKIE, self.lang, max_age=365 * 86400, samesite="strict", httponly=True)
        return resp


PageDep = Annotated[_Page, Depends(_Page)]


def _bar(share: float | None) -> Html:
    width = 0.0 if share is None else max(0.0, min(1.0, share)) * 100
    # an SVG rectangle, not a style attribute: the pages' CSP allows no inline style
    return el(
        "svg",
        el("rect", width=f"{width:.1f}", height="1"),
        viewBox="0 0 100 1",
        preserveAspectRatio="none",
        class_="bar",
        aria_hidden="true",
    )


def _time(ctx: Ctx, instant: datetime | None, lang: PageLang) -> str:
    return "–" if instant is None else time_hm(instant.astimezone(ctx.calendar.tz), lang)


def _date_input(name: str, value: date, lang: PageLang) -> Html:
    """A date as people here write it (dd/mm/yyyy), whatever the browser's locale: ``type=date`` shows
    the browser's own format (mm/dd/yyyy on an English system), so a text box with a pattern it is."""
    return el(
        "input",
        type="text",
        name=name,
        value=f"{value:%d/%m/%Y}",
        inputmode="numeric",
        pattern=r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}",
        placeholder="jj/mm/aaaa" if lang == "fr" else "dd/mm/yyyy",
        maxlength="10",
        size="10",
        lang=lang,
        class_="date",
    )


def _query_date(text: str | None, lang: PageLang, errors: list[str]) -> date | None:
    """A page's date parameter, typed by a person: refused with its reason (shown on the page, and
    logged), the page then shows its default period."""
    if not text:
        return None
    try:
        return parse_date(text)
    except ValueError as exc:
        log.info("page date refused: %s", exc)
        shown = text[:32]
        errors.append(
            f"Date « {shown} » refusée : une date qui existe, au format jj/mm/aaaa."
            if lang == "fr"
            else f"Date {shown!r} refused: a date that exists, as dd/mm/yyyy."
        )
        return None


def _state_cell(state: str, lang: PageLang) -> Html:
    return el("td", t(lang, state), class_=f"state-{state}")


# ---- sign in / out -----------------------------------------------------------------------------


def _login_html(lang: PageLang, request: Request, error: str | None, next_url: str) -> str:
    form = el(
        "form",
        el("p", t(lang, "login_intro")),
        el("p", error, class_="error", id="login-error") if error else None,
        el(
            "label",
            t(lang, "token"),
            el("input", type="password", name="token", id="token", autocomplete="off", required=True),
        ),
        el("input", type="hidden", name="next", value=next_url),
        el("p", el("button", t(lang, "sign_in"), type="submit", class_="primary", id="sign-in")),
        method="post",
        action=f"/login?lang={lang}",
        class_="login",
    )
    body = join([el("p", t(lang, "tagline"), class_="tagline"), form])
    return page(t(lang, "login"), body, lang, url=request.url)


def _safe_next(value: str) -> str:
    """Only local paths: never redirect to another site after login."""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/ui"


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    return RedirectResponse("/ui", status_code=303)


@router.get("/login", response_class=HTMLResponse, responses=HTML_OK, summary="Sign-in form")
def login_form(request: Request, lang: Lang, next: Annotated[str, Query(max_length=2000)] = "/ui") -> HTMLResponse:
    return HTMLResponse(_login_html(lang, request, None, _safe_next(next)))


@router.post(
    "/login",
    response_class=HTMLResponse,
    summary="Sign in: sets the HttpOnly session cookie",
    responses={
        303: {"description": "signed in, redirected"},
        400: {"content": _HTML, "description": "not a sign-in form (too many fields)"},
        401: {"content": _HTML, "description": "unknown or refused token"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {"token": {"type": "string"}, "next": {"type": "string"}},
                        "required": ["token"],
                    }
                }
            },
        }
    },
)
async def login(request: Request, ctx: Ctx, lang: Lang) -> Response:
    raw = await request.body()  # bounded by the request guard (max_body_bytes) before it is read
    try:
        fields = parse_qs(raw[:10_000].decode("utf-8", errors="replace"), max_num_fields=10)
    except ValueError:  # too many fields: not our form
        return HTMLResponse(_login_html(lang, request, t(lang, "bad_token"), "/ui"), status_code=400)
    token = (fields.get("token") or [""])[0].strip()
    next_url = _safe_next((fields.get("next") or ["/ui"])[0])
    principal = ctx.tokens.authenticate(token) if token else None
    if principal is None or principal.role is Role.GATEWAY:
        return HTMLResponse(_login_html(lang, request, t(lang, "bad_token"), next_url), status_code=401)
    resp = RedirectResponse(next_url, status_code=303)
    # the cookie is a server-side session id, never the token: signing out or revoking the token ends it
    session_id = ctx.sessions.open(hash_token(token))
    resp.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(ctx.sessions.absolute.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=ctx.settings.cookie_secure or request.url.scheme == "https",
        path="/",
    )
    return resp


@router.post(
    "/logout",
    summary="Sign out: ends the session and clears its cookie",
    responses={303: {"description": "signed out"}},
)
def logout(request: Request, ctx: Ctx, lang: Lang) -> RedirectResponse:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        ctx.sessions.close(session_id)
    resp = RedirectResponse(f"/login?lang={lang}", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return resp


# ---- overview ----------------------------------------------------------------------------------


def _last_day(ctx: Ctx) -> date:
    return ctx.last_service_day() or ctx.today()


def _data_since(groups: list[GroupCoverage], first: date) -> date:
    """The first evening with any data in these groups (``first`` if none): evenings before the system
    ran (the demo's first month, a site's first weeks) are no data, not "not covered", and a 30-day
    share counting them would accuse the mediators of the installer's calendar."""
    days = [d for g in groups for d, s in g.days if s.no_data < s.checkpoint_days]
    return max(first, min(days)) if days else first


def _period_text(first: date, last: date, lang: PageLang) -> str:
    return f"{t(lang, 'period')} {t(lang, 'from')} {date_short(first, lang)} {t(lang, 'to')} {date_short(last, lang)}"


def _rollup_banner(
    ctx: Ctx, scope: Scope, first: date, last: date, lang: PageLang, landlord: str | None = None
) -> Html:
    """A warning above the figures when daily rollups no longer match the stored events."""
    found = rollup_mismatches(ctx, scope, first, last, landlord=landlord)
    days = sorted({m.service_day for m in found if m.finding is not Finding.UNCHECKED})
    unchecked = sorted({m.service_day for m in found if m.finding is Finding.UNCHECKED})
    parts: list[Html] = []
    if days:
        parts.append(_days_line(lang, "rollup_warning", days, class_="error", id="rollup-warning", role="alert"))
    if unchecked:  # not checked is not OK: said, quietly (maintenance checks a closed day within one pass)
        parts.append(_days_line(lang, "rollup_unchecked", unchecked, class_="note", id="rollup-unchecked"))
    return Html("".join(parts))


def _days_line(lang: PageLang, words: str, days: list[date], **attrs: str) -> Html:
    """One paragraph: the words, then the days as people write them."""
    return el("p", t(lang, words), " ", ", ".join(day_label(d, lang) for d in days), ".", **attrs)


BILANS_LINK = {"fr": "Bilans mensuels", "en": "Monthly reports"}


@router.get("/ui", response_class=HTMLResponse, responses=HTML_OK, summary="Overview per landlord")
def overview(p: PageDep) -> Response:
    ctx, lang = p.ctx, p.lang

    def build(scope: Scope) -> tuple[str, Html]:
        day = _last_day(ctx)
        first = day - timedelta(days=29)
        last_cov = {g.id: g for g in scoped_coverage(ctx, scope, day, day, include_days=False).groups(Level.LANDLORD)}
        groups = scoped_coverage(ctx, scope, first, day, include_days=False).groups(Level.LANDLORD)
        if (since := _data_since(groups, first)) > first:
            first = since
            groups = scoped_coverage(ctx, scope, first, day, include_days=False).groups(Level.LANDLORD)
        period_cov = {g.id: g for g in groups}
        rows: list[Html] = []
        for x in scope.landlords():
            g1, g30 = last_cov.get(x.id), period_cov.get(x.id)
            s1 = g1.period.share if g1 else None
            s30 = g30.period.share if g30 else None
            rows.append(
                el(
                    "tr",
                    el("td", el("a", x.name, href=f"/ui/landlords/{x.id}?lang={lang}")),
                    el("td", number(x.dwellings, lang), class_="num"),
                    el("td", len(scope.checkpoints(landlord=x.id)), class_="num"),
                    el("td", _bar(s1), " ", percent(s1, lang), class_="num"),
                    el("td", _bar(s30), " ", percent(s30, lang), class_="num"),
                    data_landlord=x.id,
                )
            )
        running = ctx.calendar.service_day(ctx.now()) == day
        period = _period_text(first, day, lang)
        headers = [t(lang, "landlord"), t(lang, "dwellings"), t(lang, "checkpoints")]
        headers += [f"{t(lang, 'today' if running else 'last_day')} – {day_label(day, lang)}", period]
        overview = table(headers, rows, id="overview")
        intro = el("p", t(lang, "tagline"), ". ", t(lang, "service_hours"), ".", class_="tagline")
        banner = _rollup_banner(ctx, scope, first, day, lang)
        return t(lang, "overview"), join([banner, intro, el("h3", t(lang, "covered_share")), overview])

    return p.respond(build)


@router.get(
    "/ui/landlords/{landlord_id}",
    response_class=HTMLResponse,
    responses=HTML_OK,
    summary="A landlord's coverage: last evening per checkpoint, and per evening over 30 days",
)
def landlord_page(landlord_id: str, p: PageDep) -> Response:
    ctx, lang = p.ctx, p.lang

    def build(scope: Scope) -> tuple[str, Html]:
        x = scope.landlord_of(landlord_id)
        day = _last_day(ctx)
        first = day - timedelta(days=29)
        cov_day = scoped_coverage(ctx, scope, day, day, landlord=x.id)
        cov = scoped_coverage(ctx, scope, first, day, landlord=x.id, include_days=False)
        names = scope.registry.checkpoints
        labels = checkpoint_labels(scope.registry, scope.checkpoints(landlord=x.id))
        rows: list[Html] = []
        for c in cov_day.checkpoints:
            for cd in c.days:
                state = "visited" if cd.visits > 0 else cd.state.value
                cp = names.get(c.checkpoint_id)
                rows.append(
                    el(
                        "tr",
                        el(
                            "td",
                            el(
                                "a",
                                labels.get(c.checkpoint_id, cp.name if cp else c.checkpoint_id),
                                href=f"/ui/checkpoints/{c.checkpoint_id}?lang={lang}",
                            ),
                        ),
                        el("td", kind_label(c.kind, lang)),
                        el("td", cd.visits, class_="num"),
                        el("td", _time(ctx, cd.first_seen, lang)),
                        el("td", _time(ctx, cd.last_seen, lang)),
                        _state_cell("covered" if cd.visits >= cd.expected and cd.expected > 0 else state, lang),
                        data_checkpoint=c.checkpoint_id,
                    )
                )
        running = ctx.calendar.service_day(ctx.now()) == day
        per_day: list[Html] = []
        since = _data_since(cov.groups(Level.LANDLORD), first)
        for g in cov.groups(Level.LANDLORD):
            for d, s in reversed(g.days):  # newest evening first, none before the data begins
                if d < since:
                    continue
                per_day.append(
                    el(
                        "tr",
                        el("td", day_label(d, lang)),
                        el("td", _bar(s.share), " ", percent(s.share, lang), class_="num"),
                        el("td", s.covered, class_="num"),
                        el("td", s.not_visited, class_="num"),
                        el("td", s.no_data, class_="num"),
                    )
                )
        body = join(
            [
                _rollup_banner(ctx, scope, first, day, lang, landlord=x.id),
                el(
                    "p",
                    f"{t(lang, 'dwellings')}{' :' if lang == 'fr' else ':'} {number(x.dwellings, lang)} — ",
                    el("a", t(lang, "plan"), href=f"/ui/plan?landlord={x.id}&lang={lang}"),
                    " — ",
                    el("a", t(lang, "audit"), href=f"/ui/audit?landlord={x.id}&lang={lang}"),
                    " — ",  # issue 15: the landlord's bilans mensuels are listed on its audit page
                    el("a", BILANS_LINK[lang], href=f"/ui/audit?landlord={x.id}&lang={lang}#bilans", id="bilans-link"),
                ),
                el("h3", f"{t(lang, 'today' if running else 'last_day')} – {day_label(day, lang)}"),
                table(
                    [t(lang, k) for k in ("checkpoint", "kind", "visits", "first", "last", "covered")],
                    rows,
                    id="last-day",
                ),
                # the plan of this landlord's buildings and checkpoints, coloured as on /ui/plan (issue 16)
                el("h3", t(lang, "plan")),
                scoped_plan(
                    scope,
                    sorted(scope.checkpoints(landlord=x.id), key=lambda c: c.id),
                    {r.checkpoint_id: IdleMark(r.idle_s, r.at_least) for r in idleness_now(ctx, scope)},
                    lang,
                    landlord=x.id,
                ),
                el("h3", t(lang, "per_day")),
                table(
                    [t(lang, k) for k in ("day", "covered_share", "covered", "not_visited", "no_data")],
                    per_day,
                    id="per-day",
                ),
            ]
        )
        return f"{x.name}", body

    return p.respond(build)


# ---- plan --------------------------------------------------------------------------------------


@router.get(
    "/ui/plan",
    response_class=HTMLResponse,
    responses=HTML_OK,
    summary="Estate plan from checkpoint coordinates, coloured by current idleness",
)
def plan_page(
    p: PageDep,
    estate: Annotated[str | None, Query(max_length=64)] = None,
    landlord: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    ctx, lang = p.ctx, p.lang

    def build(scope: Scope) -> tuple[str, Html]:
        checkpoints = sorted(scope.checkpoints(landlord=landlord, estate=estate), key=lambda c: c.id)
        labels = checkpoint_labels(scope.registry, scope.checkpoints())
        idle = {r.checkpoint_id: IdleMark(r.idle_s, r.at_least) for r in idleness_now(ctx, scope)}
        options = [el("option", "—", value="")] + [
            el("option", e.name, value=e.id, selected=e.id == estate) for e in scope.estates()
        ]
        form = el(
            "form",
            el("label", t(lang, "estate"), el("select", join(options), name="estate")),
            el("input", type="hidden", name="lang", value=lang),
            el("button", t(lang, "show"), type="submit"),
            method="get",
            action="/ui/plan",
            class_="inline",
        )
        rows = [
            el(
                "tr",
                el("td", el("a", labels.get(c.id, c.name), href=f"/ui/checkpoints/{c.id}?lang={lang}")),
                el("td", kind_label(c.kind, lang)),
                el(
                    "td",
                    t(lang, "idle_none")
                    if c.id not in idle or idle[c.id].at_least
                    else duration(idle[c.id].idle_s, lang),
                    class_="num",
                ),
                data_checkpoint=c.id,
            )
            for c in checkpoints
        ]
        body = join(
            [
                form,
                el("p", t(lang, "idle_legend"), class_="tagline"),
                scoped_plan(scope, checkpoints, idle, lang, landlord=landlord, estate=estate),
                table([t(lang, k) for k in ("checkpoint", "kind", "idle")], rows, id="plan-table"),
            ]
        )
        return t(lang, "plan"), body

    return p.respond(build)


# ---- checkpoint timeline -----------------------------------------------------------------------

ROW_H = 22
LABEL_W = 230
BAR_W = 640


@router.get(
    "/ui/checkpoints/{checkpoint_id}",
    response_class=HTMLResponse,
    responses=HTML_OK,
    summary="A checkpoint's timeline: its passes per evening as bars (no team badges for landlords)",
)
def checkpoint_page(
    checkpoint_id: str,
    p: PageDep,
    first: Annotated[str | None, Query(max_length=32, description="dd/mm/yyyy or yyyy-mm-dd")] = None,
    last: Annotated[str | None, Query(max_length=32, description="dd/mm/yyyy or yyyy-mm-dd")] = None,
) -> Response:
    ctx, lang = p.ctx, p.lang

    def build(scope: Scope) -> tuple[str, Html]:
        c = scope.checkpoint_of(checkpoint_id)
        errors: list[str] = []
        end = _query_date(last, lang, errors) or _last_day(ctx)
        start = _query_date(first, lang, errors) or end - timedelta(days=13)
        if not (MIN_DAY <= start <= end <= MAX_DAY) or (end - start).days > 92:  # noqa: PLR2004 - 92 days: a quarter at most on one page
            end = _last_day(ctx)
            start = end - timedelta(days=13)
        cal = ctx.calendar.for_estate(c.estate)  # the checkpoint's estate's own days and hours
        days = [d for d in cal.service_days(start, end) if cal.window(d)[0] < ctx.now()]
        stored = ctx.store.visits_of_days(days, landlord=c.landlord) if days else []
        visits = [v for v in scope.visits(stored) if v.checkpoint_id == c.id]
        ctx.log_access(scope.principal, "page.timeline", f"checkpoint={c.id} first={start} last={end}")
        svg_rows: list[Html] = []
        for i, d in enumerate(days):
            w0, w1 = cal.window(d)
            span = (w1 - w0).total_seconds()
            y = i * ROW_H
            bars = []
            for v in visits:
                if v.service_day != d:
                    continue
                a = max(0.0, (v.first_seen - w0).total_seconds()) / span
                b = min(span, max(0.0, (v.last_seen - w0).total_seconds())) / span
                bars.append(
                    el(
                        "rect",
                        x=f"{LABEL_W + a * BAR_W:.1f}",
                        y=f"{y + 3}",
                        width=f"{max(2.0, (b - a) * BAR_W):.1f}",
                        height=str(ROW_H - 6),
                        class_="visit",
                        data_event=v.event_id,
                    )
                )
            svg_rows.append(
                el(
                    "g",
                    el("text", day_label(d, lang), x="0", y=f"{y + ROW_H - 7}"),
                    el("rect", x=str(LABEL_W), y=f"{y + 3}", width=str(BAR_W), height=str(ROW_H - 6), class_="window"),
                    join(bars),
                )
            )
        height = max(1, len(days)) * ROW_H + 20
        start_label = time_hm(cal.start, lang)
        end_label = time_hm(cal.end, lang)
        axis = el(
            "g",
            el("text", start_label, x=str(LABEL_W), y=str(height - 4)),
            el("text", end_label, x=str(LABEL_W + BAR_W - 36), y=str(height - 4)),
        )
        svg = el(
            "svg",
            # a text alternative (issue 16, point 7): what the bars are; the table below lists each pass
            el("desc", t(lang, "timeline_intro")),
            join(svg_rows),
            axis,
            xmlns="http://www.w3.org/2000/svg",
            viewBox=f"0 0 {LABEL_W + BAR_W + 10} {height}",
            class_="timeline",
            role="img",
            aria_label=t(lang, "timeline"),
            id="timeline",
        )
        show_team = scope.sees_badges
        team_names = ctx.registry.badges() if show_team else {}
        # a badge nobody registered: numbered on the page, never shown raw (it could follow a person)
        unknown_word = "équipe non enregistrée" if lang == "fr" else "unregistered team"
        unregistered = sorted({v.badge for v in visits if v.badge not in team_names})
        unknown = {b: f"{unknown_word} {i}" for i, b in enumerate(unregistered, start=1)}
        rows = [
            el(
                "tr",
                el("td", day_label(v.service_day, lang)),
                el("td", _time(ctx, v.first_seen, lang)),
                el("td", _time(ctx, v.last_seen, lang)),
                el("td", duration(v.dwell_s, lang), class_="num"),
                el("td", check_label(v.verification.value, lang) + " / " + check_label(v.beacon_check.value, lang)),
                el("td", team_names[v.badge].team if v.badge in team_names else unknown[v.badge])
                if show_team
                else None,
            )
            for v in visits
        ]
        head = [
            el("th", t(lang, "day")),
            el("th", t(lang, "first")),
            el("th", t(lang, "last")),
            el("th", t(lang, "dwell")),
            el("th", t(lang, "check")),
        ]
        if show_team:
            head.append(el("th", t(lang, "team")))
        form = el(
            "form",
            el("label", t(lang, "from"), " ", _date_input("first", start, lang)),
            el("label", t(lang, "to"), " ", _date_input("last", end, lang)),
            el("input", type="hidden", name="lang", value=lang),
            el("button", t(lang, "show"), type="submit"),
            method="get",
            class_="inline",
        )
        body = join(
            [
                el("p", f"{kind_label(c.kind, lang)} — {scope.registry.landlords[c.landlord].name}", class_="tagline"),
                el("p", "; ".join(errors), class_="error", role="alert", id="date-error") if errors else None,
                form,
                el("h3", t(lang, "timeline")),
                el("p", t(lang, "timeline_intro")),
                svg,
                table(head, rows, id="visits"),
            ]
        )
        return checkpoint_labels(scope.registry, scope.checkpoints()).get(c.id, c.name), body

    return p.respond(build, audit="page.timeline")


# ---- audit export ------------------------------------------------------------------------------


@router.get(
    "/ui/audit",
    response_class=HTMLResponse,
    responses=HTML_OK,
    summary="Audit export page: choose a landlord and a period, download CSV or PDF",
)
def audit_page(p: PageDep, landlord: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    ctx, lang = p.ctx, p.lang

    def build(scope: Scope) -> tuple[str, Html]:
        landlords = scope.landlords()
        chosen = scope.landlord_of(landlord).id if landlord else (landlords[0].id if landlords else "")
        last_day = _last_day(ctx)
        end = last_day if ctx.is_closed(last_day) else last_day - timedelta(days=1)
        start = end.replace(day=1)
        q = f"?first={start.isoformat()}&last={end.isoformat()}&lang={lang}"
        base = f"/api/v1/audit/landlords/{chosen}/report"
        form = el(
            "form",
            el(
                "label",
                t(lang, "landlord"),
                el(
                    "select",
                    join(el("option", x.name, value=x.id, selected=x.id == chosen) for x in landlords),
                    name="landlord",
                ),
            ),
            el("label", t(lang, "from"), " ", _date_input("first", start, lang)),
            el("label", t(lang, "to"), " ", _date_input("last", end, lang)),
            el("input", type="hidden", name="lang", value=lang),
            method="get",
            class_="inline",
            id="audit-form",
        )
        links = el(
            "p",
            el("a", t(lang, "download_csv"), href=base + ".csv" + q, class_="button", data_ext="csv", id="dl-csv"),
            " ",
            el("a", t(lang, "download_pdf"), href=base + ".pdf" + q, class_="button", data_ext="pdf", id="dl-pdf"),
            " ",
            el("a", t(lang, "download_zip"), href=base + ".zip" + q, class_="button", data_ext="zip", id="dl-zip"),
        )
        key = ctx.audit_key()
        key_box = el(
            "section",
            el("h3", t(lang, "audit_key")),
            el("p", t(lang, "audit_key_intro")),
            el("p", el("code", public_key_text(key), id="audit-public-key")),
            el(
                "p",
                f"{t(lang, 'fingerprint')}{' :' if lang == 'fr' else ':'} ",
                el("code", fingerprint(key), id="audit-key-fingerprint"),
            ),
            id="audit-key",
        )
        bilans = bilan_section(ctx, chosen, lang)  # issue 15: the landlord's issued bilans mensuels
        return t(lang, "audit"), join([el("p", t(lang, "audit_intro")), form, links, bilans, key_box])

    return p.respond(build)
