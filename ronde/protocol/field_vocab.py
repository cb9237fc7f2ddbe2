"""The controlled vocabulary of field records (issue 14): stable ASCII ids, French and English labels.

Why a closed list: a landlord's maintenance service sorts technical reports by category, and the mediation
evaluation framework (France Médiation / CIV: présence active, veille technique, gestion de conflits, mise en
relation) counts sollicitations by origin, type and response. Free categories would make those figures
uncountable. The words are those of the service's announcement (``communique-mediation.md``: "veille
technique", "sollicitation", "réponse et orientation", "commanditaire ou partenaire, ou de manière spontanée")
and of landlords' maintenance services. Ids never change once shipped: records store them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Term:
    id: str
    fr: str
    en: str


def _terms(*rows: tuple[str, str, str]) -> tuple[Term, ...]:
    return tuple(Term(*row) for row in rows)


CATEGORIES = _terms(
    ("eclairage", "Éclairage", "Lighting"),
    ("ascenseur", "Ascenseur", "Lift"),
    ("porte_acces", "Porte de hall, interphone, contrôle d'accès", "Entrance door, intercom, access control"),
    ("proprete", "Propreté, encombrants", "Cleanliness, bulky waste"),
    ("tags", "Tags", "Graffiti"),
    ("degradation", "Dégradation, vandalisme", "Damage, vandalism"),
    ("fuite", "Fuite, dégât des eaux", "Leak, water damage"),
    ("incendie", "Sécurité incendie, désenfumage", "Fire safety, smoke extraction"),
    ("parking", "Parking, véhicule épave", "Car park, abandoned vehicle"),
    ("espaces_verts", "Espaces verts, aire de jeux", "Green spaces, playground"),
    ("autre", "Autre", "Other"),
)
URGENCIES = _terms(
    ("normal", "Normal", "Normal"),
    ("urgent", "Urgent : danger pour les personnes", "Urgent: danger to people"),
)
ORIGINS = _terms(
    ("locataire", "Locataire", "Tenant"),
    ("bailleur", "Gardien ou agence du bailleur", "Landlord's caretaker or agency"),
    ("commanditaire", "Commanditaire", "Commissioning body"),
    ("partenaire", "Partenaire", "Partner"),
    ("spontanee", "Spontanée", "Spontaneous"),
)
TYPES = _terms(
    ("voisinage", "Troubles de voisinage", "Neighbour disputes"),
    ("occupation_hall", "Occupation de hall, regroupement", "Hall occupation, gathering"),
    ("incivilites", "Incivilités", "Antisocial behaviour"),
    ("tension_conflit", "Tension, conflit", "Tension, conflict"),
    ("degradation", "Dégradation", "Damage"),
    ("detresse_isolement", "Détresse, isolement", "Distress, isolation"),
    ("acces_droits", "Accès aux droits, démarches", "Access to rights, paperwork"),
    ("information", "Demande d'information", "Request for information"),
    ("autre", "Autre", "Other"),
)
RESPONSES = _terms(
    ("ecoute_mediation", "Écoute, médiation", "Listening, mediation"),
    ("information", "Information", "Information"),
    ("accompagnement", "Accompagnement", "Accompaniment"),
    ("orientation", "Orientation vers un partenaire", "Referral to a partner"),
    ("signalement", "Signalement", "Report"),
)
REPORT_STATUSES = _terms(
    ("nouveau", "Nouveau", "New"),
    ("pris_en_compte", "Pris en compte", "Acknowledged"),
    ("en_cours", "En cours", "In progress"),
    ("resolu", "Résolu", "Resolved"),
)
SOLLICITATION_STATUSES = _terms(
    ("ouverte", "Ouverte", "Open"),
    ("orientee", "Orientée", "Referred"),
    ("close", "Close", "Closed"),
)
REQUEST_STATUSES = _terms(
    ("nouvelle", "Nouvelle", "New"),
    ("assignee", "Assignée", "Assigned"),
    ("traitee", "Traitée", "Answered"),
    ("close", "Close", "Closed"),
)
PARTNER_KINDS = _terms(
    ("agence_bailleur", "Agence du bailleur", "Landlord's agency"),
    ("gardien", "Gardien", "Caretaker"),
    ("mairie", "Mairie", "Town hall"),
    ("ccas", "CCAS", "Social action centre (CCAS)"),
    ("police_municipale", "Police municipale", "Municipal police"),
    ("services_sociaux", "Services sociaux", "Social services"),
    ("association", "Association", "Association"),
    ("autre", "Autre", "Other"),
)

# the report's status steps in order: each step's instant is kept (delays are measured between them)
REPORT_STEPS = ("nouveau", "pris_en_compte", "en_cours", "resolu")
SOLLICITATION_STEPS = ("ouverte", "orientee", "close")  # a sollicitation is oriented, then closed


def ids(terms: tuple[Term, ...]) -> frozenset[str]:
    return frozenset(t.id for t in terms)


def label(terms: tuple[Term, ...], term_id: str, lang: str = "fr") -> str:
    for t in terms:
        if t.id == term_id:
            return t.fr if lang == "fr" else t.en
    return term_id
