"""Words of the web pages: French first (vocabulary of the launch communiqué), English switchable."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Literal

from ronde.protocol import formats
from ronde.protocol.estate import KIND_LABELS_EN, KIND_LABELS_FR, CheckpointKind

PageLang = Literal["fr", "en"]

TEXT: Mapping[str, Mapping[str, str]] = {
    "fr": {
        "app": "Ronde – médiation sociale et tranquillité résidentielle",
        "tagline": "Présence des médiateurs sur les espaces communs du patrimoine des bailleurs sociaux",
        "login": "Connexion",
        "login_intro": "Saisissez le jeton d'accès remis par l'administrateur du dispositif.",
        "token": "Jeton d'accès",
        "sign_in": "Se connecter",
        "sign_out": "Se déconnecter",
        "bad_token": "Jeton inconnu ou refusé.",
        "overview": "Vue d'ensemble",
        "plan": "Plan du quartier",
        "audit": "Export d'audit",
        "supervision": "Supervision",
        "landlord": "Bailleur",
        "landlords": "Bailleurs",
        "dwellings": "Logements",
        "checkpoints": "Points de passage",
        "checkpoint": "Point de passage",
        "kind": "Type d'espace",
        "estate": "Quartier",
        "building": "Immeuble",
        "last_day": "Dernière soirée de service",
        "today": "Soirée en cours",
        "period": "Période",
        "from": "du",
        "to": "au",
        "covered_share": "Part des points couverts",
        "visited_share": "Part des points visités",
        "visits": "Passages",
        "first": "Premier passage",
        "last": "Dernier passage",
        "covered": "Couvert",
        "not_visited": "Non visité",
        "no_data": "Pas de données",
        "visited": "Visité",
        "yes": "oui",
        "no": "non",
        "idle": "Inactivité actuelle",
        "idle_legend": "Couleur : temps de service écoulé depuis le dernier passage",
        "idle_fresh": "moins de 30 min",
        "idle_mid": "30 min à 2 h",
        "idle_stale": "plus de 2 h",
        "idle_none": "aucun passage récent",
        "timeline": "Chronologie des passages",
        "timeline_intro": "Chaque barre est un passage d'une équipe de médiation, sur la plage de service.",
        "day": "Soirée",
        "dwell": "Durée",
        "team": "Équipe",
        "check": "Vérification",
        "audit_intro": (
            "Rapport des passages par point, de la couverture, des absences et de l'état de vérification "
            "(signature, EID), avec l'empreinte de la chaîne de hachage. Chaque consultation est journalisée."
        ),
        "download_csv": "Télécharger le CSV",
        "download_pdf": "Télécharger le PDF",
        "download_zip": "PDF + manifeste (vérifiable)",
        "audit_key": "Clé publique d'audit",
        "audit_key_intro": (
            "Chaque rapport est signé par le serveur avec cette clé (Ed25519). Conservez-la une fois pour "
            "toutes et vérifiez les rapports avec « ronde audit verify RAPPORT --public-key CLÉ --store URL »."
        ),
        "fingerprint": "Empreinte",
        "rollup_warning": (
            "Attention : des synthèses journalières ne correspondent plus aux événements enregistrés "
            "(modification de la base ?). Jours concernés :"
        ),
        "rollup_unchecked": (
            "Les synthèses journalières de ces jours n'ont pas encore été vérifiées sur les événements enregistrés "
            "(la maintenance le fait à son prochain passage) :"
        ),
        "language": "English",
        "not_found": "Introuvable, ou hors de votre patrimoine.",
        "forbidden": "Accès refusé pour ce rôle.",
        "privacy": (
            "Les chiffres portent sur des lieux (halls, parkings, espaces verts…), jamais sur des personnes : "
            "aucun indicateur individuel."
        ),
        "stale": "Points sans passage depuis longtemps",
        "teams": "Dernier passage de chaque équipe",
        "gateways": "Passerelles hors ligne",
        "rejections": "Messages refusés (24 h)",
        "gaps": "Trous de séquence (24 h)",
        "gap_filled": "comblé (arrivé en retard)",
        "gap_missing": "{n} manquant(s)",
        "gap_anomaly": "anomalie de séquence : saut de {n} numéros, pas des messages perdus",
        "rejections_newest": "Les {n} plus récents sur {total}.",
        "rejections_by_reason": "Par motif",
        "maintenance": "Balises à entretenir",
        "nothing": "Rien à signaler.",
        "per_day": "Couverture par soirée",
        "show": "Afficher",
        "service_hours": "Service du mercredi au dimanche, de 16 h à 22 h 15",
    },
    "en": {
        "app": "Ronde – social mediation and residential peace",
        "tagline": "Presence of mediators in the common areas of the social landlords' housing",
        "login": "Sign in",
        "login_intro": "Enter the access token given by the administrator.",
        "token": "Access token",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "bad_token": "Unknown or refused token.",
        "overview": "Overview",
        "plan": "Estate plan",
        "audit": "Audit export",
        "supervision": "Supervision",
        "landlord": "Landlord",
        "landlords": "Landlords",
        "dwellings": "Dwellings",
        "checkpoints": "Checkpoints",
        "checkpoint": "Checkpoint",
        "kind": "Kind of place",
        "estate": "Estate",
        "building": "Building",
        "last_day": "Last service evening",
        "today": "Evening in progress",
        "period": "Period",
        "from": "from",
        "to": "to",
        "covered_share": "Share of checkpoints covered",
        "visited_share": "Share of checkpoints visited",
        "visits": "Passes",
        "first": "First pass",
        "last": "Last pass",
        "covered": "Covered",
        "not_visited": "Not visited",
        "no_data": "No data",
        "visited": "Visited",
        "yes": "yes",
        "no": "no",
        "idle": "Current idleness",
        "idle_legend": "Colour: service time since the last pass",
        "idle_fresh": "under 30 min",
        "idle_mid": "30 min to 2 h",
        "idle_stale": "over 2 h",
        "idle_none": "no recent pass",
        "timeline": "Timeline of passes",
        "timeline_intro": "Each bar is one pass of a mediation team, over the service hours.",
        "day": "Evening",
        "dwell": "Duration",
        "team": "Team",
        "check": "Verification",
        "audit_intro": (
            "Report of passes per checkpoint, coverage, gaps and verification status (signature, EID), "
            "with the hash-chain digest. Every access is logged."
        ),
        "download_csv": "Download CSV",
        "download_pdf": "Download PDF",
        "download_zip": "PDF + manifest (verifiable)",
        "audit_key": "Audit public key",
        "audit_key_intro": (
            "Every report is signed by the server with this key (Ed25519). Keep it once and for all and verify "
            'reports with "ronde audit verify REPORT --public-key KEY --store URL".'
        ),
        "fingerprint": "Fingerprint",
        "rollup_warning": (
            "Warning: some daily rollups no longer match the stored events (database edited?). Days concerned:"
        ),
        "rollup_unchecked": (
            "The daily rollups of these days are not checked against the stored events yet (maintenance does it at "
            "its next pass):"
        ),
        "language": "Français",
        "not_found": "Not found, or outside your patrimony.",
        "forbidden": "Access denied for this role.",
        "privacy": (
            "Figures are about places (halls, car parks, green spaces…), never about people: no individual score."
        ),
        "stale": "Checkpoints not visited for long",
        "teams": "Each team's last check-in",
        "gateways": "Gateways offline",
        "rejections": "Rejected messages (24 h)",
        "gaps": "Sequence gaps (24 h)",
        "gap_filled": "filled (arrived late)",
        "gap_missing": "{n} missing",
        "gap_anomaly": "sequence anomaly: a jump of {n} numbers, not lost messages",
        "rejections_newest": "The newest {n} of {total}.",
        "rejections_by_reason": "By reason",
        "maintenance": "Beacons needing maintenance",
        "nothing": "Nothing to report.",
        "per_day": "Coverage per evening",
        "show": "Show",
        "service_hours": "Service Wednesday to Sunday, 16:00 to 22:15",
    },
}


def t(lang: PageLang, key: str) -> str:
    return TEXT[lang][key]


CHECK_LABELS: Mapping[str, Mapping[str, str]] = {
    "fr": {"signed": "signé", "unsigned": "non signé", "static": "balise fixe", "eid_resolved": "EID résolu"},
    "en": {"signed": "signed", "unsigned": "unsigned", "static": "fixed beacon", "eid_resolved": "EID resolved"},
}


def check_label(value: str, lang: PageLang) -> str:
    return CHECK_LABELS[lang].get(value, value)


def kind_label(kind: str, lang: PageLang) -> str:
    try:
        k = CheckpointKind(kind)
    except ValueError:
        return kind
    return (KIND_LABELS_EN if lang == "en" else KIND_LABELS_FR)[k]


def day_label(day: date, lang: PageLang) -> str:
    return formats.date_long(day, lang)


def percent(value: float | None, lang: PageLang) -> str:
    return formats.percent(value, lang)


def number(n: int, lang: PageLang) -> str:
    """Digits grouped by thousands: a narrow no-break space in French, a comma in English."""
    return formats.number(n, lang)


def duration(seconds: float | None, lang: PageLang) -> str:
    return formats.duration(seconds, lang)
