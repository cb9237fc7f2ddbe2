"""The estate plan in headless Chromium at desktop and phone widths: what a person sees (issue 16, point 2).

Buildings are outlined and labelled, walkways drawn, checkpoints coloured with a legend, a checkpoint's
label shows on keyboard focus, the zoom buttons change the view, and a landlord's plan holds its own
buildings only. Screenshots are written to the test's folder (``RONDE_SCREENSHOTS`` to keep them).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from ronde.protocol.estate import load_default_estate
from tests.api.app_fixtures import served_sample_app
from tests.support.chromium import DESKTOP, PHONE, chromium, login, wait_loaded

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with served_sample_app(tmp_path_factory.mktemp("plan")) as (url, _):
        yield url


def _shots(tmp_path: Path) -> Path:
    keep = os.environ.get("RONDE_SCREENSHOTS")
    folder = Path(keep) if keep else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _building_labels(driver: WebDriver) -> dict[str, str]:
    return {
        str(e.get_attribute("data-building")): e.text
        for e in driver.find_elements(By.CSS_SELECTOR, "svg#plan text.building-name")
    }


def _view_box(driver: WebDriver) -> str:
    return str(driver.execute_script("return document.getElementById('plan').getAttribute('viewBox')"))


def _colourful(png: bytes) -> int:
    colours = Image.open(io.BytesIO(png)).convert("RGB").getcolors(maxcolors=1 << 20) or []
    return len(colours)


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_plan_shows_labelled_buildings_walkways_and_coloured_checkpoints(
    base_url: str, tmp_path: Path, size: tuple[int, int]
) -> None:
    registry = load_default_estate()
    with chromium(size) as driver:
        login(driver, base_url, "tok-super", "/ui/plan")
        wait_loaded(driver)
        svg = driver.find_element(By.ID, "plan")
        # every building outlined, with its name written on the plan and in its polygon's title
        labels = _building_labels(driver)
        assert labels == {b.id: b.name for b in registry.buildings.values()}
        polygons = driver.find_elements(By.CSS_SELECTOR, "svg#plan polygon.building")
        assert len(polygons) == len(registry.buildings)
        titles = [p.find_element(By.TAG_NAME, "title").get_attribute("textContent") or "" for p in polygons]
        assert any("4 rue Albert Thomas" in x and "Paris Habitat" in x for x in titles)
        assert len(driver.find_elements(By.CSS_SELECTOR, "svg#plan g.walkways g[data-walkway]")) == len(
            registry.walkways
        )
        # checkpoints: one focusable link each, named for screen readers, coloured by idleness, with a legend
        links = driver.find_elements(By.CSS_SELECTOR, "svg#plan a.cp-link")
        assert len(links) == 82
        names = [a.get_attribute("aria-label") or "" for a in links]
        assert all(" — " in n for n in names)
        assert any(n.startswith("Hall A – 4 rue Albert Thomas — hall d'immeuble") for n in names)
        states = {c.get_attribute("data-idle") for c in driver.find_elements(By.CSS_SELECTOR, "svg#plan circle.cp")}
        assert {"fresh", "stale", "none"} <= states
        legend = driver.find_element(By.CSS_SELECTOR, "ul.plan-legend")  # as text under the plan
        assert legend.is_displayed()
        assert "moins de 30 min" in legend.text
        assert "plus de 2 h" in legend.text
        in_svg = driver.find_element(By.CSS_SELECTOR, "svg#plan g.legend-box")
        assert in_svg.is_displayed() == (size == DESKTOP)  # too small to read on a phone: hidden there
        # laid out across the width available, and not blank
        width = driver.execute_script("return document.documentElement.clientWidth")
        assert svg.size["width"] >= min(width - 60, 800)
        assert svg.size["height"] > svg.size["width"] * 0.5
        assert driver.execute_script("return document.documentElement.scrollWidth") <= width + 1  # no sideways scroll
        png = driver.get_screenshot_as_png()
        (_shots(tmp_path) / f"plan-{size[0]}.png").write_bytes(png)
        assert _colourful(svg.screenshot_as_png) >= 20


def test_keyboard_focus_shows_a_label_and_the_zoom_buttons_change_the_view(base_url: str, tmp_path: Path) -> None:
    with chromium(DESKTOP) as driver:
        login(driver, base_url, "tok-super", "/ui/plan")
        wait_loaded(driver)
        tools = driver.find_element(By.CSS_SELECTOR, ".plan-tools")
        assert tools.is_displayed()  # shown by plan.js
        # tab from the zoom tools into the plan: the first checkpoint's label appears
        driver.find_element(By.CSS_SELECTOR, "button[data-zoom=reset]").send_keys(Keys.TAB)
        focused = driver.switch_to.active_element
        assert focused.get_attribute("class") == "cp-link"
        label = focused.find_element(By.CSS_SELECTOR, "text.cp-label")
        assert label.value_of_css_property("display") != "none"
        shown = [
            x
            for x in driver.find_elements(By.CSS_SELECTOR, "svg#plan text.cp-label")
            if x.value_of_css_property("display") != "none"
        ]
        assert shown == [label]  # only the focused checkpoint's
        before = _view_box(driver)
        driver.find_element(By.CSS_SELECTOR, "button[data-zoom=in]").click()
        driver.find_element(By.CSS_SELECTOR, "button[data-zoom=in]").click()
        zoomed = _view_box(driver)
        assert zoomed != before
        assert float(zoomed.split()[2]) < 900 / 2  # 1.5 × 1.5 = 2.25 times closer
        (_shots(tmp_path) / "plan-zoomed.png").write_bytes(driver.get_screenshot_as_png())
        driver.find_element(By.CSS_SELECTOR, "button[data-zoom=reset]").click()
        assert [float(n) for n in _view_box(driver).split()] == [float(n) for n in before.split()]


def test_a_landlord_sees_its_own_buildings_on_its_page_and_its_plan(base_url: str, tmp_path: Path) -> None:
    registry = load_default_estate()
    mine = {b.id: b.name for b in registry.buildings.values() if b.landlord == "paris-habitat"}
    with chromium(PHONE) as driver:
        login(driver, base_url, "tok-ph", "/ui/landlords/paris-habitat")
        wait_loaded(driver)
        assert _building_labels(driver) == mine
        links = driver.find_elements(By.CSS_SELECTOR, "svg#plan a.cp-link")
        assert len(links) == len(registry.checkpoints_of("paris-habitat"))
        (_shots(tmp_path) / "landlord-plan-phone.png").write_bytes(driver.get_screenshot_as_png())
        plan = driver.find_element(By.ID, "plan")
        (_shots(tmp_path) / "landlord-plan-only.png").write_bytes(plan.screenshot_as_png)
        assert _colourful(plan.screenshot_as_png) >= 20
        driver.get(f"{base_url}/ui/plan")
        wait_loaded(driver)
        assert _building_labels(driver) == mine
        assert "Immobilière 3F" not in driver.page_source
