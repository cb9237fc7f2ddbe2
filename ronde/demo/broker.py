"""The embedded MQTT broker of the demo (amqtt), for machines with no Mosquitto.

amqtt speaks MQTT 3.1.1 only, so clients talking to it use 3.1.1 with persistent sessions and
plain (not shared) subscriptions. Production runs Mosquitto 2 (MQTT v5) instead.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from amqtt.broker import Broker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedBroker:
    def __init__(self, port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        config: dict[str, Any] = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "sys_interval": 0,
            "auth": {"allow-anonymous": True, "plugins": ["auth_anonymous"]},
            "topic-check": {"enabled": False},
        }
        self._broker = Broker(config)

    async def start(self) -> None:
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.ERROR)
        await self._broker.start()

    async def stop(self) -> None:
        await self._broker.shutdown()
