"""The "Bilans mensuels" section of the audit page (issue 15): a landlord's issued bilans, each file a link.

The bilans are the ones ``ronde notify run`` issued and kept in the operational database; the links go to
``/api/v1/notify/bilans/…`` (the page session is accepted there like on the audit downloads, and each download
is access-logged). An API serving files, without a database, has none to list.
"""

from __future__ import annotations

from ronde.api.context import ApiContext
from ronde.api.web.html import Html, el, join
from ronde.api.web.i18n import PageLang
from ronde.audit.bilan_labels import month_text
from ronde.audit.labels import Lang

WORDS = {
    "fr": {
        "title": "Bilans mensuels",
        "intro": "Le bilan de chaque mois, émis après sa dernière soirée de service : présence, activité de terrain, "
        "comparaison avec le mois précédent. Chaque fichier a son manifeste signé (« ronde audit verify »).",
        "none": "Aucun bilan émis pour ce bailleur.",
        "manifest": "manifeste",
    },
    "en": {
        "title": "Monthly reports",
        "intro": "Each month's report, issued after its last service evening: presence, field activity, comparison "
        'with the previous month. Each file has its signed manifest ("ronde audit verify").',
        "none": "No monthly report issued for this landlord.",
        "manifest": "manifest",
    },
}
DOCUMENTS = ("pdf", "csv", "json")


def bilan_section(ctx: ApiContext, landlord: str, lang: PageLang) -> Html:
    words = WORDS[lang]
    engine = getattr(ctx.registry, "engine", None)  # DbRegistryService's: the operational database
    stored = []
    if engine is not None and landlord:
        from ronde.opdb.engine import read_only, session_factory
        from ronde.opdb.notify_repo import bilans

        with session_factory(read_only(engine))() as s:
            stored = bilans(s, landlord=landlord)
    if not stored:
        body: Html = el("p", words["none"], id="bilans-none")
    else:
        items = []
        for b in stored:
            base = f"/api/v1/notify/bilans/{b.bilan_id}/"
            links = []
            for doc in DOCUMENTS:
                name = next((f for f in b.files if f.endswith(f".{doc}")), None)
                if name is not None:
                    links += [
                        el("a", doc.upper(), href=base + name, data_ext=doc),
                        " (",
                        el("a", words["manifest"], href=base + name + ".manifest.json"),
                        ") ",
                    ]
            month = month_text(b.month, Lang(lang))
            items.append(el("li", f"{month} ({b.lang}) : " if lang == "fr" else f"{month} ({b.lang}): ", join(links)))
        body = el("ul", join(items), id="bilans-list")
    return el("section", el("h3", words["title"]), el("p", words["intro"]), body, id="bilans")
