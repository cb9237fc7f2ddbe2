"""The four Ronde dashboards (French titles, English in descriptions where useful).

- Supervision (live): tonight's coverage by landlord and estate, checkpoints not seen for the
  longest, each team's last check-in, gateways (online, outbox depth).
- Historique de couverture: weekly coverage by landlord and estate, idleness, presence, visits per
  hour and day (heatmap), least covered checkpoints.
- Audit bailleur: the same for one landlord (``landlord`` variable, or locked in a per-landlord
  copy); places only: no badge, no gateway, no team anywhere in its queries.
- Maintenance des balises: beacon batteries and last reception, silent beacons, ingest rejections by
  reason, sequence gaps (lost events), ingest lag.

Supervision's coverage gauges divide by the number of checkpoints of each landlord in the estate
file the dashboards are generated from (tonight has no rollup yet); history and audit read the
daily rollups, which carry every checkpoint-day, covered or not.
"""

from __future__ import annotations

import hashlib

from ronde.dashboards import queries as q
from ronde.dashboards.labels import BOOLEAN_STATE, kind_mappings, reason_mappings
from ronde.dashboards.model import (
    COVERAGE_STEPS,
    UID_MAX_LEN,
    Dashboard,
    DashboardLink,
    InfluxQLTarget,
    Override,
    Panel,
    PanelKind,
    QueryVariable,
    ResultFormat,
    Row,
    Threshold,
    Transformation,
    Variable,
    VariableHide,
)
from ronde.dashboards.panels import heatmap, percent_bars, series, stat, table
from ronde.dashboards.queries import Filter
from ronde.protocol.estate import Registry
from ronde.store.records import DEFAULT_SEQUENCE_ANOMALY_AFTER
from ronde.store.schema import CHECKPOINT_DAY

TAG = "ronde"
UID_SUPERVISION = "ronde-supervision"
UID_HISTORY = "ronde-couverture-historique"
UID_AUDIT = "ronde-audit-bailleur"
UID_TECHNICAL = "ronde-maintenance-balises"  # was ronde-veille-technique: that word is the mediators' reports
AUDIT_TAG = "ronde-audit"

LINKS = (DashboardLink("Tableaux de bord Ronde", (TAG,)),)
TABLE = ResultFormat.TABLE
ANOMALY_AFTER_FR = f"{DEFAULT_SEQUENCE_ANOMALY_AFTER:,}".replace(",", "\u202f")  # 100 000, French digit groups


# ---- Supervision (live) ------------------------------------------------------------------------------


def supervision(registry: Registry) -> Dashboard:
    landlords = sorted(registry.landlords.values(), key=lambda x: (-x.dwellings, x.name))
    by_landlord = [
        InfluxQLTarget(
            q.checkpoints_visited(
                [Filter("landlord", x.id)], f'count("n") * 100 / {len(registry.checkpoints_of(x.id))}', x.name
            ),
            alias=x.name,
        )
        for x in landlords
        if registry.checkpoints_of(x.id)
    ]
    by_estate = []
    for e in sorted(registry.estates.values(), key=lambda x: x.name):
        total = sum(1 for c in registry.checkpoints.values() if c.estate == e.id)
        if total:
            by_estate.append(
                InfluxQLTarget(
                    q.checkpoints_visited([Filter("estate", e.id)], f'count("n") * 100 / {total}', e.name), alias=e.name
                )
            )
    total = len(registry.checkpoints)
    tonight = Row(
        "Couverture de la soirée",
        (
            percent_bars(
                "Couverture du jour par bailleur",
                "Part des points de contrôle de chaque bailleur visités au moins une fois depuis le début de la "
                "journée de service. Share of each landlord's checkpoints visited at least once today.",
                by_landlord,
            ),
            percent_bars(
                "Couverture du jour par quartier",
                "Part des points de contrôle visités ce soir, par quartier (Mordacs, Bois l'Abbé).",
                by_estate,
                width=6,
            ),
            stat(
                "Passages enregistrés ce soir",
                "Visites vérifiées et stockées depuis 0 h.",
                InfluxQLTarget(q.visits_count()),
            ),
            stat(
                f"Points de contrôle visités (sur {total})",
                "Points de contrôle distincts visités ce soir.",
                InfluxQLTarget(q.checkpoints_visited()),
            ),
            stat(
                "Points de contrôle restant à visiter",
                f"{total} points de contrôle moins ceux déjà visités.",
                InfluxQLTarget(q.checkpoints_visited(formula=f'{total} - count("n")', alias="restants")),
                thresholds=(Threshold("green"), Threshold("orange", 1)),
            ),
        ),
    )
    places = Row(
        "Points de contrôle et équipes",
        (
            table(
                "Points de contrôle les moins récemment visités",
                "Dernier passage de chaque point de contrôle sur 7 jours, les plus anciens en premier : ce sont "
                "les lieux à couvrir en priorité. Checkpoints never visited in 7 days are listed in "
                "Maintenance des balises.",
                [InfluxQLTarget(q.last_visit_per(("checkpoint", "building", "estate", "landlord"), ("kind",)), TABLE)],
                sort="Time",
                time_from="7d",
                overrides=(
                    Override("Time", display_name="Dernier passage"),
                    Override("checkpoint", display_name="Point de contrôle"),
                    Override("building", display_name="Bâtiment"),
                    Override("estate", display_name="Quartier"),
                    Override("landlord", display_name="Bailleur"),
                    Override("kind", display_name="Type de lieu"),
                    Override("durée (s)", unit="s"),
                ),
            ),
            table(
                "Dernier pointage de chaque équipe",
                "Dernier point de contrôle validé par chaque boîtier d'équipe (badge pseudonyme). "
                "For supervisors only: landlords' dashboards never show badges.",
                [InfluxQLTarget(q.last_visit_per(("gateway",), ("badge", "checkpoint", "estate")), TABLE)],
                sort="Time",
                desc=True,
                time_from="24h",
                overrides=(
                    Override("Time", display_name="Dernier pointage"),
                    Override("gateway", display_name="Boîtier"),
                    Override("badge", display_name="Badge d'équipe"),
                    Override("checkpoint", display_name="Point de contrôle"),
                    Override("estate", display_name="Quartier"),
                    Override("durée (s)", unit="s"),
                ),
            ),
        ),
    )
    gateways = Row(
        "Boîtiers des équipes",
        (
            table(
                "État des boîtiers",
                "Dernier état connu de chaque boîtier (24 h) : en ligne, scan actif, en service, file d'attente "
                "d'événements non encore transmis (outbox), batterie.",
                [
                    InfluxQLTarget(q.gateway_last("online", "en ligne", ("scanning", "in_service")), TABLE),
                    InfluxQLTarget(
                        q.gateway_last("outbox_depth", "file d'attente", ("battery_pct", "adverts_per_s")), TABLE
                    ),
                ],
                time_from="24h",
                mappings=BOOLEAN_STATE,
                transformations=(
                    Transformation("joinByField", {"byField": "gateway", "mode": "outer"}),
                    Transformation(
                        "organize",
                        {
                            "excludeByName": {"Time 1": True, "Time 2": True},
                            "indexByName": {},
                            "renameByName": {
                                "gateway": "Boîtier",
                                "scanning": "scan actif",
                                "in_service": "en service",
                                "battery_pct": "batterie (%)",
                                "adverts_per_s": "annonces/s",
                            },
                        },
                    ),
                ),
            ),
            series(
                "File d'attente des boîtiers (événements en attente d'envoi)",
                "Événements conservés par chaque boîtier faute de réseau ; ils arrivent dès le retour du réseau.",
                [InfluxQLTarget(q.gateway_series("outbox_depth"), alias="$tag_gateway")],
                interval="1m",
            ),
        ),
    )
    return Dashboard(
        UID_SUPERVISION,
        "Ronde — Supervision de la soirée",
        "Live view for supervisors: tonight's coverage, checkpoints to cover next, teams' last check-ins, gateways.",
        (tonight, places, gateways),
        tags=(TAG, "supervision"),
        time_from="now/d",
        time_to="now",
        refresh="1m",
        links=LINKS,
    )


# ---- Coverage history -----------------------------------------------------------------------------


def _multi_variable(name: str, label: str, tag_name: str, measurement_source: str) -> QueryVariable:
    return QueryVariable(
        name,
        label,
        f'SHOW TAG VALUES FROM {measurement_source} WITH KEY = "{tag_name}"',
        multi=True,
        include_all=True,
        all_value=".*",
    )


def coverage_history() -> Dashboard:
    filters = [
        Filter("landlord", "landlord", variable=True, multi=True),
        Filter("estate", "estate", variable=True, multi=True),
    ]
    src = q.source(CHECKPOINT_DAY)
    variables: tuple[Variable, ...] = (
        _multi_variable("landlord", "Bailleur", "landlord", src),
        _multi_variable("estate", "Quartier", "estate", src),
    )
    weekly = Row(
        "Couverture par semaine",
        (
            series(
                "Couverture hebdomadaire par bailleur",
                "Part des points de contrôle × jours de service couverts (passages ≥ passages attendus), "
                "par semaine (lundi–dimanche).",
                [InfluxQLTarget(q.coverage_pct(filters, ("landlord",), weekly=True), alias="$tag_landlord")],
                unit="percent",
                percent=True,
            ),
            series(
                "Couverture hebdomadaire par quartier",
                "Même calcul, par quartier.",
                [InfluxQLTarget(q.coverage_pct(filters, ("estate",), weekly=True), alias="$tag_estate")],
                unit="percent",
                percent=True,
            ),
            series(
                "Inoccupation : plus longue attente entre deux passages (moyenne)",
                "Moyenne, par semaine, de la plus longue période sans passage de chaque point de contrôle "
                "pendant les heures de service (idleness).",
                [
                    InfluxQLTarget(
                        q.rollup_stat("mean", "max_idle_s", "attente max", filters, ("landlord",), weekly=True),
                        alias="$tag_landlord",
                    )
                ],
                unit="s",
            ),
            series(
                "Temps de présence cumulé par semaine",
                "Somme des durées de présence aux points de contrôle.",
                [
                    InfluxQLTarget(
                        q.rollup_stat("sum", "presence_s", "présence", filters, ("landlord",), weekly=True),
                        alias="$tag_landlord",
                    )
                ],
                unit="s",
                bars=True,
                stacked=True,
            ),
        ),
    )
    rhythm = Row(
        "Rythme des passages",
        (
            heatmap(filters),
            series(
                "Passages par jour",
                "Nombre de visites vérifiées par jour (heure de Paris).",
                [InfluxQLTarget(q.visits_count(filters, interval="1d"), alias="passages")],
                bars=True,
            ),
            table(
                "Points de contrôle les moins couverts",
                "Couverture de chaque point de contrôle sur la période, du moins couvert au plus couvert.",
                [InfluxQLTarget(q.coverage_pct(filters, ("checkpoint", "building", "estate", "landlord")), TABLE)],
                sort="couverture",
                overrides=(
                    Override("couverture", unit="percent", cell_type="color-background", decimals=0),
                    Override("Time", hidden=True),
                    Override("checkpoint", display_name="Point de contrôle"),
                    Override("building", display_name="Bâtiment"),
                    Override("estate", display_name="Quartier"),
                    Override("landlord", display_name="Bailleur"),
                ),
            ),
        ),
    )
    return Dashboard(
        UID_HISTORY,
        "Ronde — Historique de couverture",
        "Coverage by landlord and estate per week, idleness, presence and visit rhythm, from the daily rollups.",
        (weekly, rhythm),
        tags=(TAG, "couverture"),
        variables=variables,
        time_from="now-8w/w",
        time_to="now",
        links=LINKS,
    )


# ---- Landlord audit -----------------------------------------------------------------------------------


def landlord_audit(landlord_id: str | None = None, landlord_name: str | None = None) -> Dashboard:
    """The audit dashboard: with ``landlord_id`` the landlord is written into every query (a locked
    copy for that landlord's folder); without it, a ``landlord`` variable chooses."""
    if landlord_id is None:
        f_landlord = Filter("landlord", "landlord", variable=True)
        variables: tuple[Variable, ...] = (
            QueryVariable(
                "landlord",
                "Bailleur",
                f'SHOW TAG VALUES FROM {q.source(CHECKPOINT_DAY)} WITH KEY = "landlord"',
                description="Le bailleur audité / the audited landlord",
            ),
        )
        uid, title = UID_AUDIT, "Ronde — Audit bailleur"
    else:
        f_landlord = Filter("landlord", landlord_id)
        variables = (
            QueryVariable(
                "estate",
                "Quartier",
                f'SHOW TAG VALUES FROM {q.source(CHECKPOINT_DAY)} WITH KEY = "estate" '
                f'WHERE "landlord" = {q.literal(landlord_id)}',
                multi=True,
                include_all=True,
                all_value=".*",
                hide=VariableHide.HIDDEN,
            ),
        )
        uid, title = audit_uid(landlord_id), f"Ronde — Audit {landlord_name or landlord_id}"
    filters: list[Filter] = [f_landlord]
    if landlord_id is None:
        variables = (*variables, _multi_variable("estate", "Quartier", "estate", q.source(CHECKPOINT_DAY)))
    filters.append(Filter("estate", "estate", variable=True, multi=True))
    summary = Row(
        "Synthèse de la période",
        (
            Panel("Comment lire ce tableau de bord", PanelKind.TEXT, width=24, height=5, text=AUDIT_GUIDE),
            stat(
                "Couverture sur la période",
                "Points de contrôle × jours de service couverts / attendus.",
                InfluxQLTarget(q.coverage_pct(filters)),
                unit="percent",
                thresholds=COVERAGE_STEPS,
                width=6,
            ),
            stat(
                "Passages vérifiés",
                "Visites signées, vérifiées et stockées sur vos lieux.",
                InfluxQLTarget(q.visits_count(filters)),
                width=6,
            ),
            stat(
                "Temps de présence",
                "Durée cumulée de présence aux points de contrôle.",
                InfluxQLTarget(q.rollup_stat("sum", "presence_s", "présence", filters)),
                unit="s",
                width=6,
                decimals=None,
            ),
            stat(
                "Jours sans aucun passage (point × jour)",
                "Nombre de couples point de contrôle × jour de service sans aucune détection.",
                InfluxQLTarget(_sum_of(q.uncovered_days(filters, ()))),
                thresholds=(Threshold("green"), Threshold("orange", 1)),
                width=6,
            ),
        ),
    )
    detail = Row(
        "Couverture des lieux",
        (
            series(
                "Couverture hebdomadaire par quartier",
                "Semaine du lundi au dimanche.",
                [InfluxQLTarget(q.coverage_pct(filters, ("estate",), weekly=True), alias="$tag_estate")],
                unit="percent",
                percent=True,
            ),
            table(
                "Couverture par type de lieu",
                "Halls d'immeuble, parkings en surface et en sous-sol, espaces verts, aires de jeux, cheminements "
                "piétons, bureaux d'accueil et de proximité.",
                [InfluxQLTarget(q.coverage_pct(filters, ("kind",)), TABLE)],
                sort="couverture",
                mappings=kind_mappings(),
                overrides=(
                    Override("couverture", unit="percent", cell_type="gauge", decimals=0),
                    Override("Time", hidden=True),
                    Override("kind", display_name="Type de lieu"),
                ),
            ),
            table(
                "Couverture par point de contrôle",
                "Chaque lieu : part des jours de service couverts et plus longue attente entre deux passages.",
                [
                    InfluxQLTarget(q.coverage_pct(filters, ("checkpoint", "building", "estate", "kind")), TABLE),
                    InfluxQLTarget(
                        q.rollup_stat(
                            "max", "max_idle_s", "attente max", filters, ("checkpoint", "building", "estate", "kind")
                        ),
                        TABLE,
                    ),
                ],
                width=24,
                sort="couverture",
                transformations=(Transformation("joinByField", {"byField": "checkpoint", "mode": "outer"}),),
                overrides=(
                    Override("couverture", unit="percent", cell_type="color-background", decimals=0),
                    Override("attente max", unit="s"),
                    Override("checkpoint", display_name="Point de contrôle"),
                    Override("building", display_name="Bâtiment"),
                    Override("estate", display_name="Quartier"),
                    Override("kind", display_name="Type de lieu"),
                ),
            ),
        ),
    )
    rhythm = Row(
        "Rythme de présence",
        (
            heatmap(filters, width=16),
            series(
                "Passages par jour",
                "Visites vérifiées par jour (heure de Paris).",
                [InfluxQLTarget(q.visits_count(filters, interval="1d"), alias="passages")],
                bars=True,
                width=8,
            ),
        ),
    )
    return Dashboard(
        uid,
        title,
        "Landlord audit: coverage of places only, from signed and verified visits and daily rollups; nothing in it "
        "identifies a person.",
        (summary, detail, rhythm),
        tags=(TAG, AUDIT_TAG),
        variables=variables,
        time_from="now-4w/w",
        time_to="now",
        links=LINKS,
    )


AUDIT_GUIDE = """\
**Présence de la médiation sur vos lieux.** Chaque passage est détecté automatiquement par une balise
fixée au point de contrôle (hall d'immeuble, parking, espace vert, aire de jeux, cheminement piéton,
bureau d'accueil), signé à la source et vérifié par le serveur avant d'être compté.

- **Couverture** : part des couples *point de contrôle × jour de service* (du mercredi au dimanche,
  16 h – 22 h 15) ayant reçu au moins le nombre de passages attendus.
- **Plus longue attente** : la plus longue période d'un jour de service sans passage au point de contrôle.
- Ce tableau de bord ne montre que des lieux : aucune donnée ne désigne une personne.
"""


def audit_uid(landlord_id: str) -> str:
    """``ronde-audit-<landlord>`` within Grafana's 40 characters (hashed suffix when too long)."""
    uid = f"ronde-audit-{landlord_id}"
    if len(uid) <= UID_MAX_LEN:
        return uid
    digest = hashlib.sha256(landlord_id.encode()).hexdigest()[:8]
    return f"{uid[:31]}-{digest}"


def _sum_of(inner: str) -> str:
    return f'SELECT sum("jours sans détection") AS "jours" FROM ({inner})'


# ---- Technical watch ------------------------------------------------------------------------------------


def technical_watch() -> Dashboard:
    beacons = Row(
        "Balises",
        (
            table(
                "Balises : pile et dernière réception",
                "Dernière trame de télémétrie de chaque balise (tension de pile, température) et dernier passage "
                "détecté. Beacon battery and last time heard.",
                [
                    InfluxQLTarget(q.beacon_battery_last(), TABLE),
                    InfluxQLTarget(q.last_visit_per(("checkpoint",)), TABLE),
                ],
                sort="pile (mV)",
                transformations=(
                    Transformation("joinByField", {"byField": "checkpoint", "mode": "outer"}),
                    Transformation(
                        "organize",
                        {
                            "excludeByName": {"durée (s)": True},
                            "indexByName": {},
                            "renameByName": {
                                "Time 1": "dernière télémétrie",
                                "Time 2": "dernier passage",
                                "checkpoint": "Point de contrôle",
                            },
                        },
                    ),
                ),
                overrides=(Override("pile (mV)", cell_type="color-background"),),
            ),
            series(
                "Tension des piles des balises",
                "Minimum par intervalle ; une pile faible descend sous 2 600 mV.",
                [InfluxQLTarget(q.beacon_battery_series(), alias="$tag_checkpoint")],
                unit="mvolt",
                interval="1h",
            ),
            table(
                "Balises passées à proximité mais non détectées",
                "Jours où un bâtiment a été visité (au moins une de ses balises détectée) alors qu'une autre de "
                "ses balises ne l'a pas été : balise muette, déplacée ou pile vide. Building-days visited with one "
                "beacon unseen.",
                [InfluxQLTarget(q.buildings_with_silent_beacon(), TABLE)],
                sort="jours",
                desc=True,
                overrides=(
                    Override("Time", hidden=True),
                    Override("building", display_name="Bâtiment"),
                    Override("estate", display_name="Quartier"),
                ),
            ),
            table(
                "Balises sans détection (jours de service)",
                "Pour chaque point de contrôle, nombre de jours de service sans aucune détection.",
                [InfluxQLTarget(q.uncovered_days(tags=("checkpoint", "building", "estate")), TABLE)],
                sort="jours sans détection",
                desc=True,
                overrides=(
                    Override("Time", hidden=True),
                    Override("checkpoint", display_name="Point de contrôle"),
                    Override("building", display_name="Bâtiment"),
                    Override("estate", display_name="Quartier"),
                ),
            ),
        ),
    )
    ingest = Row(
        "Réception des événements",
        (
            series(
                "Refus à la réception par motif",
                "Messages refusés par le serveur, par motif (signature, balise inconnue, rejeu EID, horodatage…).",
                [InfluxQLTarget(q.rejections_by_reason(), alias="$tag_reason")],
                bars=True,
                stacked=True,
            ),
            Panel(
                "Refus par motif (total)",
                PanelKind.TABLE,
                (InfluxQLTarget(q.rejections_by_reason(None), TABLE),),
                "Total des refus sur la période, par motif.",
                width=6,
                height=9,
                mappings=reason_mappings(),
                options={"showHeader": True, "sortBy": [{"displayName": "refus", "desc": True}]},
                overrides=(Override("Time", hidden=True), Override("reason", display_name="Motif")),
            ),
            stat(
                "Événements perdus (trous de séquence)",
                "Événements numérotés par les boîtiers qui ne sont jamais arrivés au serveur. Un trou de plus "
                f"de {ANOMALY_AFTER_FR} numéros n'est pas compté ici mais comme anomalie de séquence.",
                InfluxQLTarget(q.lost_events_total()),
                thresholds=(Threshold("green"), Threshold("red", 1)),
                width=3,
            ),
            stat(
                "Anomalies de séquence",
                f"Trous de plus de {ANOMALY_AFTER_FR} numéros : aucun boîtier n'en perd autant ; compteur corrompu, "
                "boîtier reflashé ou numéro falsifié. Comptés à part, jamais comme événements perdus.",
                InfluxQLTarget(q.sequence_anomalies()),
                thresholds=(Threshold("green"), Threshold("red", 1)),
                width=3,
            ),
            table(
                "Trous de séquence",
                "Plages de numéros de séquence manquantes, par boîtier ; « anomalie » = 1 "
                f"pour un trou de plus de {ANOMALY_AFTER_FR} numéros (alors 0 événement perdu).",
                [InfluxQLTarget(q.sequence_gaps(), TABLE)],
                sort="Time",
                desc=True,
                overrides=(Override("Time", display_name="Détecté le"), Override("gateway", display_name="Boîtier")),
            ),
            series(
                "Délai de réception (fin de visite → serveur)",
                "Secondes entre la fin d'une visite (horloge du boîtier) et sa réception : un délai long signale "
                "un boîtier hors réseau ou une réception en retard (ingest lag).",
                [InfluxQLTarget(q.ingest_lag())],
                unit="s",
                interval="5m",
            ),
        ),
    )
    return Dashboard(
        UID_TECHNICAL,
        "Ronde — Maintenance des balises",
        "Beacon maintenance: batteries and silent beacons, ingest rejections by reason, sequence gaps, ingest lag.",
        (beacons, ingest),
        tags=(TAG, "technique"),
        time_from="now-7d",
        time_to="now",
        refresh="5m",
        links=LINKS,
    )


# ---- all --------------------------------------------------------------------------------------------------


def all_dashboards(registry: Registry) -> list[Dashboard]:
    """The four dashboards of the ``Ronde`` folder (the landlord copies come from ``landlord_copies``)."""
    return [supervision(registry), coverage_history(), landlord_audit(), technical_watch()]


def landlord_copies(registry: Registry) -> list[tuple[str, Dashboard]]:
    """(landlord id, locked audit dashboard) for every landlord of the estate file."""
    return [(x.id, landlord_audit(x.id, x.name)) for x in sorted(registry.landlords.values(), key=lambda x: x.id)]


def panel_queries(dashboard: Dashboard) -> list[tuple[str, str]]:
    """(panel title, InfluxQL) of every query of a dashboard, for tests and reviews."""
    return [(p.title, t.query) for p in dashboard.panels() for t in p.targets]
