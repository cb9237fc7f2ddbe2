"""The supervisor's page of team phones (issue 14): make a one-time enrolment code shown as a QR code, list the
enrolled phones, revoke one.

The code is a credential for 15 minutes: it is shown once, in the answer to the form's POST, never put in a
URL of ours (history, logs). Codes and revocations go through the API's own route functions (``routes.terrain``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ronde.api.auth import Role
from ronde.api.context import ApiContext
from ronde.api.deps import Ctx
from ronde.api.field_context import FieldServices, get_field
from ronde.api.field_models import DeviceOut, EnrolmentIn, EnrolmentOut
from ronde.api.routes import terrain as terrain_api
from ronde.api.routes.field_pages import form_lang, handle_form, local_time
from ronde.api.routes.pages import HTML_OK, INVALID, PageDep
from ronde.api.scope import Scope
from ronde.api.web.field_words import w
from ronde.api.web.forms import csrf_input
from ronde.api.web.html import Html, el, join, raw, table
from ronde.api.web.i18n import PageLang
from ronde.api.web.layout import page
from ronde.opdb import device_repo

router = APIRouter(tags=["pages"], responses={422: INVALID})
PATH = "/ui/terrain/enrolment"


def _devices(request: Request, ctx: ApiContext, found: list[DeviceOut], lang: PageLang) -> Html:
    if not found:
        return el("p", w(lang, "no_devices"), id="devices")
    rows = []
    for d in sorted(found, key=lambda d: (d.revoked_at is not None, d.team, d.label)):
        revoke = (
            el(
                "form",
                csrf_input(request),
                el("button", w(lang, "revoke"), type="submit", class_="danger", data_device=d.device_id),
                method="post",
                action=f"/ui/terrain/devices/{d.device_id}/revoke?lang={lang}",
                class_="inline",
            )
            if d.revoked_at is None
            else None
        )
        state = (
            w(lang, "active") if d.revoked_at is None else f"{w(lang, 'revoked')} {local_time(ctx, d.revoked_at, lang)}"
        )
        rows.append(
            el(
                "tr",
                el("td", d.label),
                el("td", d.team),
                el("td", local_time(ctx, d.enrolled_at, lang)),
                el("td", local_time(ctx, d.last_seen_at, lang)),
                el("td", state, revoke),
                data_device=d.device_id,
                data_revoked="1" if d.revoked_at else "0",
            )
        )
    heads = [w(lang, k) for k in ("label", "team", "enrolled", "last_seen", "state")]
    return table(heads, rows, id="devices")


def _code_form(request: Request, teams: list[str], lang: PageLang) -> Html:
    if not teams:
        return el("p", w(lang, "no_teams"), class_="error")
    return el(
        "form",
        csrf_input(request),
        el(
            "label",
            w(lang, "team"),
            el("select", join(el("option", t, value=t) for t in teams), name="team", id="team"),
        ),
        el("button", w(lang, "new_code"), type="submit", class_="primary", id="new-code"),
        method="post",
        action=f"{PATH}?lang={lang}",
        class_="inline",
        id="enrol-form",
    )


def _qr(request: Request, ctx: ApiContext, made: EnrolmentOut, team: str, lang: PageLang) -> Html:
    url = str(request.base_url).rstrip("/") + made.enrol_url
    svg = made.qr_svg[made.qr_svg.find("<svg") :]  # segno's markup, made by the server: no XML declaration inline
    return el(
        "section",
        el("h3", f"{w(lang, 'code_for')} {team}"),
        el("figure", raw(svg), class_="qr", role="img", aria_label=url),
        el("p", el("code", url, id="enrol-url")),
        el("p", f"{w(lang, 'expires')} {local_time(ctx, made.expires_at, lang)}"),
        id="enrolment",
    )


def _body(
    request: Request, ctx: ApiContext, scope: Scope, field: FieldServices, lang: PageLang, top: Html | None
) -> Html:
    with field.read() as s:
        teams = device_repo.teams(s)
    found = terrain_api.list_devices(scope, field)
    return join(
        [
            top,
            el("p", w(lang, "devices_intro"), class_="tagline"),
            _code_form(request, teams, lang),
            _devices(request, ctx, found, lang),
        ]
    )


@router.get(PATH, response_class=HTMLResponse, responses=HTML_OK, summary="Team phones: enrolment QR code, revocation")
def devices_page(p: PageDep, done: str | None = None) -> Response:
    def build(scope: Scope) -> tuple[str, Html]:
        scope.require(Role.ADMIN, Role.SUPERVISOR)
        note = el("p", w(p.lang, "done_revoked"), class_="ok", role="status", id="done") if done == "revoked" else None
        return w(p.lang, "devices"), _body(p.request, p.ctx, scope, get_field(p.request), p.lang, note)

    return p.respond(build)


@router.post(PATH, include_in_schema=False)
async def new_code(request: Request, ctx: Ctx) -> Response:
    def act(scope: Scope, fields: dict[str, str], field: FieldServices) -> Response:
        scope.require(Role.ADMIN, Role.SUPERVISOR)
        lang = form_lang(request, ctx)
        made = terrain_api.create_enrolment(EnrolmentIn(team=fields.get("team", "")), scope, ctx, field, request)
        with field.read() as s:
            team = device_repo.resolve_team(s, fields.get("team", ""))
        body = _body(request, ctx, scope, field, lang, _qr(request, ctx, made, team, lang))
        html = page(w(lang, "devices"), body, lang, url=request.url, principal=scope.principal)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    return await handle_form(request, ctx, act)


@router.post("/ui/terrain/devices/{device_id}/revoke", include_in_schema=False)
async def revoke(device_id: str, request: Request, ctx: Ctx) -> Response:
    def act(scope: Scope, fields: dict[str, str], field: FieldServices) -> Response:
        scope.require(Role.ADMIN, Role.SUPERVISOR)
        terrain_api.revoke_device(device_id, scope, ctx, field)
        return RedirectResponse(f"{PATH}?lang={form_lang(request, ctx)}&done=revoked", status_code=303)

    return await handle_form(request, ctx, act)
