"""paho-mqtt's MQTT v5 ``Properties`` with its constant tables built once, not once per packet.

paho 2.x decodes every incoming PUBLISH into a new ``Properties``, whose ``__init__`` rebuilds
two dictionaries of every MQTT v5 property and whose ``clear()`` probes all 27 names with
``hasattr``: 11 µs per message with no properties at all, a third of paho's own cost per message
when a worker drains thousands a second (profile in ``docs/ingest.md``). ``LeanProperties`` shares
the tables (paho only reads them) and clears what is set; every other behaviour, the wire
encoding and ``isinstance(x, Properties)`` stay paho's. ``install()`` puts it where paho's packet
decoder looks it up; if a future paho no longer has that name, nothing is patched and ingest is
merely slower (logged).
"""

from __future__ import annotations

import logging
from typing import Any

from paho.mqtt import _packet
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

log = logging.getLogger(__name__)

_PRIVATE = frozenset({"packetType", "types", "names", "properties"})
_TABLES = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]


class LeanProperties(Properties):
    def __init__(self, packetType: int) -> None:
        object.__setattr__(self, "packetType", packetType)
        object.__setattr__(self, "types", _TABLES.types)
        object.__setattr__(self, "names", _TABLES.names)
        object.__setattr__(self, "properties", _TABLES.properties)

    def _set(self) -> list[str]:
        return [name for name in vars(self) if name not in _PRIVATE]

    def isEmpty(self) -> bool:
        return not self._set()

    def clear(self) -> None:
        for name in self._set():
            delattr(self, name)


def install() -> bool:
    """Use ``LeanProperties`` for decoded packets in this process. Idempotent; False if paho's
    decoder no longer looks ``Properties`` up where expected (nothing changed then)."""
    current: Any = getattr(_packet, "Properties", None)
    if current is LeanProperties:
        return True
    if current is not Properties:
        log.info("paho-mqtt's packet decoder has changed: its Properties tables are left as they are")
        return False
    setattr(_packet, "Properties", LeanProperties)  # noqa: B010 - paho does not export the name
    return True
