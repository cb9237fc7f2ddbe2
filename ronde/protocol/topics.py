"""MQTT topic tree, version 1.

One subtree per gateway: ``ronde/v1/gw/{gateway_id}/{kind}``. The gateway id in the
topic is the MQTT username the broker authenticated (ACL ``pattern write ronde/v1/gw/%u/#``),
so the server trusts the topic and rejects any payload that names another gateway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

ROOT = "ronde/v1"
GATEWAY_ID_PATTERN = r"[a-z0-9][a-z0-9_-]{0,62}"
BADGE_PATTERN = r"^[A-Za-z0-9_-]{4,40}$"
"""A pseudonymous team badge, never a name (the wire's ``badge``; here, with the gateway id, so that the gateway
checks both without loading the wire models)."""
_GATEWAY_ID_RE = re.compile(rf"^{GATEWAY_ID_PATTERN}$")
SHARE_GROUP = "ingest"


class TopicKind(StrEnum):
    VISIT = "visit"  # QoS 1, not retained: one signed visit event
    STATUS = "status"  # QoS 1, retained; the MQTT will publishes "offline" here
    HEARTBEAT = "heartbeat"  # QoS 0/1, not retained: outbox depth, scan rate, battery
    TELEMETRY = "telemetry"  # QoS 1, not retained: beacon TLM relayed by the gateway


@dataclass(frozen=True, slots=True)
class ParsedTopic:
    gateway_id: str
    kind: TopicKind


def is_valid_gateway_id(gateway_id: str) -> bool:
    return bool(_GATEWAY_ID_RE.match(gateway_id))


def gateway_topic(gateway_id: str, kind: TopicKind) -> str:
    if not is_valid_gateway_id(gateway_id):
        raise ValueError(f"invalid gateway id {gateway_id!r}: must match {GATEWAY_ID_PATTERN}")
    return f"{ROOT}/gw/{gateway_id}/{kind.value}"


@lru_cache(maxsize=8192)
def parse_topic(topic: str) -> ParsedTopic | None:
    """``ronde/v1/gw/{id}/{kind}`` → ParsedTopic, anything else → None. Cached: a deployment has
    a handful of topics per gateway, each parsed thousands of times."""
    parts = topic.split("/")
    if len(parts) != 5 or f"{parts[0]}/{parts[1]}" != ROOT or parts[2] != "gw":  # noqa: PLR2004 - ronde/v1/gw/{id}/{kind}: five parts
        return None
    if not is_valid_gateway_id(parts[3]):
        return None
    try:
        kind = TopicKind(parts[4])
    except ValueError:
        return None
    return ParsedTopic(parts[3], kind)


def subscription(kind: TopicKind, *, shared: bool = True) -> str:
    """The ingest subscription; shared so that N workers split the load (MQTT v5 ``$share``)."""
    flt = f"{ROOT}/gw/+/{kind.value}"
    return f"$share/{SHARE_GROUP}/{flt}" if shared else flt
