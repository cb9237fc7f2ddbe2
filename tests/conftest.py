"""Shared fixtures: real mosquitto and influxd started per test session on free ports; emulated BlueZ."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway.bluez_support import (
    BEACON,
    SCANNER,
    Bluezoo,
    PrivateBus,
    bluez_available,
    private_system_bus,
    run_bluezoo,
)
from tests.support.fuzz import replay_hint
from tests.support.services import Influxd, Mosquitto, run_influxd, run_mosquitto
from tests.support.untraced import untraced

pytest_plugins = ["pytester"]  # tests/test_markers.py runs pytest on a throwaway test file

# fixture → the marker of the real part it starts, added to every test using the fixture (directly or through
# another fixture), so ``-m "not mosquitto"`` or ``-m influx`` select on what a test really needs.
FIXTURE_MARKERS = {"mosquitto": "mosquitto", "influxd": "influx", "browser": "browser", "bluez": "bluez"}


def pytest_report_header(config: pytest.Config) -> str:
    return replay_hint()


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects on markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for fixture, marker in FIXTURE_MARKERS.items():
            if fixture in used and item.get_closest_marker(marker) is None:
                item.add_marker(marker)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(UniqueNodeIds(), "ronde-unique-node-ids")


class UniqueNodeIds:
    @pytest.hookimpl(trylast=True)  # after Schemathesis has named its tests
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        unique_node_ids(items)


def unique_node_ids(items: list[pytest.Item]) -> None:
    """Give every test its own node id, and refuse a run where two share one.

    Schemathesis (tests/api/test_fuzz.py) names each operation's test ``test_x[GET /path]`` but leaves every node
    id at ``test_x``; pytest-xdist schedules by node id and silently ran none of those 214 tests. The id is taken
    from the name, as pytest does for its own parametrized tests."""
    seen: dict[str, int] = {}
    for item in items:
        if item.parent is not None and item.nodeid.rpartition("::")[2] != item.name:
            item._id = item.parent.id.child(item.name)  # pytest 9 keeps the id there
        seen[item.nodeid] = seen.get(item.nodeid, 0) + 1
    shared = sorted(nid for nid, n in seen.items() if n > 1)
    if shared:
        raise pytest.UsageError(f"tests sharing a node id (pytest-xdist would skip them): {shared[:5]}")


@pytest.hookimpl(wrapper=True, trylast=True)  # innermost: after pytest-cov's own pause, before the test
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Run a ``no_cover`` test with no trace function at all, in its thread and in threads it starts.

    pytest-cov pauses coverage for these tests, but under pytest-xdist its pause left a tracer on the test's thread:
    ``test_evening_targets`` took 93 s in a worker instead of 14 s, and 300+ s (its timeout) in a loaded CI run.
    """
    if item.get_closest_marker("no_cover") is None:
        return (yield)
    with untraced():
        return (yield)


@pytest.fixture(scope="session", autouse=True)
def audit_key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Reports are signed with the server's audit key: one throwaway key per session (in the
    environment, so subprocesses use it too), never the key of the user running the tests."""
    path = tmp_path_factory.mktemp("audit-key") / "audit-key.pem"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RONDE_AUDIT_KEY", str(path))
        yield path


@pytest.fixture(scope="session")
def influxd() -> Iterator[Influxd]:
    with run_influxd() as server:
        yield server


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[Mosquitto]:
    """A shared permissive broker; tests needing their own config call ``run_mosquitto``."""
    with run_mosquitto() as broker:
        yield broker


@pytest.fixture
def bluez(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[PrivateBus, Bluezoo]]:
    """bluezoo on a private system bus serving a scanner and a beacon adapter; bleak is pointed at it."""
    reason = bluez_available()
    if reason is not None:
        pytest.fail(reason)  # a missing system package is a broken setup, not a skip
    with private_system_bus() as bus, run_bluezoo(bus, [SCANNER, BEACON]) as zoo:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.address)
        yield bus, zoo
