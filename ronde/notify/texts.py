"""The French words of what notify sends (the vocabulary of the launch announcement): bilan e-mails, alerts.

Places only: an alert names a checkpoint, a building, an estate or a gateway, never a team or a person.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ronde.audit.bilan import Bilan
from ronde.audit.bilan_labels import month_text
from ronde.audit.labels import Lang, number, percent

PARIS = ZoneInfo("Europe/Paris")


def bilan_subject(b: Bilan) -> str:
    return f"Bilan mensuel de la médiation – {b.landlord_name} – {month_text(b.month, Lang.FR)}"


def bilan_body(b: Bilan, key_fingerprint: str) -> str:
    c = b.current
    return (
        "Bonjour,\n\n"
        "Veuillez trouver ci-joint le bilan mensuel de la médiation sociale et de la tranquillité résidentielle "
        f"pour {b.landlord_name}, {month_text(b.month, Lang.FR)}.\n\n"
        "En bref :\n"
        f"  – taux de couverture : {percent(c.share, Lang.FR)}\n"
        f"  – passages des médiateurs : {c.passes} ({number(c.presence_s / 3600, Lang.FR)} h de présence)\n"
        f"  – sollicitations : {c.sollicitations}\n"
        f"  – signalements techniques : {c.technical} (dont {c.resolved} résolus)\n\n"
        "Le bilan est joint en PDF, avec les mêmes chiffres en CSV et en JSON. Chaque fichier est accompagné de "
        "son manifeste signé (.manifest.json) : la commande « ronde audit verify <fichier> --public-key <clé> "
        "--store <URL> » vérifie qu'il n'a pas été modifié et recalcule la chaîne d'empreintes de la présence.\n"
        f"Empreinte de la clé d'audit (Ed25519) : {key_fingerprint}\n\n"
        "Ce bilan porte sur des lieux : il ne contient aucun identifiant d'équipe ni de personne.\n"
        "Message envoyé automatiquement par Ronde.\n"
    )


def local_time(at: datetime) -> str:
    return at.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


def alert_subject(title: str, *, resolved: bool) -> str:
    return f"[Ronde] {'Résolu' if resolved else 'Alerte'} : {title}"


def alert_body(title: str, raised_at: datetime, resolved_at: datetime | None) -> str:
    lines = ["Bonjour,", ""]
    if resolved_at is None:
        lines += [f"Alerte pendant le service : {title}.", f"Constatée le {local_time(raised_at)}."]
    else:
        lines += [
            f"Résolu : {title}.",
            f"Alerte constatée le {local_time(raised_at)}, résolue le {local_time(resolved_at)}.",
        ]
    lines += ["", "La page de supervision montre les alertes en cours.", "Message envoyé automatiquement par Ronde."]
    return "\n".join(lines) + "\n"
