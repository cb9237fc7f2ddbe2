"""Words of the field pages (issue 14), French first: the service's own ("signalement", "sollicitation",
"orientation", "commanditaire ou partenaire") and the controlled vocabulary's labels (``field_vocab``)."""

from __future__ import annotations

from collections.abc import Mapping

from ronde.api.web.i18n import PageLang
from ronde.protocol import field_vocab as vocab

WORDS: Mapping[str, Mapping[str, str]] = {
    "fr": {
        "queue": "Signalements",
        "landlord": "Bailleur",
        "queue_intro": (
            "Signalements techniques et sollicitations des équipes de médiation sur vos espaces communs. "
            "Chaque étape est horodatée : les délais de prise en compte et de résolution sont mesurés."
        ),
        "queue_empty": "Aucun signalement pour ces critères.",
        "requests": "Demandes",
        "requests_intro": (
            "Demandes d'intervention d'un commanditaire ou d'un partenaire, à un lieu précis. Le superviseur "
            "l'assigne à une équipe ; le passage enregistré par le scanner à ce lieu ensuite est montré comme preuve."
        ),
        "requests_empty": "Aucune demande.",
        "new_request": "Nouvelle demande",
        "request_text": "Demande",
        "wanted_by": "Souhaité pour (facultatif)",
        "post_request": "Envoyer la demande",
        "no_personal_data": (
            "Décrivez la situation et le lieu, sans nom ni détail permettant de reconnaître une personne."
        ),
        "whole_building": "tout le bâtiment",
        "answer": "Réponse (délai)",
        "evidence": "Passages depuis",
        "no_evidence": "aucun passage enregistré",
        "assign": "Assigner",
        "team": "Équipe",
        "kind": "Nature",
        "technique": "Signalement technique",
        "sollicitation": "Sollicitation",
        "status": "Statut",
        "estate": "Quartier",
        "filter": "Filtrer",
        "received": "Reçu",
        "place": "Lieu",
        "what": "Catégorie ou type",
        "urgency": "Urgence",
        "urgent": "Urgent : danger pour les personnes",
        "normal": "Normale",
        "to_ack": "Délai de prise en compte",
        "to_resolve": "Délai de résolution",
        "photo": "Photo",
        "photo_alt": "Photo jointe au signalement (sans métadonnées)",
        "yes": "oui",
        "older": "Plus anciens",
        "timeline": "Étapes",
        "contact": "Contact de la personne (donné avec son accord)",
        "contact_note": "Consentement du {consent}, pour un seul suivi ; effacé le {expires}. À ne pas recopier "
        "ailleurs.",
        "when": "Quand",
        "after": "Après",
        "comment": "Commentaire",
        "text": "Précision de l'équipe",
        "origin": "Origine",
        "response": "Réponse apportée",
        "done_status": "Statut enregistré.",
        "done_posted": "Demande envoyée.",
        "done_assigned": "Demande assignée.",
        "form_refused": "Formulaire refusé : rechargez la page (session terminée ?).",
        "not_found": "Introuvable, ou hors de votre patrimoine.",
        "forbidden": "Accès refusé pour ce rôle.",
        "invalid": "Saisie refusée :",
        "refused": "Refusé :",
        "devices": "Téléphones des équipes",
        "devices_intro": (
            "Pour enrôler le téléphone d'une équipe : choisissez l'équipe, créez un code, puis scannez le code QR "
            "avec le téléphone (valable 15 minutes, une seule fois). Un téléphone perdu se révoque ici."
        ),
        "new_code": "Créer un code d'enrôlement",
        "code_for": "Code d'enrôlement pour",
        "expires": "valable jusqu'à",
        "label": "Nom",
        "enrolled": "Enrôlé",
        "last_seen": "Dernière activité",
        "state": "État",
        "active": "actif",
        "revoked": "révoqué",
        "revoke": "Révoquer",
        "no_devices": "Aucun téléphone enrôlé.",
        "no_teams": "Aucune équipe : enregistrez d'abord les badges des équipes.",
        "done_revoked": "Téléphone révoqué : son jeton est refusé.",
    },
    "en": {
        "queue": "Reports",
        "landlord": "Landlord",
        "queue_intro": (
            "Technical reports and sollicitations of the mediation teams in your common areas. Each step is "
            "timestamped: time to acknowledge and time to resolve are measured."
        ),
        "queue_empty": "No record for these criteria.",
        "requests": "Requests",
        "requests_intro": (
            "Requests from a commissioning body or a partner, at one place. A supervisor assigns it to a team; a "
            "scanner visit at that place afterwards is shown as evidence of the passage."
        ),
        "requests_empty": "No request.",
        "new_request": "New request",
        "request_text": "Request",
        "wanted_by": "Wanted by (optional)",
        "post_request": "Send the request",
        "no_personal_data": "Describe the situation and the place, with no name or detail identifying a person.",
        "whole_building": "whole building",
        "answer": "Answer (delay)",
        "evidence": "Passes since",
        "no_evidence": "no pass recorded",
        "assign": "Assign",
        "team": "Team",
        "kind": "Kind",
        "technique": "Technical report",
        "sollicitation": "Sollicitation",
        "status": "Status",
        "estate": "Estate",
        "filter": "Filter",
        "received": "Received",
        "place": "Place",
        "what": "Category or type",
        "urgency": "Urgency",
        "urgent": "Urgent: danger to people",
        "normal": "Normal",
        "to_ack": "Time to acknowledge",
        "to_resolve": "Time to resolve",
        "photo": "Photo",
        "photo_alt": "Photo attached to the report (no metadata)",
        "yes": "yes",
        "older": "Older",
        "timeline": "Steps",
        "contact": "The person's contact (given with consent)",
        "contact_note": "Consent given on {consent}, for one follow-up; deleted on {expires}. Do not copy it "
        "elsewhere.",
        "when": "When",
        "after": "After",
        "comment": "Comment",
        "text": "Team's note",
        "origin": "Origin",
        "response": "Response given",
        "done_status": "Status saved.",
        "done_posted": "Request sent.",
        "done_assigned": "Request assigned.",
        "form_refused": "Form refused: reload the page (session ended?).",
        "not_found": "Not found, or outside your patrimony.",
        "forbidden": "Access denied for this role.",
        "invalid": "Input refused:",
        "refused": "Refused:",
        "devices": "Team phones",
        "devices_intro": (
            "To enrol a team's phone: choose the team, create a code, then scan the QR code with the phone (valid "
            "15 minutes, once). Revoke a lost phone here."
        ),
        "new_code": "Create an enrolment code",
        "code_for": "Enrolment code for",
        "expires": "valid until",
        "label": "Name",
        "enrolled": "Enrolled",
        "last_seen": "Last activity",
        "state": "State",
        "active": "active",
        "revoked": "revoked",
        "revoke": "Revoke",
        "no_devices": "No phone enrolled.",
        "no_teams": "No team: register the teams' badges first.",
        "done_revoked": "Phone revoked: its token is refused.",
    },
}

STEP_BUTTONS: Mapping[str, Mapping[str, str]] = {
    "fr": {"pris_en_compte": "Pris en compte", "en_cours": "En cours", "resolu": "Résolu"},
    "en": {"pris_en_compte": "Acknowledged", "en_cours": "In progress", "resolu": "Resolved"},
}


def w(lang: PageLang, key: str) -> str:
    return WORDS[lang][key]


def term(terms: tuple[vocab.Term, ...], term_id: str | None, lang: PageLang) -> str:
    return "–" if term_id is None else vocab.label(terms, term_id, lang)


def status_label(status: str, lang: PageLang) -> str:
    """A report's or a sollicitation's status (their ids do not overlap)."""
    for terms in (vocab.REPORT_STATUSES, vocab.SOLLICITATION_STATUSES, vocab.REQUEST_STATUSES):
        if any(x.id == status for x in terms):
            return vocab.label(terms, status, lang)
    return status
