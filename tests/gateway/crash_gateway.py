"""A real gateway process for the kill -9 test: ``python -m tests.gateway.crash_gateway CONFIG TRIGGER MINORS``.

It runs ``GatewayApp`` (real outbox, real paho link) with a scripted patrol that starts walking when the
TRIGGER file appears, so the test decides when visits are produced relative to the broker's state.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ronde.gateway.app import GatewayApp
from ronde.gateway.clock import AcceleratedClock
from ronde.gateway.config import load_config
from ronde.gateway.service_gate import Override
from tests.gateway.support import PatrolSource


async def main(config_path: str, trigger: str, minors: list[int]) -> None:
    config = load_config(config_path)
    clock = AcceleratedClock(time.time(), speed=60)
    source = PatrolSource(clock, minors, dwell_s=10, walk_s=5, gate=Path(trigger).exists)
    override = Override(datetime.now(UTC) + timedelta(days=1), "kill -9 test")
    app = GatewayApp(config, source, clock, override=override)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, app.stop)
    await app.run()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stdout)
    asyncio.run(main(sys.argv[1], sys.argv[2], [int(m) for m in sys.argv[3].split(",") if m]))
