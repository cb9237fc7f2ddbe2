"""The embedded MQTT broker of the demo (amqtt), for machines with no Mosquitto.

amqtt speaks MQTT 3.1.1 only, so clients talking to it use 3.1.1 with persistent sessions and
plain (not shared) subscriptions. Production runs Mosquitto 2 (MQTT v5) instead.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from amqtt.broker import Broker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _NotACancellation(logging.Filter):
    """Drops a record whose exception is a task's cancellation (or the Ctrl-C itself): on Ctrl-C the demo's tasks
    are cancelled, amqtt's broadcast loop and a client connection it was accepting among them, and amqtt
    (``amqtt.broker``) and asyncio (the accepted connection's callback) log that as an error with its traceback,
    which the demo must not print (``tests/demo/test_demo.py``: no traceback on Ctrl-C). Any other error is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, asyncio.CancelledError | KeyboardInterrupt)


_QUIET_CANCELLATIONS = _NotACancellation()


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
        for name in ("amqtt.broker", "asyncio"):
            logging.getLogger(name).addFilter(_QUIET_CANCELLATIONS)  # the same object: added once
        await self._broker.start()

    async def stop(self) -> None:
        await self._broker.shutdown()
