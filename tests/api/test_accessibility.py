"""Accessibility of every page (issue 16, point 7): axe-core injected into each page in headless Chromium.

axe-core comes from the npm registry once (``tests/support/axe.py``); it runs every rule it has (WCAG 2.0/2.1
A and AA, contrast included, and best practices) and the test fails on any *serious* or *critical* violation,
listing each with the elements it found. Pages are seen by the roles who use them, in French and in English,
at desktop and phone widths. Charts carry a text alternative: the plan a summary and its table, the
timeline a description, the bars on the overview are decorative beside their percentage.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from tests.api.app_fixtures import served_sample_app
from tests.api.support import PH_CP
from tests.support.axe import axe_script
from tests.support.chromium import DESKTOP, PHONE, chromium, login, wait_loaded

pytestmark = pytest.mark.browser

BLOCKING = ("serious", "critical")
STAFF_PAGES = (
    "/ui",
    "/ui?lang=en",
    "/ui/landlords/paris-habitat",
    "/ui/plan",
    "/ui/plan?estate=mordacs&lang=en",
    f"/ui/checkpoints/{PH_CP}?first=2026-11-25&last=2026-11-26",
    "/ui/audit",
    "/ui/supervision",
    "/ui/supervision?lang=en",
    "/ui/signalements",
    "/ui/demandes",
    "/ui/terrain/enrolment",
)
LANDLORD_PAGES = (
    "/ui",
    "/ui/landlords/paris-habitat",
    "/ui/plan",
    f"/ui/checkpoints/{PH_CP}?first=2026-11-25&last=2026-11-26",
    "/ui/audit?lang=en",
)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with served_sample_app(tmp_path_factory.mktemp("a11y")) as (url, _):
        yield url


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_script()


def audit(driver: WebDriver, axe: str) -> list[dict[str, Any]]:
    """axe's violations of the loaded page (every rule), serious and critical only."""
    driver.execute_script(axe)
    driver.set_script_timeout(60)
    violations: list[dict[str, Any]] = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(function (r) { done(r.violations); },"
        " function (e) { done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]); });"
    )
    return [v for v in violations if v.get("impact") in BLOCKING]


def _describe(path: str, found: list[dict[str, Any]]) -> str:
    lines = [f"{path}:"]
    for v in found:
        targets = ", ".join(str(n.get("target")) for n in v.get("nodes", [])[:5])
        lines.append(f"  {v['impact']} {v['id']}: {v['help']} ({len(v.get('nodes', []))} × {targets})")
    return "\n".join(lines)


def _audit_pages(driver: WebDriver, base_url: str, axe: str, pages: tuple[str, ...]) -> list[str]:
    problems = []
    for path in pages:
        driver.get(f"{base_url}{path}")
        wait_loaded(driver)
        assert driver.find_element(By.TAG_NAME, "main").is_displayed(), path
        found = audit(driver, axe)
        if found:
            problems.append(_describe(path, found))
        # reflow (WCAG 1.4.10): nothing pushes the page sideways, at a phone's width as on a desktop
        wide = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if wide > 1:
            problems.append(f"{path}: {wide} px wider than the window")
    return problems


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_no_serious_violation_on_any_page(base_url: str, axe: str, size: tuple[int, int]) -> None:
    problems: list[str] = []
    with chromium(size) as driver:
        for path in ("/login", "/login?lang=en", "/terrain/"):  # before signing in; the field app's shell
            driver.get(f"{base_url}{path}")
            wait_loaded(driver)
            if found := audit(driver, axe):
                problems.append(_describe(path, found))
        login(driver, base_url, "tok-admin")
        problems += _audit_pages(driver, base_url, axe, STAFF_PAGES)
    with chromium(size) as driver:
        login(driver, base_url, "tok-ph")
        problems += _audit_pages(driver, base_url, axe, LANDLORD_PAGES)
    assert not problems, "\n".join(problems)


def test_every_chart_has_a_text_alternative_and_every_input_a_label(base_url: str) -> None:
    with chromium(DESKTOP) as driver:
        login(driver, base_url, "tok-admin")
        for path in STAFF_PAGES:
            driver.get(f"{base_url}{path}")
            wait_loaded(driver)
            for svg in driver.find_elements(By.CSS_SELECTOR, "main svg"):
                hidden = svg.get_attribute("aria-hidden") == "true"
                named = bool(svg.get_attribute("aria-label") or svg.get_attribute("aria-labelledby"))
                described = bool(svg.get_attribute("aria-describedby")) or bool(
                    svg.find_elements(By.XPATH, "./*[local-name()='desc' or local-name()='title']")
                )
                assert hidden or (named and described), (path, svg.get_attribute("id") or svg.get_attribute("class"))
            for field in driver.find_elements(By.CSS_SELECTOR, "main input:not([type=hidden]), main select"):
                label = driver.execute_script(
                    "var e = arguments[0]; return (e.labels && e.labels.length) || e.getAttribute('aria-label');", field
                )
                assert label, (path, field.get_attribute("name"))


def test_the_pages_work_from_the_keyboard(base_url: str) -> None:
    """Tab reaches the navigation and the plan's checkpoints, each with a visible focus."""
    with chromium(DESKTOP) as driver:
        login(driver, base_url, "tok-super", "/ui/plan")
        wait_loaded(driver)
        body = driver.find_element(By.TAG_NAME, "body")
        body.send_keys(Keys.TAB)
        seen: list[str] = []
        for _ in range(40):
            active = driver.switch_to.active_element
            seen.append(active.tag_name + "." + (active.get_attribute("class") or ""))
            outline = active.value_of_css_property("outline-style")
            stroke = driver.execute_script(
                "var c = arguments[0].querySelector('circle'); return c ? getComputedStyle(c).strokeWidth : '';",
                active,
            )
            assert outline not in ("", "none") or stroke == "4px", seen[-1]
            active.send_keys(Keys.TAB)
        assert any(s.startswith("a.") and "cp-link" not in s for s in seen)  # the navigation
        assert any("cp-link" in s for s in seen)  # the plan's checkpoints
