"""Shared fixtures: real mosquitto and influxd started per test session on free ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.services import Influxd, Mosquitto, run_influxd, run_mosquitto


@pytest.fixture(scope="session")
def influxd() -> Iterator[Influxd]:
    with run_influxd() as server:
        yield server


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[Mosquitto]:
    """A shared permissive broker; tests needing their own config call ``run_mosquitto``."""
    with run_mosquitto() as broker:
        yield broker
