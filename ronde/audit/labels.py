"""Words of the reports, French first (vocabulary of the launch announcement), English switchable."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum

from ronde.protocol.estate import KIND_LABELS_EN, KIND_LABELS_FR, CheckpointKind


class Lang(StrEnum):
    FR = "fr"
    EN = "en"


TEXT: Mapping[Lang, Mapping[str, str]] = {
    Lang.FR: {
        "title": "Rapport d'audit de présence – médiation sociale et tranquillité résidentielle",
        "subtitle": "Passages des médiateurs sur les espaces communs du patrimoine du bailleur",
        "landlord": "Bailleur",
        "period": "Période",
        "period_to": "au",
        "revision": "Révision du registre",
        "report_id": "Identifiant du rapport",
        "issued_at": "Émis le",
        "service_hours": "Heures de service",
        "chain_final": "Empreinte finale de la chaîne (SHA-256)",
        "chain_anchor": "Ancre de la chaîne",
        "key_fingerprint": "Empreinte de la clé d'audit (Ed25519)",
        "summary": "Synthèse",
        "share_covered": "Taux de couverture (points de passage × jours)",
        "share_sensed": "Taux de couverture hors jours sans données",
        "checkpoint_days": "Points de passage × jours de service",
        "covered": "couverts",
        "not_visited": "non visités",
        "no_data": "sans données",
        "per_checkpoint": "Passages par point de passage",
        "per_day": "Couverture et chaîne d'empreintes par jour de service",
        "checkpoint": "Point de passage",
        "checkpoint_id": "Identifiant",
        "kind": "Type d'espace",
        "building": "Immeuble",
        "estate": "Quartier",
        "expected": "Passages attendus par jour",
        "service_days": "Jours de service",
        "passes": "Passages",
        "covered_days": "Jours couverts",
        "not_visited_days": "Jours non visités",
        "no_data_days": "Jours sans données",
        "presence_h": "Présence (h)",
        "avg_idle_h": "Inactivité moyenne (h)",
        "longest_wait_min": "Attente la plus longue (min)",
        "gap_cv": "Régularité des passages (CV)",
        "signed": "Événements signés",
        "signed_short": "Signés / total",
        "eid_short": "EID vérifiées / total",
        "unsigned": "Événements non signés",
        "eid": "Balises EID vérifiées",
        "static": "Balises à identifiant fixe",
        "days_not_visited": "Jours non visités (dates)",
        "days_no_data": "Jours sans données (dates)",
        "day": "Jour",
        "share": "Couverture",
        "events": "Événements",
        "link": "Maillon de la chaîne (SHA-256)",
        "weekdays": "lun,mar,mer,jeu,ven,sam,dim",
        "verify_hint": (
            "Vérification : « ronde audit verify <rapport> --public-key <clé> --store <URL> » vérifie la "
            "signature et les chiffres du rapport, recalcule la chaîne à partir des événements stockés et "
            "indique le premier jour qui diffère."
        ),
        "privacy": ("Ce rapport porte sur des lieux : il ne contient aucun identifiant d'équipe ni de personne."),
        "legend_nodata": (
            "« Sans données » : aucune passerelle ou la balise n'était en état de fonctionner ce jour-là ; "
            "« non visité » : le dispositif fonctionnait mais le passage attendu n'a pas eu lieu."
        ),
        "wait_note": (
            "Attente la plus longue : le plus long intervalle sans passage au cours d'une soirée avec données "
            "(une soirée sans données n'est pas une preuve d'absence et n'en compte pas)."
        ),
        "page": "Page",
    },
    Lang.EN: {
        "title": "Presence audit report – social mediation and residential peace",
        "subtitle": "Mediators' passes through the landlord's common areas",
        "landlord": "Landlord",
        "period": "Period",
        "period_to": "to",
        "revision": "Registry revision",
        "report_id": "Report id",
        "issued_at": "Issued at",
        "service_hours": "Service hours",
        "chain_final": "Final chain digest (SHA-256)",
        "chain_anchor": "Chain anchor",
        "key_fingerprint": "Audit key fingerprint (Ed25519)",
        "summary": "Summary",
        "share_covered": "Share covered (checkpoint-days)",
        "share_sensed": "Share covered excluding no-data days",
        "checkpoint_days": "Checkpoint-days of service",
        "covered": "covered",
        "not_visited": "not visited",
        "no_data": "no data",
        "per_checkpoint": "Passes per checkpoint",
        "per_day": "Coverage and chain links per service day",
        "checkpoint": "Checkpoint",
        "checkpoint_id": "Id",
        "kind": "Kind of place",
        "building": "Building",
        "estate": "Estate",
        "expected": "Expected passes per day",
        "service_days": "Service days",
        "passes": "Passes",
        "covered_days": "Days covered",
        "not_visited_days": "Days not visited",
        "no_data_days": "Days without data",
        "presence_h": "Presence (h)",
        "avg_idle_h": "Average idleness (h)",
        "longest_wait_min": "Longest wait (min)",
        "gap_cv": "Regularity of passes (CV)",
        "signed": "Signed events",
        "signed_short": "Signed / all",
        "eid_short": "EID verified / all",
        "unsigned": "Unsigned events",
        "eid": "EID beacons verified",
        "static": "Fixed-id beacons",
        "days_not_visited": "Days not visited (dates)",
        "days_no_data": "Days without data (dates)",
        "day": "Day",
        "share": "Coverage",
        "events": "Events",
        "link": "Chain link (SHA-256)",
        "weekdays": "Mon,Tue,Wed,Thu,Fri,Sat,Sun",
        "verify_hint": (
            'Verify: "ronde audit verify <report> --public-key <key> --store <URL>" checks the report\'s '
            "signature and figures, recomputes the chain from the stored events and names the first day that differs."
        ),
        "privacy": "This report is about places: it holds no team or person identifier.",
        "legend_nodata": (
            '"No data": no gateway, or not the beacon, was working that day; "not visited": the system '
            "was working but the expected pass did not happen."
        ),
        "wait_note": (
            "Longest wait: the longest interval without a pass within an evening with data (an evening without "
            "data is no evidence of absence and does not count)."
        ),
        "page": "Page",
    },
}


def kind_label(kind: str, lang: Lang) -> str:
    try:
        k = CheckpointKind(kind)
    except ValueError:
        return kind
    return (KIND_LABELS_FR if lang is Lang.FR else KIND_LABELS_EN)[k]


def number(value: float | None, lang: Lang, digits: int = 1) -> str:
    if value is None:
        return ""
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if lang is Lang.FR else text


def percent(value: float | None, lang: Lang) -> str:
    if value is None:
        return "–"
    return f"{number(100.0 * value, lang)} %" if lang is Lang.FR else f"{number(100.0 * value, lang)}%"


def day_text(day: date, lang: Lang) -> str:
    return day.strftime("%d/%m/%Y") if lang is Lang.FR else day.isoformat()


def service_hours(days: frozenset[int], start: str, end: str, timezone: str, lang: Lang) -> str:
    names = TEXT[lang]["weekdays"].split(",")
    listed = ", ".join(names[d] for d in sorted(days))
    return f"{listed} {start}–{end} ({timezone})"
