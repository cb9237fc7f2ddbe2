"""Pages of the field activity (issue 14): the landlord's queue of technical reports and sollicitations
("Signalements"), one record with its timeline, photo and status buttons, and the requests ("Demandes").

Every read and write goes through the field API's own route functions (``routes.field``), called with the
page's ``Scope``: the reach rules (a landlord sees its own places only, never a team) are the API's, in one
place, and a page cannot show what the API would refuse. Forms post to these routes with the session cookie
and a form token (``web.forms``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from ronde.api.auth import Principal, Role
from ronde.api.context import ApiContext
from ronde.api.deps import Ctx
from ronde.api.field_context import FieldServices, get_field
from ronde.api.field_models import AssignIn, PlaceIn, RecordOut, RequestIn, RequestOut, StatusIn
from ronde.api.field_service import partner_estates
from ronde.api.routes import field as field_api
from ronde.api.routes.pages import HTML_OK, INVALID, PageDep, page_lang
from ronde.api.scope import Forbidden, NotFound, Scope
from ronde.api.web.field_words import STEP_BUTTONS, status_label, term, w
from ronde.api.web.forms import BadForm, FormRefused, csrf_input, read_form
from ronde.api.web.html import Html, el, join, table
from ronde.api.web.i18n import PageLang
from ronde.api.web.layout import page
from ronde.gateway.ulid import UlidGenerator
from ronde.opdb import device_repo
from ronde.protocol import field_vocab as vocab
from ronde.protocol import formats
from ronde.protocol.errors import format_validation_error

# JSON even on HTML routes (as pages.py): a refused query parameter answers the API's validation body
router = APIRouter(tags=["pages"], responses={422: INVALID})
QUEUE_ROWS = 50
_ULIDS = UlidGenerator()


def local_time(ctx: ApiContext, instant: datetime | None, lang: PageLang) -> str:
    return formats.local_moment(instant, ctx.calendar.tz, ctx.now().astimezone(ctx.calendar.tz).date(), lang)


def _delay(start: datetime, end: datetime | None, lang: PageLang) -> str:
    return "–" if end is None else formats.duration((end - start).total_seconds(), lang)


def _what(r: RecordOut, lang: PageLang) -> str:
    if r.kind == "technique":
        return term(vocab.CATEGORIES, r.category, lang)
    return term(vocab.TYPES, r.type, lang)


def _estate_name(scope: Scope, estate_id: str) -> str:
    e = scope.registry.estates.get(estate_id)
    return e.name if e else estate_id


# ---- the queue --------------------------------------------------------------------------------------------------


def _filters(scope: Scope, lang: PageLang, kind: str | None, status: str | None, estate: str | None) -> Html:
    def select(name: str, label: str, options: list[tuple[str, str]], chosen: str | None) -> Html:
        opts = [el("option", "—", value="")] + [el("option", t, value=v, selected=v == chosen) for v, t in options]
        return el("label", label, el("select", join(opts), name=name, id=f"filter-{name}"))

    statuses = [(x.id, status_label(x.id, lang)) for x in (*vocab.REPORT_STATUSES, *vocab.SOLLICITATION_STATUSES)]
    return el(
        "form",
        select(
            "kind",
            w(lang, "kind"),
            [("technique", w(lang, "technique")), ("sollicitation", w(lang, "sollicitation"))],
            kind,
        ),
        select("status", w(lang, "status"), statuses, status),
        select("estate", w(lang, "estate"), [(e.id, e.name) for e in scope.estates()], estate),
        el("input", type="hidden", name="lang", value=lang),
        el("button", w(lang, "filter"), type="submit"),
        method="get",
        action="/ui/signalements",
        class_="inline",
        id="queue-filters",
    )


def _landlord_name(scope: Scope, r: RecordOut) -> str:
    """The landlord owning the record's place (staff see every landlord's records: which one is it?)."""
    reg = scope.registry
    place = reg.checkpoints.get(r.place.checkpoint or "") or reg.buildings.get(r.place.building or "")
    landlord = reg.landlords.get(place.landlord) if place is not None else None
    return landlord.name if landlord else "–"


def _queue_row(ctx: ApiContext, scope: Scope, r: RecordOut, lang: PageLang) -> Html:
    urgent = r.urgency == "urgent"
    return el(
        "tr",
        el("td", local_time(ctx, r.created_at, lang)),
        None if scope.landlord is not None else el("td", _landlord_name(scope, r)),
        el(
            "td",
            el("a", r.place.name, href=f"/ui/signalements/{r.id}?lang={lang}"),
            " ",
            el("small", _estate_name(scope, r.place.estate)),
        ),
        el("td", w(lang, r.kind)),
        el("td", _what(r, lang)),
        el("td", w(lang, "urgent") if urgent else w(lang, "normal"), class_="urgent" if urgent else None),
        el("td", status_label(r.status, lang), class_=f"status-{r.status}"),
        el("td", _delay(r.created_at, r.acknowledged_at, lang), class_="num"),
        el("td", _delay(r.created_at, r.resolved_at, lang), class_="num"),
        el("td", w(lang, "yes") if r.has_photo else ""),
        data_record=r.id,
        data_kind=r.kind,
        data_status=r.status,
    )


@router.get("/ui/signalements", response_class=HTMLResponse, responses=HTML_OK, summary="Field records queue")
def queue_page(
    p: PageDep,
    kind: Annotated[str | None, Query(pattern="^(technique|sollicitation)?$")] = None,
    status: Annotated[str | None, Query(pattern="^[a-z_]{0,20}$")] = None,
    estate: Annotated[str | None, Query(pattern="^[a-z0-9-]{0,64}$")] = None,
    cursor: Annotated[str | None, Query(pattern="^([0-9A-HJKMNP-TV-Z]{26})?$")] = None,
) -> Response:
    """The landlord's queue of its own places' records (supervisors: every record), newest first."""
    ctx, lang = p.ctx, p.lang
    kind, status, estate, cursor = kind or None, status or None, estate or None, cursor or None

    def build(scope: Scope) -> tuple[str, Html]:
        scope.require(Role.ADMIN, Role.SUPERVISOR, Role.LANDLORD)
        if estate is not None:
            scope.estate_of(estate)
        found = field_api.list_records(
            scope, get_field(p.request), kind=kind, status=status, estate=estate, limit=QUEUE_ROWS, cursor=cursor
        )
        heads = ["received", "place", "kind", "what", "urgency", "status", "to_ack", "to_resolve", "photo"]
        if scope.landlord is None:  # staff: every landlord's records, so say whose
            heads.insert(1, "landlord")
        rows = [_queue_row(ctx, scope, r, lang) for r in found.items]
        more = None
        if found.next_cursor:
            q = {k: v for k, v in (("kind", kind), ("status", status), ("estate", estate)) if v}
            more = el(
                "a",
                w(lang, "older"),
                href=f"/ui/signalements?{urlencode({**q, 'cursor': found.next_cursor, 'lang': lang})}",
                class_="button",
                id="older",
            )
        body = join(
            [
                el("p", w(lang, "queue_intro"), class_="tagline"),
                _filters(scope, lang, kind, status, estate),
                el("div", table([w(lang, h) for h in heads], rows, id="queue"), class_="scroll")
                if rows
                else el("p", w(lang, "queue_empty"), id="queue"),
                more,
            ]
        )
        return w(lang, "queue"), body

    return p.respond(build)


def _timeline(ctx: ApiContext, r: RecordOut, lang: PageLang) -> Html:
    rows = [
        el(
            "tr",
            el("td", status_label(s.status, lang)),
            el("td", local_time(ctx, s.at, lang)),
            el("td", _delay(r.created_at, s.at, lang), class_="num"),
            el("td", s.comment or ""),
        )
        for s in r.timeline or []
    ]
    return table([w(lang, h) for h in ("status", "when", "after", "comment")], rows, id="timeline-steps")


def _status_form(request: Request, r: RecordOut, lang: PageLang) -> Html | None:
    if r.kind != "technique" or r.status == "resolu":
        return None
    done = vocab.REPORT_STEPS.index(r.status)
    buttons = [
        el(
            "button",
            STEP_BUTTONS[lang][step],
            type="submit",
            name="status",
            value=step,
            class_="primary",
            id=f"set-{step}",
        )
        for step in vocab.REPORT_STEPS[done + 1 :]
    ]
    return el(
        "form",
        csrf_input(request),
        el("label", w(lang, "comment"), el("textarea", name="comment", id="status-comment", maxlength="500", rows="2")),
        el("p", join(buttons), class_="buttons"),
        method="post",
        action=f"/ui/signalements/{r.id}/status?lang={lang}",
        id="status-form",
    )


def _record_facts(ctx: ApiContext, scope: Scope, r: RecordOut, lang: PageLang) -> Html:
    facts: list[tuple[str, str]] = [
        (w(lang, "place"), f"{r.place.name} — {_estate_name(scope, r.place.estate)}"),
        (w(lang, "kind"), w(lang, r.kind)),
        (w(lang, "what"), _what(r, lang)),
        (w(lang, "received"), local_time(ctx, r.created_at, lang)),
        (w(lang, "status"), status_label(r.status, lang)),
    ]
    if r.kind == "technique":
        facts.append((w(lang, "urgency"), w(lang, "urgent") if r.urgency == "urgent" else w(lang, "normal")))
    else:
        facts.append((w(lang, "origin"), term(vocab.ORIGINS, r.origin, lang)))
        facts.append((w(lang, "response"), term(vocab.RESPONSES, r.response, lang)))
    if r.text:
        facts.append((w(lang, "text"), r.text))
    if r.comment:
        facts.append((w(lang, "comment"), r.comment))
    return el("dl", join(join([el("dt", k), el("dd", v)]) for k, v in facts), class_="facts", id="record-facts")


def _contact(ctx: ApiContext, scope: Scope, field: FieldServices, record_id: str, lang: PageLang) -> Html | None:
    """The consented contact, for whom the API shows it (staff; the landlord when the record is oriented to it)."""
    try:
        c = field_api.get_contact(record_id, scope, ctx, field)
    except NotFound:
        return None
    note = w(lang, "contact_note").format(
        consent=local_time(ctx, c.consent_at, lang), expires=local_time(ctx, c.expires_at, lang)
    )
    return el(
        "section",
        el("h3", w(lang, "contact")),
        el("p", el("strong", c.value), id="record-contact"),
        el("p", note, class_="tagline"),
        id="contact",
    )


@router.get("/ui/signalements/{record_id}", response_class=HTMLResponse, responses=HTML_OK, summary="One field record")
def record_page(record_id: str, p: PageDep, done: Annotated[str | None, Query(max_length=20)] = None) -> Response:
    """A record: its facts, its photo, its timeline with the delays, and the status buttons."""
    ctx, lang = p.ctx, p.lang

    def build(scope: Scope) -> tuple[str, Html]:
        scope.require(Role.ADMIN, Role.SUPERVISOR, Role.LANDLORD)
        r = field_api.get_record(record_id, scope, get_field(p.request))
        photo = (
            el(
                "figure",
                el(
                    "img",
                    src=f"/api/v1/field/records/{r.id}/photo",
                    alt=w(lang, "photo_alt"),
                    id="record-photo",
                    class_="photo",
                ),
            )
            if r.has_photo
            else None
        )
        note = (
            el("p", w(lang, f"done_{done}"), class_="ok", role="status", id="done")
            if done in ("status", "error")
            else None
        )
        body = join(
            [
                note,
                el("p", el("a", "← " + w(lang, "queue"), href=f"/ui/signalements?lang={lang}")),
                _record_facts(ctx, scope, r, lang),
                photo,
                _contact(ctx, scope, get_field(p.request), r.id, lang),
                el("h3", w(lang, "timeline")),
                _timeline(ctx, r, lang),
                _status_form(p.request, r, lang),
            ]
        )
        return f"{_what(r, lang)} — {r.place.name}", body

    return p.respond(build)


# ---- form posts -------------------------------------------------------------------------------------------------


def form_lang(request: Request, ctx: ApiContext) -> PageLang:
    q = request.query_params.get("lang")
    return page_lang(request, ctx, q if q in ("fr", "en") else None)  # type: ignore[arg-type]


def _refusal(request: Request, ctx: ApiContext, principal: Principal | None, status: int, text: str) -> HTMLResponse:
    lang = form_lang(request, ctx)
    return HTMLResponse(
        page(text, el("p", text, class_="error", role="alert"), lang, url=request.url, principal=principal),
        status_code=status,
    )


def _why(exc: Exception, lang: PageLang) -> tuple[int, str]:
    """The status and the sentence of a refused form (the API's own reasons, in the page's words)."""
    if isinstance(exc, FormRefused):
        return 403, f"{w(lang, 'form_refused')} ({exc})"
    if isinstance(exc, NotFound):
        return 404, w(lang, "not_found")
    if isinstance(exc, Forbidden):
        return 403, w(lang, "forbidden")
    if isinstance(exc, ValidationError):
        detail = format_validation_error(exc, echo_input=False)
        return 400, f"{w(lang, 'invalid')} {detail[:300]}"
    if isinstance(exc, HTTPException):
        return exc.status_code, f"{w(lang, 'refused')} {exc.detail}"
    return 400, f"{w(lang, 'invalid')} {exc}"  # BadForm


async def handle_form(
    request: Request, ctx: ApiContext, act: Callable[[Scope, dict[str, str], FieldServices], Response]
) -> Response:
    """Authenticate a page form, run ``act`` with the caller's scope; refusals as pages, never a 500."""
    principal: Principal | None = None
    try:
        principal, fields = await read_form(request, ctx)
        return act(Scope(principal, ctx.registry.registry), fields, get_field(request))
    except (FormRefused, BadForm, NotFound, Forbidden, ValidationError, HTTPException) as exc:
        status, text = _why(exc, form_lang(request, ctx))
        return _refusal(request, ctx, principal, status, text)


@router.post("/ui/signalements/{record_id}/status", include_in_schema=False)
async def record_status(record_id: str, request: Request, ctx: Ctx) -> Response:
    def act(scope: Scope, fields: dict[str, str], field: FieldServices) -> Response:
        scope.require(Role.ADMIN, Role.SUPERVISOR, Role.LANDLORD)
        body = StatusIn.model_validate({"status": fields.get("status", ""), "comment": fields.get("comment") or None})
        field_api.set_status(record_id, body, scope, ctx, field)
        return RedirectResponse(
            f"/ui/signalements/{record_id}?lang={form_lang(request, ctx)}&done=status", status_code=303
        )

    return await handle_form(request, ctx, act)


# ---- requests ---------------------------------------------------------------------------------------------------


def _place_options(scope: Scope, field: FieldServices, lang: PageLang) -> Html:
    """Every place the caller may post a request at: per estate and building, the building then its checkpoints."""
    estates: frozenset[str] | None = None
    if scope.principal.role is Role.PARTNER:
        with field.read() as s:
            estates = partner_estates(s, scope)
    groups: list[Html] = []
    for b in sorted(scope.buildings(), key=lambda b: (b.estate, b.name)):
        if estates is not None and b.estate not in estates:
            continue
        opts = [el("option", f"{b.name} ({w(lang, 'whole_building')})", value=f"b:{b.id}")]
        opts += [
            el("option", c.name, value=f"c:{c.id}")
            for c in sorted(scope.checkpoints(building=b.id), key=lambda c: c.name)
        ]
        groups.append(el("optgroup", join(opts), label=f"{_estate_name(scope, b.estate)} — {b.name}"))
    return el("select", join(groups), name="place", id="request-place", required=True)


def _request_form(request: Request, scope: Scope, field: FieldServices, lang: PageLang) -> Html:
    return el(
        "form",
        csrf_input(request),
        el("input", type="hidden", name="id", value=_ULIDS.new(time.time())),
        el("label", w(lang, "place"), _place_options(scope, field, lang)),
        el(
            "label",
            w(lang, "request_text"),
            el("textarea", name="text", id="request-text", maxlength="500", rows="2", required=True),
        ),
        el("p", w(lang, "no_personal_data"), class_="tagline"),
        el("label", w(lang, "wanted_by"), el("input", name="wanted_by", id="request-wanted", maxlength="120")),
        el("p", el("button", w(lang, "post_request"), type="submit", class_="primary", id="request-submit")),
        method="post",
        action=f"/ui/demandes?lang={lang}",
        id="request-form",
    )


def _evidence(ctx: ApiContext, scope: Scope, r: RequestOut, lang: PageLang) -> str:
    if not r.evidence:
        return w(lang, "no_evidence")
    last = max(r.evidence, key=lambda e: e.seen_at)
    cp = scope.registry.checkpoints.get(last.checkpoint)
    return f"{len(r.evidence)} — {cp.name if cp else last.checkpoint}, {local_time(ctx, last.seen_at, lang)}"


def _assign_form(request: Request, r: RequestOut, teams: list[str], lang: PageLang) -> Html | None:
    if r.status not in ("nouvelle", "assignee") or not teams:
        return None
    options = [el("option", team, value=team, selected=team == r.assigned_team) for team in teams]
    return el(
        "form",
        csrf_input(request),
        el("select", join(options), name="team", aria_label=w(lang, "team")),
        el("button", w(lang, "assign"), type="submit"),
        method="post",
        action=f"/ui/demandes/{r.id}/assign?lang={lang}",
        class_="inline assign",
    )


def _request_row(
    request: Request, ctx: ApiContext, scope: Scope, r: RequestOut, teams: list[str] | None, lang: PageLang
) -> Html:
    answer = "–"
    if r.response is not None:
        answer = f"{term(vocab.RESPONSES, r.response.response, lang)} ({formats.duration(r.answer_delay_s, lang)})"
    cells = [
        el("td", local_time(ctx, r.created_at, lang)),
        el("td", r.place.name, " ", el("small", _estate_name(scope, r.place.estate))),
        el("td", r.text, el("br") if r.wanted_by else None, el("small", r.wanted_by) if r.wanted_by else None),
        el("td", term(vocab.REQUEST_STATUSES, r.status, lang), class_=f"status-{r.status}"),
        el("td", answer),
        el("td", _evidence(ctx, scope, r, lang)),
    ]
    if teams is not None:
        cells.append(el("td", r.assigned_team or "–", _assign_form(request, r, teams, lang)))
    return el("tr", join(cells), data_request=r.id, data_status=r.status)


@router.get(
    "/ui/demandes", response_class=HTMLResponse, responses=HTML_OK, summary="Requests of a commanditaire or partner"
)
def requests_page(p: PageDep, done: Annotated[str | None, Query(max_length=20)] = None) -> Response:
    """A landlord or partner posts requests and follows them; supervisors see all and assign them to a team."""
    ctx, lang = p.ctx, p.lang

    def build(scope: Scope) -> tuple[str, Html]:
        scope.require(Role.ADMIN, Role.SUPERVISOR, Role.LANDLORD, Role.PARTNER)
        field = get_field(p.request)
        staff = scope.principal.role in (Role.ADMIN, Role.SUPERVISOR)
        found = field_api.list_requests(scope, ctx, field)
        teams: list[str] | None = None
        if staff:
            with field.read() as s:
                teams = device_repo.teams(s)
        heads = ["received", "place", "request_text", "status", "answer", "evidence"] + (["team"] if staff else [])
        rows = [_request_row(p.request, ctx, scope, r, teams, lang) for r in found]
        note = (
            el("p", w(lang, f"done_{done}"), class_="ok", role="status", id="done")
            if done in ("posted", "assigned")
            else None
        )
        body = join(
            [
                note,
                el("p", w(lang, "requests_intro"), class_="tagline"),
                None
                if staff
                else el("section", el("h3", w(lang, "new_request")), _request_form(p.request, scope, field, lang)),
                el("h3", w(lang, "requests")),
                el("div", table([w(lang, h) for h in heads], rows, id="requests"), class_="scroll")
                if rows
                else el("p", w(lang, "requests_empty"), id="requests"),
            ]
        )
        return w(lang, "requests"), body

    return p.respond(build)


@router.post("/ui/demandes", include_in_schema=False)
async def post_request(request: Request, ctx: Ctx) -> Response:
    def act(scope: Scope, fields: dict[str, str], field: FieldServices) -> Response:
        scope.require(Role.ADMIN, Role.SUPERVISOR, Role.LANDLORD, Role.PARTNER)
        kind, _, place_id = fields.get("place", "").partition(":")
        place = PlaceIn(checkpoint=place_id) if kind == "c" else PlaceIn(building=place_id)
        body = RequestIn.model_validate(
            {
                "id": fields.get("id", ""),
                "place": place,
                "text": fields.get("text", ""),
                "wanted_by": fields.get("wanted_by") or None,
            }
        )
        field_api.post_request(body, scope, ctx, field, Response())
        return RedirectResponse(f"/ui/demandes?lang={form_lang(request, ctx)}&done=posted", status_code=303)

    return await handle_form(request, ctx, act)


@router.post("/ui/demandes/{request_id}/assign", include_in_schema=False)
async def assign_request(request_id: str, request: Request, ctx: Ctx) -> Response:
    def act(scope: Scope, fields: dict[str, str], field: FieldServices) -> Response:
        scope.require(Role.ADMIN, Role.SUPERVISOR)
        field_api.assign_request(request_id, AssignIn(team=fields.get("team", "")), scope, ctx, field)
        return RedirectResponse(f"/ui/demandes?lang={form_lang(request, ctx)}&done=assigned", status_code=303)

    return await handle_form(request, ctx, act)
