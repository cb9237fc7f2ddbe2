"""The web pages in headless Debian Chromium (Selenium): login, French/English, plan rendering, timeline.

The app runs under uvicorn on a free port in a thread, on the same SQLite data as the other tests.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from selenium.webdriver.chromium.webdriver import ChromiumDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.api.app_fixtures import served_sample_app
from tests.api.support import PH_CP
from tests.support.chromium import chromium, login

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with served_sample_app(tmp_path_factory.mktemp("browser")) as (url, _):
        yield url


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    with chromium((1280, 1400), console=True) as driver:
        yield driver


def _login(browser: WebDriver, base_url: str, token: str, path: str = "/ui") -> None:
    login(browser, base_url, token, path)


def test_french_first_then_english_toggle(browser: WebDriver, base_url: str) -> None:
    browser.get(f"{base_url}/ui")
    assert "/login" in browser.current_url
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    assert "Connexion" in browser.title
    _login(browser, base_url, "tok-super")
    assert browser.current_url.endswith("/ui")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Vue d'ensemble" in body
    assert "médiation sociale" in body
    assert len(browser.find_elements(By.CSS_SELECTOR, "tr[data-landlord]")) == 6
    browser.find_element(By.ID, "lang-toggle").click()
    WebDriverWait(browser, 15).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en")
    assert "Overview" in browser.find_element(By.TAG_NAME, "body").text
    # the session cookie is HttpOnly: scripts cannot read the token
    assert "ronde_session" not in browser.execute_script("return document.cookie")


def test_plan_renders_one_circle_per_checkpoint(browser: WebDriver, base_url: str, tmp_path: Path) -> None:
    _login(browser, base_url, "tok-super", "/ui/plan")
    svg = WebDriverWait(browser, 15).until(ec.presence_of_element_located((By.ID, "plan")))
    circles = browser.find_elements(By.CSS_SELECTOR, "svg#plan circle.cp")
    assert len(circles) == 82
    assert len({c.get_attribute("data-checkpoint") for c in circles}) == 82
    states = {c.get_attribute("data-idle") for c in circles}
    assert {"fresh", "stale", "none"} <= states
    size = svg.size
    assert size["width"] > 400
    assert size["height"] > 250  # laid out, not collapsed
    png = svg.screenshot_as_png
    (tmp_path / "plan.png").write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) >= 20, "the plan screenshot looks blank"
    pixels: set[tuple[int, int, int]] = {(int(p[0]), int(p[1]), int(p[2])) for _, p in colours}  # type: ignore[index]

    def near(target: tuple[int, int, int]) -> bool:
        return any(sum(abs(a - b) for a, b in zip(rgb, target, strict=True)) < 30 for rgb in pixels)

    # green (recent pass), red (stale) and grey (no recent pass) markers are on screen
    assert near((0x1A, 0x98, 0x50))
    assert near((0xD7, 0x30, 0x27))
    assert near((0x8C, 0x8C, 0x8C))


def test_timeline_and_audit_pages_for_a_landlord(browser: WebDriver, base_url: str) -> None:
    _login(browser, base_url, "tok-ph", f"/ui/checkpoints/{PH_CP}?first=2026-11-25&last=2026-11-26")
    WebDriverWait(browser, 15).until(ec.presence_of_element_located((By.ID, "timeline")))
    bars = browser.find_elements(By.CSS_SELECTOR, "svg#timeline rect.visit")
    assert len(bars) == 3
    assert all(b.size["width"] >= 1 for b in bars)
    assert "EQUIPE" not in browser.page_source
    browser.get(f"{base_url}/ui/audit")
    links = browser.find_elements(By.CSS_SELECTOR, "a[data-ext]")
    assert {a.get_attribute("data-ext") for a in links} == {"csv", "pdf", "zip"}
    first = browser.find_element(By.NAME, "first")
    browser.execute_script(
        "arguments[0].value = '2026-11-02'; arguments[0].dispatchEvent(new Event('change', {bubbles: true}));", first
    )
    href = browser.find_element(By.ID, "dl-csv").get_attribute("href") or ""
    assert "first=2026-11-02" in href
    assert "/landlords/paris-habitat/report.csv" in href
    assert len(browser.find_elements(By.CSS_SELECTOR, "select[name=landlord] option")) == 1


def _console(browser: WebDriver) -> list[str]:
    """The browser console since the last call (Chromium's log, where CSP violations are reported)."""
    assert isinstance(browser, ChromiumDriver)
    entries: list[dict[str, object]] = browser.get_log("browser")  # type: ignore[no-untyped-call]
    return [str(e.get("message", "")) for e in entries]


def test_pages_load_under_their_csp_without_violations(browser: WebDriver, base_url: str) -> None:
    _login(browser, base_url, "tok-admin")
    _console(browser)  # drop what the sign-in left
    pages = [
        "/ui",
        "/ui?lang=en",
        "/ui/landlords/paris-habitat",
        "/ui/plan",
        "/ui/plan?estate=mordacs",
        f"/ui/checkpoints/{PH_CP}?first=2026-11-25&last=2026-11-26",
        "/ui/audit",
        "/ui/supervision",
        "/login",
    ]
    for path in pages:
        browser.get(f"{base_url}{path}")
        WebDriverWait(browser, 15).until(lambda d: d.execute_script("return document.readyState") == "complete")
        assert browser.find_element(By.TAG_NAME, "main").is_displayed(), path
        messages = _console(browser)
        assert not [m for m in messages if "Content Security Policy" in m or "Refused to" in m], (path, messages)
    # the stylesheet and script were applied (allowed by 'self'): the header is styled, the audit form scripted
    browser.get(f"{base_url}/ui/audit")
    colour = browser.find_element(By.TAG_NAME, "header").value_of_css_property("background-color")
    assert colour in ("rgba(0, 95, 143, 1)", "rgb(0, 95, 143)")
    first = browser.find_element(By.NAME, "first")
    browser.execute_script(
        "arguments[0].value = '2026-11-03'; arguments[0].dispatchEvent(new Event('change', {bubbles: true}));", first
    )
    assert "first=2026-11-03" in (browser.find_element(By.ID, "dl-pdf").get_attribute("href") or "")
    # and the policy is really in force: markup with an inline style and an inline script is refused
    _console(browser)
    browser.execute_script(
        "document.body.insertAdjacentHTML('beforeend', '<p id=\"probe\" style=\"color: red\">x</p>');"
        "var s = document.createElement('script'); s.textContent = 'window.ronde_probe = 1;';"
        "document.body.appendChild(s);"
    )
    assert browser.execute_script("return window.ronde_probe === undefined")
    time.sleep(0.2)
    refused = [m for m in _console(browser) if "Content Security Policy" in m]
    assert any("inline style" in m for m in refused), refused
    assert any("inline script" in m for m in refused), refused
