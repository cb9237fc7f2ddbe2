"""The gateways file and registry, for ingest's modules: they live in ``ronde.protocol.gateways`` (a
contract of several processes: ingest, the API, the operational database, the demo). New code imports
them from there; this alias goes once nothing imports it.
"""

from ronde.protocol.gateways import (
    RESERVED_GATEWAY_IDS,
    EnrolmentError,
    GatewayEntry,
    GatewayRegistry,
    GatewaysFileError,
    dump_gateways,
    gateway_entry,
    load_gateways,
    parse_gateways,
)

__all__ = [
    "RESERVED_GATEWAY_IDS",
    "EnrolmentError",
    "GatewayEntry",
    "GatewayRegistry",
    "GatewaysFileError",
    "dump_gateways",
    "gateway_entry",
    "load_gateways",
    "parse_gateways",
]
