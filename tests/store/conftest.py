"""Fixtures shared by the store's tests on a real influxd."""

from __future__ import annotations

import uuid

import pytest

from tests.support.services import Influxd


@pytest.fixture
def database(influxd: Influxd) -> tuple[str, str]:
    """The shared influxd's URL and a database of this test's own (nothing of another test's in it)."""
    return influxd.url, f"t_{uuid.uuid4().hex[:12]}"
