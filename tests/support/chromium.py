"""Headless Debian Chromium for page tests: the app served by uvicorn on a free port, a driver per window size.

Shared by every browser test (pages, plan, accessibility, the field app on an emulated phone).
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chromium.webdriver import ChromiumDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.services import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DESKTOP = (1280, 900)
PHONE = (390, 844)  # a common phone's CSS pixels
MIN_WINDOW_WIDTH = 500  # headless Chromium makes no narrower window: narrower sizes are emulated phones


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """The app under uvicorn in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def chromium(
    size: tuple[int, int] = DESKTOP, *, mobile: dict[str, float] | None = None, console: bool = False
) -> Iterator[ChromiumDriver]:
    """One headless window of ``size``, or an emulated phone (``mobile``: Chromium's ``deviceMetrics``, e.g.
    ``{"width": 390, "height": 844, "pixelRatio": 2.0}``: a plain window cannot be narrower than 500 px);
    ``console`` keeps the page's console (CSP violations included) for ``driver.get_log("browser")``."""
    if not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists():
        pytest.fail("Debian chromium and chromedriver are required (apt-get install chromium chromium-driver)")
    profile = tempfile.mkdtemp(prefix="ronde-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    if mobile is None and size[0] < MIN_WINDOW_WIDTH:  # a real phone's width: only emulation gets under 500 px
        mobile = {"width": size[0], "height": size[1], "pixelRatio": 2.0}
    if mobile is None:
        options.add_argument(f"--window-size={size[0]},{size[1]}")
    else:
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": mobile})
    if console:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def login(driver: WebDriver, base_url: str, token: str, path: str = "/ui") -> None:
    driver.get(f"{base_url}{path}")
    WebDriverWait(driver, 15).until(ec.presence_of_element_located((By.ID, "token")))
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "sign-in").click()
    WebDriverWait(driver, 15).until(lambda d: "/login" not in d.current_url)


def wait_loaded(driver: WebDriver) -> None:
    WebDriverWait(driver, 15).until(lambda d: d.execute_script("return document.readyState") == "complete")


def page_text(driver: WebDriver) -> str:
    """The page's visible text, read by script: no element handle that a page being replaced (a form's answer, a
    reload) can turn stale between finding it and reading it ("Node with given id does not belong to the document")."""
    text = driver.execute_script("return document.body ? document.body.innerText : ''")
    return str(text or "")


def element_text(driver: WebDriver, element_id: str) -> str:
    """The visible text of the element with ``element_id`` ("" while it is absent), read by script for the same
    reason as :func:`page_text`."""
    text = driver.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.innerText : ''", element_id
    )
    return str(text or "")
