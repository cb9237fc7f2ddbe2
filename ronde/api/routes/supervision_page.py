"""The supervision page a supervisor keeps open all evening (staff only), and its live JSON.

Every section is a table with its header row; places are named by their unambiguous label and
their landlord's name (never an id), times are local (Europe/Paris) with the date in front when
it is not today, and teams by their pseudonym: a raw badge never reaches a page. The page
refreshes itself by polling ``/ui/supervision/live`` (``ronde.js``), which answers the same
sections as HTML fragments built by the same code; without JavaScript the page is whole and an
"update" link reloads it.

Lists that grow with the estate (places not visited, teams, gateways offline, beacons to service) show
their first ``SECTION_ROWS`` rows (the longest idle first), then "et N autres" with a link to the whole
list (``?all=<section>``, that section uncapped, still live) and, for places, to the plan: a page kept
open all evening on an estate of thousands of places must stay readable and cheap to refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ronde.api.auth import Role
from ronde.api.context import ApiContext
from ronde.api.coverage_data import idleness_now
from ronde.api.deps import caller
from ronde.api.routes.pages import HTML_OK, INVALID, PageDep
from ronde.api.scope import Forbidden, Scope
from ronde.api.web.html import Html, el, join, table
from ronde.api.web.i18n import PageLang, duration, number, t
from ronde.coverage.live import GapState
from ronde.coverage.now import gap_states_now, maintenance_now, team_checkins_now
from ronde.protocol import formats
from ronde.protocol.labels import checkpoint_labels

router = APIRouter(tags=["pages"], responses={422: INVALID})
SUPERVISION_ROWS = 50  # newest rejections and gaps listed on the supervision page
POLL_S = 15  # how often the open page asks for fresh sections
SECTION_ROWS = 20  # rows of a list that grows with the estate, before "et N autres"
Listed = Literal["stale", "teams", "gateways", "maintenance"]  # the capped sections, ?all= shows one whole
ShowAll = Annotated[Listed | None, Query(alias="all", description="show this section's whole list")]

WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "alerts": "Alertes",
        "alerts_none": "Aucune alerte en cours.",
        "updated": "Mis à jour",
        "refresh": "Actualiser",
        "live_note": "La page se met à jour d'elle-même toutes les {n} secondes.",
        "idle_for": "Sans passage depuis",
        "at": "Heure",
        "gateway": "Passerelle",
        "offline_since": "Hors ligne depuis",
        "reason": "Motif",
        "detail": "Détail",
        "count": "Nombre",
        "missing": "Numéros manquants",
        "state": "État",
        "battery": "Batterie (mV)",
        "unknown_team": "équipe non enregistrée",
        "detected": "Constaté",
        "low_battery": "batterie faible",
        "not_seen_near_visits": "non captée alors que des équipes passaient",
        "calendar": "Calendrier du service",
        "cal_days": "Jours",
        "cal_hours": "Horaires",
        "cal_closed": "Prochaines fermetures",
        "cal_own": "calendrier propre",
        "and_more": "… et {n} autres.",
        "show_all": "Voir la liste complète",
        "or_plan": "ou",
        "plan_link": "le plan du quartier",
        "show_short": "Revenir aux {n} premiers",
    },
    "en": {
        "alerts": "Alerts",
        "alerts_none": "No alert in progress.",
        "updated": "Updated",
        "refresh": "Refresh",
        "live_note": "The page updates itself every {n} seconds.",
        "idle_for": "Not visited for",
        "at": "Time",
        "gateway": "Gateway",
        "offline_since": "Offline since",
        "reason": "Reason",
        "detail": "Detail",
        "count": "Count",
        "missing": "Missing numbers",
        "state": "State",
        "battery": "Battery (mV)",
        "unknown_team": "unregistered team",
        "detected": "Detected",
        "low_battery": "low battery",
        "not_seen_near_visits": "not heard while teams passed nearby",
        "calendar": "Service calendar",
        "cal_days": "Days",
        "cal_hours": "Hours",
        "cal_closed": "Next closed dates",
        "cal_own": "its own calendar",
        "and_more": "… and {n} more.",
        "show_all": "See the whole list",
        "or_plan": "or",
        "plan_link": "the estate plan",
        "show_short": "Back to the first {n}",
    },
}

# section id → heading key in i18n, in the page's order: what needs acting on tonight first (alerts,
# where the teams are, gateways down), then the long list of places not visited for a while
SECTIONS = (
    ("alerts", None),
    ("teams", "teams"),
    ("gateways", "gateways"),
    ("stale", "stale"),
    ("maintenance", "maintenance"),
    ("rejections", "rejections"),
    ("gaps", "gaps"),
    ("calendar", None),
)


def _w(lang: PageLang, key: str) -> str:
    return WORDS[lang][key]


class _View:
    """What the sections share: the context, the caller's scope, the language and "now"."""

    def __init__(self, ctx: ApiContext, scope: Scope, lang: PageLang, full: Listed | None = None) -> None:
        self.ctx, self.scope, self.lang, self.full = ctx, scope, lang, full
        self.now = ctx.now()
        self.today = self.now.astimezone(ctx.calendar.tz).date()
        self.labels = checkpoint_labels(scope.registry)

    def moment(self, instant: datetime | None) -> str:
        return formats.local_moment(instant, self.ctx.calendar.tz, self.today, self.lang)

    def landlord(self, landlord_id: str) -> str:
        x = self.scope.registry.landlords.get(landlord_id)
        return x.name if x is not None else landlord_id

    def place(self, checkpoint_id: str, fallback: str) -> str:
        return self.labels.get(checkpoint_id, fallback)

    def rows_or_nothing(self, headers: list[str], rows: list[list[object]], id_: str) -> Html:
        if not rows:
            return el("p", t(self.lang, "nothing"), id=id_)
        return table(headers, (el("tr", join(el("td", c) for c in r)) for r in rows), id=id_)

    def capped(self, section: Listed, headers: list[str], rows: list[list[object]], id_: str) -> Html:
        """The first ``SECTION_ROWS`` rows and "et N autres" with links to the whole list (and, for places, the
        plan); the whole list when the page was asked for it (``?all=section``), with a link back."""
        lang, whole = self.lang, self.full == section
        shown = rows if whole else rows[:SECTION_ROWS]
        out = self.rows_or_nothing(headers, shown, id_)
        hidden = len(rows) - len(shown)
        if whole and len(rows) > SECTION_ROWS:
            back = el(
                "a", _w(lang, "show_short").format(n=SECTION_ROWS), href=f"/ui/supervision?lang={lang}#live-{section}"
            )
            return join([out, el("p", back, class_="more", id=f"{id_}-more")])
        if hidden <= 0:
            return out
        links: list[object] = [
            el("a", _w(lang, "show_all"), href=f"/ui/supervision?lang={lang}&all={section}#live-{section}")
        ]
        if section == "stale":
            links += [" ", _w(lang, "or_plan"), " ", el("a", _w(lang, "plan_link"), href=f"/ui/plan?lang={lang}")]
        note = el(
            "p", _w(lang, "and_more").format(n=number(hidden, lang)), " ", join(links), class_="more", id=f"{id_}-more"
        )
        return join([out, note])


def _alerts(v: _View) -> Html:
    """The alerts in progress (issue 15), as ``ronde notify run`` keeps them in the operational database; an API
    serving files (no database behind its registry) has none."""
    engine = getattr(v.ctx.registry, "engine", None)  # DbRegistryService's: the operational database
    if engine is None:
        return el("p", _w(v.lang, "alerts_none"), id="alerts")
    from ronde.api.web.notify_state import alerts_in_progress, failed_deliveries_note

    alerts = alerts_in_progress(engine)
    if alerts:
        rows: list[list[object]] = [[a.title, v.moment(a.raised_at), v.moment(a.last_seen_at)] for a in alerts]
        heads = [_w(v.lang, "detail"), _w(v.lang, "detected"), _w(v.lang, "updated")]
        shown = v.rows_or_nothing(heads, rows, "alerts")
    else:
        shown = el("p", _w(v.lang, "alerts_none"), id="alerts")
    note = failed_deliveries_note(engine, v.lang, v.moment)  # a delivery waiting for its retry is seen here
    return shown if note is None else join([shown, note])


def _stale(v: _View) -> Html:
    limit = v.ctx.settings.stale_after_min * 60
    stale = sorted((r for r in idleness_now(v.ctx, v.scope) if r.idle_s > limit), key=lambda r: -r.idle_s)
    lang = v.lang
    rows: list[list[object]] = [
        [
            v.place(r.checkpoint_id, r.name),
            v.landlord(r.landlord),
            duration(r.idle_s, lang) + (" +" if r.at_least else ""),
            v.moment(r.last_visit),
        ]
        for r in stale
    ]
    heads = [t(lang, "checkpoint"), t(lang, "landlord"), _w(lang, "idle_for"), t(lang, "last")]
    return v.capped("stale", heads, rows, "stale")


def _teams(v: _View) -> Html:
    """Teams by their pseudonym; a badge nobody registered gets a number, never its raw value (a
    badge is the one identifier that could follow a person from page to page)."""
    names = v.ctx.registry.badges()
    checkins = team_checkins_now(v.ctx.store, v.scope.registry, now=v.now)
    unknown = {b: i for i, b in enumerate(sorted({x.badge for x in checkins} - set(names)), start=1)}
    rows: list[list[object]] = [
        [
            names[x.badge].team if x.badge in names else f"{_w(v.lang, 'unknown_team')} {unknown[x.badge]}",
            v.place(x.checkpoint_id, x.checkpoint_name),
            v.moment(x.at),
        ]
        for x in checkins
    ]
    return v.capped("teams", [t(v.lang, "team"), t(v.lang, "checkpoint"), _w(v.lang, "at")], rows, "teams")


def _maintenance(v: _View) -> Html:
    rows: list[list[object]] = [
        [
            v.place(m.checkpoint_id, m.name),
            v.landlord(m.landlord),
            WORDS[v.lang].get(m.reason.value, m.reason.value),
            number(m.battery_mv, v.lang) if m.battery_mv else "",
        ]
        for m in maintenance_now(v.ctx.store, v.scope.registry, now=v.now)
    ]
    heads = [t(v.lang, "checkpoint"), t(v.lang, "landlord"), _w(v.lang, "reason"), _w(v.lang, "battery")]
    return v.capped("maintenance", heads, rows, "maintenance")


def _gateways(v: _View) -> Html:
    offline = [s for s in v.ctx.store.latest_gateway_states().values() if not s.online]
    rows: list[list[object]] = [[s.gateway_id, v.moment(s.at)] for s in sorted(offline, key=lambda s: s.gateway_id)]
    return v.capped("gateways", [_w(v.lang, "gateway"), _w(v.lang, "offline_since")], rows, "gateways")


def _rejections(v: _View) -> Html:
    """The newest rows only, taken by the store's query, and the counts by an aggregate: a flood of
    refused messages must not be read whole on every refresh."""
    lang = v.lang
    since, until = v.now - timedelta(hours=24), v.now + timedelta(seconds=1)
    rejections = v.ctx.store.rejections(since, until, limit=SUPERVISION_ROWS, newest_first=True)
    counts = v.ctx.store.rejection_counts(since, until)
    total = sum(counts.values())
    heads = [_w(lang, "at"), _w(lang, "reason"), _w(lang, "gateway"), _w(lang, "detail")]
    rows: list[list[object]] = [[v.moment(r.at), r.reason.value, r.gateway_id or "", r.detail] for r in rejections]
    parts: list[Html] = []
    if total > len(rejections):
        note = t(lang, "rejections_newest").format(n=len(rejections), total=number(total, lang))
        parts.append(el("p", note, id="rejections-shown"))
    parts.append(v.rows_or_nothing(heads, rows, "rejections"))
    if counts:
        parts.append(el("h4", t(lang, "rejections_by_reason")))
        count_rows: list[list[object]] = [[reason.value, number(n, lang)] for reason, n in sorted(counts.items())]
        parts.append(v.rows_or_nothing([_w(lang, "reason"), _w(lang, "count")], count_rows, "rejection-counts"))
    return join(parts)


def _gaps(v: _View) -> Html:
    lang = v.lang
    since, until = v.now - timedelta(hours=24), v.now + timedelta(seconds=1)
    gaps = gap_states_now(
        v.ctx.store,
        v.ctx.store.gaps(since, until)[-SUPERVISION_ROWS:],
        now=v.now,
        anomaly_after=v.ctx.settings.sequence_anomaly_after,
    )

    def text(s: GapState) -> str:
        if s.anomaly:
            return t(lang, "gap_anomaly").format(n=number(s.size, lang))
        if s.filled:
            return t(lang, "gap_filled")
        return t(lang, "gap_missing").format(n=number(s.still_missing, lang))

    rows: list[list[object]] = [
        [s.gap.gateway_id, f"{s.gap.first_missing}–{s.gap.last_missing}", text(s), v.moment(s.gap.detected_at)]
        for s in gaps
    ]
    heads = [_w(lang, "gateway"), _w(lang, "missing"), _w(lang, "state"), _w(lang, "detected")]
    return v.rows_or_nothing(heads, rows, "gaps")


CLOSED_SHOWN = 5  # next closed dates listed per estate


def _calendar(v: _View) -> Html:
    """Each estate's service days and hours (its own calendar, else the default) and its next closed dates
    (``docs/calendar.md``: changed with ``ronde calendar`` or ``/api/v1/calendar``)."""
    cals = v.ctx.calendar
    own = dict(cals.estates)
    names = formats.DAYS_FR if v.lang == "fr" else formats.DAYS_EN
    rows: list[list[object]] = []
    for estate in sorted(v.scope.registry.estates.values(), key=lambda e: e.id):
        cal = cals.for_estate(estate.id)
        closed = [formats.date_short(d, v.lang) for d in sorted(cal.closed) if d >= v.today][:CLOSED_SHOWN]
        rows.append(
            [
                f"{estate.name} ({_w(v.lang, 'cal_own')})" if estate.id in own else estate.name,
                ", ".join(names[d] for d in sorted(cal.days)),
                f"{formats.time_hm(cal.start, v.lang)} – {formats.time_hm(cal.end, v.lang)}",
                ", ".join(closed) or "–",
            ]
        )
    headers = [t(v.lang, "estate"), _w(v.lang, "cal_days"), _w(v.lang, "cal_hours"), _w(v.lang, "cal_closed")]
    return v.rows_or_nothing(headers, rows, "calendar-table")


_BUILDERS: dict[str, Callable[[_View], Html]] = {
    "alerts": _alerts,
    "stale": _stale,
    "teams": _teams,
    "maintenance": _maintenance,
    "gateways": _gateways,
    "rejections": _rejections,
    "gaps": _gaps,
    "calendar": _calendar,
}


def sections(ctx: ApiContext, scope: Scope, lang: PageLang, full: Listed | None = None) -> tuple[str, dict[str, Html]]:
    """The "updated at" text and each section's content, ``full`` the one shown whole (staff only:
    ``Forbidden`` otherwise)."""
    scope.require(Role.ADMIN, Role.SUPERVISOR)
    v = _View(ctx, scope, lang, full)
    return v.moment(v.now), {key: build(v) for key, build in _BUILDERS.items()}


@router.get(
    "/ui/supervision",
    response_class=HTMLResponse,
    responses=HTML_OK,
    summary="Live supervision page (supervisors and admins); refreshes itself from /ui/supervision/live",
)
def supervision_page(p: PageDep, full: ShowAll = None) -> Response:
    lang = p.lang
    shown = f"&all={full}" if full else ""

    def build(scope: Scope) -> tuple[str, Html]:
        updated, parts = sections(p.ctx, scope, lang, full)
        status = el(
            "p",
            f"{_w(lang, 'updated')} : " if lang == "fr" else f"{_w(lang, 'updated')}: ",
            el("span", updated, id="live-updated"),
            " — ",
            _w(lang, "live_note").format(n=POLL_S),
            " ",
            el("a", _w(lang, "refresh"), href=f"/ui/supervision?lang={lang}{shown}", id="live-refresh"),
            class_="tagline",
            aria_live="polite",
        )
        body = [status]
        for key, heading in SECTIONS:
            title = _w(lang, key) if heading is None else t(lang, heading)
            body.append(el("section", el("h3", title), el("div", parts[key], id=f"live-{key}"), class_="live"))
        body.append(el("script", src="/static/supervision.js", defer=True))
        return t(lang, "supervision"), el(
            "div",
            join(body),
            id="supervision",
            data_live=f"/ui/supervision/live?lang={lang}{shown}",
            data_poll_s=str(POLL_S),
        )

    return p.respond(build)


@router.get(
    "/ui/supervision/live",
    summary="The supervision page's sections as HTML fragments (polled by the open page)",
    responses={
        200: {"description": '{"updated": "21 h 15", "sections": {"stale": "<table…>", …}}'},
        401: {"description": "not signed in"},
        403: {"description": "not staff"},
    },
)
def supervision_live(request: Request, p: PageDep, full: ShowAll = None) -> Response:
    principal = caller(request, p.ctx)
    if principal is None:
        return JSONResponse({"error": "unauthorized", "detail": "sign in again"}, status_code=401)
    try:
        updated, parts = sections(p.ctx, Scope(principal, p.ctx.registry.registry), p.lang, full)
    except Forbidden:
        return JSONResponse({"error": "forbidden", "detail": "supervisors and admins only"}, status_code=403)
    body: dict[str, Any] = {"updated": updated, "sections": dict(parts)}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
