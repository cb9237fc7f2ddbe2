"""French labels shown in Grafana for stored codes (vocabulary of the launch announcement)."""

from __future__ import annotations

from collections.abc import Mapping

from ronde.dashboards.model import ValueMapping
from ronde.protocol.estate import KIND_LABELS_FR
from ronde.store.records import RejectReason

REJECT_REASON_FR: Mapping[RejectReason, str] = {
    RejectReason.SIZE: "message trop volumineux",
    RejectReason.ENCODING: "encodage illisible (ni UTF-8 ni JSON)",
    RejectReason.SCHEMA: "format non conforme (contrat v1)",
    RejectReason.TOPIC: "sujet MQTT hors arborescence v1",
    RejectReason.GATEWAY_MISMATCH: "boîtier différent du sujet",
    RejectReason.UNKNOWN_GATEWAY: "boîtier inconnu",
    RejectReason.CLOCK_FUTURE: "horodatage dans le futur",
    RejectReason.CLOCK_TOO_OLD: "horodatage trop ancien",
    RejectReason.SIGNATURE_MISSING: "signature absente",
    RejectReason.SIGNATURE_INVALID: "signature invalide",
    RejectReason.UNKNOWN_BEACON: "balise inconnue",
    RejectReason.EID_UNRESOLVED: "identifiant EID non résolu",
    RejectReason.EID_REPLAY: "rejeu d'identifiant EID",
    RejectReason.OUT_OF_SERVICE: "hors des heures de service",
    RejectReason.VISIT_TOO_LONG: "visite d'une durée impossible",
    RejectReason.STORE_REFUSED: "refusé par la base de données",
    RejectReason.BEYOND_RETENTION: "au-delà de la durée de conservation",
}


def kind_mappings() -> tuple[ValueMapping, ...]:
    return tuple(ValueMapping(k.value, label) for k, label in KIND_LABELS_FR.items())


def reason_mappings() -> tuple[ValueMapping, ...]:
    return tuple(ValueMapping(r.value, label) for r, label in REJECT_REASON_FR.items())


BOOLEAN_STATE = (
    ValueMapping("true", "oui", "green"),
    ValueMapping("false", "non", "red"),
)
ONLINE_STATE = (
    ValueMapping("true", "en ligne", "green"),
    ValueMapping("false", "hors ligne", "red"),
)
