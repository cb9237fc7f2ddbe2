"""The audit PDF's own words and colours (cover figures, chart, grouped tables), French and English.

The report's shared vocabulary is ``ronde.audit.labels`` (CSV, manifest, PDF); what only the PDF says
is here, so ``pdf.py`` stays about layout. Headers are in sentence case in both languages.
"""

from __future__ import annotations

from collections.abc import Mapping

from ronde.audit.labels import TEXT, Lang

INK = (29, 39, 51)
MUTED = (91, 103, 117)
ACCENT = (0, 95, 143)
BAR = (26, 152, 80)
NO_DATA = (170, 170, 170)
GRID = (217, 212, 202)

# the PDF's own words (cover figures, chart, grouped tables); the rest is ``ronde.audit.labels``
WORDS: Mapping[Lang, Mapping[str, str]] = {
    Lang.FR: {
        "period_long": "du {first} au {last}",
        "fig_share": "Taux de couverture",
        "fig_share_sub": "points de passage × soirées couverts",
        "fig_passes": "Passages",
        "fig_passes_sub": "passages enregistrés sur la période",
        "fig_evenings": "Soirées de service",
        "fig_evenings_sub": "soirées closes de la période",
        "fig_checkpoints": "Points de passage",
        "fig_checkpoints_sub": "espaces communs suivis",
        "chart": "Couverture par soirée",
        "chart_alt": "Barres : part des points de passage couverts chaque soirée ; gris : soirée sans données.",
        "no_data_bar": "sans données",
        "proof": "Identification et vérification",
        "issued_at_text": "{day} à {time} (heure de Paris)",
        "name": "Point de passage",
        "kind": "Type d'espace",
        "passes": "Passages",
        "service_days": "Soirées de service",
        "covered_days": "Soirées couvertes",
        "not_visited_days": "Soirées non visitées",
        "no_data_days": "Soirées sans données",
        "presence_min": "Présence (min)",
        # the CSV's and the manifest's own term, so an auditor comparing them reads one column name
        "worst_min": TEXT[Lang.FR]["longest_wait_min"],
        "gap_cv": "Régularité (CV)",
        "signed": "Signés / total",
        "eid": "EID vérifiées / total",
        "worst_note": TEXT[Lang.FR]["wait_note"],
        "gaps": "Soirées non visitées et sans données",
        "all_no_data": "Sans données pour tous les points de passage : {days}.",
        "none_left": "Aucune autre soirée non visitée ou sans données.",
        "day": "Soirée",
        "share": "Couverture",
        "covered": "Couverts",
        "not_visited": "Non visités",
        "no_data": "Sans données",
        "events": "Événements",
        "link": "Maillon de la chaîne (SHA-256, fin de plage)",
        "range": "{first} – {last}",
    },
    Lang.EN: {
        "period_long": "from {first} to {last}",
        "fig_share": "Coverage",
        "fig_share_sub": "checkpoint × evenings covered",
        "fig_passes": "Passes",
        "fig_passes_sub": "passes recorded over the period",
        "fig_evenings": "Service evenings",
        "fig_evenings_sub": "closed evenings of the period",
        "fig_checkpoints": "Checkpoints",
        "fig_checkpoints_sub": "common areas followed",
        "chart": "Coverage per evening",
        "chart_alt": "Bars: share of checkpoints covered each evening; grey: evening without data.",
        "no_data_bar": "no data",
        "proof": "Identification and verification",
        "issued_at_text": "{day} at {time} (Paris time)",
        "name": "Checkpoint",
        "kind": "Kind of space",
        "passes": "Passes",
        "service_days": "Service evenings",
        "covered_days": "Covered evenings",
        "not_visited_days": "Evenings not visited",
        "no_data_days": "Evenings without data",
        "presence_min": "Presence (min)",
        "worst_min": TEXT[Lang.EN]["longest_wait_min"],
        "gap_cv": "Regularity (CV)",
        "signed": "Signed / total",
        "eid": "EID verified / total",
        "worst_note": TEXT[Lang.EN]["wait_note"],
        "gaps": "Evenings not visited and without data",
        "all_no_data": "No data for every checkpoint: {days}.",
        "none_left": "No other evening not visited or without data.",
        "day": "Evening",
        "share": "Coverage",
        "covered": "Covered",
        "not_visited": "Not visited",
        "no_data": "No data",
        "events": "Events",
        "link": "Chain link (SHA-256, end of range)",
        "range": "{first} – {last}",
    },
}
