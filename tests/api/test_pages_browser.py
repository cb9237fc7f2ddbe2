"""The overview, landlord, checkpoint, audit and supervision pages in headless Chromium at desktop and
phone widths (issue 16, points 3–5): what a person sees. Screenshots go to the test's folder
(``RONDE_SCREENSHOTS=DIR`` keeps them)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from ronde.store.records import GatewayStateRecord, WriteBatch
from ronde.store.sqlite import SqliteStore
from tests.api.app_fixtures import served_sample_app
from tests.api.support import NOW, PH_CP
from tests.support.chromium import DESKTOP, PHONE, chromium, login, wait_loaded

pytestmark = pytest.mark.browser

ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
BADGE = re.compile(r"EQUIPE-[A-Z]")
SIZES = pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
PAGES = {
    "overview": "/ui",
    "landlord": "/ui/landlords/paris-habitat",
    "checkpoint": f"/ui/checkpoints/{PH_CP}?first=25/11/2026&last=26/11/2026",
    "audit": "/ui/audit",
    "supervision": "/ui/supervision",
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, SqliteStore]]:
    with served_sample_app(tmp_path_factory.mktemp("pages")) as served:
        yield served


def _shots(tmp_path: Path) -> Path:
    keep = os.environ.get("RONDE_SCREENSHOTS")
    folder = Path(keep) if keep else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _text(driver: WebDriver) -> str:
    return str(driver.find_element(By.TAG_NAME, "main").text)


def _headers(driver: WebDriver, table_id: str) -> list[str]:
    return [th.text for th in driver.find_elements(By.CSS_SELECTOR, f"table#{table_id} thead th")]


@SIZES
def test_french_pages_read_french(served: tuple[str, SqliteStore], size: tuple[int, int], tmp_path: Path) -> None:
    base_url, _ = served
    folder = _shots(tmp_path)
    with chromium(size) as driver:
        login(driver, base_url, "tok-super")
        for name, path in PAGES.items():
            driver.get(base_url + path)
            wait_loaded(driver)
            text = _text(driver)
            assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
            assert not ISO.search(text), (name, ISO.findall(text))
            assert not BADGE.search(text), (name, BADGE.findall(text))
            driver.save_screenshot(str(folder / f"{name}-{'desktop' if size == DESKTOP else 'phone'}.png"))
        # the overview's period and figures in French
        driver.get(base_url + "/ui")
        wait_loaded(driver)
        assert "Période du 25/11/2026 au 26/11/2026" in _text(driver)
        assert "2,8 %" in _text(driver).replace("\u202f", " ")
        # date boxes show dd/mm/yyyy whatever the browser's locale
        driver.get(base_url + PAGES["checkpoint"])
        wait_loaded(driver)
        first = driver.find_element(By.CSS_SELECTOR, "input[name=first]")
        assert first.get_attribute("value") == "25/11/2026"
        assert first.get_attribute("type") == "text"
        assert "19 h 30" in _text(driver)
        assert "équipe non enregistrée" in _text(driver)


@SIZES
def test_supervision_has_headers_landlord_names_and_pseudonyms(
    served: tuple[str, SqliteStore], size: tuple[int, int], tmp_path: Path
) -> None:
    base_url, _ = served
    with chromium(size) as driver:
        login(driver, base_url, "tok-super", "/ui/supervision")
        wait_loaded(driver)
        assert _headers(driver, "stale") == ["Point de passage", "Bailleur", "Sans passage depuis", "Dernier passage"]
        assert _headers(driver, "teams") == ["Équipe", "Point de passage", "Heure"]
        assert _headers(driver, "gateways") == ["Passerelle", "Hors ligne depuis"]
        landlords = {td.text for td in driver.find_elements(By.CSS_SELECTOR, "table#stale tbody td:nth-child(2)")}
        assert "Paris Habitat" in landlords
        assert not any("-" in x and x == x.lower() for x in landlords), landlords  # names, not ids
        teams = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "table#teams tbody td:first-child")]
        assert teams == ["équipe non enregistrée 1", "équipe non enregistrée 2"]
        text = _text(driver)
        assert len(driver.find_elements(By.CSS_SELECTOR, "table#stale tbody tr")) == 20  # the longest idle
        more = driver.find_element(By.ID, "stale-more")
        assert re.fullmatch(r"… et \d+ autres\. Voir la liste complète ou le plan du quartier", more.text), more.text
        assert not BADGE.search(text)
        assert not ISO.search(text)
        more.find_element(By.LINK_TEXT, "Voir la liste complète").click()  # the whole list, shared names apart
        WebDriverWait(driver, 15).until(lambda d: "all=stale" in d.current_url)
        wait_loaded(driver)
        assert "Parking en surface 1 (Les Mordacs) — Paris Habitat" in _text(driver)
        height = int(driver.execute_script("return document.documentElement.scrollHeight"))
        driver.set_window_size(size[0], min(height + 140, 8000))  # the whole page, every section in one picture
        name = f"supervision-full-{'desktop' if size == DESKTOP else 'phone'}.png"
        driver.save_screenshot(str(_shots(tmp_path) / name))


def test_supervision_refreshes_without_a_reload(served: tuple[str, SqliteStore]) -> None:
    """A gateway that goes offline after the page opened appears within one polling period, and the
    page was not reloaded (a marker set in its window survives)."""
    base_url, store = served
    with chromium(DESKTOP) as driver:
        login(driver, base_url, "tok-super", "/ui/supervision")
        wait_loaded(driver)
        assert "gw-late" not in _text(driver)
        driver.execute_script("window.__stillHere = 'yes'")
        store.write(
            WriteBatch(gateway_states=(GatewayStateRecord(NOW - timedelta(minutes=5), "gw-late", False, False, True),))
        )
        WebDriverWait(driver, 25).until(lambda d: "gw-late" in d.find_element(By.ID, "live-gateways").text)
        assert driver.execute_script("return window.__stillHere") == "yes"
        row = driver.find_element(By.XPATH, "//table[@id='gateways']//tr[td[1]='gw-late']")
        assert row.find_elements(By.TAG_NAME, "td")[1].text == "19 h 55"
        assert driver.find_element(By.ID, "supervision").get_attribute("data-refreshed")
