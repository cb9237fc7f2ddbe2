"""The embedded broker's logs on Ctrl-C: a cancelled task's traceback is not printed, any other error is."""

from __future__ import annotations

import asyncio
import logging

from ronde.demo.broker import EmbeddedBroker


def _record(exc: BaseException | None) -> logging.LogRecord:
    info = (type(exc), exc, None) if exc is not None else None
    return logging.LogRecord("amqtt.broker", logging.ERROR, __file__, 1, "Broadcast loop stopped", None, info)


async def test_a_cancellation_logged_by_amqtt_or_asyncio_is_dropped_and_other_errors_kept() -> None:
    """Once the broker started, ``amqtt.broker`` and ``asyncio`` drop records of a cancellation or a Ctrl-C, and
    pass an error with another exception, or none."""
    broker = EmbeddedBroker()
    await broker.start()
    try:
        for name in ("amqtt.broker", "asyncio"):
            logger = logging.getLogger(name)
            assert not logger.filter(_record(asyncio.CancelledError()))
            assert not logger.filter(_record(KeyboardInterrupt()))
            assert logger.filter(_record(ValueError("a real failure")))
            assert logger.filter(_record(None))
    finally:
        await broker.stop()


async def test_the_filter_is_added_once() -> None:
    """Two brokers started in one process (the tests start many) leave one such filter on each logger."""
    for _ in range(2):
        broker = EmbeddedBroker()
        await broker.start()
        await broker.stop()
    for name in ("amqtt.broker", "asyncio"):
        filters = [f for f in logging.getLogger(name).filters if type(f).__name__ == "_NotACancellation"]
        assert len(filters) == 1
