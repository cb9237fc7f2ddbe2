"""Markers follow fixtures: a test using ``mosquitto``, ``influxd``, ``browser`` or ``bluez`` carries the marker
of that real part (tests/conftest.py), even when it does not say so itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _collect(marker: str, *paths: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-m", marker, *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {line.split("[")[0] for line in proc.stdout.splitlines() if "::" in line}


def test_real_tests_are_selected_by_the_fixtures_they_use() -> None:
    # neither test is marked in its file: the marker comes from the fixture
    assert _collect("mosquitto", "tests/ingest/test_paho_tables.py") == {
        "tests/ingest/test_paho_tables.py::test_installed_paho_decodes_publish_through_it",
    }
    assert "tests/ingest/test_paho_tables.py::test_same_decoding_as_paho" in _collect(
        "not mosquitto", "tests/ingest/test_paho_tables.py"
    )


def test_every_fixture_marks_its_users_directly_or_through_another_fixture(pytester: pytest.Pytester) -> None:
    pytester.makeini("""
        [pytest]
        addopts = --strict-markers
        asyncio_default_fixture_loop_scope = function
        markers =
            mosquitto: m
            influx: i
            browser: b
            bluez: z
    """)
    pytester.makeconftest("""
        import pytest
        from tests.conftest import pytest_collection_modifyitems  # noqa: F401 - the hook under test

        @pytest.fixture
        def mosquitto(): return "broker"

        @pytest.fixture
        def influxd(): return "influx"

        @pytest.fixture
        def browser(): return "chromium"

        @pytest.fixture
        def bluez(): return "bus"

        @pytest.fixture
        def through_influxd(influxd): return influxd
    """)
    pytester.makepyfile(
        test_sample="""
        import pytest

        def test_plain(): pass
        def test_broker(mosquitto): pass
        def test_store(through_influxd): pass
        def test_page(browser): pass
        def test_scan(bluez, mosquitto): pass

        @pytest.mark.influx
        def test_already_marked(influxd): pass
    """
    )
    expected = {
        "mosquitto": {"test_broker", "test_scan"},
        "influx": {"test_store", "test_already_marked"},
        "browser": {"test_page"},
        "bluez": {"test_scan"},
        "not mosquitto and not influx and not browser and not bluez": {"test_plain"},
    }
    for expr, names in expected.items():
        result = pytester.runpytest("--collect-only", "-q", "-m", expr)
        assert {line.split("::")[1] for line in result.outlines if "::" in line} == names, expr
    items, _ = pytester.inline_genitems()
    marked = next(item for item in items if item.name == "test_already_marked")
    assert len(list(marked.iter_markers("influx"))) == 1  # not added twice
