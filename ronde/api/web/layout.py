"""The page shell: header, navigation, language toggle, sign-out."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import URL

from ronde.api.auth import Principal, Role
from ronde.api.web.field_words import w
from ronde.api.web.html import Html, el, join, raw
from ronde.api.web.i18n import PageLang, t


def lang_url(url: URL, lang: PageLang) -> str:
    params = [(k, v) for k, v in parse_qsl(url.query, keep_blank_values=True) if k != "lang"]
    params.append(("lang", lang))
    return f"{url.path}?{urlencode(params)}"


def page(
    title: str, body: Html, lang: PageLang, *, url: URL, principal: Principal | None = None, status_note: str = ""
) -> str:
    other: PageLang = "en" if lang == "fr" else "fr"
    nav: list[Html] = []
    if principal is not None:
        nav.append(el("a", t(lang, "overview"), href=f"/ui?lang={lang}"))
        nav.append(el("a", t(lang, "plan"), href=f"/ui/plan?lang={lang}"))
        nav.append(el("a", t(lang, "audit"), href=f"/ui/audit?lang={lang}"))
        if principal.role in (Role.ADMIN, Role.SUPERVISOR):
            nav.append(el("a", t(lang, "supervision"), href=f"/ui/supervision?lang={lang}"))
        # field activity (issue 14): the queue, the requests, the team phones
        if principal.role in (Role.ADMIN, Role.SUPERVISOR, Role.LANDLORD):
            nav.append(el("a", w(lang, "queue"), href=f"/ui/signalements?lang={lang}", id="nav-queue"))
        if principal.role in (Role.ADMIN, Role.SUPERVISOR, Role.LANDLORD, Role.PARTNER):
            nav.append(el("a", w(lang, "requests"), href=f"/ui/demandes?lang={lang}", id="nav-requests"))
        if principal.role in (Role.ADMIN, Role.SUPERVISOR):
            nav.append(el("a", w(lang, "devices"), href=f"/ui/terrain/enrolment?lang={lang}", id="nav-devices"))
    who = None
    if principal is not None:
        who = el(
            "form",
            el("span", f"{principal.name} ({principal.role.value}) "),
            el("button", t(lang, "sign_out"), type="submit"),
            method="post",
            action=f"/logout?lang={lang}",
        )
    head = el(
        "head",
        raw('<meta charset="utf-8">'),
        el("meta", name="viewport", content="width=device-width, initial-scale=1"),
        el("title", f"{title} – Ronde"),
        el("link", rel="stylesheet", href="/static/ronde.css"),
        el("script", src="/static/ronde.js", defer=True),
    )
    header = el(
        "header",
        el("h1", t(lang, "app")),
        el("nav", join(nav)),
        el("a", t(lang, "language"), href=lang_url(url, other), class_="lang", hreflang=other, id="lang-toggle"),
        who,
    )
    main = el(
        "main",
        el("h2", title),
        el("p", status_note, class_="tagline") if status_note else None,
        body,
        el("p", t(lang, "privacy"), class_="privacy"),
    )
    return "<!DOCTYPE html>\n" + el("html", head, el("body", header, main), lang=lang)
