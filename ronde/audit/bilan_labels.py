"""Words of the bilan mensuel, French first (vocabulary of the launch announcement), English on request.

Field vocabulary ids (origins, types, responses, categories) are the stable ASCII ids of issue 14, shown with the
field app's own labels (``ronde.protocol.field_vocab``); an id it does not know is shown as it is, so a new
category never breaks a bilan.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from ronde.audit.labels import Lang
from ronde.protocol import field_vocab
from ronde.protocol.field_vocab import Term

MONTHS = {
    Lang.FR: (
        "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()  # noqa: SIM905 - one line reads better
    ),
    Lang.EN: (
        "January February March April May June July August September October November December".split()  # noqa: SIM905 - one line reads better
    ),
}

BILAN_TEXT: Mapping[Lang, Mapping[str, str]] = {
    Lang.FR: {
        "title": "Bilan mensuel de la médiation sociale et de la tranquillité résidentielle",
        "cover_share": "Taux de couverture",
        "cover_passes": "Passages des médiateurs",
        "cover_sollicitations": "Sollicitations",
        "cover_technical": "Signalements techniques",
        "cover_resolved": "dont résolus",
        "vs_previous": "mois précédent",
        "no_previous": "pas de mois précédent",
        "chart_evenings": "Couverture par soirée de service",
        "chart_categories": "Signalements techniques par catégorie",
        "presence": "Présence délivrée",
        "presence_h": "Heures de présence",
        "places": "Par quartier et par immeuble",
        "place": "Lieu",
        "checkpoints": "Points de passage",
        "passes": "Passages",
        "share": "Couverture",
        "no_data": "Sans données",
        "sollicitations": "Sollicitations",
        "technical": "Signalements",
        "requests": "Demandes",
        "field": "Activité de terrain sur votre patrimoine",
        "by_origin": "Sollicitations par origine",
        "by_type": "Sollicitations par type",
        "by_response": "Réponses apportées",
        "orientations": "Orientations par partenaire",
        "category": "Catégorie",
        "reports": "Signalements",
        "urgent": "Urgents",
        "acknowledged": "Pris en compte",
        "median_ack_h": "Délai médian de prise en compte (h)",
        "resolved": "Résolus",
        "median_resolution_h": "Délai médian de résolution (h)",
        "your_requests": "Vos demandes",
        "req_total": "Demandes reçues",
        "req_assigned": "Confiées à une équipe",
        "req_answered": "Traitées",
        "req_open": "Encore ouvertes",
        "req_assign_h": "Délai médian d'affectation (h)",
        "req_answer_h": "Délai médian de traitement (h)",
        "comparison": "Comparaison avec le mois précédent",
        "figure": "Indicateur",
        "this_month": "Ce mois",
        "last_month": "Mois précédent",
        "change": "Évolution",
        "evenings": "Couverture par soirée",
        "evening": "Soirée",
        "none": "Aucune",
        "privacy": (
            "Ce bilan porte sur des lieux : il ne contient aucun identifiant d'équipe ni de personne, et aucun "
            "chiffre par équipe ou par médiateur."
        ),
        "verify_hint": (
            "Vérification : « ronde audit verify <bilan> --public-key <clé> --store <URL> » vérifie la signature du "
            "bilan (fichier .manifest.json joint) et recalcule la chaîne d'empreintes de la présence."
        ),
        "bilan_id": "Identifiant du bilan",
        "issued_at": "Émis le",
        "landlord": "Bailleur",
    },
    Lang.EN: {
        "title": "Monthly report of social mediation and residential peace",
        "cover_share": "Coverage",
        "cover_passes": "Mediators' passes",
        "cover_sollicitations": "Sollicitations",
        "cover_technical": "Technical reports",
        "cover_resolved": "resolved",
        "vs_previous": "previous month",
        "no_previous": "no previous month",
        "chart_evenings": "Coverage per service evening",
        "chart_categories": "Technical reports by category",
        "presence": "Presence delivered",
        "presence_h": "Presence hours",
        "places": "By estate and building",
        "place": "Place",
        "checkpoints": "Checkpoints",
        "passes": "Passes",
        "share": "Coverage",
        "no_data": "No data",
        "sollicitations": "Sollicitations",
        "technical": "Reports",
        "requests": "Requests",
        "field": "Field activity on your estates",
        "by_origin": "Sollicitations by origin",
        "by_type": "Sollicitations by type",
        "by_response": "Responses given",
        "orientations": "Orientations by partner",
        "category": "Category",
        "reports": "Reports",
        "urgent": "Urgent",
        "acknowledged": "Acknowledged",
        "median_ack_h": "Median time to acknowledge (h)",
        "resolved": "Resolved",
        "median_resolution_h": "Median time to resolve (h)",
        "your_requests": "Your requests",
        "req_total": "Requests received",
        "req_assigned": "Assigned to a team",
        "req_answered": "Handled",
        "req_open": "Still open",
        "req_assign_h": "Median time to assign (h)",
        "req_answer_h": "Median time to handle (h)",
        "comparison": "Compared with the previous month",
        "figure": "Figure",
        "this_month": "This month",
        "last_month": "Previous month",
        "change": "Change",
        "evenings": "Coverage per evening",
        "evening": "Evening",
        "none": "None",
        "privacy": (
            "This report is about places: it holds no team or person identifier, and no figure per team or person."
        ),
        "verify_hint": (
            'Verify: "ronde audit verify <bilan> --public-key <key> --store <URL>" checks the signature (the '
            ".manifest.json file beside it) and recomputes the presence hash chain."
        ),
        "bilan_id": "Report id",
        "issued_at": "Issued at",
        "landlord": "Landlord",
    },
}

GROUPS: Mapping[str, tuple[Term, ...]] = {
    "origin": field_vocab.ORIGINS,
    "type": field_vocab.TYPES,
    "response": field_vocab.RESPONSES,
    "category": field_vocab.CATEGORIES,
}


def word(code: str, lang: Lang, group: str | None) -> str:
    """The label of a field vocabulary id in ``group`` (origin, type, response, category: the field app's own
    words, ``ronde.protocol.field_vocab``); the id itself when unknown, and any text when ``group`` is None (a
    partner's name)."""
    for term in GROUPS.get(group or "", ()):
        if term.id == code:
            return term.fr if lang is Lang.FR else term.en
    return code


def month_text(month: date, lang: Lang) -> str:
    return f"{MONTHS[lang][month.month - 1]} {month.year}"
