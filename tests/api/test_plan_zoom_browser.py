"""The plan in headless Chromium: unambiguous checkpoint labels on hover, and a wheel that scrolls the page.

Issue 16's leftovers: a checkpoint's label on the plan is its unambiguous label (``ronde.protocol.labels``:
the four "Parking en surface 1 (Les Mordacs)" carry their landlord), and a plain mouse wheel over the plan
scrolls the page instead of being captured by the zoom; Ctrl + wheel zooms, as does the wheel once the plan
was clicked, and the keys + − 0 while the plan has focus. Real wheel input (WebDriver actions), not
synthetic events: only real input scrolls the page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.wheel_input import ScrollOrigin
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from ronde.protocol.estate import load_default_estate
from ronde.protocol.labels import checkpoint_labels
from tests.api.app_fixtures import served_sample_app
from tests.support.chromium import DESKTOP, chromium, login, wait_loaded

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with served_sample_app(tmp_path_factory.mktemp("plan-zoom")) as (url, _):
        yield url


def _view_box(driver: WebDriver) -> list[float]:
    return [
        float(n)
        for n in str(driver.execute_script("return document.getElementById('plan').getAttribute('viewBox')")).split()
    ]


def _scroll_y(driver: WebDriver) -> float:
    return float(driver.execute_script("return window.scrollY"))


def _wheel(driver: WebDriver, dy: int, *, ctrl: bool = False) -> None:
    """A real wheel turn over the plan's centre (``ctrl``: with Ctrl held)."""
    svg = driver.find_element(By.ID, "plan")
    actions = ActionChains(driver)
    if ctrl:
        actions.key_down(Keys.CONTROL)
    actions.scroll_from_origin(ScrollOrigin.from_element(svg), 0, dy)
    if ctrl:
        actions.key_up(Keys.CONTROL)
    actions.perform()


def _settled(driver: WebDriver) -> None:
    """Smooth scrolling and the wheel's handlers have run."""
    last: list[float] = []

    def still(d: WebDriver) -> bool:
        last.append(_scroll_y(d))
        return len(last) > 2 and last[-1] == last[-2] == last[-3]

    WebDriverWait(driver, 5, poll_frequency=0.1).until(still)


def test_hover_and_focus_show_the_unambiguous_label(base_url: str) -> None:
    registry = load_default_estate()
    expected = checkpoint_labels(registry)
    with chromium(DESKTOP) as driver:
        login(driver, base_url, "tok-super", "/ui/plan")
        wait_loaded(driver)
        links = driver.find_elements(By.CSS_SELECTOR, "svg#plan a.cp-link")
        shown: dict[str, str] = {}
        for a in links:
            cid = a.find_element(By.CSS_SELECTOR, "circle.cp").get_attribute("data-checkpoint") or ""
            shown[cid] = a.find_element(By.CSS_SELECTOR, "text.cp-label").get_attribute("textContent") or ""
            assert (a.get_attribute("aria-label") or "").startswith(shown[cid] + " — ")
            assert (a.find_element(By.TAG_NAME, "title").get_attribute("textContent") or "").startswith(shown[cid])
        assert shown == expected
        assert max(Counter(shown.values()).values()) == 1  # no two points read the same
        parkings = sorted(v for v in shown.values() if v.startswith("Parking en surface 1 (Les Mordacs)"))
        assert parkings == [
            "Parking en surface 1 (Les Mordacs) — Immobilière 3F",
            "Parking en surface 1 (Les Mordacs) — Paris Habitat",
            "Parking en surface 1 (Les Mordacs) — Toit et Joie",
            "Parking en surface 1 (Les Mordacs) — Valophis Habitat",
        ]
        # the pointer over a parking shows its label with its landlord, and only that label
        cp = driver.find_element(By.CSS_SELECTOR, "svg#plan circle[data-checkpoint='mor-immob-car-park-surface-1']")
        ActionChains(driver).move_to_element(cp).perform()
        visible = [
            x.get_attribute("textContent")
            for x in driver.find_elements(By.CSS_SELECTOR, "svg#plan text.cp-label")
            if x.value_of_css_property("display") != "none"
        ]
        assert visible == ["Parking en surface 1 (Les Mordacs) — Immobilière 3F"]


def test_a_plain_wheel_scrolls_the_page_ctrl_or_a_click_zooms(base_url: str, tmp_path: Path) -> None:
    with chromium(DESKTOP) as driver:
        login(driver, base_url, "tok-super", "/ui/plan")
        wait_loaded(driver)
        hint = driver.find_element(By.CSS_SELECTOR, "p.plan-hint")
        assert hint.is_displayed()  # shown by plan.js, with the tools
        assert "Ctrl + molette" in hint.text
        assert "La molette seule fait défiler la page" in hint.text
        whole = _view_box(driver)
        # a plain wheel over the plan: the page scrolls, the plan stays whole, the hint lights up
        _wheel(driver, 300)
        _settled(driver)
        assert _scroll_y(driver) > 0
        assert _view_box(driver) == whole
        assert "plan-hint-flash" in (hint.get_attribute("class") or "")
        (tmp_path / "plan-wheel-hint.png").write_bytes(driver.get_screenshot_as_png())
        # Ctrl + wheel zooms the plan, and the page does not move
        before = _scroll_y(driver)
        _wheel(driver, -200, ctrl=True)
        _settled(driver)
        assert _view_box(driver)[2] < 900
        assert _scroll_y(driver) == before
        # keys while the plan has focus (here its tools, reached with Tab): 0 for the whole plan, + and − to zoom
        keys = driver.find_element(By.CSS_SELECTOR, "button[data-zoom=reset]")
        keys.send_keys("0")
        assert _view_box(driver) == whole
        keys.send_keys("+")
        assert _view_box(driver)[2] == pytest.approx(600, abs=0.2)
        keys.send_keys(Keys.TAB)  # on to the first checkpoint: the keys still zoom
        assert driver.switch_to.active_element.get_attribute("class") == "cp-link"
        ActionChains(driver).send_keys("-").perform()
        assert _view_box(driver) == whole
        # once the plan is clicked (its background, not a point), the wheel alone zooms
        driver.find_element(By.CSS_SELECTOR, "h1").click()  # leave the plan first
        _wheel(driver, 100)
        _settled(driver)
        assert _view_box(driver) == whole
        ground = driver.find_element(By.CSS_SELECTOR, "svg#plan rect.ground")
        ActionChains(driver).move_to_element_with_offset(ground, -ground.size["width"] // 2 + 8, 0).click().perform()
        assert driver.find_element(By.ID, "plan").get_attribute("data-engaged") == "1"
        before = _scroll_y(driver)
        _wheel(driver, -200)
        _settled(driver)
        assert _view_box(driver)[2] < 900
        assert _scroll_y(driver) == before
        # a click elsewhere gives the wheel back to the page
        driver.find_element(By.CSS_SELECTOR, "h1").click()
        assert driver.find_element(By.ID, "plan").get_attribute("data-engaged") == "0"
        zoomed = _view_box(driver)
        _wheel(driver, 200)
        _settled(driver)
        assert _view_box(driver) == zoomed
        assert _scroll_y(driver) > before
